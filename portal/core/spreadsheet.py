"""Text cells for CSV and XLSX exports that a spreadsheet will not run as a formula.

A cell that starts with = + - @, a tab or a carriage return is read as a formula by Excel and
LibreOffice (CSV injection); such a cell gets a leading apostrophe, which spreadsheets show as
plain text. Amounts that must stay numbers are written without it.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
