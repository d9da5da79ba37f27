"""Text cells for CSV and XLSX exports that a spreadsheet will not run as a formula.

A cell that starts with = + - @, a tab or a carriage return is read as a formula by Excel and
LibreOffice (CSV injection); such a cell gets a leading apostrophe, which spreadsheets show as
plain text. Amounts that must stay numbers are written without it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(rows: Iterable[Sequence[object]], *, delimiter: str = ",") -> bytes:
    """Rows as a CSV file for spreadsheets: UTF-8 with a byte-order mark (so the euro sign and
    accents read right), CRLF line ends. Text cells are the caller's to pass through safe_cell."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")
