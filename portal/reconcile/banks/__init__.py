"""Bank statement parsers: CAMT.053 (XML), MT940 and plain CSV, as Dutch banks export them.

Each parser turns bytes into a `ParsedStatement` or raises `StatementError` with a message
for the project leader; nothing is written to the database here. XML goes through
defusedxml with DTDs forbidden, so external entities and entity expansion ("billion
laughs") are refused before anything is expanded.

This package's entry: open_statement() (a file checked and its format known), StatementFile, and
the shapes and helpers callers use. The formats are format_camt053, format_mt940 and format_csv;
what they share is in common.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from portal.reconcile.banks import format_camt053, format_csv, format_mt940
from portal.reconcile.banks.common import (
    DEFAULT_MAX_BYTES,
    ENCODINGS,
    FORMATS,
    ParsedLine,
    ParsedStatement,
    StatementError,
    StatementHead,
    clean_reference,
    decode,
    find_rf,
    fingerprint_lines,
)

# What callers use; the formats' own parsers are in their modules.
__all__ = ["ENCODINGS", "ParsedLine", "ParsedStatement", "StatementError", "StatementFile", "StatementHead",
           "clean_reference", "detect_format", "find_rf", "open_statement", "parse_statement"]


def detect_format(data: bytes) -> str:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "camt053"
    if re.search(rb"^:20:", data[:4096], re.MULTILINE) or head.startswith((b"{1:", b":940:", b"ABNANL")):
        return "mt940"
    return "csv"


_CONTROL_OR_SPACE = bytes(range(0x21)) + b"\x7f"


class StatementFile:
    """A bank file opened for import: checked for size and emptiness, its format known. `heads()`
    reads only the statements' identities (cheap); `parse()` reads every transaction."""

    def __init__(self, data: bytes, fmt: str, encoding: str) -> None:
        self.data, self.format, self.encoding = data, fmt, encoding
        self._camt_root = None
        self._text: str | None = None

    def text(self) -> str:
        if self._text is None:
            self._text = decode(self.data, self.encoding)
        return self._text

    def heads(self) -> list[StatementHead] | None:
        """The identity of every statement in the file, or None when the format does not give
        them before the transactions (CSV) or a statement lacks a balance."""
        if self.format == "camt053":
            self._camt_root = self._camt_root if self._camt_root is not None else format_camt053.camt_root(self.data)
            heads = [format_camt053.camt_head(stmt) for stmt in format_camt053.camt_statements(self._camt_root)]
        elif self.format == "mt940":
            heads = format_mt940.mt940_heads(self.text())
        else:
            return None
        return heads if heads and all(head.complete for head in heads) else None

    def parse(self) -> ParsedStatement:
        if self.format == "camt053":
            root = self._camt_root if self._camt_root is not None else format_camt053.camt_root(self.data)
            self._camt_root = None  # the tree is large: keep it no longer than needed
            statement = format_camt053.camt_statement(root)
        elif self.format == "mt940":
            statement = format_mt940.parse_mt940(self.text())
        else:
            statement = format_csv.parse_csv(self.text())
        if not statement.lines:
            raise StatementError(_l("The statement contains no transactions."))
        foreign = {line.currency for line in statement.lines} - {"EUR"}
        if foreign:
            raise StatementError(_l("Only euro statements are accepted; this one has %(currency)s.",
                                    currency=", ".join(sorted(foreign))))
        fingerprint_lines(statement.account_iban, statement.lines)
        return statement


def open_statement(data: bytes, *, fmt: str = "auto", encoding: str = "utf-8",
                   max_bytes: int | None = DEFAULT_MAX_BYTES) -> StatementFile:
    """Check a bank statement file's size and format without reading its transactions, or raise
    StatementError."""
    if max_bytes is not None and len(data) > max_bytes:
        raise StatementError(_l("The file is %(size)d MB; statements up to %(limit)d MB are accepted. Export a shorter period.",
                                size=len(data) // (1024 * 1024), limit=max_bytes // (1024 * 1024)))
    # A trailing Ctrl-Z (end of file on old systems) or another control byte is no content.
    kept = data.rstrip(_CONTROL_OR_SPACE)
    if data[len(kept):].strip(b" \t\r\n"):
        data = kept + b"\n"
    if not data.strip():
        raise StatementError(_l("The file is empty."))
    fmt = detect_format(data) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise StatementError(_l("Unknown statement format."))
    if fmt != "camt053" and encoding not in ENCODINGS:
        raise StatementError(_l("Unknown character encoding."))
    return StatementFile(data, fmt, encoding)


def parse_statement(data: bytes, *, fmt: str = "auto", encoding: str = "utf-8",
                    max_bytes: int | None = DEFAULT_MAX_BYTES) -> ParsedStatement:
    """Parse a bank statement file, or raise StatementError; nothing is stored."""
    return open_statement(data, fmt=fmt, encoding=encoding, max_bytes=max_bytes).parse()
