"""Accounting exports: one row per contribution, as CSV and as XLSX, with the screen's filters.

Text cells that a spreadsheet would read as a formula (starting with = + - @, a tab or a
carriage return) are prefixed with an apostrophe; amounts are written as numbers.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from flask import current_app

from portal.accounts.models import Company
from portal.core.contributions import KINDS, Contribution, contributions, describe
from portal.core.money import cents_to_decimal, format_plain
from portal.core.spreadsheet import csv_bytes
from portal.core.spreadsheet import safe_cell as neutralise
from portal.reconcile.models import BankLine, BankStatement

COLUMNS = ("contribution_id", "kind", "company", "kvk", "date", "gross", "fee", "net", "method", "reference",
           "statement_number", "classification", "gl_code", "description")


@dataclass
class ExportFilters:
    start: dt.date | None = None
    end: dt.date | None = None
    kind: str = ""
    company_id: int | None = None
    method: str = ""


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


def selected(filters: ExportFilters) -> list[Contribution]:
    items = contributions(filters.company_id, filters.start, filters.end)
    if filters.kind in KINDS:
        items = [c for c in items if c.kind == filters.kind]
    if filters.method:
        items = [c for c in items if c.method == filters.method]
    return items


def _statement_numbers(items: list[Contribution]) -> dict[str, str]:
    """The bank statement that paid each donation (by the donation key the line was matched to)."""
    keys = {c.key.split(":refund")[0].split(":dispute")[0] for c in items if c.kind == "money"}
    if not keys:
        return {}
    found: dict[str, str] = {}
    query = (BankLine.select(BankLine.target, BankStatement.number, BankStatement.id)
             .join(BankStatement).where(BankLine.target.in_(list(keys)) & (BankLine.status == "matched")))
    for row in query.objects():
        found.setdefault(row.target, row.number or f"#{row.id}")
    return found


@dataclass
class ExportRow:
    values: list

    def as_text(self) -> list[str]:
        texts = []
        for index, value in enumerate(self.values):
            name = COLUMNS[index]
            if name in ("gross", "fee", "net"):
                texts.append(format_plain(value))
            else:
                texts.append(neutralise(value))
        return texts


def rows(filters: ExportFilters) -> list[ExportRow]:
    items = selected(filters)
    companies = {c.id: c for c in Company.select(Company.id, Company.legal_name, Company.kvk)
                 .where(Company.id.in_(list({i.company_id for i in items})))} if items else {}
    codes = gl_codes()
    statements = _statement_numbers(items)
    result = []
    for c in items:
        company = companies.get(c.company_id)
        base_key = c.key.split(":refund")[0].split(":dispute")[0]
        gross = c.gross_cents if c.kind == "money" else c.value_cents
        result.append(ExportRow([
            c.key, c.kind, company.legal_name if company else "", company.kvk if company else "", c.on.isoformat(),
            gross, c.fee_cents, c.net_cents if c.kind == "money" else c.value_cents, c.method, c.reference,
            statements.get(base_key, ""), c.classification, gl_code_for(c, codes), describe(c),
        ]))
    return result


def to_csv(export_rows: list[ExportRow]) -> bytes:
    return csv_bytes([COLUMNS] + [row.as_text() for row in export_rows], delimiter=";")


def to_xlsx(export_rows: list[ExportRow]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("contributions")
    sheet.append(list(COLUMNS))
    for row in export_rows:
        cells = []
        for index, value in enumerate(row.values):
            name = COLUMNS[index]
            if name in ("gross", "fee", "net"):
                cells.append(cents_to_decimal(value))
            else:
                cells.append(neutralise(value))
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
