"""Bank statement parsers: CAMT.053 (XML), MT940 and plain CSV, as Dutch banks export them.

Each parser turns bytes into a `ParsedStatement` or raises `StatementError` with a message
for the project leader; nothing is written to the database here. XML goes through
defusedxml with DTDs forbidden, so external entities and entity expansion ("billion
laughs") are refused before anything is expanded.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import ParseError  # noqa: S405 (only the exception class)

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from flask_babel import lazy_gettext as _l
from stdnum import iban as iban_number
from stdnum import iso11649

FORMATS = ("camt053", "mt940", "csv")
ENCODINGS = ("utf-8", "cp1252")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class StatementError(ValueError):
    """A file that cannot be imported; str() is a message for the project leader."""

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


@dataclass
class ParsedLine:
    booked_on: dt.date
    amount_cents: int                 # signed: credits positive, debits negative
    currency: str = "EUR"
    value_on: dt.date | None = None
    counterparty_iban: str = ""
    counterparty_name: str = ""
    description: str = ""
    reference: str = ""               # structured creditor reference (RF...), if any
    end_to_end_id: str = ""
    bank_ref: str = ""                # the bank's own id for the entry, if any
    fingerprint: str = ""
    account_iban: str = ""            # the account it was booked on (its Stmt / :25: / CSV row)


@dataclass
class ParsedPart:
    """One account's statement inside a file: a CAMT `Stmt`, the pages of one MT940
    statement, or one account's rows of a CSV. Its lines are also in ParsedStatement.lines."""

    account_iban: str
    number: str = ""
    opening_cents: int | None = None
    closing_cents: int | None = None
    opening_on: dt.date | None = None
    closing_on: dt.date | None = None
    lines: list[ParsedLine] = field(default_factory=list)


@dataclass
class ParsedStatement:
    format: str
    account_iban: str                 # the file's account; '' when it holds several (see parts)
    number: str
    lines: list[ParsedLine] = field(default_factory=list)
    opening_cents: int | None = None
    closing_cents: int | None = None
    parts: list[ParsedPart] = field(default_factory=list)

    @property
    def accounts(self) -> list[str]:
        return list(dict.fromkeys(part.account_iban for part in self.parts if part.account_iban))


def _statement(fmt: str, parts: list[ParsedPart]) -> ParsedStatement:
    """A file's statement from its parts; balances are the file's only for a single account."""
    for part in parts:
        for line in part.lines:
            line.account_iban = line.account_iban or part.account_iban
    accounts = list(dict.fromkeys(part.account_iban for part in parts))
    single = len(accounts) <= 1
    numbers = [part.number for part in parts if part.number]
    return ParsedStatement(
        fmt, accounts[0] if len(accounts) == 1 else "", ", ".join(numbers),
        [line for part in parts for line in part.lines],
        parts[0].opening_cents if single and parts else None,
        parts[-1].closing_cents if single and parts else None, parts)


def _parts_by_account(lines: list[ParsedLine], number: str = "") -> list[ParsedPart]:
    parts: dict[str, ParsedPart] = {}
    for line in lines:
        parts.setdefault(line.account_iban, ParsedPart(line.account_iban, number)).lines.append(line)
    return list(parts.values())


# --- shared helpers -----------------------------------------------------------------------

# An RF reference written compact ("RF18539007547034") or in groups of four as printed
# ("RF18 5390 0754 7034"); it ends where the word ends.
_RF_COMPACT = re.compile(r"(?<![A-Z0-9])RF\d{2}[A-Z0-9]+", re.IGNORECASE)
_RF_PRINTED = re.compile(r"(?<![A-Z0-9])RF\d{2}(?: [A-Z0-9]{4})*(?: [A-Z0-9]{1,4})(?![A-Z0-9])", re.IGNORECASE)
# Spaced some other way ("RF42 2026000001", "RF 42 2026 000001"): only words with a digit,
# so the words that follow a reference are never glued onto it.
_RF_LOOSE = re.compile(r"(?<![A-Z0-9])RF ?\d{2}(?: [A-Z0-9]*\d[A-Z0-9]*)+(?![A-Z0-9])", re.IGNORECASE)
_CLASS_CHANGE = re.compile(r"(?<=\d)(?=[A-Z])|(?<=[A-Z])(?=\d)", re.IGNORECASE)


def _rf_candidates(text: str):
    for match in _RF_PRINTED.finditer(text):
        groups = match.group(0).upper().split(" ")
        # Whole groups only: drop trailing groups that are the next word, never single characters.
        for end in range(len(groups), 1, -1):
            yield "".join(groups[:end])
    for match in _RF_COMPACT.finditer(text):
        token = match.group(0).upper()
        yield token
        # A reference glued to the next word ("RF772026000050MET VRIENDELIJKE GROET", as a
        # wrapped MT940 line gives it) ends where digits turn into letters or back.
        cuts = [m.start() for m in _CLASS_CHANGE.finditer(token) if m.start() > 4]
        for cut in reversed(cuts):
            yield token[:cut]
    for match in _RF_LOOSE.finditer(text):
        # The fewest whole words that make a valid reference.
        words = match.group(0).upper().split()
        for end in range(2, len(words) + 1):
            yield "".join(words[:end])


