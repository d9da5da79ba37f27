"""CAMT.053 (XML) bank statements. XML goes through defusedxml with DTDs forbidden, so external
entities and entity expansion ("billion laughs") are refused before anything is expanded.
"""

from __future__ import annotations

import datetime as dt
from xml.etree.ElementTree import ParseError  # noqa: S405 (only the exception class)

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from flask_babel import lazy_gettext as _l

from portal.reconcile.banks.common import (
    ParsedLine,
    ParsedPart,
    ParsedStatement,
    StatementError,
    StatementHead,
    amount_cents,
    clean_iban,
    clean_reference,
    date_of,
    find_rf,
    money_text,
    statement_of,
)


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


def camt_root(data: bytes):
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


def camt_statements(root) -> list:
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
        cents = amount_cents(amount_el.text or "", _l("A balance"))
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


def camt_head(stmt) -> StatementHead:
    part = _camt_part(stmt)
    return StatementHead(part.account_iban, part.number, part.opening_cents, part.closing_cents, part.opening_on,
                         part.closing_on)


def parse_camt053(data: bytes) -> ParsedStatement:
    return camt_statement(camt_root(data))


def camt_statement(root) -> ParsedStatement:
    parts: list[ParsedPart] = []
    entry_number = 0
    for stmt in camt_statements(root):
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
                    number=part.number or "?", account=part.account_iban or "?", opening=money_text(part.opening_cents),
                    computed=money_text(total), closing=money_text(part.closing_cents)))
        parts.append(part)
    return statement_of("camt053", parts)


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
    cents = amount_cents(amount_el.text or "", what)
    credit = _text(entry, "CdtDbtInd")
    if credit not in {"CRDT", "DBIT"}:
        raise StatementError(_l("Entry %(number)d is neither a credit nor a debit.", number=number))
    # CdtDbtInd is the direction of this booking, a reversal's included: a returned incoming
    # payment is a DBIT with RvslInd true. RvslInd only says which party was the payer.
    sign = 1 if credit == "CRDT" else -1
    reversal = _text(entry, "RvslInd").lower() in {"true", "1"}
    booked = date_of(_text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm"), _l("The booking date of entry %(number)d", number=number))
    value_text = _text(entry, "ValDt", "Dt") or _text(entry, "ValDt", "DtTm")
    value_on = date_of(value_text, _l("The value date")) if value_text else None
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
        tx_cents = amount_cents(tx_amount.text or "", what)
        tx_ref = _text(tx, "Refs", "AcctSvcrRef") or (f"{bank_ref}/{index}" if bank_ref else "")
        lines.append(_camt_line(tx, booked, value_on, tx_sign * tx_cents, tx_amount.get("Ccy", currency),
                                tx_ref, entry_info, tx_credit, reversal))
    if sum(line.amount_cents for line in lines) != sign * cents:
        raise StatementError(_l(
            "The transactions of entry %(number)d do not add up to its amount (%(total)s). Nothing was imported.",
            number=number, total=money_text(sign * cents)))
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
