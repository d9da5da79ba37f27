"""From a frozen snapshot to HTML (invoices/statement.html) and PDF bytes through core/pdf.

Everything here is a pure function of its arguments: the snapshot, the verification code,
the configured base URL and the templates. Dates and amounts are formatted for the
document's language (Dutch: "28 november 2026", "€ 1.234,56"), whatever the reader's
language in the browser. The QR code is an SVG data: URI, so rendering fetches nothing.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import segno
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from portal.core import ledger, money, pdf_templates
from portal.core.contributions import describe
from portal.core.spreadsheet import csv_bytes, safe_cell
from portal.core.templating import format_hm, format_hours_unit
from portal.core.urls import site_base

# Documents in English use British conventions (28 November 2026), Dutch ones Dutch.
DATE_LOCALES = {"nl": "nl_NL", "en": "en_GB"}

KIND_LABELS = {kind: ledger.KIND_LABELS[kind] for kind in ledger.CONTRIBUTION_KINDS}
BASIS_LABELS = {
    "employer_cost": _l("the employer's hourly cost"),
    "at_cost": _l("the amount paid"),
    "market_value": _l("market value"),
    "none": _l("not valued"),
}
CLASSIFICATION_LABELS = {
    "gift": _l("Gift"),
    "sponsoring": _l("Sponsoring"),
    "unclassified": _l("Not classified"),
}
METHOD_LABELS = {
    "stripe": _l("Online payment"),
    "bank": _l("Bank transfer"),
    "in_kind": _l("In kind"),
}


@cache
def _locale(language: str) -> Locale:
    """The babel Locale of a document's dates, parsed once per process (issue 19: parsing it again
    for every date was half of building a long statement's HTML)."""
    return Locale.parse(DATE_LOCALES.get(language, "nl_NL"))


def _date(value: str | dt.date, language: str, style: str = "long") -> str:
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, style, locale=_locale(language))


def _hours(minutes: int, language: str) -> str:
    """Minutes as h:mm with the language's thousands separator: 1.234:05 (nl), 1,234:05 (en)."""
    return format_hm(minutes, language)


def claim_describer(snapshot: dict):
    """Words for an SROI claim line: its contribution's line on the statement when there is one
    (put into words now, in the language of the moment), else the words the claim kept."""
    lines = {(line["kind"], line["key"]): line for line in snapshot.get("lines") or ()}

    def words(line: dict) -> str:
        found = lines.get((line.get("kind"), line.get("key")))
        return describe(found) if found is not None else describe(line)

    return words


def period_label(period: dict, language: str) -> str:
    start, end = dt.date.fromisoformat(period["start"]), dt.date.fromisoformat(period["end"])
    if period["kind"] == "calendar_year":
        return str(_l("Calendar year %(year)s", year=start.year))
    if period["kind"] == "school_year":
        return str(_l("School year %(first)s-%(second)s", first=start.year, second=end.year))
    return str(_l("%(start)s to %(end)s", start=_date(start, language), end=_date(end, language)))


def verify_url(number: str, code: str | None = None) -> str:
    return f"{site_base()}/verify/{number}" + (f"?code={code}" if code else "")


def qr_data_uri(text: str) -> str:
    return segno.make(text, error="m").svg_data_uri(scale=4, border=0, dark="#1f2a44", nl=False)


def stylesheet() -> Markup:
    """Our own print CSS, inlined (it is ours: no user text in it)."""
    return pdf_templates.stylesheet("statement.css")


def helpers(language: str) -> dict[str, Any]:
    return {
        "eur": lambda cents: money.format_eur(int(cents), language),
        "number": lambda value: format_decimal(int(value), locale=language),
        "hours": lambda minutes: _hours(minutes, language),
        "hours_unit": lambda minutes: format_hours_unit(minutes, language),
        "describe": describe,
        "long_date": lambda value: _date(value, language, "long"),
        "short_date": lambda value: _date(value, language, "short"),
        "kind_label": lambda kind: KIND_LABELS.get(kind, kind),
        "basis_label": lambda basis: BASIS_LABELS.get(basis, basis),
        "classification_label": lambda name: CLASSIFICATION_LABELS.get(name or "unclassified", name),
        "method_label": lambda method: METHOD_LABELS.get(method, method),
        "stylesheet": stylesheet,
    }


