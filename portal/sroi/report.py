"""The SROI report of one commitment: HTML from invoices/sroi_report.html, PDF through core/pdf.

The report is in the company's language, whatever the reader's browser says: amounts and
dates are formatted for that language, and every text goes through gettext under
`force_locale`. It shows the commitment, each allocated contribution with how it was valued,
the totals by kind and the three amounts, and says plainly that the contracting authority
decides what counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.dates import format_date
from flask import current_app
from flask_babel import force_locale
from markupsafe import Markup

from portal.core import clock, money, pdf_templates
from portal.sroi import service
from portal.sroi.models import HOUR_KINDS

DATE_LOCALES = {"nl": "nl_NL", "en": "en_GB"}


def stylesheet() -> Markup:
    """Our own print CSS, inlined (our file: no user text in it)."""
    return pdf_templates.stylesheet("sroi.css")


def _hours(minutes: int, language: str) -> str:
    hours, rest = divmod(abs(int(minutes)), 60)
    grouped = f"{hours:,}".replace(",", "." if language == "nl" else ",")
    return f"{'-' if minutes < 0 else ''}{grouped}:{rest:02d}"


def report_context(commitment, company, language: str, today: dt.date) -> dict[str, Any]:
    summary = service.summary(commitment, today=today)
    eur = lambda cents: money.format_eur(int(cents), language)  # noqa: E731
    hours = lambda minutes: _hours(minutes, language)  # noqa: E731

    def amount(kind: str, value: int) -> str:
        return hours(value) + " h" if kind in HOUR_KINDS else eur(value)

    def valued_at(kind: str) -> str:
        if kind in HOUR_KINDS:
            return service.hours_basis_label(commitment, language)
        return str(service.VALUED_AT[kind])

    return {
        "c": commitment,
        "company": company,
        "summary": summary,
        "lang": language,
        "today": today,
        "issuer": current_app.config.get("ISSUER_NAME", ""),
        "issuer_address": current_app.config.get("ISSUER_ADDRESS", ""),
        "eur": eur,
        "hours": hours,
        "amount": amount,
        "valued_at": valued_at,
        "percent": lambda bp: service.format_percentage(bp, language),
        "long_date": lambda day: format_date(day, "long", locale=DATE_LOCALES.get(language, "nl_NL")),
        "short_date": lambda day: format_date(day, "short", locale=DATE_LOCALES.get(language, "nl_NL")),
        "kind_label": lambda kind: str(service.KIND_LABELS.get(kind, kind)),
        "base_type_label": lambda code: str(service.BASE_TYPE_LABELS.get(code, code)),
        "rules_label": service.template_label(commitment.rules_template, commitment.rules_name),
        "exceeds_label": lambda code: str(service.EXCEEDS_LABELS.get(code, code)),
        "stylesheet": stylesheet,
    }


def report_html(commitment, company, today: dt.date | None = None) -> str:
    """The report as HTML, in the company's language."""
    language = company.language if company.language in DATE_LOCALES else "nl"
    with force_locale(language):
        context = report_context(commitment, company, language, today or clock.today())
        return pdf_templates.render("sroi_report.html", context)


def render_pdf(commitment, company, today: dt.date | None = None) -> bytes:
    """The report as PDF bytes (rendered by core/pdf, which fetches nothing from outside)."""
    return pdf_templates.to_pdf(report_html(commitment, company, today))
