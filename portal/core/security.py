"""Security headers, CSRF, rate limits and the tenant helpers every capability uses."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import peewee
from flask import Blueprint, Flask, abort, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from playhouse.flask_utils import get_object_or_404
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.core.errors import wants_json

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


def keyed_hash(text: str) -> str:
    """An HMAC of `text` under the secret key: what the rate limiter's keys hold instead of
    personal data such as e-mail addresses."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def account_key(email: str | None) -> str:
    """The keyed hash of an e-mail address as typed (case and surrounding spaces ignored)."""
    return keyed_hash((email or "").strip().lower())


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def request_has_nul() -> bool:
    """Whether the path, query, form fields or JSON body of this request hold a NUL byte
    (PostgreSQL refuses NUL in text, so it would end as a 500 deep inside a handler)."""
    if "\x00" in request.path:
        return True
    for values in (request.args, request.form):
        if any(_has_nul(key) or _has_nul(value) for key, value in values.items(multi=True)):
            return True
    if not request.is_json:
        return False
    # A NUL in parsed JSON comes from a NUL byte or the escape \u0000: a body with neither holds none,
    # and is not parsed only to look (a Stripe event's body costs more to parse than its handling).
    body = request.get_data(cache=True)
    if b"\x00" not in body and b"\\u0000" not in body:
        return False
    return _has_nul(request.get_json(silent=True))


NUL_TITLE = _l("Bad request")
NUL_MESSAGE = _l("What you sent contains a character that is not allowed (a NUL byte). Please remove it and try again.")


def _refuse_nul():
    if not request_has_nul():
        return None
    if wants_json():
        return jsonify({"error": {"status": 400, "title": str(NUL_TITLE), "message": str(NUL_MESSAGE)}}), 400
    return render_template("errors/error.html", code=400, title=NUL_TITLE, message=NUL_MESSAGE, reference=None), 400


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Behind that many proxies, the client's address (and scheme) come from X-Forwarded-*.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    # First of all: a NUL byte never reaches CSRF, the limiter or a handler.
    app.before_request(_refuse_nul)
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


def mount_twice(bp: Blueprint, rule: str, endpoint: str, view: Callable[..., Any], *, model: type[M], key: str,
                methods: tuple[str, ...] = ("GET",), company_limit: str = "") -> None:
    """One view of a row at two addresses, mounted as Flask's `register_api` mounts a view: `rule` (endpoint
    `endpoint`) for a company's members, who reach only their company's rows of `model`, and `/leader` + `rule`
    (endpoint `leader_` + `endpoint`) for the project leader, who reaches any row; others get a 404. The
    URL value `key` is the row's id; `view(row, leader, **the other URL values)` answers at both."""
    def for_company(**values):
        return view(get_owned_or_404(model, values.pop(key), current_user.company_id), False, **values)

    def for_leader(**values):
        row_id = values.pop(key)
        return view(get_object_or_404(model, model.id == row_id), True, **values)

    for function, name in ((for_company, endpoint), (for_leader, f"leader_{endpoint}")):
        function.__name__ = function.__qualname__ = name  # the rate limiter keys its limits on the view's name
        function.__module__ = view.__module__
    company_view = company_required(for_company)
    if company_limit:
        company_view = limiter.limit(company_limit)(company_view)
    bp.add_url_rule(rule, endpoint, company_view, methods=list(methods))
    bp.add_url_rule(f"/leader{rule}", f"leader_{endpoint}", leader_required(for_leader), methods=list(methods))


F = TypeVar("F", bound=Callable[..., Any])


def _requires(allowed: Callable[[Any], bool], refusal: int) -> Callable[[F], F]:
    """A view decorator: anonymous visitors go to the login page; a logged-in user for whom
    `allowed(user)` is false gets `refusal` (404 where the page's existence is not theirs to know)."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not allowed(current_user):
                abort(refusal)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


# The user must be logged in as a member of a company (not the project leader).
company_required = _requires(lambda user: user.company_id is not None, 404)
# The user must be an administrator of their company.
company_admin_required = _requires(lambda user: user.company_id is not None and user.role == "admin", 403)
# The user must be the project leader (who has passed the TOTP second factor to be logged in at all).
leader_required = _requires(lambda user: user.role == "leader", 404)