def person_labels(people: list[dict]) -> list[str]:
    """The name of each row of a table per ambassador; two people of one name (snapshot version 3
    keeps them apart) are told apart by a number after it: 'Jan de Vries (1)', 'Jan de Vries (2)'."""
    counts: dict[str, int] = {}
    for row in people:
        counts[row["person"]] = counts.get(row["person"], 0) + 1
    seen: dict[str, int] = {}
    labels = []
    for row in people:
        name = row["person"] or str(_l("(not named)"))
        if counts[row["person"]] > 1 and row.get("person_key"):
            seen[row["person"]] = seen.get(row["person"], 0) + 1
            name = f"{name} ({seen[row['person']]})"
        labels.append(name)
    return labels


def statement_html(snapshot: dict, *, verification_code: str | None = None, draft: bool = False,
                   interim: bool = False) -> str:
    language = snapshot["language"]
    number = None if interim else snapshot.get("number")
    with force_locale(language):
        period = snapshot["period"]
        context = helpers(language) | {
            "s": snapshot,
            "describe_claim": claim_describer(snapshot),
            "t": snapshot["totals"],
            "draft": draft or interim or not number,
            "interim": interim,
            "interim_until": _date(period["end"], language) if interim else "",
            "interim_from": _date(dt.date.fromisoformat(period["end"]) + dt.timedelta(days=1), language)
            if interim else "",
            "person_labels": person_labels,
            "lang": language,
            "period_text": period_label(snapshot["period"], language),
            "code": None if interim else verification_code,
            "code_display": "" if interim else _display(verification_code),
            "verify_url": verify_url(number) if number else "",
            "qr": qr_data_uri(verify_url(number, verification_code)) if number and verification_code and not interim
            else "",
            "created": snapshot["issued_on"],
            "specification_limit": SPECIFICATION_LIMIT,
        }
        return pdf_templates.render("statement.html", context)


def _display(code: str | None) -> str:
    if not code:
        return ""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


# Up to this many session lines are printed in the PDF's specification of hours. A company with a
# hundred ambassadors has thousands of sessions a year: that would be hundreds of pages, so its
# statement prints the totals per ambassador and the specification belongs to it as a CSV file.
SPECIFICATION_LIMIT = 1000


def specification_csv(snapshot: dict) -> bytes:
    """The snapshot's lines as CSV (UTF-8 with BOM, for spreadsheets), text cells made safe: headers,
    kinds and labels in the statement's language, as on its PDF; figures plain (minutes, 1234.56)."""
    lines = sorted(snapshot["lines"], key=lambda line: (line["on"], line["kind"], line.get("person") or ""))
    with force_locale(snapshot.get("language") or "nl"):
        header = [tuple(str(label) for label in (
            _l("Statement"), _l("Date"), _l("Kind"), _l("Ambassador"), _l("Description"), _l("Minutes"),
            _l("Value (EUR)"), _l("Valuation basis"), _l("Type"), _l("Payment"), _l("Gross (EUR)"), _l("Fee (EUR)"),
            _l("Net (EUR)"), _l("Reference")))]

        def label(table: dict, code: str) -> str:
            return str(table[code]) if code in table else code

        rows = [(snapshot.get("number") or "", line["on"], label(KIND_LABELS, line["kind"]),
                 safe_cell(line.get("person")), safe_cell(describe(line)), line.get("minutes") or 0,
                 money.format_plain(int(line.get("value_cents") or 0)), label(BASIS_LABELS, line.get("basis") or ""),
                 label(CLASSIFICATION_LABELS, line.get("classification") or ""),
                 label(METHOD_LABELS, line.get("method") or ""),
                 money.format_plain(int(line.get("gross_cents") or 0)),
                 money.format_plain(int(line.get("fee_cents") or 0)),
                 money.format_plain(int(line.get("net_cents") or 0)), safe_cell(line.get("reference")))
                for line in lines]
    return csv_bytes(header + rows)


def statement_pdf(snapshot: dict, *, verification_code: str | None = None, draft: bool = False,
                  interim: bool = False) -> bytes:
    html = statement_html(snapshot, verification_code=verification_code, draft=draft, interim=interim)
    return pdf_templates.to_pdf(html)


def certificate_html(data: dict) -> str:
    language = data["language"]
    with force_locale(language):
        context = helpers(language) | {"c": data, "lang": language, "created": data["issued_on"]}
        return pdf_templates.render("certificate.html", context)


def certificate_pdf(data: dict) -> bytes:
    return pdf_templates.to_pdf(certificate_html(data))
