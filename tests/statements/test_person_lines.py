"""A statement counts hours per ambassador by the person, not by her name (issue 14).

Two ambassadors of one company who share a name ("Jan de Vries" at two schools) are two rows of
the table per ambassador, each with her own hours and value; the snapshot (version 3) keeps who
each line's ambassador is (`person_key`, her enrolment). A statement issued before, whose lines
have no key (version 2), still opens as issued, shows no change that did not happen, and is
corrected into a version 3 statement.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from portal.core.contributions import Contribution
from portal.statements import after_issue, periods, service, snapshots
from portal.statements.models import Statement
from tests.pdftext import assert_in_pdf, assert_not_in_pdf, pdf_text
from tests.statements.test_snapshot_shapes import read_as, stored

D = dt.date
YEAR = periods.calendar_year(2025)
AFTER = D(2026, 1, 12)   # calendar year 2025 has ended


def two_jans(ledger, company):
    """Jan de Vries (enrolment 11) at EUR 50/h, another Jan de Vries (enrolment 12) at EUR 62.50/h, and Anna."""
    ledger.hours(company, D(2025, 3, 4), 480, "Jan de Vries", person_key="enrolment:11")    # 8:00 = 400.00
    ledger.hours(company, D(2025, 3, 11), 450, "Jan de Vries", person_key="enrolment:11")   # 7:30 = 375.00
    ledger.hours(company, D(2025, 3, 5), 360, "Jan de Vries", rate_cents=6250,
                 person_key="enrolment:12")                                                  # 6:00 = 375.00
    ledger.hours(company, D(2025, 3, 5), 120, "Jan de Vries", sponsored=False,
                 person_key="enrolment:12")                                                  # 2:00 volunteered
    ledger.hours(company, D(2025, 3, 6), 420, "Anna Bakker", person_key="enrolment:13")     # 7:00 = 350.00


def test_two_ambassadors_with_one_name_are_two_rows_with_their_own_hours(app, ledger, no_sroi, make_company):
    company = make_company("Tweelingen", language="nl")
    two_jans(ledger, company)
    statement = service.issue(company, YEAR, company.admin, today=AFTER)

    snapshot = snapshots.snapshot_of(statement)
    assert snapshot["version"] == 3
    assert {line["person_key"] for line in snapshot["lines"]} == {"enrolment:11", "enrolment:12", "enrolment:13"}
    people = [(p["person"], p["person_key"], p["lines"], p["minutes"], p["value_cents"])
              for p in snapshot["totals"]["hours_sponsored"]["people"]]
    assert people == [("Anna Bakker", "enrolment:13", 1, 420, 35_000),
                      ("Jan de Vries", "enrolment:11", 2, 930, 77_500),
                      ("Jan de Vries", "enrolment:12", 1, 360, 37_500)]
    assert snapshot["totals"]["hours_sponsored"]["value_by_basis"] == {"employer_cost": 150_000}
    assert [(p["person"], p["minutes"]) for p in snapshot["totals"]["hours_volunteered"]["people"]] == [
        ("Jan de Vries", 120)]

    # On paper: one row each, told apart, with her own figures (15:30 for the first, 6:00 for the other).
    text = pdf_text(statement.pdf_bytes)
    assert_in_pdf("Jan de Vries (1) 2 15:30 € 775,00", text)
    assert_in_pdf("Jan de Vries (2) 1 6:00 € 375,00", text)
    assert_in_pdf("Anna Bakker 1 7:00 € 350,00", text)
    assert_not_in_pdf("Jan de Vries 3 21:30", text)   # not the two added together under one name

    # The books group the same way: the concept's totals agree with the statement's.
    books = snapshots.totals_from_books(company.id, YEAR.start, YEAR.end)
    assert books["hours_sponsored"]["people"] == snapshot["totals"]["hours_sponsored"]["people"]
    assert not after_issue.needs_correction(statement)


def test_one_ambassador_is_one_row_whatever_her_number_of_sessions(app, ledger, no_sroi, make_company):
    company = make_company("Enkel", language="en")
    ledger.hours(company, D(2025, 9, 2), 480, "Sanne de Wit", person_key="enrolment:5")
    ledger.hours(company, D(2025, 9, 9), 480, "Sanne de Wit", person_key="enrolment:5")
    statement = service.issue(company, YEAR, today=AFTER)
    (row,) = snapshots.snapshot_of(statement)["totals"]["hours_sponsored"]["people"]
    assert (row["person"], row["lines"], row["minutes"], row["value_cents"]) == ("Sanne de Wit", 2, 960, 80_000)
    text = pdf_text(statement.pdf_bytes)
    assert_in_pdf("Sanne de Wit 2 16:00 €800.00", text)
    assert_not_in_pdf("Sanne de Wit (1)", text)


# --- the snapshot of version 2: lines without a person key --------------------------------------

V2_LINES = [
    {"kind": "hours_sponsored", "key": "hours:21", "on": "2026-03-04", "person": "Jan de Vries", "what": "hours",
     "subject": "OBS De Klimop", "detail": "", "description": "", "value_cents": 40_000, "basis": "employer_cost",
     "minutes": 480, "classification": "", "gross_cents": 0, "fee_cents": 0, "net_cents": 0, "method": "",
     "reference": ""},
    {"kind": "hours_sponsored", "key": "hours:22", "on": "2026-03-05", "person": "Jan de Vries", "what": "hours",
     "subject": "KBS De Regenboog", "detail": "", "description": "", "value_cents": 37_500,
     "basis": "employer_cost", "minutes": 360, "classification": "", "gross_cents": 0, "fee_cents": 0,
     "net_cents": 0, "method": "", "reference": ""},
]


def v2_snapshot(company) -> dict:
    """A statement of 2026 as version 2 stored it (issued in the running year, before that was
    refused): per ambassador by name, both Jans in one row, as issued."""
    totals = {
        "hours_sponsored": {"lines": 2, "minutes": 840, "value_by_basis": {"employer_cost": 77_500},
                            "people": [{"person": "Jan de Vries", "basis": "employer_cost", "lines": 2,
                                        "minutes": 840, "value_cents": 77_500}]},
        "hours_volunteered": {"lines": 0, "minutes": 0, "people": []},
        "material": {"lines": 0, "value_cents": 0, "by_classification": {}},
        "money": {"lines": 0, "gross_cents": 0, "fee_cents": 0, "net_cents": 0, "refunds_cents": 0,
                  "by_classification": {}},
        "sroi": {"claims": 0, "lines": 0},
    }
    return {"version": 2, "number": "OA-2026-0001", "issued_on": "2026-11-02", "language": company.language,
            "period": periods.calendar_year(2026).as_dict(), "issuer": {"name": "Stichting", "address": "Utrecht", "kvk": "1", "rsin": "2",
                                                 "anbi": True, "iban": "NL91ABNA0417164300"},
            "company": {"id": company.id, "name": company.legal_name, "street": company.street,
                        "postcode": company.postcode, "city": company.city, "kvk": company.kvk},
            "replaces": None, "lines": V2_LINES, "sroi": [], "totals": totals}


def test_a_version_2_statement_opens_as_issued_and_is_corrected_into_version_3(
        app, client, login, leader_client, leader, make_company, ledger, no_sroi):
    company = make_company("Oud", language="nl")
    statement = stored(company, v2_snapshot(company), marks=False)   # compared line by line
    # Today's contributions are the same lines, now with who each ambassador is.
    for line, key in zip(V2_LINES, ("enrolment:31", "enrolment:32"), strict=True):
        ledger.add(Contribution(kind=line["kind"], key=line["key"], company_id=company.id,
                                on=D.fromisoformat(line["on"]), what="hours", subject=line["subject"],
                                value_cents=line["value_cents"], basis="employer_cost", minutes=line["minutes"],
                                person=line["person"], person_key=key))

    # A key the old lines did not keep is no change: nothing to correct.
    assert after_issue.changes(statement) == []
    assert not after_issue.needs_correction(statement)
    login(client, company.admin)
    for language in ("nl", "en"):
        for page in (read_as(client, company.admin, language, f"/statements/{statement.id}"),
                     read_as(leader_client, leader, language, f"/leader/statements/{statement.id}")):
            assert statement.number in page
            assert "/correct" not in page                         # no correction offered
            assert "14:00" in page                                # its totals, as issued
            assert ("€ 775,00" if language == "nl" else "€775.00") in page

    # A real change (the second Jan's session was 5 hours): corrected into version 3, per person.
    second = next(c for c in ledger.items if c.key == "hours:22")
    ledger.replace(second, minutes=300, value_cents=31_250)
    assert [(c.change, c.key, c.fields) for c in after_issue.changes(statement)] == [
        ("changed", "hours:22", ["minutes", "value_cents"])]
    assert client.post(f"/statements/{statement.id}/correct").status_code == 302
    correction = Statement.get(Statement.replaces == statement.id)
    snapshot = json.loads(correction.snapshot)
    assert snapshot["version"] == 3
    assert [(p["person"], p["person_key"], p["minutes"]) for p in snapshot["totals"]["hours_sponsored"]["people"]] == [
        ("Jan de Vries", "enrolment:31", 480), ("Jan de Vries", "enrolment:32", 300)]
    assert client.get(f"/statements/{correction.id}").status_code == 200
    assert client.get(f"/statements/{statement.id}").status_code == 200


# --- through the enrolment capability: two real enrolments, one name ----------------------------

def test_two_enrolled_namesakes_are_two_rows_on_a_real_statement(app, request_context, make_company, leader,
                                                                 monkeypatch, no_sroi):
    """Two employees named Sanne de Vries, each enrolled and placed, each with confirmed hours."""
    from portal.core import clock
    from portal.core.contributions import contributions
    from portal.enrollment import hours, reference, schools, validation
    from portal.enrollment import service as enrollment
    from tests.statements.conftest import TODAY, raw

    monkeypatch.setattr(clock, "today", lambda: TODAY)
    reference.seed_reference_data()
    school = schools.save_school(leader, {"name": "OBS De Klimop", "brin": "12KL", "street": "Zamenhofdreef 2",
                                             "postcode": "3562 JT", "city": "Utrecht", "coordinator_name": "Ic",
                                             "coordinator_email": "ic@klimop.nl"})
    company = make_company("Naamgenoten", language="nl")
    enrolments = []
    for email, weekday in (("sanne@naamgenoten.nl", "tuesday"), ("s.devries@naamgenoten.nl", "thursday")):
        data, errors = validation.validate_enrolment(raw(employee_email=email, weekday=weekday),
                                                     validation.ValidationContext.load(company))
        assert not errors, errors
        enrolment = enrollment.create_enrolment(company, company.admin, data)
        for step in ("intake", "matched", "active"):
            enrolment = enrollment.move(enrolment, step, leader, school=school, group_name="groep 5b",
                                        teacher_name="juf Aylin")
        enrolments.append(enrolment)
    sessions = {0: 3, 1: 2}                               # 3 sessions of 8:00 for the first, 2 for the second
    for index, enrolment in enumerate(enrolments):
        planned = [e for e in hours.register(enrolment) if e.worked_on <= TODAY][:sessions[index]]
        hours.report_sessions(enrolment, [hours.SessionReport(e.id, True, 480) for e in planned],
                              actor=company.admin, via="hr", today=TODAY)
        hours.decide_entries([e.id for e in planned], leader, approve=True)
    if not any(c.person_key for c in contributions(company.id)):
        pytest.skip("the enrolment source does not name its ambassador's enrolment (person_key) yet")

    statement = service.issue(company, periods.custom(D(2026, 8, 1), TODAY), company.admin,
                              today=TODAY + dt.timedelta(days=1))
    people = snapshots.snapshot_of(statement)["totals"]["hours_sponsored"]["people"]
    # Mixed funding: 6 of each 8 hours sponsored at EUR 50.
    assert sorted((p["person"], p["person_key"], p["minutes"], p["value_cents"]) for p in people) == [
        ("Sanne de Vries", f"enrolment:{enrolments[0].id}", 3 * 360, 3 * 30_000),
        ("Sanne de Vries", f"enrolment:{enrolments[1].id}", 2 * 360, 2 * 30_000)]
    text = pdf_text(statement.pdf_bytes)
    assert_in_pdf("Sanne de Vries (1) 3 18:00 € 900,00", text)
    assert_in_pdf("Sanne de Vries (2) 2 12:00 € 600,00", text)
