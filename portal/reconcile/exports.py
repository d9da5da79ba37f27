"""Accounting exports: one row per contribution, as CSV and as XLSX, with the screen's filters.

The files are written for the reader's spreadsheet (issue 21): headers and kinds in the reader's
words; a Dutch CSV is `;`-separated with decimal commas, an English one `,`-separated with
decimal points (portal.core.spreadsheet.CsvStyle); an XLSX file holds real dates and amounts as
numbers with a euro format. Text cells that a spreadsheet would read as a formula are
prefixed with an apostrophe (spreadsheet.safe_cell).

Each row has a unique line id: an hours entry of a mixed placement gives a sponsored and a
volunteered contribution under one key ("hours:123"), so an hours line is named by its key and
its part ("hours:123:sponsored", "hours:123:volunteered").

Rows are listed by booking date, as the ledger books them: a contribution dated in a month that was
already closed when it was recorded (a refund of 27 November matched on 3 December, November
closed) is booked on the first day of the first open month, and the export lists it there, with
its own date in the column "Original date". The export of a closed month therefore stays as it was
closed, and ties out to the ledger's totals of that month.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import peewee
from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company
from portal.core import ledger
from portal.core.contributions import KINDS, Contribution, Key, contributions, describe
from portal.core.db import dated
from portal.core.spreadsheet import CsvStyle, Euros, Sheet, csv_cell, styled_csv_bytes, xlsx_bytes
from portal.reconcile.models import BankLine, BankStatement
from portal.statements.models import Statement

COLUMNS = ("line_id", "kind", "company", "kvk", "date", "gross", "fee", "net", "method", "reference",
           "bank_statement", "contribution_statement", "classification", "gl_code", "description",
           "original_date")
COLUMN_LABELS = {
    "line_id": _l("Line"), "kind": _l("Kind"), "company": _l("Company"), "kvk": _l("KvK number"),
    "date": _l("Date"), "original_date": _l("Original date"), "gross": _l("Gross"), "fee": _l("Fee"), "net": _l("Net"), "method": _l("Method"),
    "reference": _l("Reference"), "bank_statement": _l("Bank statement"),
    "contribution_statement": _l("Contribution statement"), "classification": _l("Gift or sponsoring"), "gl_code": _l("GL code"),
    "description": _l("Description"),
}
KIND_LABELS = {kind: ledger.KIND_LABELS[kind] for kind in ledger.CONTRIBUTION_KINDS}
METHODS = ("stripe", "bank", "in_kind")
METHOD_LABELS = {"stripe": _l("Online payment"), "bank": _l("Bank transfer"), "in_kind": _l("In kind")}
CLASSIFICATION_LABELS = {"gift": _l("Gift"), "sponsoring": _l("Sponsoring")}
AMOUNT_COLUMNS = ("gross", "fee", "net")
PAGE_SIZE = 50  # rows per page of the screen's preview


@dataclass
class ExportFilters:
    start: dt.date | None = None
    end: dt.date | None = None
    kind: str = ""
    company_id: int | None = None
    method: str = ""


def headers() -> list[str]:
    """The column headers in the reader's language."""
    return [str(COLUMN_LABELS[name]) for name in COLUMNS]


def gl_codes() -> dict[str, str]:
    """General-ledger code per kind, from RECONCILE_GL_CODES ("money=8000,material=8100,...")."""
    raw = str(current_app.config.get("RECONCILE_GL_CODES") or "")
    codes: dict[str, str] = {}
    for part in raw.split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            codes[key.strip()] = value.strip()
    return codes


def gl_code_for(c: Contribution, codes: dict[str, str]) -> str:
    # A kind may be refined by method or classification: "money.stripe=8010", "money.gift=8020".
    for key in (f"{c.kind}.{c.method}", f"{c.kind}.{c.classification}", c.kind):
        if key in codes:
            return codes[key]
    return ""


def line_id(c: Contribution) -> str:
    """A contribution's id in the export, unique: an hours key names the sponsored and the
    volunteered part of one entry, so their part is added."""
    if c.kind in ("hours_sponsored", "hours_volunteered"):
        return f"{c.key}:{c.kind.removeprefix('hours_')}"
    return c.key


def _earliest(start: dt.date, closed: set[dt.date]) -> dt.date:
    """The first business date whose contributions may be booked from `start` on: the start of the
    closed months right before it (their late items are booked in the first open month)."""
    month = ledger.month_of(start)
    while (previous := ledger.month_of(month - dt.timedelta(days=1))) in closed:
        month = previous
    return min(month, start)


