"""Contribution statements: number them, render them once, store them, correct and withdraw them.

A statement's life: `preview()` renders the data of a period with a "concept" watermark and
stores nothing. `issue()` takes the year's counter row (the lock that serialises issuers),
allocates the next number, renders the PDF with that number on it and stores the frozen
snapshot, the bytes and their SHA-256 in the same transaction; a render that fails rolls
everything back, so no number is lost. The stored bytes are served for ever. When the
contributions behind an issued statement change, `after_issue.needs_correction()` says so and
`issue_correction()` issues a new statement naming the one it replaces.

The other parts: snapshots.py (the statement's data and totals), after_issue.py (changes after
issue, read from the change marks a statement keeps), records.py (lists, the register,
verification), document.py (HTML and PDF).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import peewee
from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company
from portal.core import audit, clock, ledger
from portal.core.contributions import Key
from portal.core.db import atomic_write, utcnow
from portal.core.errors import UserError
from portal.enrollment import hours
from portal.statements import after_issue, document, periods, snapshots, sroi
from portal.statements.models import NUMBER_PREFIX, Statement, StatementCounter
from portal.statements.periods import Period

log = logging.getLogger("portal.statements")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from paper
CODE_LENGTH = 10
NUMBER_PATTERN = re.compile(r"^OA-(\d{4})-(\d{4,})$")


class StatementError(UserError):
    """Something the user asked that cannot be done; str() is a message for the user; `statement`
    is the statement already covering the period, when that is why."""

    def __init__(self, message, field: str | None = None, statement: Statement | None = None) -> None:
        super().__init__(message, field)
        self.statement = statement


class NothingToIssue(StatementError):
    """The period has no contributions: a statement would be empty."""


class PeriodNotEnded(StatementError):
    """A calendar or school year that is still running: its statement is issued once it is over."""

    def __init__(self, period: Period) -> None:
        self.period = period
        self.available_on = periods.issuable_from(period)
        super().__init__(_l("This period has not ended yet, so its statement cannot be issued: contributions can still "
                            "be added. You can issue it from %(date)s. Until then, download an interim overview.",
                            date=format_date(self.available_on, "long")), "kind")


def check_period_ended(period: Period, today: dt.date | None = None) -> None:
    """Raise PeriodNotEnded for a calendar or school year that has not ended on `today`."""
    if periods.is_running(period, today or clock.today()):
        raise PeriodNotEnded(period)


# --- numbers and verification codes ------------------------------------------------------------

def format_number(year: int, sequence: int) -> str:
    return f"{NUMBER_PREFIX}-{year}-{sequence:04d}"


def new_verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def display_code(code: str) -> str:
    """'ABCDE23456' -> 'ABCDE-23456', easier to read from paper."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def normalise_code(text: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())[:32]


# --- rendering ----------------------------------------------------------------------------------

def render(snapshot: dict, *, verification_code: str | None = None, draft: bool = False,
           interim: bool = False) -> bytes:
    """The statement's PDF for a snapshot: the same snapshot and code give the same bytes. With
    `interim`, an interim overview of a running period (never numbered, no code)."""
    return document.statement_pdf(snapshot, verification_code=verification_code, draft=draft or interim,
                                  interim=interim)


def preview(company: Company, period: Period, *, today: dt.date | None = None) -> tuple[dict, bytes]:
    """The data and a watermarked 'concept' PDF of a statement that is not issued (nothing stored);
    for a calendar or school year that is still running, an interim overview instead."""
    today = today or clock.today()
    snapshot = snapshots.build_snapshot(company, period, issued_on=today)
    interim = periods.is_running(period, today)
    snapshot["interim"] = interim
    return snapshot, render(snapshot, draft=True, interim=interim)


# --- issuing ------------------------------------------------------------------------------------

def current_statement(company_id: int, period: Period) -> Statement | None:
    """The issued (not superseded, not void) statement of a company for exactly this period."""
    return (Statement.select()
            .where((Statement.company == company_id) & (Statement.period_start == period.start)
                   & (Statement.period_end == period.end) & (Statement.status == "issued"))
            .first())


def _next_sequence(year: int) -> int:
    """Take the year's counter row (blocking other issuers until commit) and move it one up."""
    StatementCounter.insert(year=year, last_number=0).on_conflict_ignore().execute()
    # On PostgreSQL the UPDATE locks the row until commit: a second issuer waits here and then
    # increments the committed value. On SQLite the IMMEDIATE transaction already excludes it.
    StatementCounter.update(last_number=StatementCounter.last_number + 1).where(StatementCounter.year == year).execute()
    return StatementCounter.get(StatementCounter.year == year).last_number