def find_rf(text: str) -> str:
    """The first ISO 11649 reference written anywhere in `text`, compacted, or ''.

    Only a whole reference counts (at most 25 characters, check digits right, ending where
    the word or its group of four ends), never a longer string that happens to pass.
    """
    for candidate in _rf_candidates(text or ""):
        if 5 <= len(candidate) <= 25 and iso11649.is_valid(candidate):
            return candidate
    return ""


def clean_reference(text: str) -> str:
    """A structured reference as the bank gave it, compacted when it is an RF reference."""
    text = (text or "").strip()
    compact = text.upper().replace(" ", "")
    if compact.startswith("RF") and iso11649.is_valid(compact):
        return compact
    return text[:140]


def clean_iban(text: str) -> str:
    """An account compacted ("NL92 ABNA 0417 1643 00" -> "NL92ABNA0417164300")."""
    compact = re.sub(r"\s+", "", text or "").upper()
    if compact.endswith("EUR") and iban_number.is_valid(compact[:-3]):
        compact = compact[:-3]  # ING writes the currency straight after the account in :25:
    return compact if iban_number.is_valid(compact) else compact[:34]


def leading_account(text: str) -> tuple[str, str]:
    """An IBAN (written whole or in groups with spaces) or a Dutch account number at the
    start of `text`, and what follows it: ("NL92ABNA0417164300", "Acme B.V.")."""
    words = (text or "").split()
    found, used = "", 0
    for count in range(1, min(len(words), 9) + 1):
        compact = "".join(words[:count]).upper()
        if len(compact) > 34:
            break
        if iban_number.is_valid(compact):
            found, used = compact, count
    if not found and words and re.fullmatch(r"\d{7,10}", words[0]):
        found, used = words[0], 1   # an old BBAN account number (before IBAN)
    return found, " ".join(words[used:]) if found else (text or "").strip()


def _cents(text: str, what: str) -> int:
    text = (text or "").strip().replace(" ", "")
    if "," in text and "." in text:
        # Dutch thousands ("1.234,56") or English ("1,234.56"): the last one is decimal.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    else:
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise StatementError(_l("%(what)s is not an amount: %(text)s", what=what, text=text[:40])) from exc
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise StatementError(_l("%(what)s is not an amount in whole cents: %(text)s", what=what, text=text[:40]))
    return int(value * 100)


def _date(text: str, what: str, formats=("%Y-%m-%d",)) -> dt.date:
    text = (text or "").strip()[:10] if "%Y-%m-%d" in formats else (text or "").strip()
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise StatementError(_l("%(what)s is not a date: %(text)s", what=what, text=text[:20]))


def fingerprint_lines(account: str, lines: list[ParsedLine]) -> None:
    """Give each line a stable fingerprint; identical lines in one file are numbered apart.

    The same transaction exported twice (again, or in an overlapping file) gets the same
    fingerprint, so the UNIQUE constraint refuses it; two genuinely identical transfers on
    one day differ by their occurrence number. A line carries the account it was booked on,
    so a file with several accounts fingerprints each as its own single-account export would.
    """
    seen: Counter[str] = Counter()
    for line in lines:
        base = "|".join((
            line.account_iban or account, line.booked_on.isoformat(), str(line.amount_cents), line.currency,
            line.counterparty_iban, line.bank_ref, line.end_to_end_id, line.reference,
            re.sub(r"\s+", " ", line.description).strip().lower(),
        ))
        seen[base] += 1
        line.fingerprint = hashlib.sha256(f"{base}|{seen[base]}".encode()).hexdigest()


def decode(data: bytes, encoding: str) -> str:
    if encoding not in ENCODINGS:
        raise StatementError(_l("Unknown character encoding."))
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8"  # a UTF-8 byte-order mark settles the encoding, whatever was chosen
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        raise StatementError(_l(
            "The file is not in the %(encoding)s character encoding (byte %(position)d). "
            "Choose the encoding your bank used, or export the file again.",
            encoding=encoding.upper(), position=exc.start)) from exc
    if "\x00" in text:
        raise StatementError(_l("The file contains binary data; it is not a bank statement."))
    return text


def detect_format(data: bytes) -> str:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "camt053"
    if re.search(rb"^:20:", data[:4096], re.MULTILINE) or head.startswith((b"{1:", b":940:", b"ABNANL")):
        return "mt940"
    return "csv"


_CONTROL_OR_SPACE = bytes(range(0x21)) + b"\x7f"


@dataclass(frozen=True)
class StatementHead:
    """One statement's identity as its file gives it before its transactions: the account and the
    opening and closing balance with their dates (what `StatementBalance` keeps of an import)."""

    account_iban: str
    number: str
    opening_cents: int | None
    closing_cents: int | None
    opening_on: dt.date | None
    closing_on: dt.date | None

    @property
    def complete(self) -> bool:
        return (bool(self.account_iban) and self.opening_cents is not None and self.closing_cents is not None
                and self.opening_on is not None and self.closing_on is not None)


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
            self._camt_root = self._camt_root if self._camt_root is not None else _camt_root(self.data)
            heads = [_camt_head(stmt) for stmt in _camt_statements(self._camt_root)]
        elif self.format == "mt940":
            heads = _mt940_heads(self.text())
        else:
            return None
        return heads if heads and all(head.complete for head in heads) else None

    def parse(self) -> ParsedStatement:
        if self.format == "camt053":
            root = self._camt_root if self._camt_root is not None else _camt_root(self.data)
            self._camt_root = None  # the tree is large: keep it no longer than needed
            statement = _camt_statement(root)
        elif self.format == "mt940":
            statement = parse_mt940(self.text())
        else:
            statement = parse_csv(self.text())
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


