"""Accounts: registration, login sessions, unlock links, password reset and change, the project
leader and TOTP, and the accounts a company pays from (issue 13).

Shared ground (AccountError, passwords, single-use links) is in base.py; the team (invitations,
roles, deactivation) in team.py.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

import peewee
import pyotp
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from itsdangerous import BadData, URLSafeTimedSerializer
from stdnum import iban as iban_number

from portal.accounts.base import (
    AccountError,
    _consume,
    _end_all_sessions,
    _hash_token,
    _hasher,
    _send_link,
    _verify_hash,
    hash_password,
    password_problem,
    token_user,
)
from portal.accounts.models import Company, CompanyIban, LoginSession, User
from portal.core import audit, mail
from portal.core.db import atomic_write, database, utcnow
from portal.core.prepared import Prepared
from portal.core.security import account_key
from portal.core.urls import external_url

UNLOCK_HOURS = 24
SESSION_TOUCH_SECONDS = 60


# --- registration and e-mail confirmation -----------------------------------------------

@dataclass
class Registration:
    legal_name: str
    kvk: str
    street: str
    postcode: str
    city: str
    billing_email: str
    language: str
    admin_name: str
    admin_email: str
    password: str


def register_company(data: Registration) -> User | None:
    """Create a company with its first administrator and mail the confirmation link.

    The answer never tells whether an address or KvK number is known: an address that already has
    an account gets a notice instead (its owner learns of it, nobody else); for a KvK number already
    registered nothing is made or sent (the page says what an applicant whose mail does not come
    should do). None then."""
    problem = password_problem(data.password, data.admin_email, data.legal_name, data.admin_name)
    if problem:
        raise AccountError(problem, "password")
    email = data.admin_email.strip().lower()
    password_hash = hash_password(data.password)  # made in every case: the same work for known and unknown
    with atomic_write():
        existing = User.get_or_none(User.email == email)
        if existing is not None:
            mail.send_template(existing.email, "accounts/already_registered", existing.language,
                               _l("Someone tried to register with your e-mail address"), user=existing)
            audit.record("company.registration_refused", actor=None, reason="email", email_hash=_hash_token(email)[:16])
            return None
        if Company.select().where(Company.kvk == data.kvk).exists():
            audit.record("company.registration_refused", actor=None, reason="kvk", email_hash=_hash_token(email)[:16])
            return None
        try:
            company = Company.create(
                legal_name=data.legal_name.strip(), kvk=data.kvk, street=data.street.strip(),
                postcode=data.postcode, city=data.city.strip(), billing_email=data.billing_email.strip().lower(),
                language=data.language,
            )
            user = User.create(company=company, email=email, name=data.admin_name.strip(),
                               password_hash=password_hash, role="admin",
                               language=data.language, password_changed_at=utcnow())
        except peewee.IntegrityError as exc:
            raise AccountError(_l("This company or e-mail address was registered a moment ago."), "kvk") from exc
        audit.record("company.registered", actor=user, company=company, obj=company, kvk=company.kvk)
        _send_link(user, "confirm", dt.timedelta(days=7), "accounts/confirm", _l("Confirm your e-mail address"))
    return user


def confirm_email(raw_token: str) -> User | None:
    """Mark the address confirmed; None when the link is unknown, used or expired."""
    with atomic_write():
        user = _consume(raw_token, "confirm")
        if user is None:
            return None
        User.update(email_confirmed_at=utcnow()).where(User.id == user.id).execute()
        audit.record("user.email_confirmed", actor=user, company=user.company_id, obj=user)
    return user


def resend_confirmation(user: User) -> None:
    """Mail a new confirmation link (after the right password for an unconfirmed address)."""
    with atomic_write():
        _send_link(user, "confirm", dt.timedelta(days=7), "accounts/confirm", _l("Confirm your e-mail address"))


# --- login and sessions ------------------------------------------------------------------

_DUMMY_HASH: dict[int, str] = {}


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None; equally slow for unknown addresses."""
    user = User.get_or_none(User.email == (email or "").strip().lower())
    if user is None or not user.password_hash:
        memory = int(current_app.config.get("PASSWORD_HASH_MEMORY_KIB", 65536))
        if memory not in _DUMMY_HASH:
            _DUMMY_HASH[memory] = hash_password(secrets.token_hex(16))
        _verify_hash(_DUMMY_HASH[memory], password or "")
        return None
    if not _verify_hash(user.password_hash, password or ""):
        return None
    if not user.is_active:
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
    return user


