"""Details of the enrolment desk a user notices: the hours queue does not tick absences for
confirmation, a start month that has passed is not offered, HR's to-do list holds only HR's own
steps, and seeded holidays are named in the reader's language."""

from __future__ import annotations

import datetime as dt
import html
import re

from portal.core import clock
from portal.enrollment import hours, reference, validation
from portal.enrollment.models import User

D = dt.date


def text(response) -> str:
    assert response.status_code == 200, response.data[:1000]
    return html.unescape(response.get_data(as_text=True))


def test_the_hours_queue_does_not_tick_absences(app, leader, leader_client, hr, school, enrol, today):
    placement = enrol(hr, status="active", leader=leader, school=school)
    attended, absent = [e for e in hours.register(placement) if e.worked_on <= today][:2]
    hours.report_sessions(placement, [hours.SessionReport(attended.id, True, 480), hours.SessionReport(absent.id, False)],
                          actor=hr.admin, via="hr", today=today)

    page = text(leader_client.get("/leader/hours"))
    boxes = dict(re.findall(r'<input type="checkbox" name="entry" value="(\d+)" id="entry-\d+"([^>]*)>', page))
    assert "checked" in boxes[str(attended.id)]
    assert "checked" not in boxes[str(absent.id)]
    assert "1 session reported by ambassadors or HR awaits" not in page and "2 sessions" in page


def test_a_start_month_that_has_passed_is_not_offered(app, hr, year, monkeypatch):
    december = D(2026, 12, 2)
    offered = [value for value, _label in validation.start_options(today=december)]
    assert "2026-09" not in offered and "2027-02" in offered
    assert [value for value, _label in validation.start_options(today=D(2026, 9, 1))][:2] == ["2026-09", "2027-02"]
    # An enrolment that already starts in September keeps its start on its form.
    assert "2026-09" in [value for value, _label in validation.start_options(today=december, keep="2026-09")]

    monkeypatch.setattr(clock, "today", lambda: december)
    page = text(hr.client.get("/ambassadors/new", headers={"Accept-Language": "en"}))
    assert 'value="2026-09"' not in page and 'value="2027-02"' in page


def test_a_new_enrolment_form_starts_at_the_first_start_that_can_still_be_chosen(app, hr, year, monkeypatch):
    """In December the first start is February, and a February start lasts half a year: the
    form's defaults are a valid choice, so HR is not told off for a field it never touched."""
    def selected(page: str, field: str) -> str:
        select = re.search(rf'<select[^>]*name="{field}"[^>]*>(.*?)</select>', page, re.S).group(1)
        return re.search(r'<option selected value="([^"]+)"', select).group(1)

    monkeypatch.setattr(clock, "today", lambda: D(2026, 12, 2))
    page = text(hr.client.get("/ambassadors/new"))
    assert (selected(page, "start"), selected(page, "duration")) == ("2027-02", "half")
    monkeypatch.setattr(clock, "today", lambda: D(2026, 6, 15))
    page = text(hr.client.get("/ambassadors/new"))
    assert (selected(page, "start"), selected(page, "duration")) == ("2026-09", "full")


def test_hr_is_asked_only_for_its_own_steps(app, hr, leader, enrol, today):
    enrol(hr, status="intake", leader=leader, employee_name="Iris Brouwer", vog_status="not_requested")
    page = text(hr.client.get("/ambassadors"))
    mine = page.split('id="todos"', 1)[1].split("</ul>", 1)[0]
    waiting = page.split('id="waiting"', 1)[1].split("</ul>", 1)[0]
    assert "VOG" in mine                                   # HR records the certificate of conduct
    assert "CV or motivation letter" not in mine           # the employee uploads those herself
    assert "CV or motivation letter" in waiting and "the employee" in waiting


def test_seeded_holidays_are_named_in_the_readers_language(app, leader, leader_client, year):
    User.update(language="nl").where(User.id == leader.id).execute()
    page = text(leader_client.get(f"/leader/school-years/{year.id}"))
    for english in ("Autumn holiday", "Christmas holiday", "Whit Monday", "Ascension Day"):
        assert english not in page, english
    assert "Herfstvakantie" in page and "Tweede Pinksterdag" in page
    # A name the leader typed is shown as typed.
    assert reference.closure_name("Studiedag OBS Zon") == "Studiedag OBS Zon"
