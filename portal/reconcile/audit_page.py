"""What the project leader's audit log page reads: the rows that fit a filter, a page at a time, and
the people and companies those rows name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from portal.accounts.models import Company, User
from portal.core.audit import AuditLog


@dataclass
class AuditFilters:
    action: str = ""
    actor_id: int | None = None
    actor: str = ""  # part of a name or e-mail address
    company_id: int | None = None
    object_type: str = ""
    object_id: str = ""
    start: dt.date | None = None
    end: dt.date | None = None


def audit_rows(filters: AuditFilters, *, limit: int = 100, offset: int = 0) -> tuple[list[AuditLog], int]:
    query = AuditLog.select(AuditLog.id, AuditLog.at, AuditLog.actor_id, AuditLog.company_id, AuditLog.action,
                            AuditLog.object_type, AuditLog.object_id, AuditLog.details)
    if filters.action:
        query = query.where(AuditLog.action.startswith(filters.action))
    if filters.actor_id is not None:
        query = query.where(AuditLog.actor_id == filters.actor_id)
    if filters.actor:
        people = User.select(User.id).where(User.name.contains(filters.actor) | User.email.contains(filters.actor))
        query = query.where(AuditLog.actor_id.in_(people))
    if filters.company_id is not None:
        query = query.where(AuditLog.company_id == filters.company_id)
    if filters.object_type:
        query = query.where(AuditLog.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditLog.object_id == filters.object_id)
    if filters.start:
        query = query.where(AuditLog.at >= dt.datetime.combine(filters.start, dt.time.min))
    if filters.end:
        query = query.where(AuditLog.at < dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min))
    total = query.count()
    return list(query.order_by(AuditLog.id.desc()).limit(limit).offset(offset)), total


@dataclass(frozen=True)
class AuditNames:
    """Who and which company the rows of one audit page name, looked up for that page only."""

    people: dict[int, User]
    companies: dict[int, str]


def audit_names(rows: Iterable[AuditLog]) -> AuditNames:
    rows = list(rows)
    actor_ids = {row.actor_id for row in rows if row.actor_id is not None}
    company_ids = {row.company_id for row in rows if row.company_id is not None}
    people = {user.id: user for user in User.select(User.id, User.name, User.email, User.role)
              .where(User.id.in_(actor_ids))} if actor_ids else {}
    companies = {row.id: row.legal_name for row in Company.select(Company.id, Company.legal_name)
                 .where(Company.id.in_(company_ids))} if company_ids else {}
    return AuditNames(people, companies)


def audit_companies() -> list[tuple[int, str]]:
    """Every company by name, for the audit log's filter."""
    return [(row.id, row.legal_name) for row in Company.select(Company.id, Company.legal_name).order_by(Company.legal_name, Company.id)]
