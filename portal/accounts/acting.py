"""The project leader acting on behalf of a company user (for support): started and stopped on the
leader's login session, each audited, and the company's active users to choose from.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.accounts.models import LoginSession, User
from portal.accounts.service import AccountError
from portal.core import audit
from portal.core.db import atomic_write


def start_acting(login_session: LoginSession, leader: User, user_id: int) -> User:
    """Let the leader's session act as a company user (for support), audited."""
    if leader.role != "leader" or login_session.user_id != leader.id or not login_session.mfa_passed:
        raise AccountError(_l("Only the project leader can act on behalf of a user."))
    target = User.get_or_none((User.id == user_id) & User.company.is_null(False) & (User.is_active == True))  # noqa: E712
    if target is None:
        raise AccountError(_l("This user does not exist or is not active."))
    with atomic_write():
        moved = (LoginSession.update(acting_for=target.id)
                 .where((LoginSession.id == login_session.id) & LoginSession.acting_for.is_null()).execute())
        if not moved:
            raise AccountError(_l("You are already acting on behalf of someone. Stop that first."))
        audit.record("leader.acting_started", actor=leader, company=target.company_id, obj=target,
                     user_email=target.email, session=login_session.id)
    return target


def stop_acting(login_session: LoginSession) -> User | None:
    """End acting on behalf of a user; returns the user it was, or None when not acting."""
    with atomic_write():
        current = LoginSession.get_or_none(LoginSession.id == login_session.id)
        if current is None or current.acting_for_id is None:
            return None
        target = User.get_by_id(current.acting_for_id)
        moved = (LoginSession.update(acting_for=None)
                 .where((LoginSession.id == current.id) & (LoginSession.acting_for == target.id)).execute())
        if moved:
            audit.record("leader.acting_stopped", actor=current.user_id, company=target.company_id, obj=target,
                         user_email=target.email, session=current.id)
    return target


def company_users(company_id: int) -> list[User]:
    return list(User.select().where((User.company == company_id) & (User.is_active == True))  # noqa: E712
                .order_by(User.role, User.email))
