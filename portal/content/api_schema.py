"""The content API's shapes and its description: the pydantic models every answer of
/api/v1 follows, published as one JSON Schema document (/api/v1/schema.json) and as the
components of the OpenAPI 3.1 description (/api/v1/openapi.json). api.py builds the answers.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from portal.content import service
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
