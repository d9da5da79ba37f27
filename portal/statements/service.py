"""Contribution statements: build the data, number it, render it once, store it, verify it.

A statement's life: `preview()` renders the data of a period with a "concept" watermark and
stores nothing. `issue()` takes the year's counter row (the lock that serialises issuers),
allocates the next number, renders the PDF with that number on it and stores the frozen
snapshot, the bytes and their SHA-256 in the same transaction; a render that fails rolls
everything back, so no number is lost. The stored bytes are served for ever. When the
contributions behind an issued statement change, `needs_correction()` says so and
`issue_correction()` issues a new statement naming the one it replaces.

Whether an issued statement still matches is read from change marks it keeps (see
`correction_flags()`), not from its contributions: every change of value posts to the books
(portal.core.ledger) in its own transaction, so a posting of the company, newer than the
statement's mark and dated in its period, is a change it does not show. Pages that only show
totals (the concept's summary) read them from the books as well; only a document's lines, and
the list of what changed on a statement's own page, are read from the contributions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import importlib
import json
import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import peewee
from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company
from portal.core import audit, clock, ledger
from portal.core.contributions import WORD_FIELDS, Contribution, codes_of, contributions, describe
from portal.core.db import atomic_write, database, is_sqlite, utcnow
from portal.core.i18n import LANGUAGES
from portal.statements import periods, sroi
from portal.statements.models import NUMBER_PREFIX, Statement, StatementCounter
from portal.statements.periods import Period

# Version 1 (until December 2026): each line's words were an English sentence in `description`.
# Version 2: a line keeps codes and facts (what, subject, detail) and is put into words when
# shown (portal.core.contributions.describe), which also reads version 1's sentences back.
# Version 3 (issue 14): an hours line also keeps `person_key` (who the ambassador is, e.g.
# "enrolment:12"), and the totals per ambassador are per person, not per name: two ambassadors
# of one company with the same name are two rows. Older snapshots are shown from their stored
# totals, as issued.
SNAPSHOT_VERSION = 3
log = logging.getLogger("portal.statements")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from paper
CODE_LENGTH = 10
NUMBER_PATTERN = re.compile(r"^OA-(\d{4})-(\d{4,})$")
# The fields of a contribution that a statement keeps.
LINE_FIELDS = tuple(f.name for f in dataclasses.fields(Contribution) if f.name != "company_id")
# A change in any other field matters; the words that name a line (WORD_FIELDS, and an SROI
# claim line's description) do not: their shape changed between snapshot versions, and a school
# renamed changes no figure.
CLAIM_WORD_FIELDS = ("description",)


class StatementError(ValueError):
    """Something the user asked that cannot be done; str() is a message for the user."""

    def __init__(self, message, field: str | None = None, statement: Statement | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.statement = statement

    def __str__(self) -> str:
        return str(self.message)


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


# --- the statement's data -------------------------------------------------------------------------

def issuer() -> dict:
    """The foundation's details as configured (ISSUER_*): printed on every statement."""
    config = current_app.config
    return {
        "name": config["ISSUER_NAME"],
        "address": config["ISSUER_ADDRESS"],
        "kvk": config["ISSUER_KVK"],
        "rsin": config["ISSUER_RSIN"],
        "anbi": bool(config["ISSUER_ANBI"]),
        "iban": config["ISSUER_IBAN"],
    }


def company_details(company: Company) -> dict:
    return {"id": company.id, "name": company.legal_name, "street": company.street,
            "postcode": company.postcode, "city": company.city, "kvk": company.kvk}


def statement_language(company: Company) -> str:
    return company.language if company.language in LANGUAGES else "nl"


def line_of(contribution: Contribution) -> dict:
    """A contribution as the snapshot keeps it (JSON-safe, every printed field)."""
    line = {name: getattr(contribution, name) for name in LINE_FIELDS}
    line["on"] = contribution.on.isoformat()
    return line


def claim_of(claim: sroi.SroiClaim) -> dict:
    return {"commitment": claim.commitment, "rules": claim.rules, "value_cents": claim.value_cents,
            "lines": [{**dataclasses.asdict(line), "on": line.on.isoformat()} for line in claim.lines]}