def issue(company: Company, period: Period, actor=None, *, today: dt.date | None = None,
          replaces: Statement | None = None, via: str = "web",
          renderer: Callable[..., bytes] | None = None) -> Statement:
    """Number, render and store a statement in one transaction; a failed render uses no number.
    A calendar or school year is issued once it has ended (a correction of one issued before
    that rule is still issued)."""
    issued_on = today or clock.today()
    if replaces is None:
        check_period_ended(period, issued_on)
    language = snapshots.statement_language(company)
    renderer = renderer or render
    # Read before the statement's data: a change made in between makes the statement look
    # changed (its page then shows no difference), never the other way round.
    marks = {"ledger_mark": after_issue.ledger_mark(company.id),
             "sroi_mark": sroi.allocations_mark(company.id, period.start, period.end)}
    try:
        with atomic_write():
            if replaces is not None:
                moved = (Statement.update(status="superseded", status_changed_at=utcnow())
                         .where((Statement.id == replaces.id) & (Statement.status == "issued")
                                & (Statement.company == company.id))
                         .execute())
                if moved != 1:
                    raise StatementError(_l("This statement has already been corrected or withdrawn."))
            else:
                existing = current_statement(company.id, period)
                if existing is not None:
                    raise StatementError(
                        _l("Statement %(number)s already covers this period. If contributions changed, "
                           "issue a correction of that statement.", number=existing.number),
                        statement=existing)
            snapshot = snapshots.build_snapshot(company, period, issued_on=issued_on, language=language, replaces=replaces)
            if snapshots.is_empty(snapshot):
                raise NothingToIssue(_l("There are no contributions in this period, so there is nothing to put on a statement."))
            year = issued_on.year
            sequence = _next_sequence(year)
            number = format_number(year, sequence)
            snapshot["number"] = number
            code = new_verification_code()
            pdf = renderer(snapshot, verification_code=code)
            statement = Statement.create(
                number=number, year=year, sequence=sequence, company=company.id, period_kind=period.kind,
                period_start=period.start, period_end=period.end, language=language, issued_on=issued_on,
                issued_by=getattr(actor, "id", None), replaces=replaces.id if replaces else None,
                snapshot=json.dumps(snapshot, sort_keys=True, ensure_ascii=False), pdf=pdf,
                pdf_sha256=hashlib.sha256(pdf).hexdigest(), pdf_size=len(pdf), verification_code=code, **marks)
            _mark_sources(snapshot["lines"])
            audit.record("statement.issued", actor=actor, company=company, obj=statement, number=number,
                         period=period.as_dict(), sha256=statement.pdf_sha256, via=via,
                         replaces=replaces.number if replaces else None)
            audit.anchor(f"statement {number}")
    except peewee.IntegrityError as error:
        # Another issuer stored a statement for the same company and period first.
        existing = current_statement(company.id, period)
        raise StatementError(_l("A statement for this period was issued a moment ago."), statement=existing) from error
    return statement


def _mark_sources(lines: list[dict]) -> None:
    """Tell enrolment which confirmed hours rows are now on an issued statement (same transaction).

    Its corrections of such rows then say that a correction statement is due.
    """
    keys = [Key.parse(line["key"]) for line in lines if line["kind"].startswith("hours_")]
    ids = sorted({key.id for key in keys if key is not None and key.source == "hours" and key.whole})
    if ids:
        hours.lock_entries(ids)


def issue_correction(statement: Statement, actor=None, *, today: dt.date | None = None, via: str = "web") -> Statement:
    """A new statement for the same company and period that names (and supersedes) this one."""
    if statement.status != "issued":
        raise StatementError(_l("Only a current statement can be corrected."))
    company = Company.get_by_id(statement.company_id)
    period = Period(statement.period_kind, statement.period_start, statement.period_end)
    return issue(company, period, actor, today=today, replaces=statement, via=via)


def void(statement: Statement, actor, reason: str) -> Statement:
    """Withdraw an issued statement with a reason; its number stays in the register."""
    reason = (reason or "").strip()
    if not reason:
        raise StatementError(_l("Give the reason for withdrawing this statement."), "reason")
    if len(reason) > 1000:
        raise StatementError(_l("Keep the reason under 1000 characters."), "reason")
    with atomic_write():
        moved = (Statement.update(status="void", void_reason=reason, voided_by=getattr(actor, "id", None),
                                  status_changed_at=utcnow())
                 .where((Statement.id == statement.id) & (Statement.status == "issued"))
                 .execute())
        if moved != 1:
            raise StatementError(_l("Only a current statement can be withdrawn."))
        audit.record("statement.voided", actor=actor, company=statement.company_id, obj=statement,
                     number=statement.number, reason=reason)
    return Statement.get_by_id(statement.id)


@dataclass
class BulkResult:
    issued: list[Statement] = field(default_factory=list)
    skipped: list[tuple[Company, str]] = field(default_factory=list)
    failed: list[tuple[Company, str]] = field(default_factory=list)


def companies_with_contributions(period: Period) -> list[Company]:
    """Companies with at least one contribution in the period (SROI claims rest on contributions),
    from the books: the postings dated in the period, their lines netted per company."""
    posting = ledger.Posting
    ids = (posting.select(posting.company_id)
           .where(posting.dated_on.between(period.start, period.end) & posting.kind.in_(ledger.CONTRIBUTION_KINDS))
           .group_by(posting.company_id).having(peewee.fn.SUM(posting.lines) > 0))
    return list(Company.select().where(Company.id.in_(ids)).order_by(Company.legal_name, Company.id))


def issue_bulk(period: Period, *, companies: list[Company] | None = None, actor=None, today: dt.date | None = None,
               progress: Callable[[Company], None] = lambda company: None) -> BulkResult:
    """Issue the period's statement for every company that has none yet (safe to run again).
    Raises PeriodNotEnded, issuing nothing, for a calendar or school year that is still running."""
    check_period_ended(period, today)
    result = BulkResult()
    for company in companies if companies is not None else companies_with_contributions(period):
        try:
            if current_statement(company.id, period) is not None:
                result.skipped.append((company, "exists"))
            else:
                result.issued.append(issue(company, period, actor, today=today, via="bulk"))
        except NothingToIssue:
            result.skipped.append((company, "empty"))
        except StatementError as error:
            if error.statement is not None:
                result.skipped.append((company, "exists"))
            else:
                result.failed.append((company, str(error)))
        except Exception as error:  # noqa: BLE001 - one company's failure does not stop the others
            log.exception("the statement of company %s could not be issued", company.id)
            result.failed.append((company, f"{type(error).__name__}: {error}".replace("\n", " ")[:500]))
        progress(company)
    return result