def _late_bookings(start: dt.date | None, end: dt.date | None) -> dict[tuple[str, str, dt.date], dt.date]:
    """(kind, key, business date) -> booking date, for the contributions the ledger booked later than
    their own date (their month was closed when they were recorded)."""
    query = (ledger.Posting.select(ledger.Posting.kind, ledger.Posting.key, ledger.Posting.dated_on,
                                   peewee.fn.MIN(ledger.Posting.booked_on))
             .where(dated(ledger.Posting.dated_on, start, end))
             .group_by(ledger.Posting.kind, ledger.Posting.key, ledger.Posting.dated_on))
    found = {}
    for kind, key, dated_on, booked in query.tuples():
        dated_on, booked = _as_date(dated_on), _as_date(booked)
        if booked != dated_on:
            found[(kind, key, dated_on)] = booked
    return found


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def booked(filters: ExportFilters) -> list[tuple[dt.date, Contribution]]:
    """(booking date, contribution) of the contributions booked from `start` to `end`, by booking date."""
    closed = {row.month for row in ledger.closed_months(end=filters.end)}
    lower = _earliest(filters.start, closed) if filters.start is not None else None
    items = contributions(filters.company_id, lower, filters.end)
    if filters.kind in KINDS:
        items = [c for c in items if c.kind == filters.kind]
    if filters.method:
        items = [c for c in items if c.method == filters.method]
    late = _late_bookings(lower, filters.end) if closed else {}
    found = []
    for c in items:
        on = late.get((c.kind, c.key, c.on), c.on)
        if (filters.start is None or on >= filters.start) and (filters.end is None or on <= filters.end):
            found.append((on, c))
    found.sort(key=lambda pair: pair[0])   # stable: contributions of one day keep their order
    return found


def selected(filters: ExportFilters) -> list[Contribution]:
    return [c for _on, c in booked(filters)]


def _base_key(key: str) -> str:
    parsed = Key.parse(key)
    return str(parsed.before("refund", "dispute")) if parsed is not None else key


def _bank_statements(items: list[Contribution]) -> dict[str, str]:
    """The bank statement that paid each donation (by the donation key the line was matched to)."""
    keys = {_base_key(c.key) for c in items if c.kind == "money"}
    if not keys:
        return {}
    found: dict[str, str] = {}
    query = (BankLine.select(BankLine.target, BankStatement.number, BankStatement.id)
             .join(BankStatement).where(BankLine.target.in_(sorted(keys)) & (BankLine.status == "matched")))
    for row in query.objects():
        found.setdefault(row.target, row.number or f"#{row.id}")
    return found


def _contribution_statements(items: list[Contribution]) -> dict[tuple[str, str], str]:
    """The issued contribution statements (OA-numbers) each line is on, by (kind, key)."""
    if not items:
        return {}
    first, last = min(c.on for c in items), max(c.on for c in items)
    query = (Statement.select(Statement.number, Statement.snapshot)
             .where((Statement.status == "issued") & (Statement.period_start <= last) & (Statement.period_end >= first))
             .order_by(Statement.year, Statement.sequence))
    companies = sorted({c.company_id for c in items})
    if len(companies) <= 500:  # one bound parameter each: a long list would pass the database's limit
        query = query.where(Statement.company.in_(companies))
    found: dict[tuple[str, str], list[str]] = {}
    for statement in query:
        for line in json.loads(statement.snapshot).get("lines", []):
            numbers = found.setdefault((line.get("kind", ""), line.get("key", "")), [])
            if statement.number not in numbers:
                numbers.append(statement.number)
    return {key: ", ".join(numbers) for key, numbers in found.items()}


@dataclass
class ExportRow:
    values: list  # per COLUMNS: text, a date, or Euros

    def as_text(self, style: CsvStyle) -> list[str]:
        """The row as the screen shows it: the numbers as the CSV of the same language holds them."""
        return [csv_cell(value, style) for value in self.values]


def rows(filters: ExportFilters) -> list[ExportRow]:
    listed = booked(filters)
    items = [c for _on, c in listed]
    companies = {c.id: c for c in Company.select(Company.id, Company.legal_name, Company.kvk)
                 .where(Company.id.in_(list({i.company_id for i in items})))} if items else {}
    codes = gl_codes()
    bank_statements = _bank_statements(items)
    contribution_statements = _contribution_statements(items)
    result = []
    for on, c in listed:
        company = companies.get(c.company_id)
        gross = c.gross_cents if c.kind == "money" else c.value_cents
        net = c.net_cents if c.kind == "money" else c.value_cents
        result.append(ExportRow([
            line_id(c), str(KIND_LABELS.get(c.kind, c.kind)), company.legal_name if company else "",
            company.kvk if company else "", on, Euros(gross), Euros(c.fee_cents), Euros(net),
            str(METHOD_LABELS.get(c.method, c.method)), c.reference,
            bank_statements.get(_base_key(c.key), "") if c.kind == "money" else "",
            contribution_statements.get((c.kind, c.key), ""),
            str(CLASSIFICATION_LABELS.get(c.classification, c.classification)), gl_code_for(c, codes), describe(c),
            c.on if on != c.on else None,
        ]))
    return result


def to_csv(export_rows: list[ExportRow], style: CsvStyle) -> bytes:
    return styled_csv_bytes(headers(), (row.values for row in export_rows), style)


def to_xlsx(export_rows: list[ExportRow], language: str) -> bytes:
    return xlsx_bytes([Sheet(str(_l("Contributions")), headers(), (row.values for row in export_rows),
                             widths=(26, 18, 30, 12, 12, 14, 12, 14, 18, 22, 18, 22, 12, 10, 48, 12))], language)