# --- CAMT.053 -----------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element, *path: str):
    """Follow `path` by local names (any camt.053 namespace version)."""
    for name in path:
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _children(element, name: str):
    return [c for c in element if _local(c.tag) == name] if element is not None else []


def _text(element, *path: str) -> str:
    found = _child(element, *path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _camt_account(element, *path: str) -> str:
    """An account given as <IBAN> or as <Othr><Id> (a non-IBAN or proprietary account)."""
    account = _child(element, *path, "Id")
    return clean_iban(_text(account, "IBAN") or _text(account, "Othr", "Id"))


def _balance_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None  # the date of a balance is shown, never checked: no reason to refuse a file


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"EUR {sign}{abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def _camt_root(data: bytes):
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise StatementError(_l("The XML file declares a document type or entities (which can hide an attack); "
                                "bank statements never do. Nothing was imported.")) from exc
    except ParseError as exc:
        raise StatementError(_l("The XML file is broken or not in the encoding it declares (%(detail)s). Nothing was imported.",
                                detail=str(exc)[:120])) from exc
    except (ValueError, LookupError) as exc:
        raise StatementError(_l("The XML file cannot be read (%(detail)s). Nothing was imported.", detail=str(exc)[:120])) from exc
    if _local(root.tag) != "Document" or "camt.053" not in root.tag:
        raise StatementError(_l("This XML file is not a CAMT.053 bank statement."))
    return root


def _camt_statements(root) -> list:
    statements = _children(_child(root, "BkToCstmrStmt"), "Stmt")
    if not statements:
        raise StatementError(_l("The CAMT.053 file contains no statement."))
    return statements


def _camt_part(stmt) -> ParsedPart:
    """A `Stmt`'s account, number and balances: everything before its entries."""
    part = ParsedPart(_camt_account(stmt, "Acct"),
                      _text(stmt, "LglSeqNb") or _text(stmt, "ElctrncSeqNb") or _text(stmt, "Id"))
    previous_closing = None
    for balance in _children(stmt, "Bal"):
        code = _text(balance, "Tp", "CdOrPrtry", "Cd")
        amount_el = _child(balance, "Amt")
        if amount_el is None:
            continue
        cents = _cents(amount_el.text or "", _l("A balance"))
        if _text(balance, "CdtDbtInd") == "DBIT":
            cents = -cents
        on = _balance_date(_text(balance, "Dt", "Dt") or _text(balance, "Dt", "DtTm"))
        if code == "OPBD" and part.opening_cents is None:
            part.opening_cents, part.opening_on = cents, on
        elif code == "PRCD" and previous_closing is None:
            previous_closing = (cents, on)
        elif code == "CLBD":
            part.closing_cents, part.closing_on = cents, on
    if part.opening_cents is None and previous_closing is not None:
        part.opening_cents, part.opening_on = previous_closing  # the previous closing is this opening
    return part


def _camt_head(stmt) -> StatementHead:
    part = _camt_part(stmt)
    return StatementHead(part.account_iban, part.number, part.opening_cents, part.closing_cents, part.opening_on,
                         part.closing_on)


def parse_camt053(data: bytes) -> ParsedStatement:
    return _camt_statement(_camt_root(data))


def _camt_statement(root) -> ParsedStatement:
    parts: list[ParsedPart] = []
    entry_number = 0
    for stmt in _camt_statements(root):
        part = _camt_part(stmt)
        for entry in _children(stmt, "Ntry"):
            entry_number += 1
            status = _text(entry, "Sts") or _text(entry, "Sts", "Cd")
            if status in {"PDNG", "INFO"}:
                continue  # not booked: not in the balances, not yet money on the account
            part.lines.extend(_camt_entry(entry, entry_number))
        if part.opening_cents is not None and part.closing_cents is not None:
            total = part.opening_cents + sum(line.amount_cents for line in part.lines)
            if total != part.closing_cents:
                raise StatementError(_l(
                    "The CAMT.053 file does not add up: statement %(number)s of %(account)s opens at %(opening)s; "
                    "with its entries that makes %(computed)s, but its closing balance is %(closing)s. "
                    "The file is incomplete or damaged; nothing was imported.",
                    number=part.number or "?", account=part.account_iban or "?", opening=_money(part.opening_cents),
                    computed=_money(total), closing=_money(part.closing_cents)))
        parts.append(part)
    return _statement("camt053", parts)


def _tx_amount(tx):
    for path in (("AmtDtls", "TxAmt", "Amt"), ("Amt",), ("AmtDtls", "InstdAmt", "Amt")):
        found = _child(tx, *path)
        if found is not None:
            return found
    return None


def _camt_entry(entry, number: int) -> list[ParsedLine]:
    amount_el = _child(entry, "Amt")
    if amount_el is None:
        raise StatementError(_l("Entry %(number)d has no amount.", number=number))
    what = _l("The amount of entry %(number)d", number=number)
    cents = _cents(amount_el.text or "", what)
    credit = _text(entry, "CdtDbtInd")
    if credit not in {"CRDT", "DBIT"}:
        raise StatementError(_l("Entry %(number)d is neither a credit nor a debit.", number=number))
    # CdtDbtInd is the direction of this booking, a reversal's included: a returned incoming
    # payment is a DBIT with RvslInd true. RvslInd only says which party was the payer.
    sign = 1 if credit == "CRDT" else -1
    reversal = _text(entry, "RvslInd").lower() in {"true", "1"}
    booked = _date(_text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm"), _l("The booking date of entry %(number)d", number=number))
    value_text = _text(entry, "ValDt", "Dt") or _text(entry, "ValDt", "DtTm")
    value_on = _date(value_text, _l("The value date")) if value_text else None
    bank_ref = _text(entry, "AcctSvcrRef")
    entry_info = _text(entry, "AddtlNtryInf")
    currency = amount_el.get("Ccy", "EUR")
    details = [tx for d in _children(entry, "NtryDtls") for tx in _children(d, "TxDtls")]
    if len(details) <= 1:
        tx = details[0] if details else None
        return [_camt_line(tx, booked, value_on, sign * cents, currency, bank_ref, entry_info, credit, reversal)]
    amounts = [_tx_amount(tx) for tx in details]
    if any(amount is None for amount in amounts):
        # A batch that gives only its total: one line, without any one payer's details.
        return [_camt_line(None, booked, value_on, sign * cents, currency, bank_ref, entry_info, credit, reversal)]
    # A batch entry: one line per transaction, each with its own amount, party and reference.
    lines = []
    for index, (tx, tx_amount) in enumerate(zip(details, amounts, strict=True), start=1):
        tx_credit = _text(tx, "CdtDbtInd") or credit
        tx_sign = 1 if tx_credit == "CRDT" else -1
        tx_cents = _cents(tx_amount.text or "", what)
        tx_ref = _text(tx, "Refs", "AcctSvcrRef") or (f"{bank_ref}/{index}" if bank_ref else "")
        lines.append(_camt_line(tx, booked, value_on, tx_sign * tx_cents, tx_amount.get("Ccy", currency),
                                tx_ref, entry_info, tx_credit, reversal))
    if sum(line.amount_cents for line in lines) != sign * cents:
        raise StatementError(_l(
            "The transactions of entry %(number)d do not add up to its amount (%(total)s). Nothing was imported.",
            number=number, total=_money(sign * cents)))
    return lines


def _camt_line(tx, booked, value_on, cents, currency, bank_ref, entry_info, credit, reversal=False) -> ParsedLine:
    # The other party: the payer of money received, the payee of money paid; for a reversal
    # the parties of the original payment are given, so the other one.
    party, other = ("Dbtr", "Cdtr") if (credit == "CRDT") != reversal else ("Cdtr", "Dbtr")
    name = account = unstructured = structured = end_to_end = ""
    if tx is not None:
        for who in (party, other):
            name = _text(tx, "RltdPties", who, "Nm") or _text(tx, "RltdPties", who, "Pty", "Nm")
            account = _camt_account(tx, "RltdPties", who + "Acct")
            if name or account:
                break
        unstructured = " ".join((u.text or "").strip() for r in _children(tx, "RmtInf") for u in _children(r, "Ustrd"))
        for rmt in _children(tx, "RmtInf"):
            for strd in _children(rmt, "Strd"):
                structured = structured or _text(strd, "CdtrRefInf", "Ref")
        end_to_end = _text(tx, "Refs", "EndToEndId")
    if end_to_end.upper() == "NOTPROVIDED":
        end_to_end = ""
    description = " ".join(part for part in (unstructured, entry_info if not unstructured else "") if part)
    reference = clean_reference(structured) if structured else find_rf(description) or find_rf(end_to_end)
    return ParsedLine(booked, cents, currency or "EUR", value_on, account, name[:200],
                      description[:1000], reference, end_to_end[:140], bank_ref[:140])


# --- MT940 --------------------------------------------------------------------------------

_TAG_LINE = re.compile(r"^:(\d{2}[A-Z]?|NS):")
# What banks write around the statements: SWIFT blocks ({1:...}{2:...}{4:, -}, -}{5:...}),
# a BIC line (ABNANL2A, BUNQNL2A, FVLBNL22XXX), "940" or "940 00", old ING's
# "0000 01INGBNL2AXXXX00001", ":940:" and "$" separators.
_HEADER_LINE = re.compile(
    r"^(?:(?:\{[1-5]:[^\n]*)|\{4:|-\}?(?:\{5:.*)?|\}|\$|:940:|940(?: \d{2})?|0000 [0-9A-Z]+"
    r"|[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?(?: ?\d{1,6})?)$")
_BLOCK_END = re.compile(r"^(?:-\}?(?:\{5:.*)?|\}|\$)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SUB_FIELD = re.compile(r"/(EREF|CNTP|REMI|ORDP|BENM|NAME|IBAN|BIC|TRTP|CSID|MARF|RTRN|ID|ADDR|ULTC|ULTD|PURP|SVCL|ISDT|FX|CHGS|EXCH|STRD|USTD|CUST|RF)/")


def _mt940_clean(text: str) -> str:
    """The statements' tag lines only: headers and trailers around them are dropped, and a
    line that belongs to no tag is refused, so a damaged file is not half-read."""
    current = None
    continuation = 0
    kept: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _CONTROL.sub("", raw).rstrip()
        if not line.strip():
            continue
        tag = _TAG_LINE.match(line)
        if tag:
            current, continuation = tag.group(1), 0
            kept.append(line)
            continue
        stripped = line.strip()
        if _BLOCK_END.match(stripped) or stripped.startswith("{1:"):
            current = None
            continue
        if current in {"86", "NS"} or (current == "61" and continuation == 0):
            continuation += 1
            kept.append(line)
            continue
        if _HEADER_LINE.match(stripped):
            current = None
            continue
        raise StatementError(_l("Line %(number)d of the MT940 file is not valid MT940: %(line)s",
                                number=number, line=line[:60]))
    return "\n".join(kept) + "\n"


def _mt940_details(details: str) -> dict[str, str]:
    """Split a Dutch structured :86: field (/TAG/value/TAG/value...) into its parts."""
    flat = details.replace("\n", "").replace("\r", "")
    found: dict[str, str] = {}
    parts = _SUB_FIELD.split(flat)
    if len(parts) < 3:
        return {"": flat}
    for key, value in zip(parts[1::2], parts[2::2], strict=False):
        found.setdefault(key, value.strip("/ ").strip())
    return found


_TRIODOS_FIELD = re.compile(r">(\d{2})")
_LABELLED = re.compile(r"(?:^|/|\s)(REK|IBAN|NAAM|NAME|BIC|OMSCHRIJVING|BETALINGSKENM\.?|KENMERK):\s*", re.IGNORECASE)


def _unstructured_details(details: str, extra: str) -> tuple[str, str, str]:
    """Counterparty account, name and description from an :86: without /TAG/ fields.

    Triodos: ">20" .. ">29" description, ">31" account, ">32"/">33" name. Knab: "REK: ...
    /NAAM: .../OMSCHRIJVING: ...". ASN, SNS and RegioBank (and old SNS): the first line
    starts with the account and the name. Old Rabobank: the account on the :61: second line
    (sometimes with the name), the name as the first :86: line.
    """
    text = details.replace("\r", "")
    if _TRIODOS_FIELD.search(text):
        fields: dict[str, list[str]] = {}
        pieces = _TRIODOS_FIELD.split(text.replace("\n", ""))
        for code, value in zip(pieces[1::2], pieces[2::2], strict=False):
            fields.setdefault(code, []).append(value)
        description = "".join("".join(fields.get(str(code), [])) for code in range(20, 30)).strip()
        name = " ".join("".join(fields.get(code, [])).strip() for code in ("32", "33")).strip()
        return "".join(fields.get("31", [])).strip(), name, description
    first, _, rest = text.partition("\n")
    account, name = leading_account(first)
    if account:
        return account, name, " ".join(rest.split())
    labelled = _LABELLED.split(text.replace("\n", ""))  # wrapped at 65 characters, mid-word
    if len(labelled) >= 3:
        found: dict[str, str] = {}
        for key, value in zip(labelled[1::2], labelled[2::2], strict=False):
            found.setdefault(key.upper().rstrip("."), " ".join(value.split()).strip(" /"))
        rest = " ".join(labelled[0].split())
        description = " ".join(p for p in (rest, found.get("OMSCHRIJVING", ""),
                                           found.get("BETALINGSKENM", "") or found.get("KENMERK", "")) if p)
        return (found.get("REK", "") or found.get("IBAN", ""), found.get("NAAM", "") or found.get("NAME", ""),
                description)
    account, name = leading_account(extra)
    if account:
        if not name and rest:
            name, first, rest = first.strip(), rest.partition("\n")[0], rest.partition("\n")[2]
            return account, name, " ".join(f"{first}\n{rest}".split())
        return account, name, " ".join(text.split())
    return "", "", " ".join(text.split())


def _line_from_details(booked, value_on, cents, currency, details, extra, bank_ref) -> ParsedLine:
    parts = _mt940_details(details)
    if "" in parts:  # no /TAG/ structure
        iban, name, remittance = _unstructured_details(details, extra)
    else:
        counter = parts.get("CNTP", "") or parts.get("ORDP", "") or parts.get("BENM", "")
        counter_bits = [b for b in counter.split("/") if b]
        iban = parts.get("IBAN", "") or (counter_bits[0] if counter_bits else "")
        if not iban and extra:
            iban = leading_account(extra)[0]  # Rabobank puts the counterparty account on the :61: second line
        name = parts.get("NAME", "") or (counter_bits[2] if len(counter_bits) > 2 else "")
        remittance = parts.get("REMI", "")
    structured = ""
    remi_bits = [b for b in remittance.split("/") if b]
    if remi_bits and remi_bits[0] == "STRD" and len(remi_bits) >= 3:
        structured = remi_bits[-1]
        remittance = " ".join(remi_bits[1:])
    elif remi_bits and remi_bits[0] == "USTD":
        remittance = " ".join(remi_bits[1:])
    end_to_end = parts.get("EREF", "")
    if end_to_end.upper() == "NOTPROVIDED":
        end_to_end = ""
    reference = clean_reference(structured) if structured else find_rf(remittance) or find_rf(end_to_end)
    # mt940 hands out its own date subclass; databases want plain dates.
    booked = dt.date(booked.year, booked.month, booked.day)
    value_on = dt.date(value_on.year, value_on.month, value_on.day) if value_on else None
    if bank_ref.upper() == "NONREF":
        bank_ref = ""
    return ParsedLine(booked_on=booked, value_on=value_on, amount_cents=cents, currency=currency,
                      counterparty_iban=clean_iban(iban), counterparty_name=name.strip()[:200],
                      description=remittance.strip()[:1000], reference=reference,
                      end_to_end_id=end_to_end[:140], bank_ref=bank_ref[:140])


def _mt940_account(text: str) -> str:
    """:25: as banks write it: "NL39RABO0300065264 EUR", "NL86INGB0002445588EUR",
    "NL92 ABNA 0417 1643 00", "INGBNL2A/NL86INGB0002445588", "417164300"."""
    text = text.strip()
    for candidate in (text, text.rsplit("/", 1)[-1]):
        compact = clean_iban(candidate)
        if iban_number.is_valid(compact):
            return compact
        account, _rest = leading_account(candidate)
        if account:
            return clean_iban(account)
    return clean_iban(text.split()[0] if text.split() else "")


_ASN_GROUP = re.compile(r"ASNBNL21|SNSBNL2A|RBRBNL21|^:25:\s*NL\d{2}\s?(?:ASNB|SNSB|RBRB)", re.MULTILINE)


def _cents_of(balance) -> int:
    return int(Decimal(str(balance.amount.amount)) * 100)


def parse_mt940(text: str) -> ParsedStatement:
    import mt940

    asn_group = bool(_ASN_GROUP.search(text))
    text = _mt940_clean(text)
    if not re.search(r"^:20:", text, re.MULTILINE) or not re.search(r"^:25:", text, re.MULTILINE):
        raise StatementError(_l("This is not an MT940 statement (no :20: or :25: field)."))
    # ASN, SNS and RegioBank put the counterparty IBAN (up to 34 characters) in the :61:
    # customer reference and the name on its second line.
    tags = {61: mt940.tags.StatementASNB()} if asn_group else None
    parts: list[ParsedPart] = []
    continues = False   # the previous page ended on an intermediate balance (:62M:)
    blocks = [b for b in re.split(r"(?m)^(?=:20:)", text) if b.startswith(":20:")]
    for page, block_text in enumerate(blocks, start=1):
        block = mt940.models.Transactions(tags=tags, options=mt940.Options.all())
        try:
            block.parse(block_text)
        except Exception as exc:  # the library raises RuntimeError/ValueError/KeyError on damaged tags
            raise StatementError(_mt940_failure(exc, page)) from exc
        data = block.data
        account = _mt940_account(str(data.get("account_identification") or ""))
        number = str(data.get("statement_number") or data.get("transaction_reference") or "").strip()
        start = data.get("final_opening_balance") or data.get("opening_balance")
        intermediate_start = data.get("intermediate_opening_balance")
        end = data.get("final_closing_balance") or data.get("closing_balance")
        intermediate_end = data.get("intermediate_closing_balance")
        start, end = start or intermediate_start, end or intermediate_end
        lines: list[ParsedLine] = []
        for transaction in block:
            tx = transaction.data
            if "amount" not in tx or "date" not in tx:
                raise StatementError(_l("A transaction in the MT940 file has no amount or date."))
            cents = int(Decimal(str(tx["amount"].amount)) * 100)
            extra = str(tx.get("extra_details") or "").strip()
            customer = str(tx.get("customer_reference") or "").strip()
            if asn_group:  # the customer reference is the counterparty's IBAN, the name follows
                extra, bank_ref = f"{customer} {extra}".strip(), str(tx.get("bank_reference") or "").strip()
            else:
                bank_ref = str(tx.get("bank_reference") or customer).strip()
            line = _line_from_details(
                tx.get("entry_date") or tx["date"], tx["date"], cents, str(tx["amount"].currency or "EUR"),
                str(tx.get("transaction_details") or ""), extra, bank_ref)
            line.account_iban = account
            lines.append(line)
        if start is None or end is None:
            if lines:
                raise StatementError(_l("The MT940 statement has no opening or closing balance (:60F: / :62F:)."))
            continue
        start_cents, end_cents = _cents_of(start), _cents_of(end)
        if start_cents + sum(line.amount_cents for line in lines) != end_cents:
            raise StatementError(_l(
                "The MT940 file does not add up: the opening balance plus the transactions is not the closing "
                "balance of statement %(number)s. The file is incomplete or damaged; nothing was imported.",
                number=number or "?"))
        previous = parts[-1] if parts else None
        if continues and intermediate_start is not None and previous and previous.account_iban == account:
            # The next page of a statement split over several (:62M: then :60M:).
            if previous.closing_cents != start_cents:
                raise StatementError(_l(
                    "Page %(page)d of MT940 statement %(number)s does not open at the balance the page before "
                    "closed at (%(closing)s, not %(opening)s). Nothing was imported.",
                    page=page, number=number or "?", closing=_money(previous.closing_cents or 0),
                    opening=_money(start_cents)))
            previous.lines.extend(lines)
            previous.closing_cents, previous.closing_on = end_cents, _plain_date(end.date)
        else:
            parts.append(ParsedPart(account, number, start_cents, end_cents, _plain_date(start.date),
                                    _plain_date(end.date), lines))
        continues = end is intermediate_end and "final_closing_balance" not in data and "closing_balance" not in data
    return _statement("mt940", parts)


def _plain_date(value) -> dt.date | None:
    return dt.date(value.year, value.month, value.day) if value else None


_MT940_BALANCE = re.compile(r"^:6([02])([FM]?):\s*([CD])(\d{2})(\d{2})(\d{2})[A-Z]{3}([0-9,]{1,16})\s*$", re.MULTILINE)
_MT940_FIELD = re.compile(r"^:(25|28C?):(.*)$", re.MULTILINE)


def _mt940_heads(text: str) -> list[StatementHead]:
    """The statements of an MT940 file by their :25: account and :60:/:62: balances, pages of one
    statement (:62M: then :60M:) joined as parse_mt940 joins them; their :61: lines are not read.
    A statement without both balances gives an incomplete head (the whole file is then parsed)."""
    heads: list[StatementHead] = []
    continues = False
    for block in re.split(r"(?m)^(?=:20:)", _mt940_clean(text)):
        if not block.startswith(":20:"):
            continue
        fields = {tag: value.strip() for tag, value in reversed(_MT940_FIELD.findall(block))}
        account = _mt940_account(fields.get("25", ""))
        number = fields.get("28C", "") or fields.get("28", "")
        balances: dict[str, tuple[str, int, dt.date]] = {}
        for kind, mark, sign, year, month, day, amount in _MT940_BALANCE.findall(block):
            try:
                on = dt.date(2000 + int(year), int(month), int(day))
            except ValueError:
                return [StatementHead(account, number, None, None, None, None)]
            cents = _cents(amount, _l("A balance")) * (-1 if sign == "D" else 1)
            balances.setdefault("opening" if kind == "0" else "closing", (mark, cents, on))
        opening, closing = balances.get("opening"), balances.get("closing")
        if opening is None or closing is None:
            if ":61:" in block:
                return [StatementHead(account, number, None, None, None, None)]
            continue
        previous = heads[-1] if heads else None
        if continues and opening[0] == "M" and previous and previous.account_iban == account:
            heads[-1] = StatementHead(account, previous.number, previous.opening_cents, closing[1],
                                      previous.opening_on, closing[2])
        else:
            heads.append(StatementHead(account, number, opening[1], closing[1], opening[2], closing[2]))
        continues = closing[0] == "M"
    return heads


def _mt940_failure(exc: Exception, page: int):
    """A readable message for what the mt940 library could not read (never its repr)."""
    tag = exc.args[1] if len(exc.args) >= 3 else None
    value = str(exc.args[2]) if len(exc.args) >= 3 else ""
    if tag is not None and getattr(tag, "id", None) is not None:
        first = value.strip().splitlines()[0] if value.strip() else ""
        return _l("Statement %(page)d of the MT940 file cannot be read: field :%(tag)s: (\"%(value)s\") is not "
                  "written as MT940 prescribes. Nothing was imported.",
                  page=page, tag=str(tag.id), value=first[:60])
    return _l("Statement %(page)d of the MT940 file cannot be read: it is not written as MT940 prescribes. "
              "Nothing was imported.", page=page)


# --- CSV ----------------------------------------------------------------------------------

# Column names as the banks write them, mapped onto ours. The first layout whose required
# columns are all present wins.
CSV_LAYOUTS: dict[str, dict[str, str | tuple[str, ...]]] = {
    "ing": {
        "date": "Datum", "name": "Naam / Omschrijving", "account": "Rekening", "iban": "Tegenrekening",
        "direction": "Af Bij", "amount": "Bedrag (EUR)", "description": "Mededelingen",
    },
    "rabobank": {
        "account": "IBAN/BBAN", "currency": "Munt", "number": "Volgnr", "date": "Datum", "value_date": "Rentedatum",
        "amount": "Bedrag", "iban": "Tegenrekening IBAN/BBAN", "name": "Naam tegenpartij",
        "description": "Omschrijving-1", "description2": "Omschrijving-2", "description3": "Omschrijving-3",
        "reference": "Betalingskenmerk", "end_to_end": "Transactiereferentie",
    },
    # The same export when the Rabobank site is set to English.
    "rabobank_en": {
        "account": "IBAN/BBAN", "currency": "Currency", "number": ("Sequence number", "Serial number"),
        "date": "Date", "value_date": ("Value date", "Interest date"), "amount": "Amount",
        "iban": ("Counterparty IBAN/BBAN", "Counterparty IBAN"), "name": ("Counterparty name", "Name counterparty"),
        "description": "Description-1", "description2": "Description-2", "description3": "Description-3",
        "reference": "Payment reference", "end_to_end": "Transaction reference",
    },
    "plain": {
        "date": "date", "amount": "amount", "iban": "counterparty_iban", "name": "counterparty_name",
        "description": "description", "reference": "reference", "account": "account",
    },
}
CSV_REQUIRED = {
    "ing": ("date", "name", "iban", "direction", "amount", "description"),
    "rabobank": ("account", "date", "amount", "iban", "name", "description"),
    "rabobank_en": ("account", "date", "amount", "iban", "name", "description"),
    "plain": ("date", "amount", "description"),
}


def _names(spec: str | tuple[str, ...]) -> tuple[str, ...]:
    return (spec,) if isinstance(spec, str) else spec


_ABN_TAB = re.compile(r"^\d{6,10}\tEUR\t\d{8}\t")


def parse_csv(text: str) -> ParsedStatement:
    if _ABN_TAB.match(text):
        return _parse_abnamro_tab(text)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise StatementError(_l("The CSV file has no header line.")) from exc
    lowered = {h.lower(): i for i, h in enumerate(header)}
    layout_name, best_missing = None, None
    for name, layout in CSV_LAYOUTS.items():
        missing = [_names(layout[key])[0] for key in CSV_REQUIRED[name]
                   if not any(n.lower() in lowered for n in _names(layout[key]))]
        if not missing:
            layout_name = name
            break
        if best_missing is None or len(missing) < len(best_missing):
            best_missing = missing
    if layout_name is None:
        raise StatementError(_l("The CSV file lacks the columns %(columns)s. Nothing was imported.",
                                columns=", ".join(f'"{c}"' for c in best_missing or [])))
    layout = CSV_LAYOUTS[layout_name]
    column = {key: next((lowered[n.lower()] for n in _names(names) if n.lower() in lowered), None)
              for key, names in layout.items()}
    lines: list[ParsedLine] = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise StatementError(_l("Line %(number)d of the CSV file has %(found)d columns instead of %(expected)d. Nothing was imported.",
                                    number=number, found=len(row), expected=len(header)))

        def get(key: str, row=row) -> str:
            index = column.get(key)
            return row[index].strip() if index is not None else ""

        what = _l("The amount on line %(number)d", number=number)
        cents = _cents(get("amount"), what)
        formats = ("%Y-%m-%d", "%d-%m-%Y", "%Y%m%d")
        value_on = (_date(get("value_date"), _l("The value date on line %(number)d", number=number), formats)
                    if get("value_date") else None)
        if layout_name == "ing":
            direction = get("direction").lower()
            if direction not in {"af", "bij"}:
                raise StatementError(_l('Line %(number)d: "Af Bij" must be "Af" or "Bij".', number=number))
            cents = -abs(cents) if direction == "af" else abs(cents)
            booked = _date(get("date"), _l("The date on line %(number)d", number=number), ("%Y%m%d", "%Y-%m-%d", "%d-%m-%Y"))
        else:
            booked = _date(get("date"), _l("The date on line %(number)d", number=number), formats)
        if cents == 0:
            continue
        description = " ".join(p for p in (get("description"), get("description2"), get("description3")) if p)
        reference = clean_reference(get("reference")) if get("reference") else find_rf(description)
        currency = get("currency") or "EUR"
        lines.append(ParsedLine(booked, cents, currency, value_on, clean_iban(get("iban")), get("name")[:200],
                                description[:1000], reference, get("end_to_end")[:140], get("number")[:140],
                                account_iban=clean_iban(get("account"))))
    return _statement("csv", _parts_by_account(lines))


def _parse_abnamro_tab(text: str) -> ParsedStatement:
    """ABN AMRO's tab-separated export: account, currency, date, start and end balance,
    value date, amount, description (the same structured text as its MT940 :86:)."""
    lines: list[ParsedLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        row = raw.split("\t")
        if len(row) < 8:
            raise StatementError(_l("Line %(number)d of the file has %(found)d columns instead of %(expected)d. Nothing was imported.",
                                    number=number, found=len(row), expected=8))
        account = row[0].strip()
        booked = _date(row[2], _l("The date on line %(number)d", number=number), ("%Y%m%d",))
        value_on = _date(row[5], _l("The date on line %(number)d", number=number), ("%Y%m%d",))
        cents = _cents(row[6], _l("The amount on line %(number)d", number=number))
        if _cents(row[3], _l("A balance")) + cents != _cents(row[4], _l("A balance")):
            raise StatementError(_l("Line %(number)d does not add up: start balance plus amount is not the end balance.", number=number))
        line = _line_from_details(booked, value_on, cents, row[1].strip() or "EUR", "\t".join(row[7:]), "", "")
        line.account_iban = clean_iban(account)
        lines.append(line)
    return _statement("csv", _parts_by_account(lines))
