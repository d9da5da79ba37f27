"""The bookkeeper's journal (journal.py) as files: its debit and credit lines as CSV for an accounting
package, and as XLSX with the hours memo on a second sheet. A journal whose days do not balance is
refused (Journal.check).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.core.spreadsheet import CsvStyle, Euros, Hours, Sheet, styled_csv_bytes, xlsx_bytes
from portal.reconcile.journal import Journal, JournalLine, MemoLine


def columns() -> list[str]:
    return [str(_l("Date")), str(_l("Entry")), str(_l("Line")), str(_l("GL code")), str(_l("Account name")),
            str(_l("Debit")), str(_l("Credit")), str(_l("Description")), str(_l("Company")), str(_l("Reference")),
            str(_l("Original date"))]


def _values(line: JournalLine) -> list:
    return [line.on, line.entry, line.line_id, line.account, line.account_name,
            Euros(line.debit_cents) if line.debit_cents else None,
            Euros(line.credit_cents) if line.credit_cents else None,
            line.description, line.company, line.reference, line.original_on]


def memo_columns() -> list[str]:
    return [str(_l("Date")), str(_l("Kind")), str(_l("Company")), str(_l("Hours")),
            str(_l("Value at the employer's cost"))]


def _memo_values(line: MemoLine) -> list:
    return [line.on, line.kind_name, line.company, Hours(line.minutes),
            Euros(line.value_cents) if line.kind == "hours_sponsored" else None]


def to_csv(journal: Journal, style: CsvStyle) -> bytes:
    """The journal's debit and credit lines only (an accounting package imports them as they are);
    the hours memo is in the XLSX file and on the page."""
    journal.check()
    return styled_csv_bytes(columns(), (_values(line) for line in journal.lines), style)


def to_xlsx(journal: Journal, language: str) -> bytes:
    journal.check()
    return xlsx_bytes([
        Sheet(str(_l("Journal")), columns(), (_values(line) for line in journal.lines),
              widths=(12, 24, 26, 10, 28, 14, 14, 48, 30, 22, 12)),
        Sheet(str(_l("Hours, not money")), memo_columns(), (_memo_values(line) for line in journal.memo),
              widths=(12, 22, 30, 10, 16)),
    ], language)
