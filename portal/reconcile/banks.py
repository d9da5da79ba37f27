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


@dataclass
class ParsedStatement:
    format: str
    account_iban: str
    number: str
    lines: list[ParsedLine] = field(default_factory=list)
    opening_cents: int | None = None
    closing_cents: int | None = None


# --- shared helpers -----------------------------------------------------------------------

_RF_IN_TEXT = re.compile(r"\bRF\s?\d{2}(?:\s?[A-Z0-9]){1,21}", re.IGNORECASE)


def find_rf(text: str) -> str:
    """The first valid ISO 11649 reference written anywhere in `text`, compacted, or ''."""
    for match in _RF_IN_TEXT.finditer(text or ""):
        candidate = match.group(0).upper().replace(" ", "")
        # The greedy match may have swallowed the next word; shorten until it validates.
        while len(candidate) >= 5:
            if iso11649.is_valid(candidate):
                return candidate
            candidate = candidate[:-1]
    return ""


def clean_reference(text: str) -> str:
    """A structured reference as the bank gave it, compacted when it is an RF reference."""
    text = (text or "").strip()
    compact = text.upper().replace(" ", "")
    if compact.startswith("RF") and iso11649.is_valid(compact):
        return compact
    return text[:140]


def clean_iban(text: str) -> str:
    compact = re.sub(r"\s+", "", text or "").upper()
    if compact.endswith("EUR") and iban_number.is_valid(compact[:-3]):
        compact = compact[:-3]  # ING writes the currency straight after the account in :25:
    return compact if iban_number.is_valid(compact) else compact[:34]


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
    one day differ by their occurrence number.
    """
    seen: Counter[str] = Counter()
    for line in lines:
        base = "|".join((
            account, line.booked_on.isoformat(), str(line.amount_cents), line.currency,
            line.counterparty_iban, line.bank_ref, line.end_to_end_id, line.reference,
            re.sub(r"\s+", " ", line.description).strip().lower(),
        ))
        seen[base] += 1
        line.fingerprint = hashlib.sha256(f"{base}|{seen[base]}".encode()).hexdigest()


def decode(data: bytes, encoding: str) -> str:
    if encoding not in ENCODINGS:
        raise StatementError(_l("Unknown character encoding."))
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


def parse_statement(data: bytes, *, fmt: str = "auto", encoding: str = "utf-8",
                    max_bytes: int | None = DEFAULT_MAX_BYTES) -> ParsedStatement:
    """Parse a bank statement file, or raise StatementError; nothing is stored."""
    if max_bytes is not None and len(data) > max_bytes:
        raise StatementError(_l("The file is %(size)d MB; statements up to %(limit)d MB are accepted. Export a shorter period.",
                                size=len(data) // (1024 * 1024), limit=max_bytes // (1024 * 1024)))
    if not data.strip():
        raise StatementError(_l("The file is empty."))
    fmt = detect_format(data) if fmt == "auto" else fmt
    if fmt == "camt053":
        statement = parse_camt053(data)
    elif fmt == "mt940":
        statement = parse_mt940(decode(data, encoding))
    elif fmt == "csv":
        statement = parse_csv(decode(data, encoding))
    else:
        raise StatementError(_l("Unknown statement format."))
    if not statement.lines:
        raise StatementError(_l("The statement contains no transactions."))
    foreign = {line.currency for line in statement.lines} - {"EUR"}
    if foreign:
        raise StatementError(_l("Only euro statements are accepted; this one has %(currency)s.",
                                currency=", ".join(sorted(foreign))))
    fingerprint_lines(statement.account_iban, statement.lines)
    return statement


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


def parse_camt053(data: bytes) -> ParsedStatement:
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
    statements = _children(_child(root, "BkToCstmrStmt"), "Stmt")
    if not statements:
        raise StatementError(_l("The CAMT.053 file contains no statement."))
    account = ""
    numbers: list[str] = []
    lines: list[ParsedLine] = []
    opening = closing = None
    for stmt in statements:
        account = clean_iban(_text(stmt, "Acct", "Id", "IBAN")) or account
        numbers.append(_text(stmt, "LglSeqNb") or _text(stmt, "ElctrncSeqNb") or _text(stmt, "Id"))
        for balance in _children(stmt, "Bal"):
            code = _text(balance, "Tp", "CdOrPrtry", "Cd")
            amount_el = _child(balance, "Amt")
            if amount_el is None:
                continue
            cents = _cents(amount_el.text or "", _l("A balance"))
            if _text(balance, "CdtDbtInd") == "DBIT":
                cents = -cents
            if code == "OPBD" and opening is None:
                opening = cents
            elif code == "CLBD":
                closing = cents
        for number, entry in enumerate(_children(stmt, "Ntry"), start=1):
            lines.extend(_camt_entry(entry, number))
    return ParsedStatement("camt053", account, ", ".join(n for n in numbers if n), lines, opening, closing)


def _camt_entry(entry, number: int) -> list[ParsedLine]:
    amount_el = _child(entry, "Amt")
    if amount_el is None:
        raise StatementError(_l("Entry %(number)d has no amount.", number=number))
    what = _l("The amount of entry %(number)d", number=number)
    cents = _cents(amount_el.text or "", what)
    credit = _text(entry, "CdtDbtInd")
    if credit not in {"CRDT", "DBIT"}:
        raise StatementError(_l("Entry %(number)d is neither a credit nor a debit.", number=number))
    sign = 1 if credit == "CRDT" else -1
    if _text(entry, "RvslInd").lower() == "true":
        sign = -sign
    booked = _date(_text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm"), _l("The booking date of entry %(number)d", number=number))
    value_text = _text(entry, "ValDt", "Dt")
    value_on = _date(value_text, _l("The value date")) if value_text else None
    bank_ref = _text(entry, "AcctSvcrRef")
    entry_info = _text(entry, "AddtlNtryInf")
    details = [tx for d in _children(entry, "NtryDtls") for tx in _children(d, "TxDtls")]
    if len(details) <= 1:
        tx = details[0] if details else None
        return [_camt_line(tx, booked, value_on, sign * cents, amount_el.get("Ccy", "EUR"), bank_ref, entry_info, credit)]
    # A batch entry: one line per transaction when each carries its own amount.
    lines = []
    for index, tx in enumerate(details, start=1):
        tx_amount = _child(tx, "AmtDtls", "TxAmt", "Amt") or _child(tx, "Amt")
        if tx_amount is None:
            return [_camt_line(details[0], booked, value_on, sign * cents, amount_el.get("Ccy", "EUR"), bank_ref, entry_info, credit)]
        lines.append(_camt_line(tx, booked, value_on, sign * _cents(tx_amount.text or "", what),
                                tx_amount.get("Ccy", "EUR"), f"{bank_ref}/{index}" if bank_ref else "", entry_info, credit))
    if sum(line.amount_cents for line in lines) != sign * cents:
        raise StatementError(_l("The transactions of entry %(number)d do not add up to its amount.", number=number))
    return lines


def _camt_line(tx, booked, value_on, cents, currency, bank_ref, entry_info, credit) -> ParsedLine:
    party = "Dbtr" if credit == "CRDT" else "Cdtr"
    name = _text(tx, "RltdPties", party, "Nm") or _text(tx, "RltdPties", party, "Pty", "Nm") if tx is not None else ""
    account = _text(tx, "RltdPties", party + "Acct", "Id", "IBAN") if tx is not None else ""
    unstructured = " ".join(
        (u.text or "").strip() for r in _children(tx, "RmtInf") for u in _children(r, "Ustrd")) if tx is not None else ""
    structured = ""
    if tx is not None:
        for rmt in _children(tx, "RmtInf"):
            for strd in _children(rmt, "Strd"):
                structured = structured or _text(strd, "CdtrRefInf", "Ref")
    end_to_end = _text(tx, "Refs", "EndToEndId") if tx is not None else ""
    if end_to_end.upper() == "NOTPROVIDED":
        end_to_end = ""
    description = " ".join(part for part in (unstructured, entry_info if not unstructured else "") if part)
    reference = clean_reference(structured) if structured else find_rf(description) or find_rf(end_to_end)
    return ParsedLine(booked, cents, currency or "EUR", value_on, clean_iban(account), name[:200],
                      description[:1000], reference, end_to_end[:140], bank_ref[:140])


# --- MT940 --------------------------------------------------------------------------------

_TAG_LINE = re.compile(r"^:(\d{2}[A-Z]?|NS):")
_HEADER_LINE = re.compile(r"^(\{[1-5]:.*|ABNANL2A|940|0000 \d+|:940:|-\}?|\}|\$)$")
_SUB_FIELD = re.compile(r"/(EREF|CNTP|REMI|ORDP|BENM|NAME|IBAN|BIC|TRTP|CSID|MARF|RTRN|ID|ADDR|ULTC|ULTD|PURP|SVCL|ISDT|FX|CHGS|EXCH|STRD|USTD|CUST|RF)/")


def _mt940_shape(text: str) -> None:
    """Refuse lines that belong to no tag, so a damaged file is not half-read."""
    current = None
    continuation = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line:
            continue
        tag = _TAG_LINE.match(line)
        if tag:
            current, continuation = tag.group(1), 0
            continue
        if _HEADER_LINE.match(line.strip()):
            continue
        continuation += 1
        if current == "86" or (current == "61" and continuation == 1):
            continue
        raise StatementError(_l("Line %(number)d of the MT940 file is not valid MT940: %(line)s",
                                number=number, line=line[:60]))


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


def _line_from_details(booked, value_on, cents, currency, details, extra, bank_ref) -> ParsedLine:
    parts = _mt940_details(details)
    counter = parts.get("CNTP", "") or parts.get("ORDP", "") or parts.get("BENM", "")
    counter_bits = [b for b in counter.split("/") if b]
    iban = parts.get("IBAN", "") or (counter_bits[0] if counter_bits else "")
    if not iban and extra and iban_number.is_valid(extra.split()[0]):
        iban = extra.split()[0]  # Rabobank puts the counterparty account on the :61: second line
    name = parts.get("NAME", "") or (counter_bits[2] if len(counter_bits) > 2 else "")
    remittance = parts.get("REMI", parts.get("", details.replace("\n", " ")))
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
                      counterparty_iban=clean_iban(iban), counterparty_name=name[:200],
                      description=remittance.strip()[:1000], reference=reference,
                      end_to_end_id=end_to_end[:140], bank_ref=bank_ref[:140])


def parse_mt940(text: str) -> ParsedStatement:
    import mt940

    _mt940_shape(text)
    if not re.search(r"^:20:", text, re.MULTILINE) or not re.search(r"^:25:", text, re.MULTILINE):
        raise StatementError(_l("This is not an MT940 statement (no :20: or :25: field)."))
    try:
        blocks = mt940.parse_statements(text, options=mt940.Options.all())
    except Exception as exc:  # the library raises RuntimeError/ValueError/KeyError on damaged tags
        raise StatementError(_l("The MT940 file cannot be read: %(detail)s", detail=str(exc)[:160])) from exc
    account = ""
    numbers: list[str] = []
    lines: list[ParsedLine] = []
    opening = closing = None
    for block in blocks:
        data = block.data
        account_text = str(data.get("account_identification", "")).split(" ")[0]
        account = clean_iban(account_text) or account
        numbers.append(str(data.get("statement_number") or data.get("transaction_reference") or ""))
        start = data.get("final_opening_balance") or data.get("opening_balance")
        end = data.get("final_closing_balance") or data.get("closing_balance")
        total = 0
        for transaction in block:
            tx = transaction.data
            if "amount" not in tx or "date" not in tx:
                raise StatementError(_l("A transaction in the MT940 file has no amount or date."))
            cents = int(Decimal(str(tx["amount"].amount)) * 100)
            total += cents
            extra = str(tx.get("extra_details") or "").strip()
            lines.append(_line_from_details(
                tx.get("entry_date") or tx["date"], tx["date"], cents, str(tx["amount"].currency or "EUR"),
                str(tx.get("transaction_details") or ""), extra,
                str(tx.get("bank_reference") or tx.get("customer_reference") or "").strip()))
        if start is not None and end is not None:
            start_cents = int(Decimal(str(start.amount.amount)) * 100)
            end_cents = int(Decimal(str(end.amount.amount)) * 100)
            opening = start_cents if opening is None else opening
            closing = end_cents
            if start_cents + total != end_cents:
                raise StatementError(_l(
                    "The MT940 file does not add up: the opening balance plus the transactions is not the closing "
                    "balance of statement %(number)s. The file is incomplete or damaged; nothing was imported.",
                    number=numbers[-1] or "?"))
        elif block.transactions:
            raise StatementError(_l("The MT940 statement has no opening or closing balance (:60F: / :62F:)."))
    return ParsedStatement("mt940", account, ", ".join(n for n in numbers if n), lines, opening, closing)


# --- CSV ----------------------------------------------------------------------------------

# Column names as the banks write them, mapped onto ours. The first layout whose required
# columns are all present wins.
CSV_LAYOUTS = {
    "ing": {
        "date": "Datum", "name": "Naam / Omschrijving", "account": "Rekening", "iban": "Tegenrekening",
        "direction": "Af Bij", "amount": "Bedrag (EUR)", "description": "Mededelingen",
    },
    "rabobank": {
        "account": "IBAN/BBAN", "currency": "Munt", "number": "Volgnr", "date": "Datum", "amount": "Bedrag",
        "iban": "Tegenrekening IBAN/BBAN", "name": "Naam tegenpartij", "description": "Omschrijving-1",
        "description2": "Omschrijving-2", "description3": "Omschrijving-3", "reference": "Betalingskenmerk",
        "end_to_end": "Transactiereferentie",
    },
    "plain": {
        "date": "date", "amount": "amount", "iban": "counterparty_iban", "name": "counterparty_name",
        "description": "description", "reference": "reference", "account": "account",
    },
}
CSV_REQUIRED = {
    "ing": ("date", "name", "iban", "direction", "amount", "description"),
    "rabobank": ("account", "date", "amount", "iban", "name", "description"),
    "plain": ("date", "amount", "description"),
}


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
        missing = [layout[key] for key in CSV_REQUIRED[name] if layout[key].lower() not in lowered]
        if not missing:
            layout_name = name
            break
        if best_missing is None or len(missing) < len(best_missing):
            best_missing = missing
    if layout_name is None:
        raise StatementError(_l("The CSV file lacks the columns %(columns)s. Nothing was imported.",
                                columns=", ".join(f'"{c}"' for c in best_missing or [])))
    layout = CSV_LAYOUTS[layout_name]
    column = {key: lowered.get(name.lower()) for key, name in layout.items()}
    lines: list[ParsedLine] = []
    account = ""
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
        if layout_name == "ing":
            direction = get("direction").lower()
            if direction not in {"af", "bij"}:
                raise StatementError(_l('Line %(number)d: "Af Bij" must be "Af" or "Bij".', number=number))
            cents = -abs(cents) if direction == "af" else abs(cents)
            booked = _date(get("date"), _l("The date on line %(number)d", number=number), ("%Y%m%d", "%Y-%m-%d", "%d-%m-%Y"))
        else:
            booked = _date(get("date"), _l("The date on line %(number)d", number=number), ("%Y-%m-%d", "%d-%m-%Y", "%Y%m%d"))
        if cents == 0:
            continue
        description = " ".join(p for p in (get("description"), get("description2"), get("description3")) if p)
        reference = clean_reference(get("reference")) if get("reference") else find_rf(description)
        account = clean_iban(get("account")) or account
        currency = get("currency") or "EUR"
        lines.append(ParsedLine(booked, cents, currency, None, clean_iban(get("iban")), get("name")[:200],
                                description[:1000], reference, get("end_to_end")[:140], get("number")[:140]))
    if len(lines) and layout_name == "ing":
        account = clean_iban(_first_account(text, column["account"], dialect)) or account
    return ParsedStatement("csv", account, "", lines)


def _parse_abnamro_tab(text: str) -> ParsedStatement:
    """ABN AMRO's tab-separated export: account, currency, date, start and end balance,
    value date, amount, description (the same structured text as its MT940 :86:)."""
    lines: list[ParsedLine] = []
    account = ""
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
        lines.append(_line_from_details(booked, value_on, cents, row[1].strip() or "EUR", "\t".join(row[7:]), "", ""))
    return ParsedStatement("csv", account, "", lines)


def _first_account(text: str, index, dialect) -> str:
    if index is None:
        return ""
    rows = csv.reader(io.StringIO(text), dialect)
    next(rows, None)
    row = next(rows, None)
    return row[index] if row and len(row) > index else ""
