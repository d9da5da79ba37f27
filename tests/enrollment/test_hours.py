"""The hours register: report, add, confirm or reject in bulk, correct only by reversal."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.enrollment.conftest import TODAY


@pytest.fixture
def placement(hr, enrol, leader, school, today):
    """Active, mixed funding: 8 hours a week on Tuesdays of which 6 sponsored at EUR 50."""
    return enrol(hr, status="active", leader=leader, school=school, employee_email="sanne@acme.nl",
                 funding="mixed", sponsored_hours_per_week="6")


def _past(enrolment, count=3):
    from portal.enrollment import hours

    return [e for e in hours.register(enrolment) if e.worked_on <= TODAY][:count]


def _row(entry_id):
    from portal.enrollment.models import HoursEntry

    return HoursEntry.get_by_id(entry_id)


def test_the_employee_reports_sessions_split_by_funding(placement, ambassador_client):
    first, second, third = _past(placement)
    client = ambassador_client(placement)
    response = client.post("/ambassador/hours", data={
        f"status-{first.id}": "attended", f"hours-{first.id}": "8",
        f"status-{second.id}": "attended", f"hours-{second.id}": "7:00",
        f"status-{third.id}": "absent",
    })
    assert response.status_code == 302
    assert (_row(first.id).status, _row(first.id).sponsored_minutes, _row(first.id).volunteered_minutes) == ("reported", 360, 120)
    assert (_row(second.id).minutes, _row(second.id).sponsored_minutes, _row(second.id).volunteered_minutes) == (420, 315, 105)
    assert (_row(third.id).status, _row(third.id).minutes) == ("absent", 0)
    assert _row(first.id).reported_via == "ambassador"


def test_sessions_still_to_come_cannot_be_reported(placement, hr):
    from portal.enrollment import hours

    future = [e for e in hours.register(placement) if e.worked_on > TODAY][0]
    response = hr.client.post(f"/ambassadors/{placement.id}/hours",
                              data={f"status-{future.id}": "attended", f"hours-{future.id}": "8"})
    assert response.status_code == 302
    assert "still to come" in hr.client.get(f"/ambassadors/{placement.id}").get_data(as_text=True)
    assert _row(future.id).status == "planned"


def test_a_report_is_all_or_nothing(placement, hr):
    first, second = _past(placement, 2)
    hr.client.post(f"/ambassadors/{placement.id}/hours", data={
        f"status-{first.id}": "attended", f"hours-{first.id}": "8",
        f"status-{second.id}": "attended", f"hours-{second.id}": "13"})
    assert _row(first.id).status == "planned" and _row(second.id).status == "planned"


def test_an_extra_session_is_added_once_per_day(placement, hr):
    wednesday = dt.date(2026, 11, 4)
    response = hr.client.post(f"/ambassadors/{placement.id}/hours/extra",
                              data={"worked_on": wednesday.isoformat(), "hours": "3", "note": "Training Thursday moved"})
    assert response.status_code == 302
    from portal.enrollment.models import HoursEntry

    extra = HoursEntry.get(HoursEntry.kind == "extra")
    assert (extra.worked_on, extra.minutes, extra.status, extra.sponsored_minutes) == (wednesday, 180, "reported", 135)
    response = hr.client.post(f"/ambassadors/{placement.id}/hours/extra", data={"worked_on": wednesday.isoformat(), "hours": "2"})
    assert response.status_code == 422 and b"already in the register" in response.data
    tuesday = _past(placement, 1)[0].worked_on
    response = hr.client.post(f"/ambassadors/{placement.id}/hours/extra", data={"worked_on": tuesday.isoformat(), "hours": "2"})
    assert response.status_code == 422 and b"already a session on that day" in response.data
    response = hr.client.post(f"/ambassadors/{placement.id}/hours/extra", data={"worked_on": "2027-08-03", "hours": "2"})
    assert response.status_code == 422


def test_the_leader_confirms_in_bulk_and_the_value_is_frozen(placement, leader, leader_client, hr):
    from portal.enrollment import hours
    from portal.enrollment.models import Enrolment

    entries = _past(placement)
    hours.report_sessions(placement, [hours.SessionReport(e.id, True, 480) for e in entries], actor=hr.admin, via="hr")
    page = leader_client.get("/leader/hours")
    assert page.status_code == 200 and b"Sanne de Vries" in page.data
    response = leader_client.post("/leader/hours", data={"entry": [str(e.id) for e in entries], "decision": "confirm"})
    assert response.status_code == 302
    for entry in entries:
        row = _row(entry.id)
        assert (row.status, row.hourly_cost_cents, row.value_cents, row.decided_by_id) == ("confirmed", 5000, 30000, leader.id)
    # A later change of the declared cost does not change what was confirmed.
    Enrolment.update(hourly_cost_cents=9900).where(Enrolment.id == placement.id).execute()
    assert _row(entries[0].id).value_cents == 30000
    # Confirming again skips them.
    assert hours.decide_entries([e.id for e in entries], leader, approve=True) == (0, 3)


def test_rejection_needs_a_reason_which_the_people_concerned_receive(placement, leader, leader_client, hr, outbox):
    from portal.enrollment import hours

    (entry,) = _past(placement, 1)
    hours.report_sessions(placement, [hours.SessionReport(entry.id, True, 480)], actor=hr.admin, via="hr")
    response = leader_client.post("/leader/hours", data={"entry": [str(entry.id)], "decision": "reject", "reason": ""})
    assert response.status_code == 422 and b"Give a reason" in response.data
    leader_client.post("/leader/hours", data={"entry": [str(entry.id)], "decision": "reject", "reason": "School was closed"})
    assert (_row(entry.id).status, _row(entry.id).decision_reason) == ("rejected", "School was closed")
    assert "School was closed" in outbox.last("sanne@acme.nl").text
    assert "School was closed" in outbox.last(hr.admin.email).text
    # A rejected session can be reported again.
    hours.report_sessions(placement, [hours.SessionReport(entry.id, False)], actor=hr.admin, via="hr")
    assert _row(entry.id).status == "absent"


def test_a_confirmed_session_is_never_edited_again(placement, leader, hr):
    from portal.enrollment import hours

    (entry,) = _past(placement, 1)
    hours.report_sessions(placement, [hours.SessionReport(entry.id, True, 480)], actor=hr.admin, via="hr")
    hours.decide_entries([entry.id], leader, approve=True)
    with pytest.raises(hours.EnrollmentError, match="already reported"):
        hours.report_sessions(placement, [hours.SessionReport(entry.id, True, 240)], actor=hr.admin, via="hr")
    assert _row(entry.id).minutes == 480


def test_a_correction_is_a_reversal_with_who_when_and_why(placement, leader, leader_client, hr):
    from portal.core.audit import AuditLog
    from portal.enrollment import hours

    first, second = _past(placement, 2)
    hours.report_sessions(placement, [hours.SessionReport(e.id, True, 480) for e in (first, second)], actor=hr.admin, via="hr")
    hours.decide_entries([first.id, second.id], leader, approve=True)
    response = leader_client.post(f"/leader/ambassadors/{placement.id}/correct",
                                  data={"entry_id": str(first.id), "hours": "6", "reason": "Left at two"})
    assert response.status_code == 302
    original, reversal, correction = _row(first.id), *[e for e in hours.register(placement) if e.corrects_id == first.id]
    assert (original.minutes, original.status, original.value_cents) == (480, "confirmed", 30000)  # untouched
    assert (reversal.kind, reversal.minutes, reversal.sponsored_minutes, reversal.value_cents) == ("reversal", -480, -360, -30000)
    assert (correction.kind, correction.minutes, correction.sponsored_minutes, correction.value_cents) == ("correction", 360, 270, 22500)
    for row in (reversal, correction):
        assert row.created_by_id == leader.id and row.note == "Left at two" and row.created_at is not None
    assert AuditLog.select().where(AuditLog.action == "enrollment.hours_corrected").count() == 1
    # Cancel the second session altogether (no new hours).
    hours.correct_entry(second.id, leader, "Was sick after all")
    with pytest.raises(hours.EnrollmentError, match="already corrected"):
        hours.correct_entry(second.id, leader, "Twice")
    with pytest.raises(hours.EnrollmentError, match="Only confirmed sessions"):
        hours.correct_entry(reversal.id, leader, "Reverse a reversal")
    with pytest.raises(hours.EnrollmentError, match="Only the project leader"):
        hours.correct_entry(first.id, hr.admin, "HR tries")
    total = sum(e.minutes for e in hours.register(placement) if e.status == "confirmed")
    assert total == 360


def test_confirmed_hours_are_contributions_with_their_basis(placement, leader, hr):
    from portal.core.contributions import contributions
    from portal.enrollment import hours

    first, second = _past(placement, 2)
    hours.report_sessions(placement, [hours.SessionReport(e.id, True, 480) for e in (first, second)], actor=hr.admin, via="hr")
    hours.decide_entries([first.id], leader, approve=True)
    found = contributions(hr.id)
    assert {(c.kind, c.key, c.minutes, c.value_cents, c.basis) for c in found} == {
        ("hours_sponsored", f"hours:{first.id}", 360, 30000, "employer_cost"),
        ("hours_volunteered", f"hours:{first.id}", 120, 0, "none"),
    }
    assert all(c.person == "Sanne de Vries" and c.on == first.worked_on for c in found)
    assert contributions(hr.id, start=first.worked_on + dt.timedelta(days=1)) == []
    hours.correct_entry(first.id, leader, "Wrong day")
    net = sum(c.minutes for c in contributions(hr.id))
    assert net == 0  # the reversal comes through as negative lines


def test_statements_lock_rows_and_hear_about_corrections(app, placement, leader, hr):
    from portal.core import hooks
    from portal.enrollment import hours

    (entry,) = _past(placement, 1)
    hours.report_sessions(placement, [hours.SessionReport(entry.id, True, 480)], actor=hr.admin, via="hr")
    heard = []
    hooks.connect(app, hooks.HOURS_CORRECTED, lambda keys, reason: heard.append((keys, reason)))
    assert hours.lock_entries([entry.id]) == 0  # not confirmed yet: nothing to lock
    hours.decide_entries([entry.id], leader, approve=True)
    assert hours.lock_entries([entry.id]) == 1
    assert hours.is_on_issued_statement(_row(entry.id))
    hours.correct_entry(entry.id, leader, "Statement was wrong")
    assert heard == [([f"hours:{entry.id}"], "Statement was wrong")]


def test_matching_plans_sessions_and_a_new_day_off_replans_them(placement, leader, year, school):
    from portal.enrollment import hours, schools
    from portal.enrollment.models import Closure

    day = dt.date(2027, 3, 2)  # a Tuesday
    assert any(e.worked_on == day for e in hours.register(placement))
    schools.add_closure(leader, year, "day_off", "Studiedag", day, day, school)
    assert not any(e.worked_on == day for e in hours.register(placement))
    schools.remove_closure(leader, Closure.get(Closure.name == "Studiedag"))
    assert any(e.worked_on == day for e in hours.register(placement))


def test_reported_sessions_survive_a_new_closure(placement, leader, year, hr):
    from portal.enrollment import hours, schools

    (entry,) = _past(placement, 1)
    hours.report_sessions(placement, [hours.SessionReport(entry.id, True, 480)], actor=hr.admin, via="hr")
    schools.add_closure(leader, year, "day_off", "Late notice", entry.worked_on, entry.worked_on)
    assert _row(entry.id).status == "reported"


def _close_month_of(day, leader):
    from portal.core.ledger import ClosedMonth

    return ClosedMonth.create(month=day.replace(day=1), closed_by_id=leader.id)


def test_hours_of_a_closed_period_are_neither_reported_nor_added(placement, leader, hr):
    first = _past(placement, 1)[0]
    _close_month_of(first.worked_on, leader)
    response = hr.client.post(f"/ambassadors/{placement.id}/hours",
                              data={f"status-{first.id}": "attended", f"hours-{first.id}": "8"})
    assert response.status_code == 302
    assert "closed" in hr.client.get(f"/ambassadors/{placement.id}").get_data(as_text=True)
    assert (_row(first.id).status, _row(first.id).reported_at) == ("planned", None)
    extra_day = first.worked_on + dt.timedelta(days=1)
    response = hr.client.post(f"/ambassadors/{placement.id}/hours/extra",
                              data={"worked_on": extra_day.isoformat(), "hours": "3"})
    assert response.status_code == 422 and b"closed" in response.data
    from portal.enrollment.models import HoursEntry

    assert not HoursEntry.select().where(HoursEntry.kind == "extra").exists()


def test_hours_confirmed_after_their_month_closed_are_booked_in_the_first_open_month(placement, leader, leader_client,
                                                                                     hr):
    from portal.core import ledger
    from portal.enrollment import hours

    entries = _past(placement)
    hours.report_sessions(placement, [hours.SessionReport(e.id, True, 480) for e in entries], actor=hr.admin, via="hr")
    closed = entries[0].worked_on.replace(day=1)
    _close_month_of(closed, leader)
    totals_before = ledger.totals(by=("month", "kind"), start=closed, end=ledger.month_end(closed))
    response = leader_client.post("/leader/hours", data={"entry": [str(e.id) for e in entries], "decision": "confirm"})
    assert response.status_code in (200, 302)
    assert {_row(e.id).status for e in entries} == {"confirmed"}
    # The closed month's totals are what they were; the late sessions are corrections in a later month.
    assert ledger.totals(by=("month", "kind"), start=closed, end=ledger.month_end(closed)) == totals_before
    late = list(ledger.corrections(ledger.next_month(closed), dt.date(2100, 1, 1)))
    in_closed = [e for e in entries if e.worked_on.replace(day=1) == closed]
    assert {p.key for p in late} == {f"hours:{e.id}" for e in in_closed}
    assert all(p.dated_on.replace(day=1) == closed and p.booked_on > ledger.month_end(closed) for p in late)
    assert ledger.check() == []




@pytest.mark.parametrize(("language", "delimiter", "header", "hours_and_value"), [
    ("en", ",", ["Date", "Kind", "Ambassador", "Hours"], ("6.00", "300.00")),
    ("nl", ";", ["Datum", "Soort", "Ambassadeur", "Uren"], ("6,00", "300,00")),
])
def test_the_hours_export_is_written_for_the_readers_spreadsheet(placement, leader, hr, language, delimiter, header,
                                                                  hours_and_value):
    import csv
    import io

    from portal.enrollment import hours

    (entry,) = _past(placement, 1)
    hours.report_sessions(placement, [hours.SessionReport(entry.id, True, 480)], actor=hr.admin, via="hr")
    hours.decide_entries([entry.id], leader, approve=True)
    hr.admin.language = language
    hr.admin.save()
    response = hr.client.get("/ambassadors/hours.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=delimiter))
    assert rows[0][:4] == header
    assert len(rows) == 3   # the header, the sponsored 6 hours and the volunteered 2
    sponsored = next(row for row in rows[1:] if row[3] == hours_and_value[0])
    assert (sponsored[0], sponsored[2], sponsored[4], sponsored[-1]) == (
        entry.worked_on.isoformat(), "Sanne de Vries", hours_and_value[1], f"hours:{entry.id}")
