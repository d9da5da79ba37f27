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
the Dutch page and `"fallback": true`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from portal.content import service
from portal.content.http import latest, respond, store
from portal.content.loader import FaqEntry, Page, Site
from portal.content.model import FAQ_CATEGORIES, LANGUAGES

DEFAULT_BATCH = 25
MAX_BATCH = 100
API = "/api/v1"

Lang = Literal["nl", "en"]
Category = Literal["ambassador", "school", "company"]


# --- the shapes (also the published JSON Schema) -------------------------------------------

class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Translation(Shape):
    """A real translation of a page."""

    lang: Lang
    slug: str
    path: str
    url: str
    api: str = Field(alias="@id")


class MenuPlacement(Shape):
    title: str
    weight: int


class PageSummary(Shape):
    """A page as it appears in a list."""

    api: str = Field(alias="@id", description="this page in the API")
    type: Literal["page"] = Field(alias="@type")
    slug: str = Field(description="`index` is the home page")
    lang: Lang = Field(description="language of the text returned")
    requestedLang: Lang
    fallback: bool = Field(description="true when the requested language has no translation")
    title: str
    summary: str
    path: str
    url: str
    weight: int
    menus: dict[Literal["main", "footer"], MenuPlacement]
    translations: list[Translation]
    hasFaq: bool
    publishDate: str | None
    expiryDate: str | None
    lastmod: str


class TocEntry(Shape):
    id: str
    title: str
    level: int


class FaqItemOut(Shape):
    id: str = Field(description="stable anchor, the same in every language")
    category: Category
    question: str
    answerHtml: str
    answerText: str
    path: str
    url: str


class FaqCategoryOut(Shape):
    id: Category
    title: str
    items: list[FaqItemOut]


class PageDetail(PageSummary):
    """One page with its rendered body."""

    html: str = Field(description="sanitised HTML of the body")
    text: str = Field(description="the body as plain text")
    toc: list[TocEntry]
    faq: list[FaqCategoryOut]


class Batching(Shape):
    api: str = Field(alias="@id")
    first: str
    last: str
    prev: str | None
    next: str | None


class PageList(Shape):
    api: str = Field(alias="@id")
    lang: Lang
    items: list[PageSummary]
    items_total: int
    batching: Batching


class CategoryOut(Shape):
    id: Category
    title: str


class FaqList(Shape):
    api: str = Field(alias="@id")
    lang: Lang
    category: Category | None
    categories: list[CategoryOut]
    items: list[FaqItemOut]
    items_total: int
    batching: Batching


class MenuLinkOut(Shape):
    title: str
    slug: str
    path: str
    url: str
    weight: int


class Menus(Shape):
    api: str = Field(alias="@id")
    lang: Lang
    menus: dict[Literal["main", "footer"], list[MenuLinkOut]]


class SearchItem(Shape):
    type: Literal["page", "faq"]
    title: str
    slug: str
    faqId: str | None
    path: str
    url: str
    snippet: str
    score: int


class SearchResults(Shape):
    api: str = Field(alias="@id")
    lang: Lang
    query: str
    items: list[SearchItem]
    items_total: int
    batching: Batching


class ErrorDetail(Shape):
    status: int
    title: str
    message: str
    reference: str | None = None


class ErrorBody(Shape):
    error: ErrorDetail


RESPONSES = {
    f"{API}/pages": PageList,
    f"{API}/pages/{{slug}}": PageDetail,
    f"{API}/faq": FaqList,
    f"{API}/menus": Menus,
    f"{API}/search": SearchResults,
    "errors": ErrorBody,
}


def json_schema(base: str) -> dict[str, Any]:
    """One JSON Schema document: `$defs` per shape, `x-endpoints` names each answer's shape."""
    _, defs = models_json_schema([(m, "serialization") for m in RESPONSES.values()],
                                 ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}{API}/schema.json",
        "title": "OnderwijsAmbassadeurs content API v1",
        "$defs": defs["$defs"],
        "x-endpoints": {path: {"$ref": f"#/$defs/{model.__name__}"} for path, model in RESPONSES.items()},
    }


