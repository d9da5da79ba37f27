"""Calendar arithmetic on the seeded 2026-2027 calendar of regio Midden (domain.md).

domain.md: school from Mon 31 Aug 2026 to Fri 16 Jul 2027; 41 school weeks with the
official one-week May holiday, 40 with the common two-week one; 19 weeks before
1 February and 21-22 after; a full year at 6-8 h/week is about 240-328 hours and a half
year about 114-176 hours.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.enrollment.calendar import (
    Calendar,
    expected_sessions,
    month_start,
    months_between,
    placement_period,
    split_minutes,
    value_cents,
)

MON, TUE, WED, THU, FRI = range(5)
TWO_WEEK_MAY = (dt.date(2027, 5, 3), dt.date(2027, 5, 9))


@pytest.fixture
def calendar(year):
    from portal.enrollment import reference

    return reference.calendar_for(year)


@pytest.fixture
def calendar_two_week_may(calendar):
    return Calendar.build(calendar.starts_on, calendar.ends_on, calendar.half_starts_on,
                          holidays=calendar.holidays + (TWO_WEEK_MAY,), days_off=calendar.days_off)


def test_the_seeded_year_runs_from_31_august_2026_to_16_july_2027(calendar):
    assert calendar.starts_on == dt.date(2026, 8, 31) and calendar.starts_on.weekday() == MON
    assert calendar.ends_on == dt.date(2027, 7, 16) and calendar.ends_on.weekday() == FRI
    assert calendar.half_starts_on == dt.date(2027, 2, 1)


def test_school_weeks_41_with_the_official_may_holiday_and_40_with_two_weeks(calendar, calendar_two_week_may):
    assert calendar.school_weeks() == 41
    assert calendar_two_week_may.school_weeks() == 40


def test_19_weeks_before_february_and_22_or_21_after(calendar, calendar_two_week_may):
    assert calendar.school_weeks(*calendar.half_period("first")) == 19
    assert calendar.school_weeks(*calendar.half_period("second")) == 22
    assert calendar_two_week_may.school_weeks(*calendar_two_week_may.half_period("second")) == 21


def test_holidays_and_public_days_off_are_never_sessions(calendar):
    days = set(calendar.school_days())
    for closed in (dt.date(2026, 10, 19), dt.date(2026, 12, 25), dt.date(2027, 1, 1), dt.date(2027, 2, 22),
                   dt.date(2027, 3, 26), dt.date(2027, 3, 29), dt.date(2027, 4, 27), dt.date(2027, 5, 5),
                   dt.date(2027, 5, 6), dt.date(2027, 5, 17), dt.date(2027, 7, 19)):
        assert closed not in days, closed
    assert dt.date(2027, 1, 4) in days  # back after Christmas
    assert dt.date(2027, 7, 16) in days  # the last school day


def test_sessions_per_weekday(calendar, calendar_two_week_may):
    # Two-week May holiday: domain research gives Mon 38, Tue 40, Wed 40, Thu 40, Fri 39.
    assert [len(calendar_two_week_may.sessions(d, calendar.starts_on, calendar.ends_on)) for d in range(5)] == [38, 40, 40, 40, 39]
    # Official one-week May holiday: 41 weeks minus each weekday's public days off
    # (Mon: Easter Monday, Whit Monday; Wed: Liberation Day; Thu: Ascension; Fri: Good Friday).
    assert [len(calendar.sessions(d, calendar.starts_on, calendar.ends_on)) for d in range(5)] == [39, 41, 40, 40, 40]


@pytest.mark.parametrize(("weekday", "minutes", "hours"), [(TUE, 480, 328), (TUE, 360, 246), (THU, 360, 240), (MON, 480, 312)])
def test_expected_hours_of_a_whole_year(calendar, weekday, minutes, hours):
    start, end = placement_period(calendar, "first", "full")
    sessions = expected_sessions(calendar, weekday, start, end)
    assert len(sessions) * minutes == hours * 60
    assert 230 <= hours <= 328  # domain.md: about 240-328 hours


@pytest.mark.parametrize(("half", "weekday", "minutes", "hours"), [
    ("first", TUE, 360, 114), ("first", TUE, 480, 152), ("second", TUE, 480, 176), ("second", FRI, 360, 126),
])
def test_expected_hours_of_a_half_year(calendar, half, weekday, minutes, hours):
    start, end = placement_period(calendar, half, "half")
    assert len(expected_sessions(calendar, weekday, start, end)) * minutes == hours * 60
    assert 114 <= hours <= 176  # domain.md: about 114-176 hours


def test_half_years_split_at_1_february(calendar):
    assert placement_period(calendar, "first", "half") == (dt.date(2026, 8, 31), dt.date(2027, 1, 31))
    assert placement_period(calendar, "second", "half") == (dt.date(2027, 2, 1), dt.date(2027, 7, 16))


def test_a_whole_year_from_february_would_cross_the_school_year(calendar):
    with pytest.raises(ValueError):
        placement_period(calendar, "second", "full")


def test_a_thematic_series_is_three_lessons(calendar):
    sessions = expected_sessions(calendar, WED, dt.date(2026, 10, 12), calendar.ends_on, "thematic")
    assert sessions == [dt.date(2026, 10, 14), dt.date(2026, 10, 28), dt.date(2026, 11, 4)]  # autumn holiday skipped


def test_a_school_of_its_own_gets_its_own_days_off(year, school, leader):
    from portal.enrollment import reference, schools

    schools.add_closure(leader, year, "day_off", "Studiedag", dt.date(2026, 11, 24), dt.date(2026, 11, 24), school)
    regional = reference.calendar_for(year)
    own = reference.calendar_for(year, school)
    assert regional.is_school_day(dt.date(2026, 11, 24))
    assert not own.is_school_day(dt.date(2026, 11, 24))


@given(minutes=st.integers(-720, 720), week=st.integers(360, 480), share=st.integers(0, 1000))
def test_split_always_adds_up_and_never_credits_the_employer_too_much(minutes, week, share):
    sponsored_per_week = share * week // 1000
    sponsored, volunteered = split_minutes(minutes, week, sponsored_per_week)
    assert sponsored + volunteered == minutes
    assert abs(sponsored) * week <= abs(minutes) * sponsored_per_week
    assert split_minutes(-minutes, week, sponsored_per_week) == (-sponsored, -volunteered)


def test_split_by_funding_model():
    assert split_minutes(480, 480, 480) == (480, 0)
    assert split_minutes(480, 480, 0) == (0, 480)
    assert split_minutes(420, 420, 240) == (240, 180)
    assert split_minutes(450, 420, 240) == (257, 193)


def test_value_is_rounded_to_the_cent_and_symmetric_for_reversals():
    assert value_cents(480, 5000) == 40000
    assert value_cents(1, 5000) == 83  # 83.33 cents
    assert value_cents(1, 5010) == 84  # 83.5 rounds up
    assert value_cents(-1, 5010) == -84
    assert value_cents(480, None) == 0


def test_months_between():
    assert months_between(dt.date(2026, 11, 15), dt.date(2027, 2, 1)) == [
        dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1), dt.date(2027, 2, 1)]
    assert month_start(dt.date(2027, 3, 31)) == dt.date(2027, 3, 1)
