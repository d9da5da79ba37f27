"""The books: every change of value posts here, in the transaction of the change and its audit row.

- Postings (`ledger_posting`) are the journal: one row per change of value (hours confirmed,
  reversed or corrected; a donation paid, its fee learnt, a refund, a dispute's withdrawal or
  reinstatement; a material valued; a volunteer-allowance line), with its business date
  (`dated_on`) and the date it is booked on (`booked_on`). They are the same, unless the month
  of `dated_on` is closed: then the posting is booked on the first day of the first open month
  after it, a correction that names its original date, as an accountant books a late item.
  A closed month therefore never changes.
- Totals (`ledger_total`) sum the postings per company, booked month, kind, valuation basis,
  classification and method. Each posting adds its delta by an upsert (SQLite >= 3.24 and
  PostgreSQL alike), so a page reads a few total rows however long the history is.
- Company totals (`ledger_company_total`) sum the same per company and kind for all time, with
  how many postings made them; month totals (`ledger_month_total`) per booked month and kind for
  the whole programme. The reconciliation desk reads them (a few rows per company, a few per
  month); a page that keeps figures derived from the books (SROI's) compares a company's count
  of postings, in one indexed read, to know whether they still hold.
- Closed months (`ledger_closed_month`): a month closes only after it has ended, and only when
  every open item that a capability reports for it (the `open_items` signal: unmatched bank
  lines, open payment issues, unconfirmed hours...) carries the project leader's explanation.

Capabilities post through `post()` and read through the functions below; none asks another
whether a period is closed. `check()` recomputes every total from the capabilities' own rows
(the `sources` signal) and from the postings, and names each difference (`portal ledger check`).
Core imports no capability: company and user ids are plain integers here, as in the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

import peewee
from blinker import Namespace
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.core import audit, clock
from portal.core.db import BaseModel, atomic_write, check_in, database, dated, is_sqlite, utcnow
from portal.core.errors import UserError
from portal.core.prepared import Prepared

KINDS = ("hours_sponsored", "hours_volunteered", "money", "material", "allowance")
KIND_LABELS = {"hours_sponsored": _l("Sponsored hours"), "hours_volunteered": _l("Volunteered hours"),
               "money": _l("Money"), "material": _l("Materials"), "allowance": _l("Volunteer allowance")}
CONTRIBUTION_KINDS = KINDS[:4]  # an allowance is paid to a volunteer, not contributed by a company
AMOUNTS = ("lines", "minutes", "value_cents", "gross_cents", "fee_cents", "net_cents")
TOTAL_KEY = ("company_id", "month", "kind", "basis", "classification", "method")
LOCK_KEY = 0x6C656467  # the advisory lock that orders postings and closes on PostgreSQL

signals = Namespace()
# open_items.send(None, start=first day, end=last day) -> each receiver returns [OpenItem, ...]
open_items = signals.signal("ledger.open-items")
# sources.send(None) -> each receiver returns peewee queries with the posting columns (see check())
sources = signals.signal("ledger.sources")


class LedgerError(UserError):
    """A period may not be closed (yet); the message says why, in the reader's language."""


@dataclass(frozen=True)
class OpenItem:
    """Something in a month that keeps it from closing until it is resolved or explained."""

    code: str  # stable identity, e.g. "bank_line:12": the leader's explanation is stored under it
    label: str  # what it is, rendered in the reader's language when asked
    amount_cents: int = 0


class Posting(BaseModel):
    company_id = peewee.IntegerField()
    dated_on = peewee.DateField()
    booked_on = peewee.DateField()
    kind = peewee.CharField(max_length=20)
    key = peewee.CharField(max_length=80)
    source = peewee.CharField(max_length=40)
    basis = peewee.CharField(max_length=20, default="")
    classification = peewee.CharField(max_length=20, default="")
    method = peewee.CharField(max_length=20, default="")
    lines = peewee.IntegerField(default=1)
    minutes = peewee.IntegerField(default=0)
    value_cents = peewee.BigIntegerField(default=0)
    gross_cents = peewee.BigIntegerField(default=0)
    fee_cents = peewee.BigIntegerField(default=0)
    net_cents = peewee.BigIntegerField(default=0)
    person = peewee.CharField(max_length=200, default="")
    subject_id = peewee.IntegerField(null=True)
    reference = peewee.CharField(max_length=255, default="")
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "ledger_posting"
        constraints = [check_in("kind", KINDS), peewee.SQL("CHECK (booked_on >= dated_on)")]
        indexes = ((("company_id", "booked_on"), False), (("company_id", "dated_on"), False), (("booked_on",), False),
                   (("key", "kind"), False), (("company_id", "id"), False))