def _parameter(name: str, where: str, schema: dict[str, Any], description: str, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


LANG_PARAMETER = _parameter("lang", "query", {"type": "string", "enum": list(LANGUAGES), "default": "nl"},
                            "language of the answer; a page missing in English comes in Dutch with fallback: true")
BATCH_PARAMETERS = [
    _parameter("b_start", "query", {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0},
               "index of the first item of the batch"),
    _parameter("b_size", "query", {"type": "integer", "minimum": 1, "maximum": MAX_BATCH, "default": DEFAULT_BATCH},
               "items per batch"),
]
CONDITIONAL_PARAMETERS = [
    _parameter("If-None-Match", "header", {"type": "string"}, "an ETag of an earlier answer: 304 when unchanged"),
]

# Each operation: path, id, summary, its own parameters, the shape of its answer, the errors it may give.
OPERATIONS = (
    (f"{API}/pages", "listPages", "Every published page", BATCH_PARAMETERS, PageList, (400,)),
    (f"{API}/pages/{{slug}}", "getPage", "One page with its body, contents and questions",
     [_parameter("slug", "path", {"type": "string", "minLength": 1, "maxLength": 200},
                 "the page's slug in any language; `index` is the home page", required=True)],
     PageDetail, (400, 404, 410)),
    (f"{API}/faq", "listFaq", "Questions and answers",
     [_parameter("category", "query", {"type": "string", "enum": list(FAQ_CATEGORIES)}, "only this category"),
      *BATCH_PARAMETERS], FaqList, (400,)),
    (f"{API}/menus", "getMenus", "The main and footer menus", [], Menus, (400,)),
    (f"{API}/search", "search", "Pages and answers that match, best first",
     [_parameter("q", "query", {"type": "string", "minLength": 1, "maxLength": service.MAX_QUERY_LENGTH,
                                "pattern": r"\S"}, "what to look for", required=True), *BATCH_PARAMETERS],
     SearchResults, (400,)),
)
ERROR_WORDS = {400: "The request is not valid (an unknown language, category or batch).",
               404: "No page with this slug.", 410: "The page was published but has expired."}


def openapi(base: str) -> dict[str, Any]:
    """The API described in OpenAPI 3.1, whose schema dialect is JSON Schema 2020-12: the shapes
    above become its components, as they are in /schema.json."""
    _, defs = models_json_schema([(m, "serialization") for m in RESPONSES.values()],
                                 ref_template="#/components/schemas/{model}")
    headers = {"ETag": {"description": "version of this answer", "schema": {"type": "string"}},
               "Last-Modified": {"description": "when the content last changed", "schema": {"type": "string"}}}

    def json_body(model: type[Shape], description: str) -> dict[str, Any]:
        return {"description": description,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}

    paths: dict[str, Any] = {}
    for path, operation_id, summary, parameters, model, errors in OPERATIONS:
        responses = {"200": {**json_body(model, summary), "headers": headers},
                     "304": {"description": "Not modified: the If-None-Match ETag is still current."}}
        responses.update({str(code): json_body(ErrorBody, ERROR_WORDS[code]) for code in errors})
        paths[path] = {"get": {"operationId": operation_id, "summary": summary, "tags": ["content"],
                               "parameters": [LANG_PARAMETER, *parameters, *CONDITIONAL_PARAMETERS],
                               "responses": responses}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "OnderwijsAmbassadeurs content API", "version": "1",
                 "description": "Read-only, public content of the OnderwijsAmbassadeurs site in Dutch and English: "
                                "pages, questions and answers, menus and search. Every answer has an ETag; CORS "
                                "allows GET from any origin without credentials."},
        "servers": [{"url": base}],
        "tags": [{"name": "content", "description": "pages, questions, menus and search"}],
        "paths": paths,
        "components": {"schemas": defs["$defs"]},
    }


# --- building answers -------------------------------------------------------------------------

def _base() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


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
