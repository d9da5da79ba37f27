"""Issue 14: the volunteer allowance control. EUR 160 a month against that month's confirmed hours,
rounded half-up to the cent, beside the year's hourly limit; a warned line is paid only after the
project leader's decision; a line follows reversals of its hours; 2026 has no limits until the
leader enters them."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.enrollment.conftest import TODAY

SEPTEMBER = dt.date(2026, 9, 1)
OCTOBER = dt.date(2026, 10, 1)


@pytest.fixture
def vera(hr, enrol, leader, school, today):
    """A volunteer on Tuesdays: in September 26 confirmed hours (four sessions of 6 h and one of
    2 h), in October 18 hours (three sessions of 6 h; the autumn holiday takes one Tuesday), in
    November 24 hours (four sessions of 6 h)."""
    from portal.enrollment import hours

    enrolment = enrol(hr, status="active", leader=leader, school=school, employee_email="vera@acme.nl",
                      employee_name="Vera Visser", funding="volunteer", hours_per_week="6", hourly_cost="")
    sessions = [e for e in hours.register(enrolment) if e.worked_on <= TODAY]
    september = [e for e in sessions if e.worked_on.month == 9]
    assert len(september) == 5
    reports = [hours.SessionReport(e.id, True, 120 if e is september[-1] else 360) for e in sessions]
    hours.report_sessions(enrolment, reports, actor=hr.admin, via="hr")
    hours.decide_entries([e.id for e in sessions], leader, approve=True)
    return enrolment


def _caps_2026(leader, per_hour_cents=560):
    from portal.enrollment import schools

    return schools.save_cap(leader, {"year": 2026, "per_month_cents": 21000, "per_year_cents": 210000,
                                     "per_hour_cents": per_hour_cents, "per_hour_under_21_cents": 330,
                                     "source": "entered by the leader"})


def _line(month):
    from portal.enrollment.models import AllowanceLine

    return AllowanceLine.get_or_none(AllowanceLine.month == month)


def _row(month, language="en"):
    from portal.enrollment import allowance

    return allowance.ledger(month, month, language=language).rows[0]


def _confirmed(enrolment, month):
    from portal.enrollment import hours

    return [e for e in hours.register(enrolment)
            if e.status == "confirmed" and e.kind != "reversal" and e.worked_on.month == month.month]


def _books_agree():
    from portal.core import ledger as books

    assert books.check() == []


def _allowance_total(company_id):
    from portal.core import ledger as books

    rows = books.totals(by=(), company_id=company_id, kinds=("allowance",))
    return rows[0]["value_cents"] if rows else 0


def _csv_rows(response):
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


# --- the figures ------------------------------------------------------------------------------

def test_rates_are_rounded_half_up_to_the_cent_not_truncated():
    from portal.enrollment.allowance import fitting_cents, hourly_cents

    assert hourly_cents(16000, 26 * 60) == 615  # 615.38
    assert hourly_cents(16000, 7 * 60) == 2286  # 2285.71, truncation would say 22.85
    assert hourly_cents(16000, 18 * 60) == 889  # 888.89
    assert hourly_cents(16000, 0) is None
    # What fits the limit is rounded down, so that it never passes it: 26 h x 5.60 = 145.60.
    assert fitting_cents(560, 26 * 60) == 14560
    assert fitting_cents(560, 7 * 60 + 10) == 4013  # 40.1333...


def test_each_line_shows_the_hourly_figure_beside_the_limit_and_warns_above_it(vera, leader, leader_client):
    from portal.enrollment import allowance

    _caps_2026(leader)
    assert allowance.build_ledger(leader, TODAY) == 3
    september = _row(SEPTEMBER)
    assert september.volunteered_minutes == 26 * 60
    assert (september.payable_cents, september.implied_hourly_cents, september.hourly_cap_cents) == (16000, 615, 560)
    assert september.warnings == ["Works out at €6.15 an hour, above the hourly limit of €5.60."]
    assert september.needs_decision
    assert "Works out at € 6,15 an hour, above the hourly limit of € 5,60." in _row(SEPTEMBER, "nl").warnings
    page = leader_client.get("/leader/allowances?month_from=2026-09&month_to=2026-10").get_data(as_text=True)
    assert "€6.15" in page and "€5.60" in page and "21 and older" in page
    assert "decision needed" in page and "Record a decision" in page


def test_an_ambassador_under_21_is_held_to_the_under_21_limit(hr, enrol, leader, school, today):
    from portal.enrollment import allowance, hours

    enrolment = enrol(hr, status="active", leader=leader, school=school, funding="volunteer", hours_per_week="6",
                      hourly_cost="", under_21="yes")
    september = [e for e in hours.register(enrolment) if e.worked_on.month == 9]
    hours.report_sessions(enrolment, [hours.SessionReport(e.id, True, 360) for e in september], actor=hr.admin,
                          via="hr")
    hours.decide_entries([e.id for e in september], leader, approve=True)
    _caps_2026(leader)
    allowance.build_ledger(leader, TODAY)
    row = _row(SEPTEMBER)
    # 30 h: 5.33 an hour is within the 5.60 for adults, not within the 3.30 under 21.
    assert (row.implied_hourly_cents, row.hourly_cap_cents) == (533, 330)
    assert row.warnings == ["Works out at €5.33 an hour, above the hourly limit of €3.30."]


# --- 2026: no limits until the leader enters them ---------------------------------------------

def test_2026_has_no_limits_until_the_leader_enters_them_and_nothing_is_paid_before(vera, leader, leader_client):
    from portal.enrollment import allowance, allowance_export
    from portal.enrollment.models import AllowanceCap

    assert not AllowanceCap.select().where(AllowanceCap.year == 2026).exists()
    allowance.build_ledger(leader, TODAY)
    row = _row(SEPTEMBER)
    assert row.caps_missing and row.hourly_cap_cents is None and not row.needs_decision
    assert row.warnings == ["No allowance limits entered for 2026: enter them before paying."]
    page = leader_client.get("/leader/allowances?month_from=2026-09&month_to=2026-10").get_data(as_text=True)
    assert "No allowance limits entered for 2026: enter them before paying." in page
    assert "No limits entered for 2026" in page  # in the line itself, where the hourly limit would be
    with pytest.raises(allowance.EnrollmentError, match="no allowance limits entered for 2026"):
        allowance_export.export_open(leader, SEPTEMBER, OCTOBER)
    with pytest.raises(allowance.EnrollmentError, match="No allowance limits entered for 2026"):
        allowance.decide(_line(SEPTEMBER).id, leader, "fixed_monthly", "Fixed fee")
    refused = leader_client.post("/leader/allowances", data={"action": "export", "month_from": "2026-09",
                                                              "month_to": "2026-10"}, follow_redirects=True)
    assert refused.mimetype == "text/html" and "no allowance limits entered for 2026" in refused.get_data(as_text=True)
    assert _line(SEPTEMBER).status == "open"
    # The limits page names the year and opens the form for it.
    caps_page = leader_client.get("/leader/allowance-limits").get_data(as_text=True)
    assert "No allowance limits entered for 2026" in caps_page
    form = leader_client.get("/leader/allowance-limits?year=2026").get_data(as_text=True)
    assert 'value="2026"' in form
    saved = leader_client.post("/leader/allowance-limits", data={
        "year": "2026", "per_month": "210", "per_year": "2.100", "per_hour": "5,60", "per_hour_under_21": "3,30",
        "source": "Belastingdienst"})
    assert saved.status_code == 302
    assert "No allowance limits entered for 2026" not in leader_client.get("/leader/allowance-limits").get_data(
        as_text=True)
    assert _row(SEPTEMBER).hourly_cap_cents == 560
    # Changing a year's limits starts from what is stored.
    assert 'value="5,60"' in leader_client.get("/leader/allowance-limits?year=2026").get_data(as_text=True)


# --- the leader's decision --------------------------------------------------------------------

def test_a_warned_line_is_exported_only_after_a_decision_and_the_export_names_it(vera, leader, leader_client):
    from portal.enrollment import allowance, allowance_export

    _caps_2026(leader)
    allowance.build_ledger(leader, TODAY)
    with pytest.raises(allowance.EnrollmentError) as refused:
        allowance_export.export_open(leader, SEPTEMBER, OCTOBER, language="en")
    message = str(refused.value)
    assert "Vera Visser (2026-09)" in message and "Vera Visser (2026-10)" in message
    response = leader_client.post("/leader/allowances", data={"action": "export", "month_from": "2026-09",
                                                               "month_to": "2026-10"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert "Nothing was exported: these allowances have a warning and no decision yet" in page
    assert "Vera Visser (2026-09)" in page
    assert _line(SEPTEMBER).status == "open" and _line(OCTOBER).status == "open"

    for month, reason in ((SEPTEMBER, "Six hours a week for a whole school year: EUR 160 is clearly below its worth"),
                          (OCTOBER, "Same placement, the holiday month")):
        decided = leader_client.post("/leader/allowances", data={
            "action": "decide", "line_id": _line(month).id, "decision": "fixed_monthly", "reason": reason,
            "month_from": "2026-09", "month_to": "2026-10"})
        assert decided.status_code == 302
    line = _line(SEPTEMBER)
    assert (line.decision, line.decided_by_id, line.decided_minutes) == ("fixed_monthly", leader.id, 26 * 60)
    assert line.decided_at is not None and line.payable_cents is None
    page = leader_client.get("/leader/allowances?month_from=2026-09&month_to=2026-10").get_data(as_text=True)
    assert "Pay as a fixed monthly allowance (no hourly rate agreed)" in page
    assert "EUR 160 is clearly below its worth" in page and "Lotte Leider" in page
    assert "Works out at €6.15 an hour" in page  # the warning stays in sight beside the decision

    exported = leader_client.post("/leader/allowances", data={"action": "export", "month_from": "2026-09",
                                                               "month_to": "2026-10"})
    assert exported.mimetype == "text/csv"
    rows = _csv_rows(exported)
    assert [(r["Month"], r["Amount (EUR)"]) for r in rows] == [("2026-09", "160.00"), ("2026-10", "160.00")]
    assert "Pay as a fixed monthly allowance" in rows[0]["Warnings"]
    _books_agree()


def test_a_decision_needs_a_reason_and_a_refused_one_keeps_what_was_typed(vera, hr, leader, leader_client):
    from portal.enrollment import allowance

    _caps_2026(leader)
    allowance.build_ledger(leader, TODAY)
    line = _line(SEPTEMBER)
    response = leader_client.post("/leader/allowances", data={
        "action": "decide", "line_id": line.id, "decision": "reduce", "amount": "145,60", "reason": "  ",
        "month_from": "2026-09", "month_to": "2026-10"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Give a reason for the decision." in page and 'value="145,60"' in page
    response = leader_client.post("/leader/allowances", data={
        "action": "decide", "line_id": line.id, "decision": "reduce", "amount": "175",
        "reason": "Keep within the hourly limit", "month_from": "2026-09", "month_to": "2026-10"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Keep within the hourly limit" in page and 'value="175"' in page
    assert "A reduced amount is less than €160.00." in page
    with pytest.raises(allowance.EnrollmentError, match="Choose what to do"):
        allowance.decide(line.id, leader, "pay_twice", "because")
    line = _line(SEPTEMBER)
    assert line.decision is None and line.payable_cents is None
    # A company's HR never reaches the leader's allowance pages, nor decides anything there.
    assert hr.client.get("/leader/allowances").status_code in (403, 404)
    assert hr.client.post("/leader/allowances", data={
        "action": "decide", "line_id": line.id, "decision": "do_not_pay", "reason": "x"}).status_code in (403, 404)
    with pytest.raises(allowance.EnrollmentError, match="Only the project leader"):
        allowance.decide(line.id, hr.admin, "do_not_pay", "Not needed")
    assert _line(SEPTEMBER).decision is None


def test_reduce_and_do_not_pay_change_what_is_paid_and_the_books(vera, leader):
    from portal.enrollment import allowance, allowance_export

    _caps_2026(leader)
    allowance.build_ledger(leader, TODAY)
    assert _allowance_total(vera.company_id) == 3 * 16000
    allowance.decide(_line(SEPTEMBER).id, leader, "reduce", "Keep within the hourly limit: 26 h x 5.60", "145,60")
    allowance.decide(_line(OCTOBER).id, leader, "do_not_pay", "Holiday month, agreed with the ambassador")
    september, october = _row(SEPTEMBER), _row(OCTOBER)
    assert (september.payable_cents, september.implied_hourly_cents, september.warnings) == (14560, 560, [])
    assert october.payable_cents == 0 and not october.needs_decision
    assert _allowance_total(vera.company_id) == 14560 + 0 + 16000
    _books_agree()
    # November (4 x 6 h = 24 h, 6.67 an hour) still waits for its decision.
    with pytest.raises(allowance.EnrollmentError, match=r"Vera Visser \(2026-11\)"):
        allowance_export.export_open(leader, SEPTEMBER, dt.date(2026, 11, 1), language="en")
    _batch, data = allowance_export.export_open(leader, SEPTEMBER, OCTOBER, language="en")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [(r["Month"], r["Amount (EUR)"]) for r in rows] == [("2026-09", "145.60")]
    assert _line(OCTOBER).status == "open"  # not paid: never in a payment file
    with pytest.raises(allowance.EnrollmentError, match="already exported"):
        allowance.decide(_line(SEPTEMBER).id, leader, "fixed_monthly", "Changed my mind")


# --- a line follows reversals of its hours ----------------------------------------------------

def test_a_reversal_before_export_recomputes_the_line(vera, leader):
    from portal.enrollment import allowance, allowance_export, hours

    _caps_2026(leader)
    allowance.build_ledger(leader, TODAY)
    allowance.decide(_line(SEPTEMBER).id, leader, "reduce", "Within the hourly limit: 26 h x 5.60", "145,60")
    allowance.decide(_line(OCTOBER).id, leader, "fixed_monthly", "Fixed fee, no hourly rate agreed")
    # One 6 h September session did not happen: 20 h remain, the reduced amount follows (20 x 5.60).
    hours.correct_entry(_confirmed(vera, SEPTEMBER)[0].id, leader, "Class trip, the ambassador stayed home")
    september = _row(SEPTEMBER)
    assert september.volunteered_minutes == 20 * 60
    assert (_line(SEPTEMBER).minutes, september.payable_cents, september.implied_hourly_cents) == (1200, 11200, 560)
    assert september.line.decision == "reduce" and not september.needs_decision
    # October: 18 h became 12 h (€13.33 an hour): the decision taken on 18 h must be taken again.
    hours.correct_entry(_confirmed(vera, OCTOBER)[0].id, leader, "Sick", new_minutes=0)
    october = _row(OCTOBER)
    assert (october.volunteered_minutes, october.implied_hourly_cents, october.payable_cents) == (720, 1333, 16000)
    assert october.decision_stale and october.needs_decision
    assert "Hours were reversed after this decision: decide again." in october.notes
    with pytest.raises(allowance.EnrollmentError, match=r"Vera Visser \(2026-10\)"):
        allowance_export.export_open(leader, SEPTEMBER, OCTOBER, language="en")
    assert _allowance_total(vera.company_id) == 11200 + 16000 + 16000
    _books_agree()


def test_a_month_whose_hours_are_all_reversed_before_export_loses_its_line(vera, leader):
    from portal.core.audit import AuditLog
    from portal.enrollment import allowance, hours

    _caps_2026(leader)
    allowance.build_ledger(leader, TODAY)
    for entry in _confirmed(vera, SEPTEMBER):
        hours.correct_entry(entry.id, leader, "Placement started in October after all")
    assert _line(SEPTEMBER) is None
    assert [r.line.month for r in allowance.ledger(SEPTEMBER, OCTOBER).rows] == [OCTOBER]
    assert _allowance_total(vera.company_id) == 2 * 16000
    assert AuditLog.select().where(AuditLog.action == "enrollment.allowance_removed").count() == 1
    assert allowance.build_ledger(leader, TODAY) == 0  # no hours, no line
    _books_agree()


def test_a_reversal_after_export_blocks_the_line_from_further_payment(vera, leader, leader_client):
    from portal.enrollment import allowance, allowance_export, hours

    _caps_2026(leader)
    allowance.build_ledger(leader, TODAY)
    allowance.decide(_line(SEPTEMBER).id, leader, "fixed_monthly", "Fixed fee, no hourly rate agreed")
    batch, _data = allowance_export.export_open(leader, SEPTEMBER, SEPTEMBER, language="en")
    assert (_line(SEPTEMBER).status, _line(SEPTEMBER).minutes) == ("exported", 26 * 60)
    # After the payment file went out, two sessions turn out not to have happened: 26 h became 14 h.
    september = _confirmed(vera, SEPTEMBER)
    hours.correct_entry(september[0].id, leader, "The school was closed for a strike")
    hours.correct_entry(september[1].id, leader, "The school was closed for a strike")
    line = _line(SEPTEMBER)
    assert line.status == "exported" and line.blocked_at is not None
    assert line.blocked_reason == "The school was closed for a strike"
    assert line.amount_cents == 16000 and line.payable_cents is None  # what was paid stays on the books
    row = _row(SEPTEMBER)
    assert not row.is_open and not row.can_decide and row.volunteered_minutes == 14 * 60
    page = leader_client.get("/leader/allowances?month_from=2026-09&month_to=2026-10").get_data(as_text=True)
    assert "blocked from further payment" in page and "The school was closed for a strike" in page
    assert "Paid for 26 hours; 14 hours are confirmed now." in page
    # Hours restored later do not bring it back, the ledger builds no second line for the month, and
    # the next payment run leaves it out.
    assert allowance.build_ledger(leader, TODAY) == 0
    with pytest.raises(allowance.EnrollmentError, match="already exported"):
        allowance.decide(line.id, leader, "fixed_monthly", "Pay again")
    allowance.decide(_line(OCTOBER).id, leader, "fixed_monthly", "Fixed fee, no hourly rate agreed")
    next_batch, data = allowance_export.export_open(leader, SEPTEMBER, OCTOBER, language="en")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [(r["Month"], r["Amount (EUR)"]) for r in rows] == [("2026-10", "160.00")]
    assert next_batch != batch and _line(SEPTEMBER).export_batch == batch
    # The earlier batch, downloaded again, says the line is blocked.
    again = list(csv.DictReader(io.StringIO(allowance_export.batch_csv(batch, "en").decode("utf-8-sig"))))
    assert "Blocked from further payment" in again[0]["Warnings"]
    # In Dutch, for a Dutch spreadsheet: ;-separated, decimal commas, Dutch headers and notes.
    dutch = list(csv.DictReader(io.StringIO(allowance_export.batch_csv(next_batch, "nl").decode("utf-8-sig")),
                                delimiter=";"))
    assert [(r["Maand"], r["Bedrag (EUR)"]) for r in dutch] == [("2026-10", "160,00")]
    assert "Besluit" in dutch[0]["Waarschuwingen"]
    _books_agree()
