"""Redirect targets (only paths on this site) and links built outside a request."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None, default: str = "/") -> str:
    """Return `target` when it is a local path, otherwise `default` (no open redirects)."""
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


def build_outside_requests(app) -> None:
    """Let `url_for` build links outside a request (the task worker, the `portal` command) on
    PORTAL_BASE_URL, as the public would follow them: no request is ever made up for it."""
    inside_requests = app.create_url_adapter

    def create_url_adapter(request):
        if request is not None or app.config.get("SERVER_NAME"):
            return inside_requests(request)
        base = urlsplit(app.config["BASE_URL"])
        return app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https")

    app.create_url_adapter = create_url_adapter
