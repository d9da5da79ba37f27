"""Security headers, CSRF, rate limits and the tenant helpers every capability uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import peewee
from flask import Flask, abort, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self' https://checkout.stripe.com",
        "frame-ancestors 'none'",
    )
)

# Endpoints whose answers are the same for everyone and may be cached by browsers.
PUBLIC_CACHEABLE_PREFIXES = ("static", "content.")

M = TypeVar("M", bound=peewee.Model)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["RATELIMIT_STORAGE"])
    limiter.init_app(app)

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.is_secure:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        endpoint = request.endpoint or ""
        public = endpoint.startswith(PUBLIC_CACHEABLE_PREFIXES) and not current_user.is_authenticated
        if not public and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        return response


def get_owned_or_404(model: type[M], object_id: Any, company: Any) -> M:
    """Load one row of `model` that belongs to `company`, or answer 404 (never 403)."""
    company_id = getattr(company, "id", company)
    if company_id is None:
        abort(404)
    try:
        return model.get((model.id == object_id) & (model.company == company_id))
    except (model.DoesNotExist, ValueError, TypeError, peewee.DataError):
        abort(404)


F = TypeVar("F", bound=Callable[..., Any])


def company_required(view: F) -> F:
    """The user must be logged in as a member of a company (not the project leader)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if current_user.company_id is None:
            abort(404)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def company_admin_required(view: F) -> F:
    """The user must be an administrator of their company."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if current_user.company_id is None or current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def leader_required(view: F) -> F:
    """The user must be the project leader and have passed the TOTP second factor."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if current_user.role != "leader":
            abort(404)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