def start_session(user: User, *, mfa_passed: bool) -> str:
    """Create a login session and return the random token for the cookie."""
    raw = secrets.token_urlsafe(32)
    with atomic_write():
        LoginSession.create(user=user, token_hash=_hash_token(raw), mfa_passed=mfa_passed)
        audit.record("user.login", actor=user, company=user.company_id, obj=user, mfa=mfa_passed)
    return raw


# A login session with its user, by the hash of its token (asked on every request: prepared).
_SESSION = Prepared(lambda token: LoginSession.select(LoginSession, User).join(User, on=(LoginSession.user == User.id))
                    .where(LoginSession.token_hash == token).limit(1))


def load_session(raw_token: str) -> LoginSession | None:
    """The live session for a cookie token, applying the idle and absolute timeouts."""
    if not raw_token:
        return None
    found = _SESSION.first(token=_hash_token(raw_token))
    if found is None:
        return None
    now = utcnow()
    config = current_app.config
    idle = dt.timedelta(minutes=int(config["SESSION_IDLE_MINUTES"]))
    absolute = dt.timedelta(hours=int(config["SESSION_ABSOLUTE_HOURS"]))
    if not found.user.is_active or now - found.last_seen_at > idle or now - found.created_at > absolute:
        LoginSession.delete().where(LoginSession.id == found.id).execute()
        return None
    if (now - found.last_seen_at).total_seconds() > SESSION_TOUCH_SECONDS:
        LoginSession.update(last_seen_at=now).where(LoginSession.id == found.id).execute()
    return found


def end_session(raw_token: str) -> None:
    LoginSession.delete().where(LoginSession.token_hash == _hash_token(raw_token or "")).execute()


def pass_mfa(login_session: LoginSession) -> None:
    LoginSession.update(mfa_passed=True).where(LoginSession.id == login_session.id).execute()


# --- login under attack: the owner's unlock link ------------------------------------------

def _unlock_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="login-unlock")


def send_unlock_link(email: str) -> None:
    """Mail the owner of `email` (if any) a link that lets their browser log in while the account
    has reached its ceiling of failed attempts; silent for unknown addresses."""
    user = User.get_or_none(User.email == (email or "").strip().lower())
    if user is None or not user.is_active or not user.password_hash:
        return
    raw = _unlock_serializer().dumps({"a": account_key(user.email)})
    link = external_url("accounts.login", unlock=raw)
    mail.send_template(user.email, "accounts/unlock", user.language, _l("Someone is trying to log in to your account"),
                       user=user, link=link, hours=UNLOCK_HOURS)


def unlocked_account(raw_token: str) -> str | None:
    """The account key an unlock link names, or None when it is made up, tampered with or expired."""
    try:
        data = _unlock_serializer().loads(raw_token or "", max_age=UNLOCK_HOURS * 3600)
    except BadData:
        return None
    account = data.get("a") if isinstance(data, dict) else None
    return account if isinstance(account, str) else None


# --- passwords: reset and change --------------------------------------------------------

def request_reset(email: str) -> None:
    """Mail a reset link when the address has an active account; silent otherwise."""
    user = User.get_or_none(User.email == (email or "").strip().lower())
    if user is None or not user.is_active or not user.password_hash:
        return
    minutes = int(current_app.config["RESET_MINUTES"])
    with atomic_write():
        _send_link(user, "reset", dt.timedelta(minutes=minutes), "accounts/reset", _l("Reset your password"), minutes=minutes)
        audit.record("user.reset_requested", actor=user, company=user.company_id, obj=user)


