"""A company's team: invitations (pending, withdrawn, accepted), roles and deactivation, and the
first administrator invited on the foundation's behalf. A company always keeps one active
administrator.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import peewee
from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.accounts.base import (
    AccountError,
    _consume,
    _end_all_sessions,
    _hash_token,
    _send_link,
    hash_password,
    password_problem,
    token_user,
)
from portal.accounts.models import Company, Invitation, Token, User
from portal.core import audit, mail
from portal.core.db import atomic_write, utcnow


class NotFound(LookupError):
    """No such colleague or invitation in the administrator's company (another company's is not
    found either): the page answers 404."""


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
            raise NotFound()
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


def colleague(admin: User, user_id: int) -> User:
    user = User.get_or_none((User.id == user_id) & (User.company == admin.company_id))
    if user is None:
        raise NotFound()
    return user


def _other_active_admins(company_id: int, user_id: int) -> int:
    return (User.select().where((User.company == company_id) & (User.role == "admin")
                                & User.is_active & (User.id != user_id)).count())


def change_role(admin: User, user_id: int, role: str) -> User:
    """Make a colleague administrator or member; a company always keeps one administrator."""
    if role not in ("admin", "member"):
        raise AccountError(_l("Choose a role."), "role")
    with atomic_write():
        user = colleague(admin, user_id)
        if user.role == "admin" and role == "member" and _other_active_admins(user.company_id, user.id) == 0:
            raise AccountError(_l("A company needs at least one active administrator."))
        User.update(role=role).where(User.id == user.id).execute()
        audit.record("user.role_changed", actor=admin, company=admin.company_id, obj=user, before=user.role, after=role)
    return user


def set_active(admin: User, user_id: int, active: bool) -> User:
    """Deactivate (ending every session) or reactivate a colleague."""
    with atomic_write():
        user = colleague(admin, user_id)
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

