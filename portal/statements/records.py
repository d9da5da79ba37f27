"""Reading statements: a company's list, the leader's register by year, and verification of a
number and code from the paper (the same answer for a wrong number and a wrong code).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import peewee

from portal.accounts.models import Company
from portal.core.prepared import Prepared
from portal.statements.models import Statement, StatementCounter
from portal.statements.service import CODE_LENGTH, NUMBER_PATTERN, format_number, normalise_code

# What lists of statements show: everything but the document (its snapshot and PDF bytes).
LISTED = tuple(field for field in Statement._meta.sorted_fields if field.name not in ("snapshot", "pdf"))


_OF_COMPANY = Prepared(lambda company: Statement.select(*LISTED).where(Statement.company == company)
                      .order_by(Statement.issued_at.desc(), Statement.id.desc()))


def company_statements(company_id: int) -> list[Statement]:
    """The company's statements, newest first, without their documents (LISTED)."""
    return list(_OF_COMPANY(company=company_id))


def replaced_by(statement: Statement) -> Statement | None:
    return Statement.select().where(Statement.replaces == statement.id).first()


def by_number(number: str) -> Statement | None:
    return Statement.select().where(Statement.number == (number or "").strip().upper()).first()


@dataclass
class RegisterYear:
    year: int
    last_number: int
    statements: list[Statement]

    @property
    def missing(self) -> list[str]:
        """Numbers the counter handed out that have no statement: should always be empty."""
        present = {s.sequence for s in self.statements}
        return [format_number(self.year, n) for n in range(1, self.last_number + 1) if n not in present]


def register(year: int | None = None) -> list[RegisterYear]:
    """Every number ever issued, by year (newest first), with the counter to prove there are no gaps."""
    counters = StatementCounter.select().order_by(StatementCounter.year.desc())
    if year is not None:
        counters = counters.where(StatementCounter.year == year)
    years = []
    for counter in counters:
        rows = list(Statement.select(*LISTED, Company).join(Company)
                    .where(Statement.year == counter.year).order_by(Statement.sequence))
        years.append(RegisterYear(counter.year, counter.last_number, rows))
    return years


@dataclass
class YearCount:
    """The register of one year in figures (the leader's panel): numbers used per status, and gaps."""

    year: int
    by_status: dict[str, int]
    missing: list[str]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def year_count(year: int) -> YearCount:
    """Counted in SQL; only the year's sequence numbers are read, to name a gap."""
    by_status = dict(Statement.select(Statement.status, peewee.fn.COUNT(Statement.id))
                     .where(Statement.year == year).group_by(Statement.status).tuples())
    counter = StatementCounter.get_or_none(StatementCounter.year == year)
    present = {n for (n,) in Statement.select(Statement.sequence).where(Statement.year == year).tuples()}
    last = counter.last_number if counter is not None else 0
    return YearCount(year, by_status, [format_number(year, n) for n in range(1, last + 1) if n not in present])


def register_years() -> list[int]:
    return [c.year for c in StatementCounter.select(StatementCounter.year).order_by(StatementCounter.year.desc())]


# --- verification --------------------------------------------------------------------------------

_DUMMY_CODE = "X" * CODE_LENGTH


def verify(number: str, code: str | None) -> Statement | None:
    """The statement when number and code belong together, else None (the same for both failures)."""
    statement = by_number(number) if NUMBER_PATTERN.match((number or "").strip().upper()) else None
    given = normalise_code(code)
    expected = statement.verification_code if statement is not None else _DUMMY_CODE
    matches = hmac.compare_digest(given.encode(), expected.encode())
    return statement if statement is not None and given and matches else None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
