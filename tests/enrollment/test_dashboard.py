"""The HR dashboard: per-status counts, planned versus confirmed hours, sponsored value, to-dos
and a server-rendered SVG chart; the same number of queries for 10 and 1,000 ambassadors."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.enrollment.conftest import TODAY


def bulk_ambassadors(company, count: int, school, leader) -> None:
    """`count` active ambassadors with a register each (insert_many, like the demo)."""
    from portal.core.db import utcnow
    from portal.enrollment import reference
    from portal.enrollment.calendar import split_minutes, value_cents
    from portal.enrollment.models import Enrolment, HoursEntry, SchoolYear

    year = SchoolYear.get(SchoolYear.name == "2026-2027")
    now = utcnow()
    rows = [{
        "company": company.id, "employee_name": f"Person {n}", "employee_email": f"p{n}@bulk.nl", "job_title": "x",
        "role_type": "class", "school_year": year.id, "start_half": "first", "duration": "full",
        "starts_on": year.starts_on, "ends_on": year.ends_on, "weekday": n % 5, "minutes_per_week": 480,
        "funding": ("sponsored", "volunteer", "mixed")[n % 3], "sponsored_minutes_per_week": (480, 0, 240)[n % 3],
        "hourly_cost_cents": 5000, "vog_status": "received", "vog_received_on": dt.date(2026, 8, 1),
        "status": ("active", "active", "matched", "submitted", "withdrawn")[n % 5],
        "withdrawn_reason": "x" if n % 5 == 4 else "", "school": school.id, "group_name": "5b", "teacher_name": "juf",
        "status_changed_at": now, "created_at": now, "updated_at": now,
    } for n in range(count)]
    for start in range(0, len(rows), 500):
        Enrolment.insert_many(rows[start:start + 500]).execute()
    calendars = reference.Calendars([year])
    entries = []
    for enrolment in Enrolment.select().where(Enrolment.company == company.id):
        for index, day in enumerate(calendars.sessions(enrolment)[:12]):
            status = ("confirmed", "confirmed", "reported", "planned")[index % 4]
            sponsored, volunteered = split_minutes(480, 480, enrolment.sponsored_minutes_per_week)
            entries.append({"enrolment": enrolment.id, "company": company.id, "worked_on": day, "kind": "planned",
                            "status": status, "minutes": 480, "sponsored_minutes": sponsored,
                            "volunteered_minutes": volunteered, "dedupe_key": f"p:{enrolment.id}:{day}",
                            "hourly_cost_cents": 5000 if status == "confirmed" else None,
                            "value_cents": value_cents(sponsored, 5000) if status == "confirmed" else 0,
                            "created_at": now})
    for start in range(0, len(entries), 500):
        HoursEntry.insert_many(entries[start:start + 500]).execute()


def _queries(client, count_queries, path):
    client.get(path)  # warm up: caches, login-session touch
    with count_queries() as counter:
        response = client.get(path)
    assert response.status_code == 200
    return len(counter.queries), response


@pytest.mark.slow
def test_the_same_number_of_queries_for_10_and_1000_ambassadors(app, make_company, login, school, leader, count_queries, today):
    small, large = make_company("Small"), make_company("Large")
    bulk_ambassadors(small, 10, school, leader)
    bulk_ambassadors(large, 1000, school, leader)
    small_client = login(app.test_client(), small.admin)
    large_client = login(app.test_client(), large.admin)
    for path in ("/dashboard", "/ambassadors"):
        few, _ = _queries(small_client, count_queries, path)
        many, response = _queries(large_client, count_queries, path)
        assert few == many, (path, few, many)
        assert few < 25
    assert b"Person 999" in response.data


def test_the_panel_shows_counts_hours_value_todos_and_an_svg_chart(hr, enrol, leader, school, today):
    from portal.enrollment import hours

    active = enrol(hr, status="active", leader=leader, school=school, employee_name="Anna Active")
    enrol(hr, employee_name="Sam Submitted", vog_status="not_requested", vog_date="")
    past = [e for e in hours.register(active) if e.worked_on <= TODAY]
    hours.report_sessions(active, [hours.SessionReport(e.id, True, 480) for e in past], actor=hr.admin, via="hr")
    hours.decide_entries([e.id for e in past[:5]], leader, approve=True)

    page = hr.client.get("/dashboard").get_data(as_text=True)
    assert "Ambassadors" in page
    svg = re.search(r"<svg[^>]*>.*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and "<title" in svg and "<script" not in svg and "style=" not in svg
    assert "Hours per month, school year 2026-2027" in svg
    # Five confirmed Tuesdays of 8 hours at EUR 50: EUR 2,000.00 sponsored value, with its basis.
    assert "€2,000.00" in page and "employer cost" in page
    assert "40" in page  # confirmed hours
    assert "Sam Submitted" in page and "VOG not requested yet" in page


def test_the_overview_lists_planned_and_confirmed_hours_per_employee(hr, enrol, leader, school, today):
    from portal.enrollment import dashboard, hours

    active = enrol(hr, status="active", leader=leader, school=school)
    past = [e for e in hours.register(active) if e.worked_on <= TODAY]
    hours.report_sessions(active, [hours.SessionReport(e.id, True, 480) for e in past], actor=hr.admin, via="hr")
    hours.decide_entries([e.id for e in past[:2]], leader, approve=True)
    data = dashboard.company_overview(hr.id, today=TODAY)
    (line,) = data.lines
    assert line.planned_minutes == 41 * 480
    assert line.confirmed_minutes == 2 * 480 and line.reported_minutes == (len(past) - 2) * 480
    assert data.value_cents == 2 * 40000
    september = next(m for m in data.months if m[0] == dt.date(2026, 9, 1))
    assert september[1] == 5 * 480  # five Tuesdays planned in September
    assert sum(m[3] for m in data.months) == 2 * 480
    page = hr.client.get("/ambassadors").get_data(as_text=True)
    assert "The chart as a table" in page and "Planned and confirmed hours per employee" in page


def _figures(overview):
    """What the dashboard's card shows: its figures, its chart, HR's first eight to-dos and the first
    five steps that wait for someone else, with their counts."""
    def listed(todos):
        return [(t.enrolment.id, t.kind, t.text, t.urgent, t.who) for t in todos]

    return (dict(overview.counts), overview.unvalued, overview.value_cents, overview.planned_minutes,
            overview.confirmed_minutes, overview.confirmed_sponsored_minutes, overview.confirmed_volunteered_minutes,
            overview.months, overview.my_todo_count, listed(overview.my_todos[:8]), overview.waiting_count,
            listed(overview.waiting[:5]))


def test_the_dashboard_card_agrees_with_the_overview_it_summarises(app, hr, enrol, leader, school, today):
    """The card reads only the placements with a to-do and sums the rest in SQL; what it shows is
    what the overview, line by line, shows for the current year."""
    from portal.enrollment import card, dashboard, hours, service
    from portal.enrollment.models import HoursEntry

    bulk_ambassadors(hr, 40, school, leader)            # active, matched past their start, submitted, withdrawn
    enrol(hr, employee_name="Nina Nog", vog_status="not_requested", vog_date="")
    enrol(hr, employee_name="Rik Refused", vog_status="refused", vog_date="")
    gone = enrol(hr, employee_name="Wim Withdrawn", vog_status="not_requested", vog_date="")
    service.move(gone, "withdrawn", hr.admin, reason="Changed jobs")   # no VOG to ask for any more
    later = enrol(hr, employee_name="Vera Later", vog_status="requested", vog_date="2026-11-01", start="2027-02",
                  duration="half", status="matched", leader=leader, school=school)
    late = enrol(hr, employee_name="Bo Busy", status="active", leader=leader, school=school)
    done = enrol(hr, employee_name="Cas Completed", status="completed", leader=leader, school=school)
    past = [e for e in hours.register(late) if e.worked_on <= TODAY]
    hours.report_sessions(late, [hours.SessionReport(e.id, True, 480) for e in past], actor=hr.admin, via="hr")
    hours.decide_entries([past[0].id], leader, approve=True)
    hours.decide_entries([past[1].id, past[2].id], leader, approve=False, reason="Not that day")
    assert HoursEntry.select().where((HoursEntry.enrolment == done.id) & (HoursEntry.status == "planned")).count()

    panel, overview = card.company_panel(hr.id, today=TODAY), dashboard.company_overview(hr.id, today=TODAY)
    assert panel.lines == [] and len(overview.lines) == 46
    assert all(todo.enrolment.id != gone.id for todo in panel.todos)
    assert _figures(panel) == _figures(overview)
    kinds = {(t.enrolment.employee_name, t.kind) for t in overview.todos}
    assert {("Nina Nog", "vog"), ("Rik Refused", "vog"), ("Bo Busy", "hours"), ("Cas Completed", "hours")} <= kinds
    assert ("Vera Later", "vog") not in kinds    # her VOG is asked for and her start is months away
    assert {"documents", "start", "hours", "vog"} <= {kind for _name, kind in kinds}
    assert next(t for t in panel.todos if t.enrolment.employee_name == "Bo Busy").urgent   # two rejected
    # The card reads the first to-dos of each kind, not all: the rest it counts.
    assert len(panel.my_todos) < panel.my_todo_count == len(overview.my_todos)
    assert len(panel.waiting) < panel.waiting_count == len(overview.waiting)
    page = hr.client.get("/dashboard").get_data(as_text=True)
    assert f"All {len(overview.my_todos)} to-dos" in page and "Nina Nog" in page
    # A week before her start, the VOG she still lacks is urgent, on both.
    week_before = later.starts_on - dt.timedelta(days=7)
    panel, overview = card.company_panel(hr.id, today=week_before), dashboard.company_overview(hr.id, today=week_before)
    assert _figures(panel) == _figures(overview)
    assert any(t.enrolment.id == later.id and t.kind == "vog" and t.urgent for t in panel.todos)


def test_a_company_without_ambassadors_is_invited_to_enrol(hr):
    page = hr.client.get("/dashboard").get_data(as_text=True)
    assert "You have not enrolled any employees" in page and "/ambassadors/new" in page


def test_the_leader_panel_counts_everything(hr, enrol, leader, leader_client, school):
    enrol(hr, vog_status="not_requested", vog_date="")
    page = leader_client.get("/leader").get_data(as_text=True)
    assert "sessions await your confirmation" in page and "Submitted: 1" in page
    assert leader_client.get("/leader/ambassadors").status_code == 200


def test_the_chart_escapes_its_text():
    from portal.enrollment.chart import hours_chart

    svg = str(hours_chart([(dt.date(2026, 9, 1), 600, 60, 120)], title="<script>x</script>",
                          labels={"planned": "<b>", "confirmed": "c", "awaiting": "a"},
                          month_names=["<i>"] * 12, language="en"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "<b>" not in svg and "<i>" not in svg


@pytest.mark.parametrize(("minutes", "nl", "en"), [
    (0, "0", "0"), (480, "8", "8"), (450, "7,5", "7.5"), (435, "7,25", "7.25"), (400, "6,67", "6.67"),
    (-480, "-8", "-8"), (60 * 1234 + 15, "1.234,25", "1,234.25"), (1, "0,02", "0.02"),
])
def test_hours_are_written_for_people(minutes, nl, en):
    from portal.enrollment.views import format_hours

    assert format_hours(minutes, "nl") == nl
    assert format_hours(minutes, "en") == en