def _sum(lines: Iterable[dict], name: str) -> int:
    return sum(int(line[name]) for line in lines)


def _classification(line: dict) -> str:
    return line["classification"] if line["classification"] in ("gift", "sponsoring") else "unclassified"


def _person_order(item: tuple[tuple[str, str, str], list]) -> tuple:
    (person, key, basis), _group = item
    return person.lower(), person, key, basis


HOUR_KINDS = ("hours_sponsored", "hours_volunteered")
_DISPUTE_KEY = re.compile(r"^(?P<dispute>.+:dispute:[^:]+):(?:withdrawn|reinstated)$")


def refunds_of(money: list[dict]) -> int:
    """What went back to the company (negative cents): refunds, and chargebacks that stand.

    A chargeback that was reversed (the dispute was won and the money came back) is no refund: its
    reversal on the same statement cancels it, dispute by dispute. A reversal whose chargeback lies
    in an earlier period lowers no other refund of this one."""
    refunds = sum(int(row["gross_cents"]) for row in money if int(row["gross_cents"]) < 0)
    withdrawn: dict[str, int] = defaultdict(int)
    reinstated: dict[str, int] = defaultdict(int)
    for row in money:
        what = codes_of(row)[0]
        found = _DISPUTE_KEY.match(row.get("key") or "")
        dispute = found.group("dispute") if found else None
        if dispute is None or what not in ("chargeback", "chargeback_reversed"):
            continue
        if what == "chargeback" and int(row["gross_cents"]) < 0:
            withdrawn[dispute] += -int(row["gross_cents"])
        elif what == "chargeback_reversed" and int(row["gross_cents"]) > 0:
            reinstated[dispute] += int(row["gross_cents"])
    return refunds + sum(min(cents, withdrawn[dispute]) for dispute, cents in reinstated.items())


def totals_of(lines: list[dict], claims: list[dict]) -> dict:
    """Totals per kind. Figures of different valuation bases are kept apart, never added."""
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        by_kind[line["kind"]].append(line)
    sponsored = by_kind["hours_sponsored"]
    volunteered = by_kind["hours_volunteered"]
    materials = by_kind["material"]
    money = by_kind["money"]

    def per_person(rows: list[dict], valued: bool) -> list[dict]:
        # Per person (her key), not per name: two ambassadors may share a name.
        groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
        for row in rows:
            groups[(row["person"], row.get("person_key") or "", row["basis"] if valued else "none")].append(row)
        return [{"person": person, "person_key": key, "basis": basis, "lines": len(group),
                 "minutes": _sum(group, "minutes"), "value_cents": _sum(group, "value_cents") if valued else 0}
                for (person, key, basis), group in sorted(groups.items(), key=_person_order)]

    def by_class(rows: list[dict], names: tuple[str, ...]) -> dict:
        out = {}
        for classification in ("gift", "sponsoring", "unclassified"):
            group = [row for row in rows if _classification(row) == classification]
            if group:
                out[classification] = {name: _sum(group, name) for name in names} | {"lines": len(group)}
        return out

    sponsored_by_basis: dict[str, int] = defaultdict(int)
    for row in sponsored:
        sponsored_by_basis[row["basis"]] += int(row["value_cents"])
    return {
        "hours_sponsored": {
            "lines": len(sponsored), "minutes": _sum(sponsored, "minutes"),
            "value_by_basis": dict(sorted(sponsored_by_basis.items())),
            "people": per_person(sponsored, valued=True),
        },
        "hours_volunteered": {
            "lines": len(volunteered), "minutes": _sum(volunteered, "minutes"),
            "people": per_person(volunteered, valued=False),
        },
        "material": {
            "lines": len(materials), "value_cents": _sum(materials, "value_cents"),
            "by_classification": by_class(materials, ("value_cents",)),
        },
        "money": {
            "lines": len(money), "gross_cents": _sum(money, "gross_cents"), "fee_cents": _sum(money, "fee_cents"),
            "net_cents": _sum(money, "net_cents"),
            "refunds_cents": refunds_of(money),
            "by_classification": by_class(money, ("gross_cents", "fee_cents", "net_cents")),
        },
        "sroi": {"claims": len(claims), "lines": sum(len(c["lines"]) for c in claims)},
    }