def _amount_fields() -> tuple[peewee.Field, ...]:
    """The sums a total keeps, in the order of AMOUNTS."""
    return tuple(peewee.BigIntegerField(default=0) for _name in AMOUNTS)


class Total(BaseModel):
    company_id = peewee.IntegerField()
    month = peewee.DateField()
    kind = peewee.CharField(max_length=20)
    basis = peewee.CharField(max_length=20, default="")
    classification = peewee.CharField(max_length=20, default="")
    method = peewee.CharField(max_length=20, default="")
    lines, minutes, value_cents, gross_cents, fee_cents, net_cents = _amount_fields()
    corrections = peewee.IntegerField(default=0)

    class Meta:
        table_name = "ledger_total"
        constraints = [check_in("kind", KINDS)]
        indexes = (((*TOTAL_KEY,), True), (("month",), False))


class CompanyTotal(BaseModel):
    """A company's totals of one kind for all time, and how many postings made them (one more with
    each posting, in its transaction; the row lock orders a company's postings on PostgreSQL)."""

    company_id = peewee.IntegerField()
    kind = peewee.CharField(max_length=20)
    postings = peewee.BigIntegerField(default=0)
    lines, minutes, value_cents, gross_cents, fee_cents, net_cents = _amount_fields()

    class Meta:
        table_name = "ledger_company_total"
        constraints = [check_in("kind", KINDS)]
        indexes = ((("company_id", "kind"), True),)


class MonthTotal(BaseModel):
    """The programme's totals of one kind in one booked month, every company together."""

    month = peewee.DateField()
    kind = peewee.CharField(max_length=20)
    lines, minutes, value_cents, gross_cents, fee_cents, net_cents = _amount_fields()

    class Meta:
        table_name = "ledger_month_total"
        constraints = [check_in("kind", KINDS)]
        indexes = ((("month", "kind"), True),)


class ClosedMonth(BaseModel):
    month = peewee.DateField(unique=True)
    closed_at = peewee.DateTimeField(default=utcnow)
    closed_by_id = peewee.IntegerField(null=True)
    explanations = peewee.TextField(default="{}")  # JSON: open item code -> the leader's explanation

    class Meta:
        table_name = "ledger_closed_month"


MODELS = (Posting, Total, CompanyTotal, MonthTotal, ClosedMonth)


# --- months -------------------------------------------------------------------------------------

def month_of(day: dt.date) -> dt.date:
    """The first day of the day's month."""
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_end(month: dt.date) -> dt.date:
    return next_month(month) - dt.timedelta(days=1)


