"""Caching for public content answers: prepared answers, ETag, Last-Modified and 304.

A public answer (HTML for a visitor who is not logged in, or any API answer) depends only on
the content snapshot, the set of pages public right now, the address and the code. Two stores
hold what it costs to make one:

- the memo keeps the body and its ETag, so a visitor whose browser carries a session cookie
  (a language chosen, a form once opened) costs a dict lookup instead of a template render;
- the prepared answers keep the whole answer as it left the app (status, every header, body),
  keyed by scheme and address. `PreparedAnswers`, a WSGI layer in front of Flask, serves them
  before any other work: no session, no CSRF, no user, no menus, no view. Only `Date` and the
  `max-age` in Cache-Control are computed again, so the security headers are the ones the app
  set. A matching If-None-Match (or If-Modified-Since) gets its 304 there too.

An answer is prepared only from a request without cookies or credentials: a page then has no
signed-in header, no flashed message, no leader's preview, no token, so it is the same for
every such visitor. A prepared page is served only to such a request too: whoever carries a
cookie goes the whole way through Flask (and gets the memoised body where the page is public).
API answers are the same for everyone and are served to everyone. An answer that sets a
cookie or counts against a rate limit is never prepared.

Both stores check, on every use, that the snapshot (which changes when a file changes with
CONTENT_RELOAD, or when settings change) and the set of public pages (which changes at a
scheduled publication or expiry) are still the ones the answer was made from. The ETag is a
hash of the body itself, so it is right by construction, and `max-age` never reaches past the
next scheduled publication or expiry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, request, session
from flask_login import current_user
from werkzeug.http import http_date, is_resource_modified, remove_entity_headers
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.content import service
from portal.content.loader import ContentStore, Site, Visibility

DEFAULT_MAX_AGE = 300
MEMO_SIZE = 512
PREPARED_SIZE = 512

MEMO = "portal.content.memo"
PREPARED = "portal.content.prepared"
OFFER = "portal.content.offer"  # the environ key a view puts its offer of an answer under

# Headers whose presence means an answer belongs to one client or one moment of counting.
PERSONAL_HEADERS = ("set-cookie", "retry-after", "x-ratelimit-limit", "x-ratelimit-remaining",
                    "x-ratelimit-reset", "authorization", "www-authenticate")


class Memo:
    """A thread-safe LRU."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def discard(self, key: tuple, value: Any) -> None:
        """Forget `key` if it still holds `value` (another thread may have put a newer one)."""
        with self._lock:
            if self._items.get(key) is value:
                del self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Body:
    """A memoised body and its ETag, with the snapshot and public set it was made from."""

    site: Site
    visibility: Visibility
    body: bytes
    etag: str


@dataclass(frozen=True)
class Offer:
    """What a view tells `PreparedAnswers` about an answer it may keep."""

    site: Site
    visibility: Visibility
    shared: bool
    ceiling: int


@dataclass(frozen=True)
class Prepared:
    """A whole answer as it left the app, ready to be sent again (200, or 304 with its headers)."""

    site: Site
    visibility: Visibility
    shared: bool
    ceiling: int
    status: str
    headers: tuple[tuple[str, str], ...]
    not_modified: tuple[tuple[str, str], ...]
    body: bytes
    etag: str | None
    last_modified: str | None


def store() -> ContentStore:
    return current_app.extensions["portal.content"]


def memo() -> Memo:
    return current_app.extensions[MEMO]


def is_visitor() -> bool:
    """Not logged in and nothing flashed: the answer is the same for everyone."""
    return not current_user.is_authenticated and not session.get("_flashes")


def carries_identity(environ: dict) -> bool:
    """Whether a request brings anything that could make its page its own (a cookie, credentials)."""
    return "HTTP_COOKIE" in environ or "HTTP_AUTHORIZATION" in environ


def templates_changed(app: Flask) -> bool:
    """In development (templates reloaded): whether a template changed since it was last read."""
    env = app.jinja_env
    if not env.auto_reload or env.cache is None:
        return False
    return any(not template.is_up_to_date for template in list(env.cache.values()))


def forget_all(app: Flask) -> None:
    """Drop every memoised body and prepared answer."""
    for name in (MEMO, PREPARED):
        table = app.extensions.get(name)
        if table is not None:
            table.clear()


