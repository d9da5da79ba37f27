"""`portal content check`: everything that can be wrong with the content, with file and line.

Errors (the command exits 1): front matter schema and YAML pitfalls, duplicate slugs,
translation keys and aliases, an English page without a Dutch source, an empty translation,
FAQ ids that differ between translations, internal links and anchors that lead nowhere
(resolved through the app's real URL map), images without alt text or outside /static/,
raw HTML and unsafe link schemes, h1 headings in a body (the title is the h1), a page
whose address another route takes, and a claim without a source.

Claims (see `claims.py`): every number, e-mail address, phone number, URL and legal name in
a page's title, summary, body and FAQ must be backed by the page's front matter `sources:`,
or be a setting shown with `{{ setting:NAME }}`. A source names where the facts come from
(`ref`) and lists the figures, addresses and names it backs, as written (`backs`):

    sources:
      - ref: ../shared/domain.md
        backs: ["EUR 160", "EUR 5,60", "2025"]
      - ref: https://www.autoriteitpersoonsgegevens.nl/

A `ref` that is a web address backs itself. A `ref` that is a file (relative to the
project: `portal/config.py`, or the shared notes beside it: `../shared/seeds/...`) must say
what it backs: every figure it backs must occur in that file (a file outside the project is
read where it is present). Front matter dates and links to the site's own pages are not
claims. Warnings: a page not translated, `reviewBy` passed, a link to an alias instead of
the page, a source backing something the page does not show.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from portal.content import claims
from portal.content import render as markdown
from portal.content.loader import Page, Problem, Site, build_site
from portal.content.model import LANGUAGES
from portal.core import clock

CONTENT_ENDPOINTS = {"content.page": "nl", "content.page_en": "en", "content.home": "nl", "content.home_en": "en"}


class Checker:
    def __init__(self, site: Site, app: Flask, today: dt.date) -> None:
        self.site = site
        self.app = app
        self.today = today
        self.problems: list[Problem] = list(site.problems)
        self.adapter = app.url_map.bind("localhost")
        self.static_dir = Path(app.static_folder or "")
        self.project_dir = Path(app.root_path).resolve().parent
        self._documents: dict[Path, claims.Document | None] = {}

    def error(self, page: Page, line: int, message: str) -> None:
        self.problems.append(Problem(page.source, line, "error", message))

    def warning(self, page: Page, line: int, message: str) -> None:
        self.problems.append(Problem(page.source, line, "warning", message))

    def run(self) -> list[Problem]:
        for page in self.site.pages:
            self.check_route(page)
            self.check_translation(page)
            self.check_review(page)
            self.check_markdown(page, page.rendered, page.body_line)
            for entry, rendered in page.faq_rendered:
                # a block scalar's text starts on the line after `answer: |`
                self.check_markdown(page, rendered, entry.line)
            self.check_claims(page)
        for page in self.site.aliases.values():
            for alias in page.aliases:
                if self.site.aliases.get(alias) is page:
                    self.check_alias(page, alias)
        return sorted(set(self.problems))

    # --- addresses ----------------------------------------------------------------------------

    def _match(self, path: str) -> tuple[str, dict] | None:
        try:
            return self.adapter.match(path, method="GET")
        except RequestRedirect as redirect:
            return self._match(urlsplit(redirect.new_url).path)
        except (NotFound, MethodNotAllowed):
            return None
        except HTTPException:
            return None

    def check_route(self, page: Page) -> None:
        match = self._match(page.path)
        if match is None or match[0] not in CONTENT_ENDPOINTS:
            taken_by = match[0] if match else "nothing"
            self.error(page, 1, f"address {page.path} is answered by {taken_by}, not by this page: choose another slug")

    def check_alias(self, page: Page, alias: str) -> None:
        match = self._match(alias)
        if match is not None and match[0] not in CONTENT_ENDPOINTS:
            self.error(page, 1, f"alias {alias} is an address of {match[0]}: it would never redirect")
            return
        if match is not None:
            endpoint, args = match
            lang = CONTENT_ENDPOINTS[endpoint]
            slug = args.get("slug", "index")
            if (lang, slug) in self.site.by_slug:
                self.error(page, 1, f"alias {alias} is the address of {self.site.by_slug[(lang, slug)].source}")

    # --- translations and freshness -----------------------------------------------------------

    def check_translation(self, page: Page) -> None:
        dutch = self.site.translation(page, "nl")
        if page.lang != "nl" and dutch is None:
            self.error(page, 1, f"no Dutch page with translationKey '{page.key}': Dutch is the source language")
        if page.lang == "nl":
            for lang in LANGUAGES:
                if lang != "nl" and self.site.translation(page, lang) is None:
                    self.warning(page, 1, f"no {lang} translation (translationKey '{page.key}'): "
                                          f"{lang} visitors are sent to the Dutch page")
        if page.lang != "nl" and dutch is not None and dutch.modified.date() > page.modified.date():
            self.warning(page, 1, f"{dutch.source} changed on {dutch.modified.date().isoformat()}, after this "
                                  f"translation ({page.modified.date().isoformat()}): check it is still right")
        if page.lang != "nl" and not page.text.strip() and not page.faq:
            self.error(page, page.body_line + 1, "empty translation: write the text or remove the file")
        if page.lang != "nl" and dutch is not None and dutch.faq:
            mine = [e.id for e in page.faq_entries]
            source = [e.id for e in dutch.faq_entries]
            if set(mine) != set(source):
                missing = sorted(set(source) - set(mine))
                extra = sorted(set(mine) - set(source))
                detail = "; ".join(part for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"not in Dutch {', '.join(extra)}" if extra else "") if part)
                self.error(page, 1, f"FAQ ids differ from {dutch.source}: {detail}")

    def check_review(self, page: Page) -> None:
        if page.review_by is not None and page.review_by < self.today:
            who = f" ({page.owner})" if page.owner else ""
            self.warning(page, 1, f"reviewBy {page.review_by.isoformat()} has passed: check the facts{who}")

    # --- the markdown -------------------------------------------------------------------------

    def check_markdown(self, page: Page, rendered: markdown.Rendered, offset: int) -> None:
        for line in rendered.raw_html_lines:
            self.error(page, offset + line, "raw HTML is not allowed (it is shown as text): use markdown")
        for line in rendered.unsafe_link_lines:
            self.error(page, offset + line, "link with an unsafe scheme (javascript:, data:, …)")
        for heading in rendered.headings:
            if heading.level == 1:
                self.error(page, offset + heading.line, "a '#' heading in the body: the title is the page's h1, start at '##'")
        for image in rendered.images:
            if not image.alt:
                self.error(page, offset + image.line, f"image {image.src} has no alt text: ![what it shows](...)")
            self.check_image(page, image, offset)
        for link in rendered.links:
            self.check_link(page, link, offset)

    def check_image(self, page: Page, image: markdown.Image, offset: int) -> None:
        parts = urlsplit(image.src)
        if parts.scheme or parts.netloc or not parts.path.startswith("/static/"):
            self.error(page, offset + image.line, f"image {image.src}: images are files under /static/ (no other sites)")
            return
        relative = parts.path.removeprefix("/static/")
        target = (self.static_dir / relative).resolve()
        if not str(target).startswith(str(self.static_dir.resolve()) + os.sep) or not target.is_file():
            self.error(page, offset + image.line, f"image {image.src} does not exist in portal/static/")

    def check_link(self, page: Page, link: markdown.Link, offset: int) -> None:
        line = offset + link.line
        href = link.href
        parts = urlsplit(href)
        if parts.scheme in ("http", "https", "mailto", "tel"):
            if parts.scheme in ("http", "https") and not parts.netloc:
                self.error(page, line, f"link {href} has no host")
            return
        if parts.scheme or parts.netloc:
            self.error(page, line, f"link {href}: only http(s), mailto, tel and paths on this site are allowed")
            return
        if not parts.path:  # "#anchor" on this page
            if parts.fragment and parts.fragment not in page.anchors:
                self.error(page, line, f"link {href}: no heading or question with id '{parts.fragment}' on this page")
            return
        if not parts.path.startswith("/"):
            self.error(page, line, f"link {href}: write site links from the root, e.g. /voor-werkgevers")
            return
        alias = self.site.aliases.get(parts.path.rstrip("/") or "/")
        if alias is not None:
            self.warning(page, line, f"link {href} is an old address (alias): link to {alias.path}")
            return
        match = self._match(parts.path)
        if match is None:
            self.error(page, line, f"link {href} leads nowhere (no page or route)")
            return
        endpoint, args = match
        if endpoint not in CONTENT_ENDPOINTS:
            if parts.fragment:
                self.warning(page, line, f"link {href}: anchors on {endpoint} cannot be checked")
            return
        lang = CONTENT_ENDPOINTS[endpoint]
        target = self.site.by_slug.get((lang, args.get("slug", "index")))
        if target is None:
            self.error(page, line, f"link {href} leads nowhere: no {lang} page with that slug")
            return
        if target.draft and not page.draft:
            self.error(page, line, f"link {href} points to a draft ({target.source})")
        if target.lang != page.lang:
            self.warning(page, line, f"link {href} goes to the other language")
        if parts.fragment and parts.fragment not in target.anchors:
            self.error(page, line, f"link {href}: {target.source} has no heading or question with id '{parts.fragment}'")


    # --- claims and their sources -------------------------------------------------------------

    def _document(self, ref: str) -> claims.Document | None | str:
        """The source file's text; None when it is a file outside the project that is absent here,
        a message when it cannot be a source."""
        path = (self.project_dir / ref).resolve()
        inside = str(path).startswith(str(self.project_dir) + os.sep)
        if path not in self._documents:
            try:
                self._documents[path] = claims.Document(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                self._documents[path] = None
            except (OSError, UnicodeDecodeError):
                return f"source {ref} cannot be read as text"
        document = self._documents[path]
        if document is None and inside:
            return f"source {ref} does not exist (a file of the project, e.g. portal/config.py, or a web address)"
        return document

    def _backed(self, page: Page) -> dict[tuple[str, str], str]:
        """(kind, key) -> the backs entry, for every claim the sources back; problems as found."""
        backed: dict[tuple[str, str], str] = {}
        line = page.field_lines.get("sources", 1)
        for source in page.sources:
            ref = source.ref
            document = None
            if urlsplit(ref).scheme in ("http", "https"):
                own = claims.from_href(ref)
                if own is not None:
                    backed[(own.kind, own.key)] = ref
            else:
                document = self._document(ref)
                if isinstance(document, str):
                    self.error(page, line, document)
                    document = None
            for text in source.backs:
                found = claims.find(text)
                if not found:
                    self.error(page, line, f"sources: '{text}' (from {ref}) names no number, e-mail address, "
                                           "phone number, URL or legal name: list only what the page shows")
                for claim in found:
                    if document is not None and not document.states(claim):
                        self.error(page, line, f"sources: {ref} does not state the {claim.label} {claim.text}")
                        continue
                    backed.setdefault((claim.kind, claim.key), text)
        return backed

    def _claims_of(self, page: Page) -> list[tuple[int, claims.Claim]]:
        found: list[tuple[int, claims.Claim]] = []

        def text(line: int, value: str) -> None:
            found.extend((line, claim) for claim in claims.find(value))

        def rendered(offset: int, result: markdown.Rendered) -> None:
            for number, value in result.text_lines:
                text(offset + number, value)
            for link in result.links:
                claim = claims.from_href(link.href)
                if claim is not None:
                    found.append((offset + link.line, claim))

        text(page.field_lines.get("title", 2), page.title)
        text(page.field_lines.get("summary", 2), page.summary)
        rendered(page.body_line, page.rendered)
        for entry, result in page.faq_rendered:
            text(entry.question_line, entry.question)
            rendered(entry.line, result)
        return found

    def check_placeholders(self, page: Page) -> None:
        for key, value in (("title", page.title), ("summary", page.summary)):
            if markdown.PLACEHOLDER.search(value):
                self.error(page, page.field_lines.get(key, 2),
                           f"{key}: settings are shown only in the body and in FAQ answers")
        for entry in page.faq_entries:
            if markdown.PLACEHOLDER.search(entry.question):
                self.error(page, entry.question_line, "a question cannot show a setting: put it in the answer")
        texts = [(page.body_line, page.rendered)] + [(e.line, r) for e, r in page.faq_rendered]
        allowed = ", ".join(markdown.SETTING_PLACEHOLDERS)
        for offset, result in texts:
            for number, value in result.text_lines:
                for match in markdown.PLACEHOLDER.finditer(value):
                    if match.group(1) not in markdown.SETTING_PLACEHOLDERS:
                        self.error(page, offset + number,
                                   f"{match.group(0)} is not a setting a page may show (allowed: {allowed})")

    def check_claims(self, page: Page) -> None:
        """Every figure, address and legal name comes from the page's sources or from settings."""
        self.check_placeholders(page)
        backed = self._backed(page)
        keys = set(backed)
        shown: set[tuple[str, str]] = set()
        reported: set[tuple[int, str, str]] = set()
        for line, claim in self._claims_of(page):
            if claims.is_backed(claim, keys):
                shown.add((claim.kind, claim.key))
                shown.update(k for k in keys if k[0] == "url" and claims.is_backed(claim, {k}))
                continue
            if (line, claim.kind, claim.key) in reported:
                continue
            reported.add((line, claim.kind, claim.key))
            self.error(page, line, f"unsourced {claim.label} {claim.text}: name its source in the front matter "
                                   "(sources: - ref: ..., backs: [...]) or show a setting")
        line = page.field_lines.get("sources", 1)
        for key, text in sorted(backed.items()):
            if key not in shown:
                self.warning(page, line, f"sources back '{text}' but the page does not show it")


def check(app: Flask, directory: str | Path | None = None, today: dt.date | None = None) -> list[Problem]:
    """Load the content folder afresh and return every problem, errors and warnings."""
    folder = Path(directory or app.config["CONTENT_DIR"])
    site = build_site(folder)
    with app.app_context():
        return Checker(site, app, today or clock.today()).run()