def months(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every month from the one of `start` to the one of `end`."""
    found, month = [], month_of(start)
    while month <= end:
        found.append(month)
        month = next_month(month)
    return found


def is_closed(day: dt.date) -> bool:
    """Whether the month of this day is closed."""
    return ClosedMonth.select().where(ClosedMonth.month == month_of(day)).exists()


def closed_months(start: dt.date | None = None, end: dt.date | None = None) -> list[ClosedMonth]:
    query = ClosedMonth.select().order_by(ClosedMonth.month)
    if start:
        query = query.where(ClosedMonth.month >= month_of(start))
    if end:
        query = query.where(ClosedMonth.month <= end)
    return list(query)


def booking_date(dated_on: dt.date) -> dt.date:
    """The date a change dated `dated_on` is booked on: that date, or the first open month's first day."""
    month = month_of(dated_on)
    closed = {row[0] for row in ClosedMonth.select(ClosedMonth.month).where(ClosedMonth.month >= month).tuples()}
    if month not in closed:
        return dated_on
    while month in closed:
        month = next_month(month)
    return month


def _lock(shared: bool) -> None:
    """On PostgreSQL, order postings (shared) against closes (exclusive) for this transaction. SQLite
    writers already run one at a time (IMMEDIATE transactions)."""
    if not is_sqlite():
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        database.execute_sql(f"SELECT {function}(%s)", (LOCK_KEY,))


# --- the one door -------------------------------------------------------------------------------

def post(*, company_id: int, dated_on: dt.date, kind: str, key: str, source: str, basis: str = "",
         classification: str = "", method: str = "", lines: int = 1, minutes: int = 0, value_cents: int = 0,
         gross_cents: int = 0, fee_cents: int = 0, net_cents: int = 0, person: str = "",
         subject_id: int | None = None, reference: str = "") -> Posting:
    """Post one change of value and add it to the totals; runs inside the caller's transaction."""
    if database.transaction_depth() == 0:
        raise RuntimeError("ledger.post() must run inside the transaction of the change")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    amounts = {"lines": lines, "minutes": minutes, "value_cents": value_cents, "gross_cents": gross_cents,
               "fee_cents": fee_cents, "net_cents": net_cents}
    if any(not isinstance(v, int) or isinstance(v, bool) for v in amounts.values()):
        raise TypeError("ledger amounts are whole numbers (cents, minutes)")
    _lock(shared=True)
    booked_on = booking_date(dated_on)
    posting = Posting.create(company_id=company_id, dated_on=dated_on, booked_on=booked_on, kind=kind, key=key,
                             source=source, basis=basis, classification=classification, method=method,
                             person=person or "", subject_id=subject_id, reference=reference or "", **amounts)
    late = int(booked_on != dated_on)
    _add(Total, TOTAL_KEY, {"company_id": company_id, "month": month_of(booked_on), "kind": kind, "basis": basis,
                            "classification": classification, "method": method, "corrections": late}, amounts)
    _add(CompanyTotal, ("company_id", "kind"), {"company_id": company_id, "kind": kind, "postings": 1}, amounts)
    _add(MonthTotal, ("month", "kind"), {"month": month_of(booked_on), "kind": kind}, amounts)
    return posting


def _add(model: type[BaseModel], key: Iterable[str], row: dict, amounts: dict) -> None:
    """Add a posting's amounts (and its other counts in `row`) to the total of `key`, by upsert."""
    counts = [name for name in row if name not in key]
    model.insert({**row, **amounts}).on_conflict(
        conflict_target=[getattr(model, name) for name in key],
        update={getattr(model, name): getattr(model, name) + peewee.EXCLUDED[name] for name in (*amounts, *counts)},
    ).execute()


# --- reading ------------------------------------------------------------------------------------

SUMS = tuple(peewee.fn.COALESCE(peewee.fn.SUM(getattr(Total, name)), 0).alias(name)
             for name in (*AMOUNTS, "corrections"))


def _totals(by: tuple[str, ...], kinds: tuple[str, ...], company=None, start=None, end=None) -> peewee.Query:
    columns = [getattr(Total, name) for name in by]
    query = Total.select(*columns, *SUMS).where(Total.kind.in_(kinds))
    if company is not None:
        query = query.where(Total.company_id == company)
    query = query.where(dated(Total.month, start, end))
    if columns:
        query = query.group_by(*columns).order_by(*columns)
    return query.dicts()


_TOTALS = Prepared(_totals)   # asked by every dashboard: its SQL is kept per grouping and kinds


def totals(*, by: Iterable[str] = ("kind",), company_id: int | None = None, start: dt.date | None = None,
           end: dt.date | None = None, kinds: Iterable[str] = CONTRIBUTION_KINDS) -> list[dict]:
    """Sums of the maintained totals, grouped by the given columns, for months from `start` to `end`."""
    bounds = {"company": company_id, "start": start and month_of(start), "end": end}
    rows = _TOTALS(tuple(by), tuple(kinds), **{name: value for name, value in bounds.items() if value is not None})
    # PostgreSQL answers SUM() of integers as numeric (Decimal): figures leave here as int.
    return [row | {name: int(row[name]) for name in (*AMOUNTS, "corrections")} for row in rows]


def company_totals(company_ids: Iterable[int], kinds: Iterable[str] = CONTRIBUTION_KINDS) -> list[dict]:
    """These companies' totals per kind, for all time."""
    query = (CompanyTotal.select(CompanyTotal.company_id, CompanyTotal.kind,
                                 *[getattr(CompanyTotal, name) for name in AMOUNTS])
             .where(CompanyTotal.company_id.in_(sorted(set(company_ids))) & CompanyTotal.kind.in_(tuple(kinds))))
    return list(query.order_by(CompanyTotal.company_id, CompanyTotal.kind).dicts())


def month_totals(start: dt.date | None = None, kinds: Iterable[str] = CONTRIBUTION_KINDS) -> list[dict]:
    """The programme's totals per booked month (from the month of `start` on) and kind."""
    query = (MonthTotal.select(MonthTotal.month, MonthTotal.kind, *[getattr(MonthTotal, name) for name in AMOUNTS])
             .where(MonthTotal.kind.in_(tuple(kinds)) & dated(MonthTotal.month, start and month_of(start), None)))
    return list(query.order_by(MonthTotal.month, MonthTotal.kind).dicts())


def postings(*, company_id: int | None = None, start: dt.date | None = None, end: dt.date | None = None,
             kinds: Iterable[str] = CONTRIBUTION_KINDS) -> peewee.ModelSelect:
    """The postings booked from `start` to `end`, in booking order (a query: iterate to stream)."""
    query = Posting.select().where(Posting.kind.in_(tuple(kinds)))
    if company_id is not None:
        query = query.where(Posting.company_id == company_id)
    query = query.where(dated(Posting.booked_on, start, end))
    return query.order_by(Posting.booked_on, Posting.kind, Posting.key, Posting.id)


def posting_counts(company_ids: Iterable[int] | None = None) -> dict[int, int]:
    """How many postings each company has (None: every company with one); a company without is left out."""
    query = CompanyTotal.select(CompanyTotal.company_id, peewee.fn.SUM(CompanyTotal.postings))
    if company_ids is not None:
        query = query.where(CompanyTotal.company_id.in_(sorted(set(company_ids))))
    return {company: int(count) for company, count in query.group_by(CompanyTotal.company_id).tuples()}


def corrections(start: dt.date, end: dt.date) -> peewee.ModelSelect:
    """Postings booked from `start` to `end` that belong to an earlier, closed month."""
    return (Posting.select().where(Posting.booked_on.between(start, end), Posting.booked_on != Posting.dated_on)
            .order_by(Posting.booked_on, Posting.dated_on, Posting.id))


def last_posting_id(company_id: int) -> int:
    """The newest posting of a company (0 for none): a statement remembers it to see later changes."""
    return Posting.select(peewee.fn.COALESCE(peewee.fn.MAX(Posting.id), 0)).where(
        Posting.company_id == company_id).scalar()


# --- closing ------------------------------------------------------------------------------------

def items_keeping_open(month: dt.date) -> list[OpenItem]:
    """What every capability reports as unresolved in this month."""
    start = month_of(month)
    found: list[OpenItem] = []
    for _receiver, items in open_items.send(None, start=start, end=month_end(start)):
        found.extend(items or ())
    return found


def close_months(first: dt.date, last: dt.date, *, actor_id: int | None,
                 explanations: dict[str, str] | None = None, today: dt.date | None = None) -> list[ClosedMonth]:
    """Close the months from `first` to `last` that are still open: each must have ended, and each
    open item in them must be resolved or carry the leader's explanation. All or nothing."""
    wanted = months(first, last)
    today = today or clock.today()
    if not wanted or wanted[-1] >= month_of(today):
        raise LedgerError(_("A month can be closed only after it has ended."))
    explanations = {code: text.strip() for code, text in (explanations or {}).items() if text and text.strip()}
    with atomic_write():
        _lock(shared=False)
        already = {row.month for row in closed_months(wanted[0], wanted[-1])}
        to_close = [month for month in wanted if month not in already]
        if not to_close:
            raise LedgerError(_("This period is already closed."))
        items = [item for month in to_close for item in items_keeping_open(month)]
        missing = [item for item in items if item.code not in explanations]
        if missing:
            raise LedgerError(_("Explain each open item before closing: %(items)s",
                                items="; ".join(item.label for item in missing)))
        kept = json.dumps({item.code: explanations[item.code] for item in items}, sort_keys=True)
        closed = [ClosedMonth.create(month=month, closed_by_id=actor_id, explanations=kept) for month in to_close]
        audit.record("ledger.months_closed", actor=actor_id, object_type="ledger_month",
                     object_id=f"{to_close[0].isoformat()}..{to_close[-1].isoformat()}",
                     months=[m.isoformat() for m in to_close], explained=sorted(item.code for item in items))
        audit.anchor(f"close {to_close[0]:%Y-%m}..{to_close[-1]:%Y-%m}")
    return closed


# --- checking and rebuilding --------------------------------------------------------------------

SOURCE_COLUMNS = ("company_id", "dated_on", "kind", "key", "source", "basis", "classification", "method",
                  *AMOUNTS, "person", "subject_id", "reference")


def _month_sql(column: str) -> str:
    return (f"strftime('%Y-%m-01', {column})" if is_sqlite() else f"CAST(date_trunc('month', {column}) AS date)")


def _month_key(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)[:10]


def _source_queries() -> list[peewee.Select]:
    return [query for _receiver, queries in sources.send(None) for query in (queries or ())]


def _grouped(sql: str, params: Iterable, month_column: str) -> dict[tuple, tuple]:
    group = ", ".join(("company_id", _month_sql(month_column), "kind", "basis", "classification", "method"))
    sums = ", ".join(f"SUM({name})" for name in AMOUNTS)
    # Column names are constants and the inner query is peewee's with its values bound.
    cursor = database.execute_sql(f"SELECT {group}, {sums} FROM ({sql}) AS s GROUP BY {group}",  # noqa: S608
                                  tuple(params))
    found = {}
    for row in cursor.fetchall():
        key = (row[0], _month_key(row[1]), *row[2:6])
        found[key] = tuple(int(v or 0) for v in row[6:])
    return found


def _where(key: tuple) -> str:
    """A total's key in words: (company, month, kind, basis, classification, method), (company, kind)
    or (month, kind)."""
    if len(key) == 2:
        return f"{key[0][:7]}, {key[1]}" if isinstance(key[0], str) else f"company {key[0]}, {key[1]}"
    company, month, kind, basis, classification, method = key
    return f"company {company}, {month[:7]}, {kind}/{basis or '-'}/{classification or '-'}/{method or '-'}"


def _compare(expected: dict, actual: dict, what: str) -> list[str]:
    problems = []
    for key in sorted(set(expected) | set(actual), key=str):
        want, have = expected.get(key, (0,) * len(AMOUNTS)), actual.get(key, (0,) * len(AMOUNTS))
        if want != have:
            differences = ", ".join(f"{name} {h} instead of {w}"
                                    for name, w, h in zip(AMOUNTS, want, have, strict=True) if w != h)
            problems.append(f"{what}: {_where(key)}: {differences}")
    return problems


def _rolled_up(by_month: dict[tuple, tuple], *positions: int) -> dict[tuple, tuple]:
    """Totals keyed (company, month, kind, basis, classification, method) summed per the key's `positions`."""
    found: dict[tuple, tuple] = {}
    for key, sums in by_month.items():
        short = tuple(key[i] for i in positions)
        found[short] = tuple(a + b for a, b in zip(found.get(short, (0,) * len(AMOUNTS)), sums, strict=True))
    return found


def _stored(model: type[BaseModel], key: Iterable[str]) -> dict[tuple, tuple]:
    return {tuple(_month_key(row[name]) if name == "month" else row[name] for name in key):
            tuple(int(row[name]) for name in AMOUNTS) for row in model.select().dicts().iterator()}


def check() -> list[str]:
    """Every difference between the totals and the postings, and between the postings (by business
    month) and the capabilities' own rows; an empty list when the books agree."""
    sql, params = Posting.select(*[getattr(Posting, c) for c in ("company_id", "booked_on", "kind", "basis",
                                                                 "classification", "method", *AMOUNTS)]).sql()
    by_booking = _grouped(sql, params, "booked_on")
    problems = _compare(by_booking, _stored(Total, TOTAL_KEY), "ledger_total")
    problems += _compare(_rolled_up(by_booking, 0, 2), _stored(CompanyTotal, ("company_id", "kind")),
                         "ledger_company_total")
    problems += _compare(_rolled_up(by_booking, 1, 2), _stored(MonthTotal, ("month", "kind")), "ledger_month_total")
    sql, params = Posting.select(*[getattr(Posting, c) for c in ("company_id", "dated_on", "kind", "basis",
                                                                 "classification", "method", *AMOUNTS)]).sql()
    by_date = _grouped(sql, params, "dated_on")
    expected: dict[tuple, tuple] = {}
    for query in _source_queries():
        sql, params = query.sql()
        for key, sums in _grouped(sql, params, "dated_on").items():
            before = expected.get(key, (0,) * len(AMOUNTS))
            expected[key] = tuple(a + b for a, b in zip(before, sums, strict=True))
    problems += _compare(expected, by_date, "ledger_posting")
    counted = dict(Posting.select(Posting.company_id, peewee.fn.COUNT(Posting.id)).group_by(Posting.company_id)
                   .tuples())
    marked = posting_counts()
    for company in sorted(set(counted) | set(marked)):
        if counted.get(company, 0) != marked.get(company, 0):
            problems.append(f"ledger_company_total: company {company}: {marked.get(company, 0)} postings counted "
                            f"instead of {counted.get(company, 0)}")
    return problems


def rebuild() -> int:
    """Post every contribution again from the capabilities' own rows, each booked on its own date
    (for data written past the writers: the demo's bulk inserts); returns the count. Refused once a
    month is closed: booking each change on its own date would change that month."""
    if ClosedMonth.select().exists():
        raise LedgerError(_("The books cannot be rebuilt once a month is closed."))
    columns = ", ".join(SOURCE_COLUMNS)
    amounts = ", ".join(f"SUM({name})" for name in AMOUNTS)
    with atomic_write():
        _lock(shared=False)
        for model in (Total, CompanyTotal, MonthTotal):
            model.delete().execute()
        Posting.delete().execute()
        now = utcnow()
        for query in _source_queries():
            sql, params = query.sql()
            database.execute_sql(f"INSERT INTO ledger_posting ({columns}, booked_on, created_at) "  # noqa: S608
                                 f"SELECT {columns}, dated_on, {_param()} FROM ({sql}) AS s", (now, *params))
        group = "company_id, kind, basis, classification, method"
        month = _month_sql("booked_on")
        database.execute_sql(f"INSERT INTO ledger_total ({group}, month, {', '.join(AMOUNTS)}, corrections) "  # noqa: S608
                             f"SELECT {group}, {month}, {amounts}, 0 FROM ledger_posting GROUP BY {group}, {month}")
        names = ", ".join(AMOUNTS)
        database.execute_sql(f"INSERT INTO ledger_company_total (company_id, kind, postings, {names}) "  # noqa: S608
                             f"SELECT company_id, kind, COUNT(*), {amounts} FROM ledger_posting GROUP BY company_id, kind")
        database.execute_sql(f"INSERT INTO ledger_month_total (month, kind, {names}) "  # noqa: S608
                             f"SELECT month, kind, {amounts} FROM ledger_total GROUP BY month, kind")
        return Posting.select().count()


def _param() -> str:
    return "?" if is_sqlite() else "%s"
