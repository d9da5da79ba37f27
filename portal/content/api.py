"""The read-only JSON API, version 1: enough for another front end to build the whole site.

    GET /api/v1/pages?lang=nl[&b_start=0&b_size=25]     list (items, items_total, batching)
    GET /api/v1/pages/<slug>?lang=nl                     one page (slug `index` is the home page)
    GET /api/v1/faq?lang=nl[&category=company]          questions and answers
    GET /api/v1/menus?lang=nl                            main and footer menus
    GET /api/v1/search?q=...&lang=nl                     pages and FAQ answers, best first
    GET /api/v1/schema.json                              JSON Schema of every answer above
    GET /api/v1/openapi.json                             OpenAPI 3.1 description of the API

Every answer is public: CORS allows GET from anywhere (no credentials), and ETag,
Last-Modified and 304 work as on the HTML pages. A page missing in English is answered with
the Dutch page and `"fallback": true`. The shapes of the answers, and the schema and OpenAPI
documents made from them, are in api_schema.py.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, request

from portal.content import service
from portal.content.api_schema import API, DEFAULT_BATCH, MAX_BATCH, json_schema, openapi
from portal.content.http import latest, respond, store
from portal.content.loader import FaqEntry, Page, Site
from portal.content.model import FAQ_CATEGORIES, LANGUAGES
from portal.core.urls import site_base

# --- building answers -------------------------------------------------------------------------

def _base() -> str:
    return site_base()


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _lang() -> str:
    lang = request.args.get("lang", "nl")
    if lang not in LANGUAGES:
        abort(400)
    return lang


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400)
    if not low <= value <= high:
        abort(400)
    return value


def _page_api(page: Page) -> str:
    return f"{_base()}{API}/pages/{page.slug}?lang={page.lang}"


def _summary(site: Site, page: Page, requested: str, fallback: bool, now: dt.datetime) -> dict[str, Any]:
    base = _base()
    return {
        "@id": _page_api(page),
        "@type": "page",
        "slug": page.slug,
        "lang": page.lang,
        "requestedLang": requested,
        "fallback": fallback,
        "title": page.title,
        "summary": page.summary,
        "path": page.path,
        "url": base + page.path,
        "weight": page.weight,
        "menus": {name: {"title": place.title, "weight": place.weight} for name, place in page.menus.items()},
        "translations": [
            {"lang": lang, "slug": other.slug, "path": other.path, "url": base + other.path, "@id": _page_api(other)}
            for lang, other in service.translations(site, page, now).items()
        ],
        "hasFaq": bool(page.faq),
        "publishDate": _iso(page.publish),
        "expiryDate": _iso(page.expiry),
        "lastmod": page.modified.isoformat(),
    }


def _faq_item(page: Page, entry: FaqEntry) -> dict[str, Any]:
    path = f"{page.path}#{entry.id}"
    return {"id": entry.id, "category": entry.category, "question": entry.question,
            "answerHtml": entry.answer_html, "answerText": entry.answer_text, "path": path,
            "url": _base() + path}


def _batch(items: list, total_url: str) -> tuple[list, dict[str, Any]]:
    start = _int_arg("b_start", 0, 0, 1_000_000)
    size = _int_arg("b_size", DEFAULT_BATCH, 1, MAX_BATCH)
    params = {k: v for k, v in request.args.items() if k not in ("b_start", "b_size")}

    def link(at: int) -> str:
        return f"{total_url}?{urlencode({**params, 'b_start': at, 'b_size': size})}"

    total = len(items)
    last = max(0, (total - 1) // size * size)
    batching = {
        "@id": link(start),
        "first": link(0),
        "last": link(last),
        "prev": link(max(0, start - size)) if start > 0 else None,
        "next": link(start + size) if start + size < total else None,
    }
    return items[start:start + size], batching


def _json(build, *, last_modified: dt.datetime | None = None):
    def body() -> str:
        return json.dumps(build(), ensure_ascii=False, separators=(",", ":"))

    return respond(body, mimetype="application/json", shared=True, last_modified=last_modified)


def pages():
    lang = _lang()
    content = store()
    site, now = content.site, content.now()
    listed = service.listing(site, lang, now)

    def build() -> dict[str, Any]:
        chosen, batching = _batch(listed, f"{_base()}{API}/pages")
        return {"@id": batching["@id"], "lang": lang,
                "items": [_summary(site, item.page, lang, item.fallback, now) for item in chosen],
                "items_total": len(listed), "batching": batching}

    modified = latest(*(item.page.modified for item in listed), site.visibility(now).last_change)
    return _json(build, last_modified=modified)


def page(slug: str):
    lang = _lang()
    content = store()
    site, now = content.site, content.now()
    found = service.find(site, lang, slug)
    fallback = False
    if found is None or not found.visible(now):
        status = found.status(now) if found is not None else None
        if status == "expired":
            abort(410)
        dutch = site.translation(found, "nl") if found is not None and lang != "nl" else None
        found = dutch if dutch is not None and dutch.visible(now) else service.fallback_for(site, lang, slug, now)
        if found is None:
            abort(404)
        fallback = True
    chosen = found

    def build() -> dict[str, Any]:
        document = _summary(site, chosen, lang, fallback, now)
        document.update(
            html=chosen.html,
            text=chosen.text,
            toc=[{"id": h.id, "title": h.text, "level": h.level} for h in chosen.headings],
            faq=[{"id": s.id, "title": s.title, "items": [_faq_item(chosen, e) for e in s.entries]}
                 for s in chosen.faq],
        )
        return document

    return _json(build, last_modified=latest(chosen.modified, chosen.publish))


def faq():
    lang = _lang()
    category = request.args.get("category") or None
    if category is not None and category not in FAQ_CATEGORIES:
        abort(400)
    content = store()
    site, now = content.site, content.now()
    entries = service.faq(site, lang, now, category)
    titles = service.faq_titles(site, lang, now)

    def build() -> dict[str, Any]:
        chosen, batching = _batch(entries, f"{_base()}{API}/faq")
        return {"@id": batching["@id"], "lang": lang, "category": category,
                "categories": [{"id": c, "title": titles[c]} for c in FAQ_CATEGORIES if c in titles],
                "items": [_faq_item(p, e) for p, e in chosen], "items_total": len(entries),
                "batching": batching}

    return _json(build, last_modified=latest(*(p.modified for p, _e in entries)))


def menus():
    lang = _lang()
    content = store()
    site, now = content.site, content.now()

    def build() -> dict[str, Any]:
        base = _base()
        return {"@id": f"{base}{API}/menus?lang={lang}", "lang": lang,
                "menus": {name: [{"title": link.title, "slug": link.page.slug, "path": link.path,
                                  "url": base + link.path, "weight": link.weight}
                                 for link in service.menu(site, name, lang, now)]
                          for name in ("main", "footer")}}

    return _json(build)


def search():
    lang = _lang()
    query = request.args.get("q", "").strip()
    if not query or len(query) > service.MAX_QUERY_LENGTH:
        abort(400)
    content = store()
    site, now = content.site, content.now()

    def build() -> dict[str, Any]:
        hits = service.search(site, lang, query, now)
        chosen, batching = _batch(hits, f"{_base()}{API}/search")
        base = _base()
        return {"@id": batching["@id"], "lang": lang, "query": query,
                "items": [{"type": h.kind, "title": h.title, "slug": h.page.slug,
                           "faqId": h.entry.id if h.entry else None, "path": h.path, "url": base + h.path,
                           "snippet": h.snippet, "score": h.score} for h in chosen],
                "items_total": len(hits), "batching": batching}

    return _json(build)


def schema():
    return _json(lambda: json_schema(_base()))


def openapi_document():
    return _json(lambda: openapi(_base()))


CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language, If-None-Match, If-Modified-Since",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Cache-Control",
    "Access-Control-Max-Age": "86400",
}


def _cors(response):
    if request.path.startswith(API + "/"):
        response.headers.update(CORS_HEADERS)
    return response


def register(bp: Blueprint) -> None:
    bp.add_url_rule(f"{API}/pages", "api_pages", pages)
    bp.add_url_rule(f"{API}/pages/<slug>", "api_page", page)
    bp.add_url_rule(f"{API}/faq", "api_faq", faq)
    bp.add_url_rule(f"{API}/menus", "api_menus", menus)
    bp.add_url_rule(f"{API}/search", "api_search", search)
    bp.add_url_rule(f"{API}/schema.json", "api_schema", schema)
    bp.add_url_rule(f"{API}/openapi.json", "api_openapi", openapi_document)
    bp.after_request(_cors)
