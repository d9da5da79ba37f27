"""The accounts blueprint and what its page modules share (views.py, team_views.py)."""

from __future__ import annotations

from flask import Blueprint, current_app

bp = Blueprint("accounts", __name__)


def attempt_limit() -> str:
    """The rate limit of a login-like form (login, TOTP, accepting an invitation)."""
    return current_app.config["RATELIMIT_LOGIN"]