def respond(build: Callable[[], str | bytes], *, mimetype: str, status: int = 200,
            last_modified: dt.datetime | None = None, shared: bool = False,
            max_age: int | None = None) -> Response:
    """A public, conditional answer; `shared` means the same for logged-in users too (the API)."""
    content = store()
    site = content.site
    now = content.now()
    public = shared or is_visitor()
    if not public:
        body = build()
        response = Response(body, status=status, mimetype=mimetype)
        response.headers["Cache-Control"] = "no-store"  # a user's own page, or a flashed message
        return response
    visibility = site.visibility(now)
    if content.reload and templates_changed(current_app):
        forget_all(current_app)
    key = (request.path, request.query_string, mimetype)
    use_memo = status == 200
    cached = memo().get(key) if use_memo else None
    if cached is None or cached.site is not site or cached.visibility is not visibility:
        raw = build()
        body = raw.encode("utf-8") if isinstance(raw, str) else raw
        cached = Body(site, visibility, body, hashlib.sha256(body).hexdigest()[:32])
        if use_memo:
            memo().put(key, cached)
    response = Response(cached.body, status=status, mimetype=mimetype)
    ceiling = DEFAULT_MAX_AGE if max_age is None else max_age
    response.headers["Cache-Control"] = f"public, max-age={service.cache_seconds(site, now, ceiling)}"
    if not shared:
        response.vary.add("Cookie")
    if status != 200:
        return response
    response.set_etag(cached.etag)
    if last_modified is not None:
        response.last_modified = last_modified
    if request.method == "GET" and not carries_identity(request.environ):
        request.environ[OFFER] = Offer(site, visibility, shared, ceiling)
    return response.make_conditional(request)


def private_preview(response: Response) -> Response:
    """A draft shown to the project leader: never indexed, never stored."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def latest(*moments: dt.datetime | None) -> dt.datetime | None:
    present = [m for m in moments if m is not None]
    return max(present) if present else None


# --- prepared answers, before Flask -----------------------------------------------------------

def _with_fresh(headers: tuple[tuple[str, str], ...], date: str, cache_control: str) -> list[tuple[str, str]]:
    fresh = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "date":
            value = date
        elif lowered == "cache-control":
            value = cache_control
        fresh.append((name, value))
    return fresh


def _prepare(offer: Offer, status: str, headers: list[tuple[str, str]], body: bytes) -> Prepared | None:
    lowered = {name.lower(): value for name, value in headers}
    if any(name in lowered for name in PERSONAL_HEADERS):
        return None
    if not lowered.get("cache-control", "").startswith("public"):
        return None
    if lowered.get("content-length") != str(len(body)):
        return None
    not_modified = list(headers)
    remove_entity_headers(not_modified)
    return Prepared(offer.site, offer.visibility, offer.shared, offer.ceiling, status, tuple(headers),
                    tuple(not_modified), body, lowered.get("etag"), lowered.get("last-modified"))


class PreparedAnswers:
    """WSGI layer in front of Flask: serves prepared answers, keeps the answers views offer."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        table: Memo | None = self.app.extensions.get(PREPARED)
        if table is None or method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        key = (environ.get("wsgi.url_scheme"), environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
               environ.get("QUERY_STRING", ""))
        entry = table.get(key)
        if entry is not None:
            answer = self._serve(table, key, entry, environ, start_response)
            if answer is not None:
                return answer
        if method != "GET":
            return self.wsgi_app(environ, start_response)
        return self._keep(table, key, environ, start_response)

    def _serve(self, table: Memo, key: tuple, entry: Prepared, environ: dict,
               start_response: Callable) -> Iterable[bytes] | None:
        if not entry.shared and carries_identity(environ):
            return None  # possibly a signed-in user, a flashed message: Flask decides
        if "HTTP_IF_MATCH" in environ:
            return None  # rare; Flask answers 412 where it applies
        content: ContentStore = self.app.extensions["portal.content"]
        with self.app.app_context():
            site = content.site
            now = content.now()
            if entry.site is not site or entry.visibility is not site.visibility(now):
                table.discard(key, entry)
                return None
            if content.reload and templates_changed(self.app):
                forget_all(self.app)
                return None
            cache_control = f"public, max-age={service.cache_seconds(site, now, entry.ceiling)}"
        conditional = "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ
        if conditional and not is_resource_modified(environ, entry.etag, last_modified=entry.last_modified):
            start_response("304 NOT MODIFIED", _with_fresh(entry.not_modified, http_date(), cache_control))
            return []
        start_response(entry.status, _with_fresh(entry.headers, http_date(), cache_control))
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [entry.body]

    def _keep(self, table: Memo, key: tuple, environ: dict, start_response: Callable) -> Iterable[bytes]:
        seen: list = []

        def capture(status, headers, exc_info=None):
            seen[:] = [status, headers]
            return start_response(status, headers, exc_info)

        iterable = self.wsgi_app(environ, capture)
        offer: Offer | None = environ.get(OFFER)
        if offer is None or not seen or not seen[0].startswith("200 ") or carries_identity(environ):
            return iterable
        try:
            body = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        prepared = _prepare(offer, seen[0], list(seen[1]), body)
        if prepared is not None:
            table.put(key, prepared)
        return [body]


def install(app: Flask) -> None:
    """Put `PreparedAnswers` in front of Flask, behind ProxyFix if there is one (so the scheme,
    and with it HSTS, is the one the proxy reported)."""
    app.extensions[MEMO] = Memo(MEMO_SIZE)
    app.extensions[PREPARED] = Memo(PREPARED_SIZE)
    outer = app.wsgi_app
    if isinstance(outer, ProxyFix):
        outer.app = PreparedAnswers(app, outer.app)
    else:
        app.wsgi_app = PreparedAnswers(app, outer)  # type: ignore[method-assign]
