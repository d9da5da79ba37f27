"""Queries per request do not grow with a company's data: the same count with 10 rows as with 1,000.

(The enrolment pages have their own test in tests/enrollment/test_dashboard.py.)"""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest

from portal.accounts.models import User
from portal.accounts.service import hash_password
from portal.core.db import utcnow
from portal.giving.models import Donation
from tests.querycount import measured_get

# each page, and what shows that the large company's rows are really on it (None: a summary page)
PAGES = {"/dashboard": None, "/giving": "RF", "/giving/export.csv": "RF", "/team": "Colleague 999",
         "/statements": None, "/sroi/": None}


def count(client, path: str):
    found, response = measured_get(client, path)
    return len(found.queries), response.get_data(as_text=True)


def fill(company, rows: int) -> None:
    """`rows` donations (paid and pending, online and by bank) and `rows` colleagues."""
    now, day = utcnow(), dt.date(2026, 10, 1)
    donations = [{"company": company.id, "created_by": company.admin.id, "via": "portal", "donor_name": company.legal_name,
                  "donor_kvk": company.kvk, "donor_email": company.admin.email, "method": "bank" if n % 2 else "stripe",
                  "amount_cents": 1000 + n, "classification": "gift", "status": "paid" if n % 3 else "pending",
                  "form_token": f"{company.id}-{n}", "reference": f"RF{company.id:04d}{n:06d}" if n % 2 else None,
                  "paid_on": day if n % 3 else None, "paid_at": now if n % 3 else None,
                  "created_at": now, "updated_at": now} for n in range(rows)]
    password = hash_password("zeilboot-kaasmarkt-regen-42")
    users = [{"company": company.id, "email": f"user{n}@{company.id}.example.nl", "name": f"Colleague {n}",
              "role": "member", "language": "en", "password_hash": password, "password_changed_at": now,
              "email_confirmed_at": now} for n in range(rows)]
    for start in range(0, rows, 500):
        Donation.insert_many(donations[start:start + 500]).execute()
        User.insert_many(users[start:start + 500]).execute()


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(PAGES))
def test_the_same_number_of_queries_for_10_and_1000_rows(app, make_company, login, path):
    small, large = make_company("Small"), make_company("Large")
    fill(small, 10)
    fill(large, 1000)
    few, _ = count(login(app.test_client(), small.admin), path)
    many, page = count(login(app.test_client(), large.admin), path)
    assert few == many, (path, few, many)
    if PAGES[path]:
        assert PAGES[path] in page


# --- giving and enrolment: the same queries whatever a company's past years hold -----------------

HISTORY_PAGES = ("/giving", "/giving/export.csv", "/dashboard", "/ambassadors")
HISTORY_TODAY = dt.date(2026, 11, 28)


