"""Text cells for CSV and XLSX exports that a spreadsheet will not run as a formula.

A cell that starts with = + - @, a tab or a carriage return is read as a formula by Excel and
LibreOffice (CSV injection); such a cell gets a leading apostrophe, which spreadsheets show as
plain text. Amounts that must stay numbers are written without it.

Control characters that XML 1.0 cannot hold (all below U+0020 but tab, line feed and carriage
return) would make openpyxl refuse the whole XLSX file; forms refuse them, and a cell that still
carries one (older rows, imported bank lines) has each replaced by U+FFFD, the replacement
character, in CSV and XLSX alike.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

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
