"""Redirect targets (only paths on this site) and absolute links: every link a mail, a document,
a sitemap or Stripe carries is built here, on PORTAL_BASE_URL, inside a request or not."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def site_base() -> str:
    """PORTAL_BASE_URL without its trailing slash: where the public reaches the portal."""
    return current_app.config["BASE_URL"].rstrip("/")


def _public_adapter(app):
    """The app's URL map bound to PORTAL_BASE_URL: links as the public follows them."""
    base = urlsplit(app.config["BASE_URL"])
    return app.url_map.bind(base.netloc or "localhost", script_name=base.path.rstrip("/") or "/",
                            url_scheme=base.scheme or "https")


def external_url(endpoint: str, **values) -> str:
    """An absolute link to `endpoint` on PORTAL_BASE_URL (never on the address a request came in on)."""
    return _public_adapter(current_app).build(endpoint, values, force_external=True)


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
        return _public_adapter(app)

    app.create_url_adapter = create_url_adapter
