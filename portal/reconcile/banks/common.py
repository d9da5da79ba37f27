"""What the bank statement parsers share: the parsed shapes (ParsedLine, ParsedPart, ParsedStatement,
StatementHead), StatementError, and the helpers every format uses (RF references, accounts, amounts,
dates, fingerprints, decoding).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from stdnum import iban as iban_number
from stdnum import iso11649

from portal.core.errors import UserError

FORMATS = ("camt053", "mt940", "csv")
ENCODINGS = ("utf-8", "cp1252")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class StatementError(UserError):
    """A file that cannot be imported; str() is a message for the project leader."""


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


def statement_of(fmt: str, parts: list[ParsedPart]) -> ParsedStatement:
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


def parts_by_account(lines: list[ParsedLine], number: str = "") -> list[ParsedPart]:
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


def amount_cents(text: str, what: str) -> int:
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


def date_of(text: str, what: str, formats=("%Y-%m-%d",)) -> dt.date:
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


def money_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"EUR {sign}{abs(cents) // 100:,}.{abs(cents) % 100:02d}"