def reset_password(raw_token: str, password: str) -> User:
    """Set a new password from a reset link and end every session of that user."""
    user = token_user(raw_token, "reset")
    if user is None:
        raise AccountError(_l("This link is no longer valid. Request a new one."))
    problem = password_problem(password, user.email, user.name, user.company.legal_name if user.company_id else "")
    if problem:
        raise AccountError(problem, "password")
    with atomic_write():
        if _consume(raw_token, "reset") is None:
            raise AccountError(_l("This link is no longer valid. Request a new one."))
        _set_password(user, password)
        _end_all_sessions(user)
        audit.record("user.password_reset", actor=user, company=user.company_id, obj=user)
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Change a password after checking the current one; every session of the user ends
    (the caller starts a new one, so a copy of the old cookie opens nothing)."""
    if not _verify_hash(user.password_hash, current or ""):
        raise AccountError(_l("Your current password is not correct."), "current_password")
    problem = password_problem(new, user.email, user.name, user.company.legal_name if user.company_id else "")
    if problem:
        raise AccountError(problem, "new_password")
    if _verify_hash(user.password_hash, new):
        raise AccountError(_l("Choose a new password that differs from your current one."), "new_password")
    with atomic_write():
        _set_password(user, new)
        _end_all_sessions(user)
        audit.record("user.password_changed", actor=user, company=user.company_id, obj=user)


def _set_password(user: User, password: str) -> None:
    now = utcnow()
    User.update(password_hash=hash_password(password), password_changed_at=now).where(User.id == user.id).execute()
    user.password_changed_at = now


def set_language(user: User, language: str) -> None:
    User.update(language=language).where(User.id == user.id).execute()


# --- the project leader and TOTP ---------------------------------------------------------

def create_leader(email: str, password: str, name: str = "") -> User:
    """Create the project leader's account (TOTP is enrolled at first login)."""
    email = email.strip().lower()
    problem = password_problem(password, email, name)
    if problem:
        raise AccountError(problem, "password")
    with atomic_write():
        if User.select().where(User.email == email).exists():
            raise AccountError(_l("This e-mail address already has an account."))
        user = User.create(email=email, name=name, role="leader", language="nl",
                           password_hash=hash_password(password), password_changed_at=utcnow(),
                           email_confirmed_at=utcnow())
        audit.record("leader.created", actor=None, obj=user)
    return user


def totp_provisioning(user: User) -> tuple[str, str]:
    """The secret being enrolled (made on first call) and its otpauth:// URI."""
    if not user.totp_secret:
        secret = pyotp.random_base32()
        User.update(totp_secret=secret).where((User.id == user.id) & (User.totp_secret == "")).execute()
        user = User.get_by_id(user.id)
    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name="OnderwijsAmbassadeurs")
    return user.totp_secret, uri


def verify_totp(user: User, code: str) -> bool:
    """Accept a current code once: a code already used (same or older time step) fails."""
    code = re.sub(r"\s", "", code or "")
    if not user.totp_secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = utcnow().replace(tzinfo=dt.UTC)
    for drift in (0, -1, 1):
        moment = now + dt.timedelta(seconds=30 * drift)
        if secrets.compare_digest(totp.at(moment), code):
            step = int(moment.timestamp()) // 30
            with database.atomic():
                taken = (User.update(totp_last_step=step)
                         .where((User.id == user.id) & (User.totp_last_step < step)).execute())
                if taken and user.totp_confirmed_at is None:
                    User.update(totp_confirmed_at=utcnow()).where(User.id == user.id).execute()
            return bool(taken)
    return False


# --- the accounts a company pays from (issue 13) ----------------------------------------------

MAX_COMPANY_IBANS = 20


def company_ibans(company_id: int) -> list[CompanyIban]:
    """The accounts a company registered, in the order they were added."""
    return list(CompanyIban.select().where(CompanyIban.company == company_id).order_by(CompanyIban.id))


def add_company_iban(user: User, text: str) -> CompanyIban:
    """Register an account the user's company pays from (an administrator only); validated as an IBAN."""
    if user.company_id is None or user.role != "admin":
        raise AccountError(_l("Only an administrator of the company can change its accounts."))
    compact = iban_number.compact(text or "")
    if not compact:
        raise AccountError(_l("Enter the IBAN of the account."), "iban")
    if not iban_number.is_valid(compact):
        raise AccountError(_l("This is not a valid IBAN; check it against a bank statement, such as "
                              "NL91 ABNA 0417 1643 00."), "iban")
    with atomic_write():
        if CompanyIban.select().where(CompanyIban.company == user.company_id).count() >= MAX_COMPANY_IBANS:
            raise AccountError(lazy_ngettext("A company registers at most %(num)d account.",
                                             "A company registers at most %(num)d accounts.", MAX_COMPANY_IBANS),
                               "iban")
        try:
            with database.atomic():
                row = CompanyIban.create(company=user.company_id, iban=compact, created_by=user.id)
        except peewee.IntegrityError as exc:
            raise AccountError(_l("This account is already registered."), "iban") from exc
        audit.record("company.iban_added", actor=user, company=user.company_id, obj=row, iban=compact)
    return row


def remove_company_iban(user: User, iban_id: int) -> bool:
    """Remove one of the company's accounts; another company's account is never found."""
    if user.company_id is None or user.role != "admin":
        raise AccountError(_l("Only an administrator of the company can change its accounts."))
    with atomic_write():
        row = CompanyIban.get_or_none((CompanyIban.id == iban_id) & (CompanyIban.company == user.company_id))
        if row is None:
            return False
        row.delete_instance()
        audit.record("company.iban_removed", actor=user, company=user.company_id, object_type="companyiban",
                     object_id=iban_id, iban=row.iban)
    return True
