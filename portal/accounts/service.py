"""Accounts: registration, login sessions, single-use links, team management, TOTP."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from types import SimpleNamespace

import peewee
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from itsdangerous import BadData, URLSafeTimedSerializer
from stdnum import iban as iban_number
from zxcvbn import zxcvbn

from portal.accounts.models import Company, CompanyIban, Invitation, LoginSession, Token, User
from portal.core import audit, mail
from portal.core.db import atomic_write, database, utcnow
from portal.core.errors import UserError
from portal.core.security import account_key

MIN_PASSWORD = 12
MAX_PASSWORD = 256
# zxcvbn's score 4 starts at 10^10 guesses; a password must take at least 10^12 (offline, against
# a stolen hash), so patterns such as "Welkom2026!!" (about 10^10) are refused.
MIN_PASSWORD_GUESSES_LOG10 = 12
# Words everyone here would try first: the portal's own, and Dutch password habits.
PORTAL_WORDS = ("onderwijsambassadeurs", "ambassadeur", "ambassadeurs", "onderwijs", "portal", "sroi",
                "utrecht", "welkom", "wachtwoord", "zomer", "winter", "lente", "herfst", "voorjaar", "najaar")
UNLOCK_HOURS = 24
SESSION_TOUCH_SECONDS = 60


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
    link = current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, token=raw)
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


def load_session(raw_token: str) -> LoginSession | None:
    """The live session for a cookie token, applying the idle and absolute timeouts."""
    if not raw_token:
        return None
    found = (LoginSession.select(LoginSession, User).join(User, on=(LoginSession.user == User.id))
             .where(LoginSession.token_hash == _hash_token(raw_token)).first())
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


def _end_all_sessions(user: User) -> None:
    LoginSession.delete().where(LoginSession.user == user).execute()


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
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("accounts.login", unlock=raw)
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


# --- team: invitations, roles, deactivation ---------------------------------------------

def invite(admin: User, email: str, role: str, name: str = "") -> None:
    """Invite a colleague; an address that already has an account gets a notice instead. Either
    way the team page shows the same pending invitation (see Invitation)."""
    if role not in ("admin", "member"):
        raise AccountError(_l("Choose a role."), "role")
    email = email.strip().lower()
    company = admin.company
    with atomic_write():
        existing = User.get_or_none(User.email == email)
        if existing is not None:
            if existing.company_id == company.id and not existing.password_hash:
                Token.delete().where((Token.user == existing) & (Token.purpose == "invite")).execute()
                User.update(is_active=True, role=role).where(User.id == existing.id).execute()
                _send_invite(existing, admin)
                _pending(company, email, name, role, existing)
            elif existing.company_id != company.id or existing.password_hash:
                mail.send_template(existing.email, "accounts/already_member", existing.language,
                                   _l("Someone tried to invite you"), company=company)
                if existing.company_id != company.id:
                    _pending(company, email, name, role, None)
            audit.record("user.invite_repeated", actor=admin, company=company, email_hash=_hash_token(email)[:16])
            return
        user = User.create(company=company, email=email, name=name.strip(), role=role,
                           language=company.language, is_active=True)
        _send_invite(user, admin)
        _pending(company, email, name, role, user)
        audit.record("user.invited", actor=admin, company=company, obj=user, role=role)


def _pending(company: Company, email: str, name: str, role: str, user: User | None) -> None:
    """The invitation the team page shows (one per address and company; inviting again renews it)."""
    fields = {"name": name.strip(), "role": role, "user": user, "created_at": utcnow(), "withdrawn_at": None}
    updated = (Invitation.update(**fields)
               .where((Invitation.company == company.id) & (Invitation.email == email)).execute())
    if not updated:
        Invitation.create(company=company, email=email, **fields)


def invitations(company: Company) -> list[Invitation]:
    """Pending invitations of `company`: not withdrawn, and not yet accepted."""
    return list(Invitation.select(Invitation)
                .join(User, peewee.JOIN.LEFT_OUTER, on=(Invitation.user == User.id))
                .where((Invitation.company == company.id) & Invitation.withdrawn_at.is_null()
                       & (Invitation.user.is_null() | (User.password_hash == "")))
                .order_by(Invitation.created_at.desc(), Invitation.id.desc()))


def withdraw_invitation(admin: User, invitation_id: int) -> Invitation:
    """Withdraw a pending invitation: its link (if it had one) stops working at once."""
    with atomic_write():
        invitation = Invitation.get_or_none((Invitation.id == invitation_id)
                                            & (Invitation.company == admin.company_id))
        if invitation is None:
            from flask import abort

            abort(404)
        Invitation.update(withdrawn_at=utcnow()).where(Invitation.id == invitation.id).execute()
        if invitation.user_id is not None:
            Token.delete().where((Token.user == invitation.user_id) & (Token.purpose == "invite")).execute()
            (User.update(is_active=False)
             .where((User.id == invitation.user_id) & (User.password_hash == "")).execute())
        audit.record("user.invitation_withdrawn", actor=admin, company=admin.company_id, obj=invitation)
    return invitation


def _send_invite(user: User, admin: User) -> None:
    hours = int(current_app.config["INVITE_HOURS"])
    _send_link(user, "invite", dt.timedelta(hours=hours), "accounts/invite",
               _l("You are invited to the OnderwijsAmbassadeurs portal"), inviter=admin, company=admin.company)


def invite_contact(company: Company, email: str, name: str = "") -> User | None:
    """Invite the first administrator of a company that has no users yet (made from the public
    donation page), on behalf of the foundation. None when the company already has users or the
    address already has an account: nobody joins an existing company without its administrators."""
    email = email.strip().lower()
    with atomic_write():
        if User.select().where(User.company == company.id).exists():
            return None
        if User.select().where(User.email == email).exists():
            return None
        user = User.create(company=company, email=email, name=name.strip(), role="admin",
                           language=company.language, is_active=True)
        hours = int(current_app.config["INVITE_HOURS"])
        foundation = SimpleNamespace(display_name=current_app.config["ISSUER_NAME"])
        _send_link(user, "invite", dt.timedelta(hours=hours), "accounts/invite",
                   _l("You are invited to the OnderwijsAmbassadeurs portal"), inviter=foundation, company=company)
        audit.record("user.invited", actor=None, company=company, obj=user, role="admin", via="donation")
    return user


def accept_invite(raw_token: str, name: str, password: str) -> User:
    """Complete an invitation: set name and password, confirm the address."""
    user = token_user(raw_token, "invite")
    if user is None or not user.is_active:
        raise AccountError(_l("This invitation is no longer valid. Ask your administrator for a new one."))
    problem = password_problem(password, user.email, name, user.company.legal_name)
    if problem:
        raise AccountError(problem, "password")
    with atomic_write():
        if _consume(raw_token, "invite") is None:
            raise AccountError(_l("This invitation is no longer valid. Ask your administrator for a new one."))
        now = utcnow()
        User.update(name=name.strip(), password_hash=hash_password(password), password_changed_at=now,
                    email_confirmed_at=now).where(User.id == user.id).execute()
        Invitation.delete().where(Invitation.user == user.id).execute()
        audit.record("user.invite_accepted", actor=user, company=user.company_id, obj=user)
    return User.get_by_id(user.id)


def team(company: Company) -> list[User]:
    """The company's users; someone invited who has not accepted yet is listed by invitations()."""
    invited = Invitation.select(Invitation.user).where((Invitation.company == company.id)
                                                       & Invitation.user.is_null(False))
    return list(User.select().where((User.company == company)
                                    & ~((User.password_hash == "") & User.id.in_(invited)))
                .order_by(User.is_active.desc(), User.name, User.email))


