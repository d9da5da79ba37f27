"""The SROI report: HTML in the company's language, and the PDF parsed back with pypdf."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.sroi import report, service
from tests.pdftext import assert_in_pdf, pdf_text

TODAY = dt.date(2026, 11, 1)


@pytest.fixture
def reported(app, make_company, ledger, make_commitment, request_context, letter, leader):
    """A commitment with hours, money and materials allocated and one corrected approval."""

    def build(language: str):
        company = make_company("Bouw", language=language)
        commitment = make_commitment(company.admin, base_cents=123_456_790, cap_cents=None,
                                     rules={"max_minutes_per_person": 10 * 60})          # 5 % -> 61,728.40 (half up)
        hours = ledger.hours(company, 12 * 60, person="Anna de Vries", on=dt.date(2026, 9, 7))
        money = ledger.money(company, 1_234_56, on=dt.date(2026, 9, 20))
        laptops = ledger.material(company, 899_99, on=dt.date(2026, 10, 2))
        service.set_allocation(company.admin, commitment.id, hours.key, 12 * 60)            # 10 h count (cap)
        service.set_allocation(company.admin, commitment.id, money.key, 1_000_00)
        service.set_allocation(company.admin, commitment.id, laptops.key, 899_99)
        first = service.record_approval(company.admin, commitment.id, 1_500_00, dt.date(2026, 10, 15), "SR-88",
                                        evidence=letter)
        corrected = service.correct_approval(company.admin, commitment.id, first.id, 1_400_00, dt.date(2026, 10, 15),
                                             "SR-88b", "", "Adviser lowered the amount")
        service.confirm_approval(leader, corrected.id)       # the project leader checked the letter
        return company, commitment

    return build


def said(language: str, text: str) -> str:
    """An interface text as the catalogue gives it in `language` (tests/test_translations.py checks
    that every text has its Dutch)."""
    from flask_babel import force_locale, gettext

    with force_locale(language):
        return gettext(text)


def expected_figures(language: str) -> list[str]:
    money = {"en": ["€61,728.40", "€1,000.00", "€899.99", "€2,899.99", "€1,400.00", "€60,328.40"],
             "nl": ["€ 61.728,40", "€ 1.000,00", "€ 899,99", "€ 2.899,99", "€ 1.400,00", "€ 60.328,40"]}
    return money[language]


@pytest.mark.parametrize("language", ["en", "nl"])
def test_report_html_has_every_figure_in_the_companys_language(reported, language):
    company, commitment = reported(language)
    html = report.report_html(commitment, company, TODAY)
    for figure in expected_figures(language):
        assert figure in html, figure
    assert f'<html lang="{language}">' in html
    assert ("1 November 2026" if language == "en" else "1 november 2026") in html
    assert "12:00 h" in html and "10:00 h" in html                 # allocated, and what counts under the cap
    assert said(language, "Approval rests with the contracting authority.") in html
    assert "SR-88b" in html and "Adviser lowered the amount" in html
    assert "SR-88<" not in html                                     # the corrected approval is not counted


def test_report_escapes_what_users_typed(app, make_company, make_commitment, request_context):
    company = make_company("Bouw")
    commitment = make_commitment(company.admin, authority="<script>alert(1)</script> Gemeente")
    html = report.report_html(commitment, company, TODAY)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("language", ["en", "nl"])
def test_report_pdf_parsed_back(reported, language):
    company, commitment = reported(language)
    text = pdf_text(report.render_pdf(commitment, company, TODAY))
    for figure in expected_figures(language):
        assert_in_pdf(figure, text)
    for value in (said(language, "Approval rests with the contracting authority."), "Gemeente Utrecht", "UTR-2026-001",
                  "Anna de Vries", *(said(language, label) for label in ("Sponsored hours", "Money", "Materials"))):
        assert_in_pdf(value, text)


def test_report_pdf_over_http_and_for_the_leader(reported, client, login, leader_client):
    company, commitment = reported("en")
    login(client, company.admin)
    response = client.get(f"/sroi/{commitment.id}/report.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert_in_pdf("€61,728.40", response.data)
    response = leader_client.get(f"/sroi/leader/{commitment.id}/report.pdf")
    assert response.status_code == 200
    assert_in_pdf("€61,728.40", response.data)                     # the company's language, not the leader's