class Statements(logging.Handler):
    """The SQL of each query, without its parameters: an IN list that grows with the data shows."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple) and record.msg and isinstance(record.msg[0], str):
            self.sql.append(record.msg[0])


def statements(client, path: str) -> tuple[list[str], str]:
    found, response = measured_get(client, path, Statements())
    return found.sql, response.get_data(as_text=True)


def past_school_years() -> list:
    from portal.enrollment.models import SchoolYear

    return [SchoolYear.get_or_create(name=f"{first}-{first + 1}", defaults={
        "starts_on": dt.date(first, 8, 31), "ends_on": dt.date(first + 1, 7, 16),
        "half_starts_on": dt.date(first + 1, 2, 1)})[0] for first in (2024, 2025)]


def fill_history(company, rows: int, school) -> None:
    """`rows` paid donations (some refunded, some disputed), `rows` hours rows and rows/10 materials,
    all in past years; and the same small current year for every company. Bulk inserts, then the
    ledger is posted from them (`ledger.rebuild`, as the demo does)."""
    from portal.enrollment.calendar import split_minutes, value_cents
    from portal.enrollment.models import Enrolment, HoursEntry, SchoolYear
    from portal.giving.models import Dispute, MaterialPledge, Refund

    now, key = utcnow(), company.id
    current = SchoolYear.get(SchoolYear.name == "2026-2027")
    common = {"company": key, "created_by": company.admin.id, "via": "portal", "donor_name": company.legal_name,
              "donor_kvk": company.kvk, "donor_email": company.admin.email, "classification": "gift"}

    def donation(n: int, paid_on: dt.date | None, method: str) -> dict:
        moment = dt.datetime.combine(paid_on or HISTORY_TODAY, dt.time(10))
        return {**common, "method": method, "amount_cents": 1000 + n, "status": "paid" if paid_on else "pending",
                "form_token": f"history-{key}-{n}", "reference": f"RF{key:04d}{n:07d}" if method == "bank" else None,
                "stripe_payment_intent_id": f"pi_history_{key}_{n}" if method == "stripe" else None,
                "paid_on": paid_on, "paid_at": moment if paid_on else None, "created_at": moment, "updated_at": now}

    past = [donation(n, dt.date(2022 + n % 4, 1 + n % 12, 1 + n % 28), "stripe" if n % 2 else "bank")
            for n in range(rows)]
    past += [donation(rows, HISTORY_TODAY - dt.timedelta(days=30), "bank"), donation(rows + 1, None, "bank")]
    for start in range(0, len(past), 500):
        Donation.insert_many(past[start:start + 500]).execute()
    stripe = list(Donation.select(Donation.id, Donation.paid_on).where(
        (Donation.company == key) & (Donation.method == "stripe")).order_by(Donation.id).tuples())
    refunds = [{"donation": donation_id, "stripe_refund_id": f"re_{donation_id}", "amount_cents": 100,
                "status": "succeeded", "succeeded_on": paid_on + dt.timedelta(days=7)}
               for donation_id, paid_on in stripe[::5]]
    if refunds:
        Refund.insert_many(refunds).execute()
    disputes = [{"donation": donation_id, "stripe_dispute_id": f"dp_{donation_id}", "amount_cents": 500,
                 "status": "lost", "withdrawn_cents": 500, "withdrawn_fee_cents": 1500,
                 "withdrawn_on": paid_on + dt.timedelta(days=10)} for donation_id, paid_on in stripe[3::7]]
    if disputes:
        Dispute.insert_many(disputes).execute()
    pledges = [{"company": key, "description": f"Books {n}", "quantity": 1, "declared_value_cents": 5000,
                "classification": "gift", "status": "confirmed", "delivered_on": dt.date(2023 + n % 3, 3, 1),
                "confirmed_value_cents": 4000, "confirmed_on": dt.date(2023 + n % 3, 3, 2),
                "form_token": f"history-pledge-{key}-{n}", "created_at": now, "updated_at": now}
               for n in range(max(rows // 10, 1))]
    MaterialPledge.insert_many(pledges).execute()

    years = past_school_years()
    placements = [(years[n % 2], n) for n in range(max(rows // 10, 1))] + [(current, "now")]
    for year, n in placements:
        enrolment = Enrolment.create(
            company=key, employee_name=f"Past {n}" if n != "now" else "Current ambassador",
            employee_email=f"e{n}@{key}.example.nl", job_title="x", role_type="class", school_year=year.id,
            start_half="first", duration="full", starts_on=year.starts_on, ends_on=year.ends_on, weekday=1,
            minutes_per_week=480, funding="mixed", sponsored_minutes_per_week=240, hourly_cost_cents=5000,
            vog_status="received", vog_received_on=year.starts_on, school=school.id,
            status="active" if n == "now" else "completed")
        sponsored, volunteered = split_minutes(480, 480, 240)
        count = 3 if n == "now" else 10
        HoursEntry.insert_many([{
            "enrolment": enrolment.id, "company": key, "worked_on": year.starts_on + dt.timedelta(days=1 + 7 * week),
            "kind": "planned", "status": "confirmed", "minutes": 480, "sponsored_minutes": sponsored,
            "volunteered_minutes": volunteered, "dedupe_key": f"h:{enrolment.id}:{week}", "hourly_cost_cents": 5000,
            "value_cents": value_cents(sponsored, 5000), "created_at": now} for week in range(count)]).execute()


@pytest.fixture
def history_today(monkeypatch):
    from portal.core import clock

    monkeypatch.setattr(clock, "today", lambda: HISTORY_TODAY)
    return HISTORY_TODAY


@pytest.mark.slow
def test_pages_read_one_year_whatever_the_history(app, make_company, login, leader, history_today):
    from portal.core import ledger
    from portal.enrollment import reference, schools

    with app.test_request_context():
        reference.seed_reference_data()
        school = schools.save_school(leader, {"name": "OBS De Klimop", "brin": "12KL", "street": "Zamenhofdreef 2",
                                                 "postcode": "3562 JT", "city": "Utrecht", "coordinator_name": "Ic",
                                                 "coordinator_email": "ic@klimop.nl"})
    small, large = make_company("Small"), make_company("Large")
    fill_history(small, 10, school)
    fill_history(large, 1000, school)
    ledger.rebuild()
    assert ledger.check() == []
    this_year = Donation.get(Donation.form_token == f"history-{large.id}-1000")
    few_client, many_client = login(app.test_client(), small.admin), login(app.test_client(), large.admin)
    for path in HISTORY_PAGES:
        few, _ = statements(few_client, path)
        many, page = statements(many_client, path)
        assert len(few) == len(many), (path, len(few), len(many))
        assert few == many, path  # the same statements: no IN list grows with the history
        if path == "/ambassadors":
            assert "Current ambassador" in page and "Past 99" not in page
        if path.startswith("/giving"):  # this year's donation, not those of past years
            assert this_year.number in page and f"G-{this_year.id - 1:06d}" not in page


@pytest.mark.slow
def test_the_leader_panels_count_in_sql_whatever_the_history(app, make_company, leader, history_today):
    """/leader's giving and enrolment panels: the same few COUNT queries for 10 rows as for 1,000."""
    from portal.enrollment import dashboard, reference, schools
    from portal.giving import service as giving

    def panels() -> list[str]:
        logger, handler = logging.getLogger("peewee"), Statements()
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        try:
            counts, figures = giving.leader_counts(), dashboard.leader_figures()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
        assert counts["requests"] >= 1 and figures.counts["completed"] >= 1
        return handler.sql

    with app.test_request_context():
        reference.seed_reference_data()
        school = schools.save_school(leader, {"name": "OBS De Klimop", "brin": "12KL", "street": "Zamenhofdreef 2",
                                                 "postcode": "3562 JT", "city": "Utrecht", "coordinator_name": "Ic",
                                                 "coordinator_email": "ic@klimop.nl"})
    fill_history(make_company("Small"), 10, school)
    few = panels()
    fill_history(make_company("Large"), 1000, school)
    many = panels()
    assert few == many and len(few) == 7, many
    assert all(re.search(r"\b(COUNT|SUM)\(", sql) for sql in many), many