def _colleague(admin: User, user_id: int) -> User:
    user = User.get_or_none((User.id == user_id) & (User.company == admin.company_id))
    if user is None:
        from flask import abort

        abort(404)
    return user


def _other_active_admins(company_id: int, user_id: int) -> int:
    return (User.select().where((User.company == company_id) & (User.role == "admin")
                                & User.is_active & (User.id != user_id)).count())


def change_role(admin: User, user_id: int, role: str) -> User:
    """Make a colleague administrator or member; a company always keeps one administrator."""
    if role not in ("admin", "member"):
        raise AccountError(_l("Choose a role."), "role")
    with atomic_write():
        user = _colleague(admin, user_id)
        if user.role == "admin" and role == "member" and _other_active_admins(user.company_id, user.id) == 0:
            raise AccountError(_l("A company needs at least one active administrator."))
        User.update(role=role).where(User.id == user.id).execute()
        audit.record("user.role_changed", actor=admin, company=admin.company_id, obj=user, before=user.role, after=role)
    return user


def set_active(admin: User, user_id: int, active: bool) -> User:
    """Deactivate (ending every session) or reactivate a colleague."""
    with atomic_write():
        user = _colleague(admin, user_id)
        if not active:
            if user.id == admin.id:
                raise AccountError(_l("You cannot deactivate yourself."))
            if user.role == "admin" and _other_active_admins(user.company_id, user.id) == 0:
                raise AccountError(_l("A company needs at least one active administrator."))
        User.update(is_active=active).where(User.id == user.id).execute()
        if not active:
            _end_all_sessions(user)
        audit.record("user.activated" if active else "user.deactivated", actor=admin, company=admin.company_id, obj=user)
    return user


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
