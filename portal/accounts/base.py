"""What every accounts module shares: the refusal shown to users (AccountError), password
hashing and the password rules, single-use links (confirm, reset, invite) and ending a user's
sessions. Every other accounts module builds on this one; it imports none of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

from portal.accounts.models import LoginSession, Token, User
from portal.core import mail
from portal.core.db import utcnow
from portal.core.errors import UserError
from portal.core.urls import external_url

MIN_PASSWORD = 12
MAX_PASSWORD = 256
# zxcvbn's score 4 starts at 10^10 guesses; a password must take at least 10^12 (offline, against
# a stolen hash), so patterns such as "Welkom2026!!" (about 10^10) are refused.
MIN_PASSWORD_GUESSES_LOG10 = 12
# Words everyone here would try first: the portal's own, and Dutch password habits.
PORTAL_WORDS = ("onderwijsambassadeurs", "ambassadeur", "ambassadeurs", "onderwijs", "portal", "sroi",
                "utrecht", "welkom", "wachtwoord", "zomer", "winter", "lente", "herfst", "voorjaar", "najaar")


class AccountError(UserError):
    """A refusal to show the user: str() is the translated message."""


# --- passwords ----------------------------------------------------------------------------

def _hasher() -> PasswordHasher:
    memory = int(current_app.config.get("PASSWORD_HASH_MEMORY_KIB", 65536))
    return PasswordHasher(memory_cost=memory, time_cost=3 if memory >= 65536 else 1, parallelism=4 if memory >= 65536 else 1)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _verify_hash(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def password_inputs(*context: str) -> list[str]:
    """What zxcvbn should treat as known to an attacker: the user's name, e-mail address and
    company name, whole, without separators, and in their parts (local part, domain, words)."""
    inputs: list[str] = []
    for text in context:
        text = (text or "").strip().lower()
        if not text:
            continue
        inputs += [text, re.sub(r"[\W_]+", "", text)]
        if "@" in text:
            local, _at, domain = text.partition("@")
            inputs += [local, domain, domain.split(".", 1)[0]]
        inputs += [w for w in re.split(r"[@.,\s_-]+", text) if len(w) > 2]
    inputs += PORTAL_WORDS
    return list(dict.fromkeys(w for w in inputs if w))


def password_problem(password: str, *context: str):
    """Why `password` is not acceptable, or None. No composition rules: length and guessability."""
    if len(password) < MIN_PASSWORD:
        return _l("Use at least %(count)d characters.", count=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        return _l("Use at most %(count)d characters.", count=MAX_PASSWORD)
    inputs = password_inputs(*context)
    # Judged as typed and without separators ("kees-van-dam" is "keesvandam" to an attacker).
    # zxcvbn refuses more than 72 characters (its matching slows down steeply beyond that).
    for candidate in dict.fromkeys((password, re.sub(r"[\W_]+", "", password) or password)):
        result = zxcvbn(candidate[:72], user_inputs=inputs)
        if result["score"] < 4 or float(result["guesses_log10"]) < MIN_PASSWORD_GUESSES_LOG10:  # not money
            return _l("This password is too easy to guess. A few unrelated words together make a strong one.")
    return None


# --- single-use links --------------------------------------------------------------------

def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_token(user: User, purpose: str, lifetime: dt.timedelta) -> str:
    raw = secrets.token_urlsafe(32)
    Token.create(user=user, purpose=purpose, token_hash=_hash_token(raw), expires_at=utcnow() + lifetime)
    return raw


def _send_link(user: User, purpose: str, lifetime: dt.timedelta, template: str, subject, **context) -> None:
    raw = _new_token(user, purpose, lifetime)
    endpoint = {"confirm": "accounts.confirm", "reset": "accounts.reset_password", "invite": "accounts.accept_invite"}[purpose]
    link = external_url(endpoint, token=raw)
    hours = max(1, int(lifetime.total_seconds() // 3600))
    mail.send_template(user.email, template, user.language, subject, user=user, link=link, hours=hours, **context)


def token_user(raw_token: str, purpose: str) -> User | None:
    """The user a valid, unused link belongs to (without using it up)."""
    token = (Token.select(Token, User).join(User)
             .where((Token.token_hash == _hash_token(raw_token or "")) & (Token.purpose == purpose)).first())
    if token is None or token.used_at is not None or token.expires_at < utcnow():
        return None
    if purpose == "reset" and token.user.password_changed_at and token.created_at < token.user.password_changed_at:
        return None
    return token.user


def _consume(raw_token: str, purpose: str) -> User | None:
    user = token_user(raw_token, purpose)
    if user is None:
        return None
    used = (Token.update(used_at=utcnow())
            .where((Token.token_hash == _hash_token(raw_token)) & Token.used_at.is_null()).execute())
    return user if used == 1 else None



def _end_all_sessions(user: User) -> None:
    LoginSession.delete().where(LoginSession.user == user).execute()

