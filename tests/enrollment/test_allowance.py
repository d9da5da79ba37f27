"""The volunteer allowance ledger: EUR 160 per active month, checked against that year's
limits (stored per year; 2026 unknown), exported for payout."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.enrollment.conftest import TODAY


@pytest.fixture
def volunteer(hr, enrol, leader, school, today):
    """A volunteer on Tuesdays, 6 hours; September, October and November confirmed."""
    from portal.enrollment import hours

    enrolment = enrol(hr, status="active", leader=leader, school=school, employee_email="vera@acme.nl",
                      funding="volunteer", hours_per_week="6", hourly_cost="")
    past = [e for e in hours.register(enrolment) if e.worked_on <= TODAY]
    hours.report_sessions(enrolment, [hours.SessionReport(e.id, True, 360) for e in past], actor=hr.admin, via="hr")
    hours.decide_entries([e.id for e in past], leader, approve=True)
    return enrolment


def _cap(leader, year, **values):
    from portal.enrollment import schools

    defaults = {"year": year, "per_month_cents": 21000, "per_year_cents": 210000, "per_hour_cents": 560,
                "per_hour_under_21_cents": 330, "source": "test"}
    defaults.update(values)
    return schools.save_cap(leader, defaults)


def test_one_line_per_active_month_and_building_again_adds_nothing(volunteer, leader):
    from portal.enrollment import allowance

    # The first Tuesday is 1 September (school starts on Monday 31 August).
    assert allowance.build_ledger(leader, dt.date(2026, 11, 30)) == 3
    ledger = allowance.ledger(dt.date(2026, 8, 1), dt.date(2026, 11, 1))
    assert [(r.line.month, r.line.amount_cents) for r in ledger.rows] == [
        (dt.date(2026, 9, 1), 16000), (dt.date(2026, 10, 1), 16000), (dt.date(2026, 11, 1), 16000)]
    assert allowance.build_ledger(leader, dt.date(2026, 11, 30)) == 0


def test_a_sponsored_placement_gets_no_allowance(hr, enrol, leader, school, today):
    from portal.enrollment import allowance, hours

    enrolment = enrol(hr, status="active", leader=leader, school=school)
    past = [e for e in hours.register(enrolment) if e.worked_on <= TODAY]
    hours.report_sessions(enrolment, [hours.SessionReport(e.id, True, 480) for e in past], actor=hr.admin, via="hr")
    hours.decide_entries([e.id for e in past], leader, approve=True)
    assert allowance.build_ledger(leader, TODAY) == 0


def test_a_month_whose_hours_were_reversed_is_not_active(volunteer, leader):
    from portal.enrollment import allowance, hours

    november = [e for e in hours.register(volunteer) if e.worked_on.month == 11 and e.status == "confirmed"]
    for entry in november:
        hours.correct_entry(entry.id, leader, "Did not happen")
    allowance.build_ledger(leader, TODAY)
    months = [r.line.month.month for r in allowance.ledger(dt.date(2026, 8, 1), dt.date(2026, 12, 1)).rows]
    assert 11 not in months and 10 in months


def test_unknown_limits_for_2026_give_a_warning(volunteer, leader, leader_client):
    from portal.enrollment import allowance

    allowance.build_ledger(leader, TODAY)
    ledger = allowance.ledger(dt.date(2026, 9, 1), dt.date(2026, 11, 1), language="en")
    assert any("No allowance limits entered for 2026: enter them before paying." in w for w in ledger.warnings)
    assert all(r.caps_missing and "No allowance limits entered for 2026" in r.warnings[0] for r in ledger.rows)
    page = leader_client.get("/leader/allowances?month_from=2026-09&month_to=2026-11").get_data(as_text=True)
    assert "No allowance limits entered for 2026: enter them before paying." in page
    _cap(leader, 2026)
    # September: five Tuesdays x 6 h = 30 h; 160 / 30 = 5.33 an hour, within 5.60.
    assert not allowance.ledger(dt.date(2026, 9, 1), dt.date(2026, 11, 1)).rows[0].warnings


def test_the_2024_and_2025_limits_are_seeded():
    from portal.enrollment.models import AllowanceCap

    caps = {c.year: (c.per_month_cents, c.per_year_cents, c.per_hour_cents, c.per_hour_under_21_cents)
            for c in AllowanceCap.select()}
    assert caps == {2024: (21000, 210000, 550, 325), 2025: (21000, 210000, 560, 330)}


def test_monthly_yearly_and_would_pass_warnings(volunteer, leader, year):
    from portal.enrollment import allowance
    from portal.enrollment.models import SchoolYear

    SchoolYear.update(allowance_monthly_cents=25000).where(SchoolYear.id == year.id).execute()
    _cap(leader, 2026, per_year_cents=90000)
    allowance.build_ledger(leader, TODAY)
    rows = allowance.ledger(dt.date(2026, 8, 1), dt.date(2026, 11, 1), language="en").rows
    assert all(any("passes the monthly limit of €210.00" in w for w in r.warnings) for r in rows)
    # 3 x 250 = 750 so far; with December still to come 1,000 would pass 900.
    assert any("would pass the yearly limit of €900.00" in w for w in rows[-1].warnings)
    _cap(leader, 2026, per_year_cents=70000)
    rows = allowance.ledger(dt.date(2026, 8, 1), dt.date(2026, 11, 1), language="nl").rows
    assert any("€ 750,00 in 2026 passes the yearly limit of € 700,00" in w for w in rows[-1].warnings)


def test_the_hourly_figure_above_the_limit_is_a_warning(volunteer, leader):
    from portal.enrollment import allowance

    _cap(leader, 2026)
    allowance.build_ledger(leader, TODAY)
    october = allowance.ledger(dt.date(2026, 10, 1), dt.date(2026, 10, 1), language="en").rows[0]
    # October: 3 Tuesdays outside the autumn holiday x 6 h = 18 h; 160 / 18 = 8.888... = 8.89 an hour.
    assert october.volunteered_minutes == 3 * 360
    assert (october.implied_hourly_cents, october.hourly_cap_cents) == (889, 560)
    assert october.warnings == ["Works out at €8.89 an hour, above the hourly limit of €5.60."]
    assert october.needs_decision


def test_export_marks_lines_and_the_batch_downloads_again(volunteer, leader, leader_client, ambassador_client):
    from portal.enrollment.models import AllowanceLine

    client = ambassador_client(volunteer)
    assert client.post("/ambassador/iban", data={"iban": "NL91 ABNA 0417 1643 00"}).status_code == 302
    assert client.post("/ambassador/iban", data={"iban": "NL00 0000"}).status_code == 422
    leader_client.post("/leader/allowances", data={"action": "build", "month_from": "2026-08", "month_to": "2026-11"})
    assert AllowanceLine.select().count() == 3
    _cap(leader, 2026)
    october = AllowanceLine.get(AllowanceLine.month == dt.date(2026, 10, 1))
    assert leader_client.post("/leader/allowances", data={
        "action": "decide", "line_id": october.id, "decision": "fixed_monthly", "reason": "Fixed fee, no hourly rate",
        "month_from": "2026-08", "month_to": "2026-10"}).status_code == 302
    response = leader_client.post("/leader/allowances", data={"action": "export", "month_from": "2026-08", "month_to": "2026-10"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [(r["Month"], r["E-mail"], r["IBAN"], r["Amount (EUR)"]) for r in rows] == [
        ("2026-09", "vera@acme.nl", "NL91ABNA0417164300", "160.00"), ("2026-10", "vera@acme.nl", "NL91ABNA0417164300", "160.00")]
    assert rows[0]["Warnings"] == ""
    assert "Works out at €8.89 an hour" in rows[1]["Warnings"]
    assert "Fixed fee, no hourly rate" in rows[1]["Warnings"]
    batch = rows[0]["Batch"]
    assert AllowanceLine.select().where(AllowanceLine.status == "exported").count() == 2
    # Exporting the same months again finds nothing open; the batch can be downloaded again.
    again = leader_client.post("/leader/allowances", data={"action": "export", "month_from": "2026-08", "month_to": "2026-10"})
    assert again.status_code == 302
    copy = leader_client.get(f"/leader/allowances/{batch}.csv")
    assert copy.status_code == 200 and copy.data == response.data
    assert leader_client.get("/leader/allowances/A00000000000000abcd.csv").status_code == 404


def test_formulas_in_names_are_neutralised_in_the_export(volunteer, leader, leader_client):
    from portal.enrollment.models import AllowanceLine, Enrolment

    Enrolment.update(employee_name='=HYPERLINK("http://x")').where(Enrolment.id == volunteer.id).execute()
    leader_client.post("/leader/allowances", data={"action": "build", "month_from": "2026-08", "month_to": "2026-11"})
    _cap(leader, 2026)
    october = AllowanceLine.get(AllowanceLine.month == dt.date(2026, 10, 1))
    leader_client.post("/leader/allowances", data={
        "action": "decide", "line_id": october.id, "decision": "fixed_monthly", "reason": "Fixed fee",
        "month_from": "2026-08", "month_to": "2026-10"})
    response = leader_client.post("/leader/allowances", data={"action": "export", "month_from": "2026-08", "month_to": "2026-10"})
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert {r["Ambassador"] for r in rows} == {"'=HYPERLINK(\"http://x\")"}
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())


def test_the_leader_enters_the_2026_limits(leader_client):
    response = leader_client.post("/leader/allowance-limits", data={
        "year": "2026", "per_month": "210", "per_year": "2.100", "per_hour": "5,70", "per_hour_under_21": "3,40",
        "source": "Belastingdienst 2026"})
    assert response.status_code == 302
    from portal.enrollment.models import AllowanceCap

    cap = AllowanceCap.get(AllowanceCap.year == 2026)
    assert (cap.per_month_cents, cap.per_year_cents, cap.per_hour_cents) == (21000, 210000, 570)
    response = leader_client.post("/leader/allowance-limits", data={
        "year": "2027", "per_month": "abc", "per_year": "1", "per_hour": "1", "per_hour_under_21": "1"})
    assert response.status_code == 422
