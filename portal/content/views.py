"""The content pages: Dutch at `/` and `/<slug>`, English at `/en/` and `/en/<slug>`; search,
sitemap.xml, robots.txt, and the JSON API (registered from `api`).

Werkzeug matches static rules (e.g. `/login`, `/register`, `/healthz`) before the `/<slug>`
rule, so content never shadows another capability; `portal content check` reports a page
whose address another route would take.
"""

from __future__ import annotations

from urllib.parse import urlencode
from xml.sax.saxutils import escape

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.content import api, service
from portal.content.http import install, latest, private_preview, respond, store
from portal.content.loader import ContentStore, Page
from portal.content.model import HOME_SLUG
from portal.core import hooks
from portal.core.errors import render_error, wants_json
from portal.core.templating import MenuItem
from portal.core.urls import site_base

bp = Blueprint("content", __name__)

SEARCH_PATHS = {"nl": "/zoeken", "en": "/en/search"}
MAX_SEARCH_RESULTS = 50


@bp.record_once
def _setup(state) -> None:
    app = state.app
    app.extensions["portal.content"] = ContentStore(app.config["CONTENT_DIR"],
                                                    reload=bool(app.config.get("CONTENT_RELOAD")))
    install(app)  # prepared answers: served before any other work (content/http.py)
    hooks.connect(app, hooks.MENU, _menu_provider)


def _menu_provider(name: str, language: str, _user) -> list[MenuItem]:
    content = current_app.extensions["portal.content"]
    lang = language if language in SEARCH_PATHS else "nl"
    items = [MenuItem(link.title, link.path, link.weight)
             for link in service.menu(content.site, name, lang, content.now())]
    if name == "footer":
        items.append(MenuItem(_("Search"), SEARCH_PATHS[lang], 1000))
    return items


def _is_leader() -> bool:
    return bool(current_user.is_authenticated and getattr(current_user, "is_leader", False))


def _error(code: int, lang: str | None):
    """The error page: English under /en/, elsewhere in the visitor's own language."""
    if lang != "en":
        response = current_app.make_response(render_error(code))
    else:
        with force_locale(lang):
            response = current_app.make_response(render_error(code))
    # Not marked public: the error page's language form carries a CSRF token (core.security
    # makes it no-store).
    return response


# --- pages ------------------------------------------------------------------------------------

def _jsonld_faq(page: Page) -> dict:
    return {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "inLanguage": page.lang,
        "mainEntity": [
            {"@type": "Question", "name": entry.question,
             "acceptedAnswer": {"@type": "Answer", "text": entry.answer_html}}
            for entry in page.faq_entries
        ],
    }


def _render(page: Page, status: str) -> str:
    content = store()
    now = content.now()
    preview = status != "published"
    translations = service.translations(content.site, page, now, preview=preview)
    base = site_base()
    template = "content/home.html" if page.is_home else "content/page.html"
    with force_locale(page.lang):
        return render_template(
            template, page=page, status=status, preview=preview, translations=translations,
            base_url=base, jsonld=_jsonld_faq(page) if page.faq else None,
            search_path=SEARCH_PATHS[page.lang],
        )


def _serve(lang: str, slug: str):
    content = store()
    site = content.site
    now = content.now()
    page = service.find(site, lang, slug)
    if page is not None:
        status = page.status(now)
        if status == "published":
            modified = latest(page.modified, page.publish, site.visibility(now).last_change)
            return respond(lambda: _render(page, status), mimetype="text/html", last_modified=modified)
        if _is_leader():
            return private_preview(current_app.make_response(_render(page, status)))
        if status == "expired":
            return _error(410, lang)
    alias = service.alias_target(site, request.path, now)
    if alias is not None:
        return _alias_redirect(alias)
    if lang != "nl":
        dutch = site.translation(page, "nl") if page is not None else None
        if dutch is None or not dutch.visible(now):
            dutch = service.fallback_for(site, lang, slug, now)
        if dutch is not None:
            return redirect(dutch.path, 302)
    return _error(404, lang)


