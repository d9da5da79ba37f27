"""Error pages in the visitor's language: never a stack trace, always the security headers."""

from __future__ import annotations

import logging
import uuid

import peewee
from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

log = logging.getLogger("portal.errors")


class UserError(ValueError):
    """A refusal to show the user: str() is the translated message; `field` names the input it
    is about (a form puts it beside that field). Each capability raises its own subclass."""

    def __init__(self, message, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)

MESSAGES = {
    400: (_l("Bad request"), _l("We could not understand the request. Please go back and try again.")),
    403: (_l("No access"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist, or you cannot see it.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    410: (_l("Page removed"), _l("This page has been withdrawn and is no longer available.")),
    413: (_l("File too large"), _l("What you sent is larger than we accept. Please send a smaller file.")),
    429: (_l("Too many attempts"), _l("You tried this too often in a short time. Please wait a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error occurred on our side. It has been logged; please try again later.")),
    503: (_l("Temporarily unavailable"), _l("The portal cannot reach its database right now. Please try again in a minute.")),
}


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/webhooks/")) or request.path == "/healthz"


def render_error(code: int, reference: str | None = None):
    title, message = MESSAGES.get(code, MESSAGES[500])
    if wants_json():
        body = {"error": {"status": code, "title": str(title), "message": str(message)}}
        if reference:
            body["error"]["reference"] = reference
        return jsonify(body), code
    return render_template("errors/error.html", code=code, title=title, message=message,
                           reference=reference), code


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return render_error(exc.code or 500)

    @app.errorhandler(peewee.OperationalError)
    @app.errorhandler(peewee.InterfaceError)
    def _database_down(exc: Exception):
        log.error("database unavailable: %s", exc.__class__.__name__)
        # Render the page as for a visitor: loading the logged-in user would ask the database
        # again, fail inside this handler and end as a bare 500 without our page.
        g._login_user = current_app.login_manager.anonymous_user()
        return render_error(503)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        reference = uuid.uuid4().hex[:12]
        log.exception("unhandled error, reference %s", reference)
        return render_error(500, reference)
