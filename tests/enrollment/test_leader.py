"""The project leader's data and desk: schools with BRIN codes, school calendars, VOG
reminders (once each, also from the command line), the enrolments of every company."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from portal.core import clock


def test_the_leader_adds_a_school_with_a_valid_brin(leader_client):
    data = {"name": "CBS Het Kompas", "brin": "17 kp", "street": "Pijlstaartlaan 6", "postcode": "3523 BL",
            "city": "Utrecht", "coordinator_name": "Karin", "coordinator_email": "ic@kompas.nl", "is_active": "1"}
    assert leader_client.post("/leader/schools/new", data=data).status_code == 302
    from portal.enrollment.models import School

    assert School.get().brin == "17KP"
    assert b"CBS Het Kompas" in leader_client.get("/leader/schools").data
    response = leader_client.post("/leader/schools/new", data=data | {"name": "Copy"})
    assert response.status_code == 422 and b"already has this BRIN" in response.data
    for bad in ("1234", "ABCDE", "17KPX1", ""):
        response = leader_client.post("/leader/schools/new", data=data | {"brin": bad, "name": "Other"})
        assert response.status_code == 422, bad
    assert School.select().count() == 1


def test_the_leader_keeps_a_school_calendar(leader_client, year):
    page = leader_client.get(f"/leader/school-years/{year.id}").get_data(as_text=True)
    assert "41" in page and "19 before the second half, 22 after" in page
    assert "Autumn holiday" in page and "Whit Monday" in page
    response = leader_client.post("/leader/school-years/new", data={
        "name": "2027-2028", "region": "Midden", "starts_on": "2027-08-30", "ends_on": "2028-07-14",
        "half_starts_on": "2028-02-01", "allowance": "160"})
    assert response.status_code == 302
    from portal.enrollment.models import Closure, SchoolYear

    new = SchoolYear.get(SchoolYear.name == "2027-2028")
    assert new.allowance_monthly_cents == 16000
    response = leader_client.post(f"/leader/school-years/{new.id}/closures", data={
        "kind": "holiday", "name": "Herfstvakantie", "starts_on": "2027-10-16", "ends_on": "2027-10-24", "school": ""})
    assert response.status_code == 302
    assert Closure.select().where(Closure.school_year == new.id).count() == 1
    response = leader_client.post("/leader/school-years/new", data={
        "name": "2028-2029", "starts_on": "2028-08-28", "ends_on": "2028-07-14", "half_starts_on": "2029-02-01",
        "allowance": "160"})
    assert response.status_code == 422


def test_dates_of_a_school_year_in_use_cannot_move(hr, enrol, leader, year):
    from portal.enrollment import base, schools

    enrol(hr)
    with pytest.raises(base.EnrollmentError, match="can no longer change"):
        schools.save_school_year(leader, {"name": year.name, "starts_on": dt.date(2026, 9, 7), "ends_on": year.ends_on,
                                          "half_starts_on": year.half_starts_on}, year)
    # The allowance per month may change.
    schools.save_school_year(leader, {"name": year.name, "starts_on": year.starts_on, "ends_on": year.ends_on,
                                      "half_starts_on": year.half_starts_on, "allowance_monthly_cents": 17000}, year)


def test_vog_reminders_go_once_two_weeks_before_the_start(app, make_company, enrol, leader, outbox):
    from portal.enrollment import reminders

    company = make_company("Acme")
    soon = enrol(company, start="2027-02", duration="half", vog_status="requested", vog_date="2026-11-01",
                 employee_email="soon@acme.nl")
    enrol(company, start="2027-02", duration="half", employee_email="fine@acme.nl")  # VOG received
    assert reminders.send_vog_reminders(today=dt.date(2027, 1, 10)) == 0  # three weeks ahead: not yet
    assert reminders.send_vog_reminders(today=dt.date(2027, 1, 20)) == 1
    assert "VOG" in outbox.last("soon@acme.nl").subject
    assert outbox.last(company.admin.email).subject == f"Reminder: VOG of {soon.employee_name}"
    assert "VOG still missing for 1 ambassador" in outbox.last(leader.email).subject
    assert reminders.send_vog_reminders(today=dt.date(2027, 1, 21)) == 0  # once
    assert [e.id for e in reminders.vog_missing(dt.date(2027, 1, 20))] == [soon.id]


def test_the_remind_command_and_the_visible_list(app, make_company, enrol, leader, leader_client, monkeypatch, outbox):

    company = make_company("Acme")
    enrol(company, start="2026-09", vog_status="not_requested", vog_date="", employee_email="late@acme.nl",
          employee_name="Late Larry")
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 8, 20))
    page = leader_client.get("/leader/reminders").get_data(as_text=True)
    assert "Late Larry" in page and "due" in page
    result = CliRunner().invoke(app.cli, ["enrollment", "remind"])
    assert result.exit_code == 0, result.output
    assert "VOG reminders sent: 1" in result.output
    assert outbox.to("late@acme.nl")[-1].subject.startswith("Reminder")
    assert "sent" in leader_client.get("/leader/reminders").get_data(as_text=True)


def test_the_leader_sees_every_company_and_filters(hr, make_company, enrol, leader_client):
    other = make_company("Bravo")
    enrol(hr, employee_name="Alpha Person")
    enrol(other, employee_name="Bravo Person", vog_status="refused", vog_date="")
    page = leader_client.get("/leader/ambassadors").get_data(as_text=True)
    assert "Alpha Person" in page and "Bravo Person" in page
    page = leader_client.get(f"/leader/ambassadors?company={other.id}").get_data(as_text=True)
    assert "Alpha Person" not in page and "Bravo Person" in page
    page = leader_client.get("/leader/ambassadors?vog=refused&q=bravo").get_data(as_text=True)
    assert "Bravo Person" in page and "Alpha Person" not in page


def test_the_leader_pages_render(leader_client, hr, enrol, leader, school, today):
    enrolment = enrol(hr, status="active", leader=leader, school=school)
    for path in ("/leader/ambassadors", f"/leader/ambassadors/{enrolment.id}", "/leader/hours", "/leader/reminders",
                 "/leader/schools", f"/leader/schools/{school.id}", "/leader/schools/new", "/leader/school-years",
                 "/leader/school-years/new", "/leader/allowances", "/leader/allowance-limits"):
        response = leader_client.get(path)
        assert response.status_code == 200, path
        assert b"Traceback" not in response.data


def test_the_company_pages_render(hr, enrol, leader, school, today):
    enrolment = enrol(hr, status="active", leader=leader, school=school)
    for path in ("/ambassadors", "/ambassadors/new", "/ambassadors/import", f"/ambassadors/{enrolment.id}",
                 "/dashboard"):
        assert hr.client.get(path).status_code == 200, path


def test_pages_render_in_dutch(app, make_company, login, enrol, leader, school, today):
    company = make_company("Nederland", language="nl")
    from portal.accounts.models import User

    User.update(language="nl").where(User.id == company.admin.id).execute()
    enrolment = enrol(company, status="active", leader=leader, school=school, language="nl")
    client = login(app.test_client(), company.admin)
    page = client.get(f"/ambassadors/{enrolment.id}").get_data(as_text=True)
    assert 'lang="nl"' in page and "€ 50,00" in page
