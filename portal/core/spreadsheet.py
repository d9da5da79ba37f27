"""Text cells for CSV and XLSX exports that a spreadsheet will not run as a formula.

A cell that starts with = + - @, a tab or a carriage return is read as a formula by Excel and
LibreOffice (CSV injection); such a cell gets a leading apostrophe, which spreadsheets show as
plain text. Amounts that must stay numbers are written without it.

Control characters that XML 1.0 cannot hold (all below U+0020 but tab, line feed and carriage
return) would make openpyxl refuse the whole XLSX file; forms refuse them, and a cell that still
carries one (older rows, imported bank lines) has each replaced by U+FFFD, the replacement
character, in CSV and XLSX alike.

Numbers and dates are written as the reader's spreadsheet reads them (`CsvStyle`, `xlsx_bytes`):
a Dutch CSV is `;`-separated with decimal commas, an English one `,`-separated with decimal
points; an XLSX file holds real dates and numbers (euros with a euro format), never text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 (and so openpyxl) refuses: the C0 controls but tab, line feed and carriage return.
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
REPLACEMENT = "\ufffd"


def safe_cell(value: object) -> str:
    text = ILLEGAL_XML.sub(REPLACEMENT, "" if value is None else str(value))
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(rows: Iterable[Sequence[object]], *, delimiter: str = ",") -> bytes:
    """Rows as a CSV file for spreadsheets: UTF-8 with a byte-order mark (so the euro sign and
    accents read right), CRLF line ends. Text cells are the caller's to pass through safe_cell."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


# --- numbers and dates as a Dutch or an English spreadsheet reads them (issue 21) -----------------

@dataclass(frozen=True)
class CsvStyle:
    """How a CSV file is written for the reader's spreadsheet: Dutch Excel splits on `;` and reads
    a decimal comma; English Excel splits on `,` and reads a decimal point."""

    language: str
    delimiter: str
    decimal: str


CSV_STYLES = {"nl": CsvStyle("nl", ";", ","), "en": CsvStyle("en", ",", ".")}
# A euro amount in XLSX: a number, shown with the euro sign and two decimals in any locale.
EURO_FORMAT = '"€" #,##0.00;"€" -#,##0.00'
DATE_FORMATS = {"nl": "dd-mm-yyyy", "en": "yyyy-mm-dd"}
HOURS_FORMAT = "0.00"


def csv_style(language: str | None) -> CsvStyle:
    """The CSV style of a language (Dutch for any language without its own)."""
    return CSV_STYLES.get(language or "", CSV_STYLES["nl"])


@dataclass(frozen=True)
class Euros:
    """An amount in cents that a spreadsheet must read as a number of euros."""

    cents: int


@dataclass(frozen=True)
class Hours:
    """A duration in minutes that a spreadsheet must read as a number of hours (7:30 is 7.5)."""

    minutes: int


def _decimal_text(value: Decimal, style: CsvStyle) -> str:
    return str(value).replace(".", style.decimal)


def csv_cell(value: object, style: CsvStyle) -> str:
    """One value as CSV text: euros and hours with the style's decimal mark and no thousands
    separator (so that Excel reads a number), dates as ISO dates, text through safe_cell."""
    if isinstance(value, Euros):
        return _decimal_text((Decimal(value.cents) / 100).quantize(Decimal("0.01")), style)
    if isinstance(value, Hours):
        return _decimal_text((Decimal(value.minutes) / 60).quantize(Decimal("0.01")), style)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return safe_cell(value)


def styled_csv_bytes(header: Sequence[object], rows: Iterable[Sequence[object]], style: CsvStyle) -> bytes:
    """A header and rows of values (Euros, Hours, dates, text) as a CSV file in the reader's style."""
    return csv_bytes(itertools.chain([[safe_cell(h) for h in header]],
                                     ([csv_cell(v, style) for v in row] for row in rows)),
                     delimiter=style.delimiter)


@dataclass
class Sheet:
    title: str
    header: Sequence[object]
    rows: Iterable[Sequence[object]]
    widths: Sequence[int] = field(default_factory=tuple)


def xlsx_bytes(sheets: Sequence[Sheet], language: str | None = None) -> bytes:
    """Sheets as an XLSX workbook: dates are date cells, euros and hours are numbers (euros with
    the euro format), text goes through safe_cell. The header row is bold and stays in view."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    date_format = DATE_FORMATS.get(language or "", DATE_FORMATS["nl"])
    bold = Font(bold=True)
    for spec in sheets:
        sheet = book.create_sheet(re.sub(r"[\\/?*:\[\]]", " ", spec.title)[:31])  # what Excel refuses in a title
        sheet.freeze_panes = "A2"
        for index, width in enumerate(spec.widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        header = []
        for title in spec.header:
            cell = WriteOnlyCell(sheet, value=safe_cell(title))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in spec.rows:
            cells = []
            for value in row:
                if isinstance(value, Euros):
                    cell = WriteOnlyCell(sheet, value=Decimal(value.cents) / 100)
                    cell.number_format = EURO_FORMAT
                elif isinstance(value, Hours):
                    cell = WriteOnlyCell(sheet, value=Decimal(value.minutes) / 60)
                    cell.number_format = HOURS_FORMAT
                elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = date_format
                elif isinstance(value, int) and not isinstance(value, bool):
                    cell = WriteOnlyCell(sheet, value=value)
                else:
                    cell = WriteOnlyCell(sheet, value=safe_cell(value))
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