def build_snapshot(company: Company, period: Period, *, issued_on: dt.date, language: str | None = None,
                   number: str | None = None, replaces: Statement | None = None) -> dict:
    """Everything a statement shows, read now and frozen as plain JSON-safe data."""
    language = language or statement_language(company)
    found = contributions(company.id, period.start, period.end)
    # Sources are asked for one company; a line of another company would be a source's bug,
    # and must never reach this company's document.
    lines = [line_of(c) for c in found if c.company_id == company.id]
    with force_locale(language):
        claims = [claim_of(claim) for claim in sroi.claims(company.id, period.start, period.end)]
    return {
        "version": SNAPSHOT_VERSION,
        "number": number,
        "issued_on": issued_on.isoformat(),
        "language": language,
        "period": period.as_dict(),
        "issuer": issuer(),
        "company": company_details(company),
        "replaces": {"number": replaces.number, "issued_on": replaces.issued_on.isoformat()} if replaces else None,
        "lines": lines,
        "sroi": claims,
        "totals": totals_of(lines, claims),
    }


def snapshot_of(statement: Statement) -> dict:
    return json.loads(statement.snapshot)


def is_empty(snapshot: dict) -> bool:
    return not snapshot["lines"] and not snapshot["sroi"]


# --- rendering ----------------------------------------------------------------------------------

def render(snapshot: dict, *, verification_code: str | None = None, draft: bool = False,
           interim: bool = False) -> bytes:
    """The statement's PDF for a snapshot: the same snapshot and code give the same bytes. With
    `interim`, an interim overview of a running period (never numbered, no code)."""
    from portal.statements import document

    return document.statement_pdf(snapshot, verification_code=verification_code, draft=draft or interim,
                                  interim=interim)


def summary_of(company: Company, period: Period) -> dict:
    """What a concept's summary shows (its totals and SROI claims), from the books' postings
    dated in the period, grouped in SQL: no contribution is read. The same figures as
    build_snapshot()'s totals, except the per-line `refunds_cents`, which postings do not keep
    apart; `lines` is the number of lines, not the lines."""
    language = statement_language(company)
    totals = totals_from_books(company.id, period.start, period.end)
    with force_locale(language):
        claims = [claim_of(claim) for claim in sroi.claims(company.id, period.start, period.end)]
    totals["sroi"] = {"claims": len(claims), "lines": sum(len(c["lines"]) for c in claims)}
    lines = sum(totals[kind]["lines"] for kind in ledger.CONTRIBUTION_KINDS)
    return {"language": language, "period": period.as_dict(), "company": company_details(company),
            "lines": lines, "sroi": claims, "totals": totals}


