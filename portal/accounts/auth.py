"""Flask-Login wired to server-side sessions: the cookie only carries a random token."""

from __future__ import annotations

from flask import Flask, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from portal.accounts import service
from portal.core.errors import wants_json

login_manager = LoginManager()
login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "warning"

SESSION_KEY = "sid"


@login_manager.user_loader
def _no_cookie_user_ids(_user_id):
    # Users are never loaded from a user id in the cookie, only from a live session row.
    return None


@login_manager.request_loader
def _load_from_session(_request):
    login_session = current_login_session()
    if login_session is None or not login_session.mfa_passed:
        return None
    if login_session.acting_for_id is not None:
        g.acting_leader = login_session.user
        return login_session.acting_for
    return login_session.user


def current_login_session():
    """The live LoginSession of this request (loaded once), or None."""
    if "login_session" not in g:
        raw = session.get(SESSION_KEY)
        g.login_session = service.load_session(raw) if raw else None
        if raw and g.login_session is None:
            session.pop(SESSION_KEY, None)
    return g.login_session


def begin(user, *, mfa_passed: bool) -> None:
    """Replace whatever session the browser had with a new one for `user`."""
    session.clear()
    session[SESSION_KEY] = service.start_session(user, mfa_passed=mfa_passed)
    g.pop("login_session", None)


def end() -> None:
    service.end_session(session.get(SESSION_KEY, ""))
    session.clear()
    g.pop("login_session", None)


@login_manager.unauthorized_handler
def _unauthorized():
    if wants_json():
        return {"error": {"status": 401, "title": "login required"}}, 401
    from flask import flash

    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    # Flask-Login's own session bookkeeping (_user_id, _fresh, _id) is not used.
    app.config.setdefault("REMEMBER_COOKIE_DURATION", 0)
