"""The employee's own pages are reached without an account: a single-use link, mailed to
the employee, opens an ambassador session. Links and sessions are stored as hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company, User
from portal.core import audit, mail
from portal.core.db import atomic_write, utcnow
from portal.core.urls import external_url
from portal.enrollment.base import OPEN_STATUSES, EnrollmentError
from portal.enrollment.models import AccessLink, AmbassadorSession, Enrolment

LINK_LIFETIME = dt.timedelta(days=14)
AMBASSADOR_SESSION_LIFETIME = dt.timedelta(hours=8)  # absolute: from opening the link
AMBASSADOR_SESSION_TOUCH_SECONDS = 60
# Links the public "send me a new link" form mails per enrolment and hour; the rest are skipped.
PUBLIC_LINKS_PER_HOUR = 3


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()



def _send_access_link(enrolment: Enrolment, actor: User | None) -> None:
    """Mail a new link. Earlier unused links stay valid until they expire or one of them is
    used: whoever asks for a link (anyone can, with the employee's address) must not be able
    to cancel the one in the employee's mailbox."""
    raw = secrets.token_urlsafe(32)
    AccessLink.create(enrolment=enrolment.id, token_hash=_hash_token(raw), expires_at=utcnow() + LINK_LIFETIME)
    mail.send_template(enrolment.employee_email, "enrollment/invite", enrolment.language,
                       _l("Your place as onderwijsambassadeur: complete your details"),
                       enrolment=enrolment, company=enrolment.company, inviter=actor,
                       link=external_url("enrollment.ambassador_welcome", token=raw), days=LINK_LIFETIME.days)


def end_employee_access(enrolment: Enrolment) -> None:
    """End every session and unused link of the employee (their address changed)."""
    AmbassadorSession.delete().where(AmbassadorSession.enrolment == enrolment.id).execute()
    AccessLink.delete().where((AccessLink.enrolment == enrolment.id) & AccessLink.used_at.is_null()).execute()


def resend_access_link(enrolment: Enrolment, actor: User | None) -> None:
    """Mail the employee a new link (earlier unused links keep working until one is used)."""
    if enrolment.status == "withdrawn":
        raise EnrollmentError(_l("This enrolment was withdrawn."))
    with atomic_write():
        _send_access_link(enrolment, actor)
        audit.record("enrollment.link_sent", actor=actor, company=enrolment.company_id, obj=enrolment)


def request_access_link(email: str) -> int:
    """An employee asks for a new link; silent about whether the address is known. At most
    PUBLIC_LINKS_PER_HOUR links an hour per enrolment leave this way (no mail bombing)."""
    cleaned = (email or "").strip().lower()
    if not cleaned or len(cleaned) > 254:
        return 0
    found = list(Enrolment.select(Enrolment, Company).join(Company)
                 .where((Enrolment.employee_email == cleaned) & Enrolment.status.in_(OPEN_STATUSES + ("completed",))))
    sent = 0
    with atomic_write():
        for enrolment in found:
            recent = (AccessLink.select().where((AccessLink.enrolment == enrolment.id)
                                                & (AccessLink.created_at > utcnow() - dt.timedelta(hours=1))).count())
            if recent >= PUBLIC_LINKS_PER_HOUR:
                continue
            _send_access_link(enrolment, None)
            audit.record("enrollment.link_requested", company=enrolment.company_id, obj=enrolment)
            sent += 1
    return sent


def link_is_valid(raw: str) -> bool:
    link = AccessLink.get_or_none(AccessLink.token_hash == _hash_token(raw or ""))
    return link is not None and link.used_at is None and link.expires_at > utcnow()


def _session_idle() -> dt.timedelta:
    """The same inactivity limit as a user's login session (PORTAL_SESSION_IDLE_MINUTES)."""
    return dt.timedelta(minutes=int(current_app.config.get("SESSION_IDLE_MINUTES", 120)))


def _session_expiry(created_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    return min(created_at + AMBASSADOR_SESSION_LIFETIME, now + _session_idle())


def open_access_link(raw: str) -> str | None:
    """Use a link once: returns the raw token of a new ambassador session, or None. The
    employee's other unused links end with it."""
    token_hash = _hash_token(raw or "")
    with atomic_write():
        link = AccessLink.get_or_none(AccessLink.token_hash == token_hash)
        if link is None:
            return None
        now = utcnow()
        used = (AccessLink.update(used_at=now)
                .where((AccessLink.id == link.id) & AccessLink.used_at.is_null() & (AccessLink.expires_at > now))
                .execute())
        if not used:
            return None
        enrolment = Enrolment.get_by_id(link.enrolment_id)
        if enrolment.status == "withdrawn":
            return None
        AccessLink.update(used_at=now).where((AccessLink.enrolment == enrolment.id)
                                             & AccessLink.used_at.is_null()).execute()
        session_raw = secrets.token_urlsafe(32)
        AmbassadorSession.delete().where(AmbassadorSession.expires_at <= now).execute()
        AmbassadorSession.create(enrolment=enrolment.id, token_hash=_hash_token(session_raw), created_at=now,
                                 expires_at=_session_expiry(now, now))
        audit.record("enrollment.link_used", company=enrolment.company_id, obj=enrolment)
    return session_raw


def ambassador_enrolment(raw_session: str | None) -> Enrolment | None:
    """The enrolment a live ambassador session belongs to. A session ends after
    SESSION_IDLE_MINUTES without a request and AMBASSADOR_SESSION_LIFETIME after the link."""
    if not raw_session:
        return None
    found = (AmbassadorSession.select(AmbassadorSession, Enrolment)
             .join(Enrolment).where(AmbassadorSession.token_hash == _hash_token(raw_session)).first())
    if found is None:
        return None
    now = utcnow()
    if found.expires_at <= now or found.enrolment.status == "withdrawn":
        AmbassadorSession.delete().where(AmbassadorSession.id == found.id).execute()
        return None
    expiry = _session_expiry(found.created_at, now)
    if abs((expiry - found.expires_at).total_seconds()) > AMBASSADOR_SESSION_TOUCH_SECONDS:
        AmbassadorSession.update(expires_at=expiry).where(AmbassadorSession.id == found.id).execute()
    return found.enrolment


def end_ambassador_session(raw_session: str | None) -> None:
    if raw_session:
        AmbassadorSession.delete().where(AmbassadorSession.token_hash == _hash_token(raw_session)).execute()
