# ruff: noqa: F811  (pytest fixtures imported from statements are named again as test parameters)
"""A finance auditor's round on contribution statements (issue 14): a numbered statement is issued
only for a period that is over, so that no contribution can still be added to what it certifies.
A test marked xfail(strict=True) is a finding."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.statements import periods, service
from portal.statements.models import Statement, StatementCounter
from tests.statements.conftest import ledger, no_sroi  # noqa: F401

D = dt.date


@pytest.fixture
def company(make_company, ledger, no_sroi):
    company = make_company("Lopend", language="en", member=True)
    ledger.money(company, D(2026, 10, 1), 125_000)                      # EUR 1,250.00 by bank
    return company


def numbers_used() -> int:
    return sum(c.last_number for c in StatementCounter.select())


def test_a_calendar_year_is_refused_on_its_last_day_and_issued_the_day_after(app, company):
    with pytest.raises(service.PeriodNotEnded):
        service.issue(company, periods.calendar_year(2026), company.admin, today=D(2026, 12, 31))
    assert numbers_used() == 0 and not Statement.select().exists()
    statement = service.issue(company, periods.calendar_year(2026), company.admin, today=D(2027, 1, 1))
    assert statement.number == "OA-2027-0001"


def test_a_custom_range_that_has_not_ended_gets_no_number(app, company):
    with pytest.raises(service.PeriodNotEnded):
        service.issue(company, periods.custom(D(2026, 1, 1), D(2026, 12, 31)), company.admin, today=D(2026, 12, 2))
    assert numbers_used() == 0 and not Statement.select().exists()


def test_an_interim_overview_of_a_running_year_uses_no_number(app, company):
    snapshot, pdf = service.preview(company, periods.calendar_year(2026), today=D(2026, 12, 2))
    assert snapshot["interim"] is True and pdf.startswith(b"%PDF")
    assert snapshot["totals"]["money"]["gross_cents"] == 125_000
    assert numbers_used() == 0 and not Statement.select().exists()
