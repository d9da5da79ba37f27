"""CSV bank statements: ING, Rabobank (Dutch and English headers) and a plain layout, the first layout
whose columns are all there; and ABN AMRO's tab-separated export, whose descriptions are MT940's.
"""

from __future__ import annotations

import csv
import io
import re

from flask_babel import lazy_gettext as _l

from portal.reconcile.banks.common import (
    ParsedLine,
    ParsedStatement,
    StatementError,
    amount_cents,
    clean_iban,
    clean_reference,
    date_of,
    find_rf,
    parts_by_account,
    statement_of,
)
from portal.reconcile.banks.format_mt940 import line_from_details

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
        cents = amount_cents(get("amount"), what)
        formats = ("%Y-%m-%d", "%d-%m-%Y", "%Y%m%d")
        value_on = (date_of(get("value_date"), _l("The value date on line %(number)d", number=number), formats)
                    if get("value_date") else None)
        if layout_name == "ing":
            direction = get("direction").lower()
            if direction not in {"af", "bij"}:
                raise StatementError(_l('Line %(number)d: "Af Bij" must be "Af" or "Bij".', number=number))
            cents = -abs(cents) if direction == "af" else abs(cents)
            booked = date_of(get("date"), _l("The date on line %(number)d", number=number), ("%Y%m%d", "%Y-%m-%d", "%d-%m-%Y"))
        else:
            booked = date_of(get("date"), _l("The date on line %(number)d", number=number), formats)
        if cents == 0:
            continue
        description = " ".join(p for p in (get("description"), get("description2"), get("description3")) if p)
        reference = clean_reference(get("reference")) if get("reference") else find_rf(description)
        currency = get("currency") or "EUR"
        lines.append(ParsedLine(booked, cents, currency, value_on, clean_iban(get("iban")), get("name")[:200],
                                description[:1000], reference, get("end_to_end")[:140], get("number")[:140],
                                account_iban=clean_iban(get("account"))))
    return statement_of("csv", parts_by_account(lines))


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
        booked = date_of(row[2], _l("The date on line %(number)d", number=number), ("%Y%m%d",))
        value_on = date_of(row[5], _l("The date on line %(number)d", number=number), ("%Y%m%d",))
        cents = amount_cents(row[6], _l("The amount on line %(number)d", number=number))
        if amount_cents(row[3], _l("A balance")) + cents != amount_cents(row[4], _l("A balance")):
            raise StatementError(_l("Line %(number)d does not add up: start balance plus amount is not the end balance.", number=number))
        line = line_from_details(booked, value_on, cents, row[1].strip() or "EUR", "\t".join(row[7:]), "", "")
        line.account_iban = clean_iban(account)
        lines.append(line)
    return statement_of("csv", parts_by_account(lines))