def totals_from_books(company_id: int, start: dt.date, end: dt.date) -> dict:
    """totals_of()'s figures (but `refunds_cents`) from the postings dated from `start` to `end`."""
    posting = ledger.Posting
    names = ("lines", "minutes", "value_cents", "gross_cents", "fee_cents", "net_cents")
    # An hours posting names the ambassador's enrolment in subject_id: her person key (other kinds'
    # subjects, a donation each, are not grouped on).
    # Grouped on by its output name: PostgreSQL takes the CASE in GROUP BY, with parameters of its
    # own, for another expression than the one selected.
    enrolment = peewee.Case(None, [(posting.kind.in_(HOUR_KINDS), posting.subject_id)], None)
    groups = (posting.kind, posting.basis, posting.classification, posting.person)
    rows = [row for row in (posting.select(*groups, enrolment.alias("hours_enrolment"),
                                           *[peewee.fn.SUM(getattr(posting, n)).alias(n) for n in names])
                            .where((posting.company_id == company_id) & posting.dated_on.between(start, end)
                                   & posting.kind.in_(ledger.CONTRIBUTION_KINDS))
                            .group_by(*groups, peewee.SQL('"hours_enrolment"')).dicts())
            if any(row[n] for n in names)]  # a group whose every line was withdrawn shows nothing
    for row in rows:
        for name in names:
            row[name] = int(row[name] or 0)
        enrolment_id = row.pop("hours_enrolment")
        row["person_key"] = f"enrolment:{enrolment_id}" if enrolment_id is not None else ""

    def of(kind: str) -> list[dict]:
        return [row for row in rows if row["kind"] == kind]

    def add(rows_: list[dict], keys: tuple[str, ...]) -> dict:
        return {name: sum(row[name] for row in rows_) for name in keys}

    def per_person(rows_: list[dict], valued: bool) -> list[dict]:
        people: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
        for row in rows_:
            people[(row["person"], row["person_key"], row["basis"] if valued else "none")].append(row)
        return [{"person": person, "person_key": key, "basis": basis, **add(group, ("lines", "minutes")),
                 "value_cents": add(group, ("value_cents",))["value_cents"] if valued else 0}
                for (person, key, basis), group in sorted(people.items(), key=_person_order)]

    def by_class(rows_: list[dict], keys: tuple[str, ...]) -> dict:
        out = {}
        for classification in ("gift", "sponsoring", "unclassified"):
            group = [row for row in rows_ if _classification(row) == classification]
            if group:
                out[classification] = add(group, keys) | {"lines": add(group, ("lines",))["lines"]}
        return out

    sponsored, volunteered, materials, money = of("hours_sponsored"), of("hours_volunteered"), of("material"), of("money")
    by_basis: dict[str, int] = defaultdict(int)
    for row in sponsored:
        by_basis[row["basis"]] += row["value_cents"]
    return {
        "hours_sponsored": {**add(sponsored, ("lines", "minutes")), "value_by_basis": dict(sorted(by_basis.items())),
                            "people": per_person(sponsored, valued=True)},
        "hours_volunteered": {**add(volunteered, ("lines", "minutes")), "people": per_person(volunteered, valued=False)},
        "material": {**add(materials, ("lines", "value_cents")),
                     "by_classification": by_class(materials, ("value_cents",))},
        "money": {**add(money, ("lines", "gross_cents", "fee_cents", "net_cents")),
                  "by_classification": by_class(money, ("gross_cents", "fee_cents", "net_cents"))},
    }


