"""MT940 bank statements as Dutch banks write them (ABN AMRO, ING, Rabobank, Triodos, Knab, bunq, ASN,
SNS, RegioBank): the SWIFT blocks around them dropped, the :86: details read in each bank's own way,
a statement split over pages joined again.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import mt940
from flask_babel import lazy_gettext as _l
from stdnum import iban as iban_number

from portal.reconcile.banks.common import (
    ParsedLine,
    ParsedPart,
    ParsedStatement,
    StatementError,
    StatementHead,
    amount_cents,
    clean_iban,
    clean_reference,
    find_rf,
    leading_account,
    money_text,
    statement_of,
)

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


def line_from_details(booked, value_on, cents, currency, details, extra, bank_ref) -> ParsedLine:
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
            line = line_from_details(
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
                    page=page, number=number or "?", closing=money_text(previous.closing_cents or 0),
                    opening=money_text(start_cents)))
            previous.lines.extend(lines)
            previous.closing_cents, previous.closing_on = end_cents, _plain_date(end.date)
        else:
            parts.append(ParsedPart(account, number, start_cents, end_cents, _plain_date(start.date),
                                    _plain_date(end.date), lines))
        continues = end is intermediate_end and "final_closing_balance" not in data and "closing_balance" not in data
    return statement_of("mt940", parts)


def _plain_date(value) -> dt.date | None:
    return dt.date(value.year, value.month, value.day) if value else None


_MT940_BALANCE = re.compile(r"^:6([02])([FM]?):\s*([CD])(\d{2})(\d{2})(\d{2})[A-Z]{3}([0-9,]{1,16})\s*$", re.MULTILINE)
_MT940_FIELD = re.compile(r"^:(25|28C?):(.*)$", re.MULTILINE)


def mt940_heads(text: str) -> list[StatementHead]:
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
            cents = amount_cents(amount, _l("A balance")) * (-1 if sign == "D" else 1)
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
