"""Caching for public content answers: ETag, Last-Modified, 304, and a bounded memo of bodies.

A public answer (HTML for a visitor who is not logged in, or any API answer) depends only on
the content snapshot, the set of pages public right now, the address and the code. So its
body is kept in a small LRU keyed by exactly those, and a repeated request costs a dict
lookup instead of a template render. The ETag is a hash of the body itself, so it is right
by construction, and `max-age` never reaches past the next scheduled publication or expiry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import Response, current_app, request, session
from flask_login import current_user

from portal.content import service
from portal.content.loader import ContentStore

DEFAULT_MAX_AGE = 300
MEMO_SIZE = 512


class Memo:
    """A thread-safe LRU of (body, etag) pairs."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[bytes, str] | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple, value: tuple[bytes, str]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def store() -> ContentStore:
    return current_app.extensions["portal.content"]


def memo() -> Memo:
    return current_app.extensions["portal.content.memo"]


def is_visitor() -> bool:
    """Not logged in and nothing flashed: the answer is the same for everyone."""
    return not current_user.is_authenticated and not session.get("_flashes")


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
    key = (request.path, request.query_string, mimetype, status, site.version, site.visibility(now).epoch)
    use_memo = not content.reload and status == 200
    cached = memo().get(key) if use_memo else None
    if cached is None:
        raw = build()
        body = raw.encode("utf-8") if isinstance(raw, str) else raw
        cached = (body, hashlib.sha256(body).hexdigest()[:32])
        if use_memo:
            memo().put(key, cached)
    body, etag = cached
    response = Response(body, status=status, mimetype=mimetype)
    ceiling = DEFAULT_MAX_AGE if max_age is None else max_age
    seconds = service.cache_seconds(site, now, ceiling)
    response.headers["Cache-Control"] = f"public, max-age={seconds}"
    if not shared:
        response.vary.add("Cookie")
    if status != 200:
        return response
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    return response.make_conditional(request)


def private_preview(response: Response) -> Response:
    """A draft shown to the project leader: never indexed, never stored."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def latest(*moments: dt.datetime | None) -> dt.datetime | None:
    present = [m for m in moments if m is not None]
    return max(present) if present else None