def _alias_redirect(target: Page):
    """An old address: 301 to the page, cacheable until the next scheduled change."""
    response = redirect(target.path, 301)
    content = store()
    response.headers["Cache-Control"] = f"public, max-age={service.cache_seconds(content.site, content.now(), 3600)}"
    return response


@bp.get("/")
def home():
    return _serve("nl", HOME_SLUG)


@bp.get("/en/")
def home_en():
    return _serve("en", HOME_SLUG)


@bp.get("/<slug>")
def page(slug: str):
    if slug == HOME_SLUG:
        return redirect(url_for("content.home"), 301)
    return _serve("nl", slug)


@bp.get("/en/<slug>")
def page_en(slug: str):
    if slug == HOME_SLUG:
        return redirect(url_for("content.home_en"), 301)
    return _serve("en", slug)


@bp.app_errorhandler(404)
def _not_found(_exc):
    """Old addresses (aliases) of any depth answer 301; /en/... gets the English 404 page."""
    if request.method in ("GET", "HEAD") and not wants_json():
        content = current_app.extensions.get("portal.content")
        if content is not None:
            target = service.alias_target(content.site, request.path, content.now())
            if target is not None:
                return _alias_redirect(target)
    english = request.path == "/en" or request.path.startswith("/en/")
    return _error(404, "en" if english else None)


# --- search -----------------------------------------------------------------------------------

def _search(lang: str):
    query = request.args.get("q", "").strip()[: service.MAX_QUERY_LENGTH]
    content = store()

    def build() -> str:
        hits = service.search(content.site, lang, query, content.now()) if query else []
        other = "en" if lang == "nl" else "nl"
        other_url = SEARCH_PATHS[other] + (f"?{urlencode({'q': query})}" if query else "")
        with force_locale(lang):
            return render_template("content/search.html", lang=lang, query=query,
                                   hits=hits[:MAX_SEARCH_RESULTS], total=len(hits),
                                   other_lang=other, other_url=other_url, search_path=SEARCH_PATHS[lang])

    return respond(build, mimetype="text/html")


@bp.get("/zoeken")
def search():
    return _search("nl")


@bp.get("/en/search")
def search_en():
    return _search("en")


# --- sitemap and robots -----------------------------------------------------------------------

def _sitemap_xml() -> str:
    content = store()
    now = content.now()
    base = site_base()
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
             'xmlns:xhtml="http://www.w3.org/1999/xhtml">']
    for page, alternates in service.sitemap(content.site, now):
        lines.append("  <url>")
        lines.append(f"    <loc>{escape(base + page.path)}</loc>")
        modified = latest(page.modified, page.publish)
        lines.append(f"    <lastmod>{modified.isoformat()}</lastmod>")
        if len(alternates) > 1:
            for lang, other in sorted(alternates.items()):
                lines.append(f'    <xhtml:link rel="alternate" hreflang="{lang}" href="{escape(base + other.path)}"/>')
            if "nl" in alternates:
                lines.append(f'    <xhtml:link rel="alternate" hreflang="x-default" '
                             f'href="{escape(base + alternates["nl"].path)}"/>')
        lines.append("  </url>")
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


@bp.get("/sitemap.xml")
def sitemap():
    return respond(_sitemap_xml, mimetype="application/xml", shared=True)


ROBOTS_DISALLOW = ("/api/", "/dashboard", "/leader", "/team", "/account", "/invite/", "/password/",
                   "/confirm/", "/zoeken", "/en/search")


@bp.get("/robots.txt")
def robots():
    base = site_base()

    def build() -> str:
        lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW), "",
                 f"Sitemap: {base}/sitemap.xml", ""]
        return "\n".join(lines)

    return respond(build, mimetype="text/plain", shared=True, max_age=86400)


api.register(bp)