def preview(company: Company, period: Period, *, today: dt.date | None = None) -> tuple[dict, bytes]:
    """The data and a watermarked 'concept' PDF of a statement that is not issued (nothing stored);
    for a calendar or school year that is still running, an interim overview instead."""
    today = today or clock.today()
    snapshot = build_snapshot(company, period, issued_on=today)
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
    language = statement_language(company)
    renderer = renderer or render
    # Read before the statement's data: a change made in between makes the statement look
    # changed (its page then shows no difference), never the other way round.
    marks = {"ledger_mark": ledger_mark(company.id),
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
            snapshot = build_snapshot(company, period, issued_on=issued_on, language=language, replaces=replaces)
            if is_empty(snapshot):
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

    Its corrections of such rows then say that a correction statement is due. Optional: without
    the enrolment capability there is nothing to mark.
    """
    from portal import MODEL_MODULES

    if "portal.enrollment.models" not in MODEL_MODULES:
        return
    hours = importlib.import_module("portal.enrollment.hours")
    ids = sorted({int(line["key"].split(":", 1)[1]) for line in lines
                  if line["kind"].startswith("hours_") and re.fullmatch(r"hours:\d+", line["key"])})
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


# --- changes after issue ------------------------------------------------------------------------

@dataclass(frozen=True)
class LineChange:
    """One difference between an issued statement and the contributions as they are now."""

    change: str            # "added", "removed" or "changed"
    key: str
    kind: str
    before: dict | None
    after: dict | None
    sroi: bool = False      # a line of an SROI claim (allocated minutes or cents, and their value)
    named: dict | None = None   # the contribution line that names an SROI claim line, when known

    @property
    def fields(self) -> list[str]:
        if self.before is None or self.after is None:
            return []
        names = (self.before.keys() | self.after.keys()) - {*WORD_FIELDS, *IDENTITY_FIELDS, "contribution_key"}
        return sorted(name for name in names if self.before.get(name) != self.after.get(name))

    @property
    def description(self) -> str:
        """The contribution in words, in the language of the moment (any snapshot version)."""
        line = self.named or self.after or self.before or {}
        return describe(line)


def _identity(line: dict, prefix: str) -> str:
    # One source row may yield several contributions under one key (an hours entry with a
    # sponsored and a volunteered part), so a line is known by its kind and its key.
    return f"{prefix}{line['kind']}|{line['key']}"


# Who a line's ambassador is names the line, as her name does: snapshots before version 3 have
# no key, and a line (one hours row) never moves to another person.
IDENTITY_FIELDS = ("person_key",)


def _values(line: dict, words: tuple[str, ...]) -> dict:
    return {name: value for name, value in line.items() if name not in words and name not in IDENTITY_FIELDS}


def _compare(frozen: list[dict], current: list[dict], prefix: str = "", *, words: tuple[str, ...] = WORD_FIELDS,
             names: dict[tuple[str, str], dict] | None = None) -> list[LineChange]:
    before = {_identity(line, prefix): line for line in frozen}
    after = {_identity(line, prefix): line for line in current}
    found = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None and _values(old, words) == _values(new, words):
            continue
        line = new or old
        change = "added" if old is None else "removed" if new is None else "changed"
        named = None
        if names is not None:
            named = names.get((line["kind"], line.get("contribution_key") or line["key"]))
        found.append(LineChange(change, line["key"], line["kind"], old, new, sroi=names is not None, named=named))
    return found


def _claim_lines(claims: list[dict]) -> list[dict]:
    return [{**line, "key": f"{claim['commitment']}|{line['key']}", "contribution_key": line["key"]}
            for claim in claims for line in claim["lines"]]


def changes(statement: Statement, current: list[Contribution] | None = None,
            claims: list[sroi.SroiClaim] | None = None) -> list[LineChange]:
    """What differs between the statement's frozen lines and today's contributions and SROI claims
    of its period, line by line (a statement's own page; the flags use the change marks)."""
    snapshot = snapshot_of(statement)
    if current is None:
        current = contributions(statement.company_id, statement.period_start, statement.period_end)
    lines = [line_of(c) for c in current
             if c.company_id == statement.company_id and statement.period_start <= c.on <= statement.period_end]
    found = _compare(snapshot["lines"], lines, words=WORD_FIELDS)
    if claims is None:
        with force_locale(snapshot["language"]):
            claims = sroi.claims(statement.company_id, statement.period_start, statement.period_end)
    with force_locale(snapshot["language"]):
        current_claims = [claim_of(claim) for claim in claims]
    # A claim line is named by its contribution's line (now, or as the statement kept it).
    names = {(line["kind"], line["key"]): line for line in [*snapshot["lines"], *lines]}
    found.extend(_compare(_claim_lines(snapshot["sroi"]), _claim_lines(current_claims), "sroi:",
                          words=CLAIM_WORD_FIELDS, names=names))
    return found


# --- change marks ----------------------------------------------------------------------------

def ledger_mark(company_id: int) -> int:
    """The company's last posting in the books, once every posting begun before now has committed.

    Postings take their ids when they start, not when they commit: on PostgreSQL a posting with
    a lower id can still be uncommitted while a higher one is visible, and a mark read then
    would hide it for ever. Each posting holds the books' lock shared until it commits; taking
    it exclusively for one read waits for those, and is let go at once (before this statement
    holds any row, so nothing waits on it in turn). SQLite's writers already run one at a time.
    """
    if is_sqlite():
        return ledger.last_posting_id(company_id)
    database.execute_sql("SELECT pg_advisory_lock(%s)", (ledger.LOCK_KEY,))
    try:
        return ledger.last_posting_id(company_id)
    finally:
        database.execute_sql("SELECT pg_advisory_unlock(%s)", (ledger.LOCK_KEY,))


@dataclass(frozen=True)
class Flag:
    """Why an issued statement needs a correction."""

    contributions: bool = False             # a change of value dated in its period was posted after issue
    sroi: bool = False                      # its period's SROI allocations (or their rules) changed after issue
    lines: tuple[LineChange, ...] = ()      # issued before change marks: its lines that differ now

    def reasons(self) -> list[str]:
        found = ["contributions changed"] if self.contributions else []
        found += ["SROI allocations changed"] if self.sroi else []
        found += [f"{len(self.lines)} changed line(s)"] if self.lines else []
        return found


# Up to this many statements are named in the query; more are read by their id range.
MAX_NAMED = 1000


def correction_flags(statements: Iterable[Statement]) -> dict[int, Flag]:
    """The issued statements among these that need a correction, in a fixed number of queries
    whatever their number (see flags_where)."""
    ids = sorted({s.id for s in statements if s.status == "issued"})
    if not ids:
        return {}
    if len(ids) <= MAX_NAMED:
        return flags_where(Statement.id.in_(ids))
    wanted = set(ids)
    found = flags_where(Statement.id.between(ids[0], ids[-1]), wanted)
    return {statement_id: flag for statement_id, flag in found.items() if statement_id in wanted}


def flags_where(condition: peewee.Expression, wanted: set[int] | None = None) -> dict[int, Flag]:
    """The issued statements matching `condition` that no longer match the books, by id.

    A statement needs a correction when a posting of its company newer than its `ledger_mark` is
    dated inside its period (one EXISTS query for all of them), or when the SROI allocations of
    its period are no longer what its `sroi_mark` says (one GROUP BY query). A statement issued
    before marks existed is compared line by line, its period only, as it always was.

    Not seen: a change dated outside the period that alters what an allocation inside it may
    claim through its netting group (a person's hours, one payment and its refunds, first
    allocated first served); a statement's own page compares its claims in full. `wanted`, when
    given, limits the line-by-line comparison to those statements.
    """
    issued = (Statement.status == "issued") & condition
    posting = ledger.Posting
    later = (posting.select(peewee.SQL("1"))
             .where((posting.company_id == Statement.company) & (posting.id > Statement.ledger_mark)
                    & posting.dated_on.between(Statement.period_start, Statement.period_end)
                    & posting.kind.in_(ledger.CONTRIBUTION_KINDS)))
    changed = {row[0] for row in Statement.select(Statement.id)
               .where(issued & Statement.ledger_mark.is_null(False) & peewee.fn.EXISTS(later)).tuples()}
    allocations = set()
    if sroi.uses_adapter():
        allocation, commitment = sroi.allocation_models()
        now = sroi.mark_expression(allocation, commitment)
        allocations = {row[0] for row in (
            Statement.select(Statement.id)
            .join(allocation, peewee.JOIN.LEFT_OUTER,
                  on=((allocation.company == Statement.company)
                      & allocation.contribution_on.between(Statement.period_start, Statement.period_end)))
            .join(commitment, peewee.JOIN.LEFT_OUTER, on=(commitment.id == allocation.commitment))
            .where(issued & Statement.sroi_mark.is_null(False))
            .group_by(Statement.id, Statement.sroi_mark)
            .having(now != Statement.sroi_mark)).tuples()}
    flags = {statement_id: Flag(contributions=statement_id in changed, sroi=statement_id in allocations)
             for statement_id in changed | allocations}
    for statement in Statement.select(Statement.id, Statement.company, Statement.period_start,
                                      Statement.period_end, Statement.snapshot).where(
            issued & Statement.ledger_mark.is_null()):
        if wanted is not None and statement.id not in wanted:
            continue
        found = changes(statement)
        if found:
            flags[statement.id] = Flag(lines=tuple(found))
    return flags


def needs_correction(statement: Statement) -> bool:
    """True when an issued statement no longer matches the contributions it lists."""
    return statement.status == "issued" and statement.id in correction_flags([statement])


def count_needing_correction() -> int:
    """How many issued statements need a correction (the leader's dashboard)."""
    return len(flags_where(Statement.id.is_null(False)))


# --- reading -----------------------------------------------------------------------------------

# What lists of statements show: everything but the document (its snapshot and PDF bytes).
LISTED = tuple(field for field in Statement._meta.sorted_fields if field.name not in ("snapshot", "pdf"))


def company_statements(company_id: int) -> list[Statement]:
    """The company's statements, newest first, without their documents (LISTED)."""
    return list(Statement.select(*LISTED).where(Statement.company == company_id)
                .order_by(Statement.issued_at.desc(), Statement.id.desc()))


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
