"""The public "What does it cost?" page: hours of a whole and a half school year from the school
calendar in the portal, the employer's cost from a calculator that works without JavaScript, the
volunteer allowance and its tax limits (or that they are not known), holidays and start moments.

The expected figures are counted by hand from the seeded 2026-2027 calendar of regio Midden
(../shared/domain.md): 31 August 2026 to 16 July 2027, 41 school weeks (19 + 22)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from portal.enrollment import reference, schools
from portal.enrollment.models import AllowanceCap, Enrolment, SchoolYear


@pytest.fixture(autouse=True)
def seeded(app):
    """The migration seeds the calendar; PostgreSQL test runs truncate it, so seed again."""
    with app.test_request_context():
        reference.seed_reference_data()


@pytest.fixture
def year(app):
    return SchoolYear.get(SchoolYear.name == "2026-2027")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def cells(page: str, period: str) -> list[str]:
    """The cells of one row of the hours table, as text."""
    row = re.search(rf'<tr data-period="{period}">(.*?)</tr>', page, re.S).group(1)
    return [re.sub(r"<[^>]+>|\s+", " ", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


def test_the_hours_come_from_the_school_calendar(client):
    response = client.get("/en/what-does-it-cost")
    assert response.status_code == 200
    page = text(response)
    assert '<html lang="en">' in page and "<h1>What does it cost?</h1>" in page
    # period, from, to, school weeks, school days on one weekday, hours at 6 to 8 hours a week
    assert cells(page, "full") == ["Whole school year", "Aug 31, 2026", "Jul 16, 2027", "41", "39 to 41",
                                   "234 to 328 hours"]
    assert cells(page, "first") == ["First half (from September)", "Aug 31, 2026", "Jan 31, 2027", "19", "19",
                                    "114 to 152 hours"]
    assert cells(page, "second") == ["Second half (from February)", "Feb 1, 2027", "Jul 16, 2027", "22",
                                     "20 to 22", "120 to 176 hours"]
    assert "Autumn holiday" in page and "Oct 17, 2026" in page  # the holidays, from the calendar
    assert "first school day: August 31, 2026" in page and "from February 1, 2027" in page


def test_the_dutch_page_names_the_holidays_in_dutch(client):
    page = text(client.get("/wat-kost-het"))
    assert '<html lang="nl">' in page
    assert "Herfstvakantie" in page and "Tweede Pinksterdag" in page
    assert "Autumn holiday" not in page and "Whit Monday" not in page


def test_the_figures_change_when_the_school_calendar_changes(app, client, leader, year):
    before = text(client.get("/en/what-does-it-cost?weekday=1&hourly_cost=50"))
    assert cells(before, "full")[3:] == ["41", "39 to 41", "234 to 328 hours"]
    assert "€16,400.00" in before  # 41 Tuesdays x 8 hours x €50

    with app.test_request_context():
        schools.add_closure(leader, year, "holiday", "Extra study week", dt.date(2027, 3, 6), dt.date(2027, 3, 14))
    after = text(client.get("/en/what-does-it-cost?weekday=1&hourly_cost=50"))
    assert cells(after, "full")[3:] == ["40", "38 to 40", "228 to 320 hours"]
    assert cells(after, "second")[3:] == ["21", "19 to 21", "114 to 168 hours"]
    assert cells(after, "first")[3:] == ["19", "19", "114 to 152 hours"]  # the first half is untouched
    assert "€16,000.00" in after and "€16,400.00" not in after
    assert "Extra study week" in after

    with app.test_request_context():  # school starts a week later
        schools.save_school_year(leader, {"name": year.name, "starts_on": dt.date(2026, 9, 7),
                                             "ends_on": year.ends_on, "half_starts_on": year.half_starts_on}, year)
    later = text(client.get("/en/what-does-it-cost"))
    assert cells(later, "first")[1:] == ["Sep 7, 2026", "Jan 31, 2027", "18", "18", "108 to 144 hours"]


def test_the_calculator_works_without_javascript_in_either_language(client):
    english = client.get("/en/what-does-it-cost?period=full&weekday=1&hours_per_week=8"
                         "&sponsored_hours_per_week=6&hourly_cost=45,50")
    page = text(english)
    assert english.status_code == 200 and "<script" not in page
    assert 'method="get" action="/en/what-does-it-cost#calculator"' in page
    assert "41 school days on Tuesday from Aug 31, 2026 to Jul 16, 2027" in page
    assert "328 hours at 8 hours a week." in page
    assert "Paid by the employer (sponsored): 246 hours" in page and "Volunteered: 82 hours" in page
    assert 'data-cost-cents="1119300"' in page and "€11,193.00" in page  # 246 x €45.50
    # What was asked stays in the form.
    assert 'value="45,50"' in page and '<option selected value="1">Tuesday</option>' in page

    dutch = text(client.get("/wat-kost-het?period=second&weekday=0&hours_per_week=7,5&hourly_cost=40"))
    assert '<html lang="nl">' in dutch
    assert 'data-cost-cents="600000"' in dutch and "€ 6.000,00" in dutch  # 20 Mondays x 7.5 h x €40
    assert 'href="/en/what-does-it-cost"' in dutch  # the language switch


def test_half_a_year_with_half_hours_is_counted_to_the_cent(client):
    page = text(client.get("/en/what-does-it-cost?period=first&weekday=4&hours_per_week=6:20&hourly_cost=33,33"))
    # 19 Fridays x 6 h 20 min = 120 h 20 min = 7220 minutes; x €33.33 an hour = €4,010.71 (rounded)
    assert "120.33 hours at 6.33 hours a week." in page
    assert 'data-cost-cents="401071"' in page


def test_bad_calculator_input_is_refused_and_kept(client):
    response = client.get("/en/what-does-it-cost?hours_per_week=9&sponsored_hours_per_week=abc&hourly_cost=-5")
    assert response.status_code == 422
    page = text(response)
    assert "An ambassador gives 6 to 8 hours a week." in page
    assert "Enter hours such as 7, 7,5 or 7:30." in page
    assert "The amount cannot be negative." in page
    assert 'value="9"' in page and 'value="abc"' in page and 'value="-5"' in page
    assert 'id="result"' not in page

    more = text(client.get("/en/what-does-it-cost?hours_per_week=6&sponsored_hours_per_week=7"))
    assert "The sponsored hours cannot be more than the hours per week." in more


def test_the_allowance_limits_of_the_years_shown_or_that_they_are_not_known(client, year):
    page = text(client.get("/en/what-does-it-cost"))
    assert "€160.00 a month" in page  # the school year's allowance
    for calendar_year in (2026, 2027):
        row = re.search(rf'<tr data-cap-year="{calendar_year}">(.*?)</tr>', page, re.S).group(1)
        assert "Not known yet" in row
    assert "The limits for 2026, 2027 are not known yet." in page
    assert "2025 (for comparison only)" in page and "€5.60" in page

    AllowanceCap.create(year=2026, per_month_cents=22000, per_year_cents=220000, per_hour_cents=580,
                        per_hour_under_21_cents=340, source="test")
    SchoolYear.update(allowance_monthly_cents=17500).where(SchoolYear.id == year.id).execute()
    page = text(client.get("/en/what-does-it-cost"))
    row = re.search(r'<tr data-cap-year="2026">(.*?)</tr>', page, re.S).group(1)
    assert "€220.00" in row and "€2,200.00" in row and "€5.80" in row and "€3.40" in row
    assert "€175.00 a month" in page
    assert "The limits for 2027 are not known yet." in page
    assert "for comparison only" not in page  # a year of its own is known: no older limits beside it


def test_a_volunteers_allowance_per_hour_is_shown_month_by_month(client):
    page = text(client.get("/en/what-does-it-cost?weekday=1&hours_per_week=6&sponsored_hours_per_week=0"))
    # Tuesdays: 5 in September 2026 (30 h), 2 in July 2027 (12 h); €160 a month.
    assert "comes to between €5.33 and €13.33 per volunteered hour" in page
    assert "In some months that is more than the hourly limit of €5.60 of 2025." in page
    assert "So we cannot promise that the allowance is free of tax for everyone." in page

    # With the limits of 2026 known, each month of 2026 is held against them (2027 stays unknown).
    AllowanceCap.create(year=2026, per_month_cents=21000, per_year_cents=210000, per_hour_cents=600,
                        per_hour_under_21_cents=350, source="test")
    known = text(client.get("/en/what-does-it-cost?weekday=1&hours_per_week=6&sponsored_hours_per_week=0"))
    # Sep-Dec 2026: 30, 18, 24, 18 hours -> €5.33, €8.88, €6.66, €8.88 an hour: three above €6.00
    assert "In 3 months that is more than the hourly limit of their year." in known
    assert known.count("above the limit") == 3 and "of 2025" not in known

    sponsored = text(client.get("/en/what-does-it-cost?weekday=1"))
    assert "per volunteered hour" not in sponsored  # all hours sponsored: no allowance to work out


def test_without_a_school_calendar_the_page_says_so(client):
    assert Enrolment.select().count() == 0
    SchoolYear.delete().execute()
    response = client.get("/wat-kost-het")
    assert response.status_code == 200
    page = text(response)
    assert 'id="result"' not in page and 'data-period="full"' not in page
    assert 'href="/contactformulier?about=employer"' in page
