"""End to end through the enrolment capability's real service: confirmed hours on a statement,
a correction of those hours, and the certificate of a completed placement."""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("portal.enrollment.hours")

from portal.enrollment import hours  # noqa: E402
from portal.enrollment import service as enrollment  # noqa: E402
from portal.enrollment.models import HoursEntry  # noqa: E402
from portal.statements import after_issue, certificates, periods, service, snapshots  # noqa: E402
from tests.pdftext import assert_in_pdf, pdf_text  # noqa: E402

from .conftest import TODAY  # noqa: E402


def test_confirmed_hours_are_on_the_statement_and_marked(app, placement, leader):
    company, enrolment, planned = placement
    # The school year so far (a running school year gets no statement, a custom period does).
    statement = service.issue(company, periods.custom(dt.date(2026, 8, 1), TODAY), company.admin,
                              today=TODAY + dt.timedelta(days=1))
    totals = snapshots.snapshot_of(statement)["totals"]
    # Mixed funding, 6 of 8 hours sponsored: 3 x 6:00 sponsored at EUR 50 = 900.00, 3 x 2:00 volunteered.
    assert totals["hours_sponsored"]["minutes"] == 3 * 360
    assert totals["hours_sponsored"]["value_by_basis"] == {"employer_cost": 3 * 30_000}
    assert totals["hours_volunteered"]["minutes"] == 3 * 120
    text = pdf_text(statement.pdf_bytes)
    for value in ("Sanne de Vries", "18:00", "€ 900,00"):
        assert_in_pdf(value, text)
    # Enrolment now knows these rows are on an issued statement.
    assert all(HoursEntry.get_by_id(e.id).locked_at is not None for e in planned)
    assert not after_issue.needs_correction(statement)

    # The leader corrects one session from 8 to 6 hours: the statement needs a correction.
    hours.correct_entry(planned[0].id, leader, "Left early", 360)
    assert after_issue.needs_correction(statement)
    kinds = {(c.change, c.kind) for c in after_issue.changes(statement)}
    assert ("added", "hours_sponsored") in kinds  # the reversal and the corrected row
    correction = service.issue_correction(statement, company.admin, today=dt.date(2026, 11, 30))
    fixed = snapshots.snapshot_of(correction)["totals"]
    assert fixed["hours_sponsored"]["minutes"] + fixed["hours_volunteered"]["minutes"] == 3 * 480 - 120


def test_certificate_for_a_completed_placement(app, placement, leader, login):
    company, enrolment, _planned = placement
    assert certificates.completed(company.id) == []
    enrollment.move(enrolment, "completed", leader)
    (certificate,) = certificates.completed(company.id)
    assert (certificate.person, certificate.school, certificate.school_year, certificate.minutes) == (
        "Sanne de Vries", "OBS De Klimop", "2026-2027", 3 * 480)
    data = certificates.render(certificate)
    assert data == certificates.render(certificate)  # same placement, same bytes
    text = pdf_text(data)
    for value in ("Sanne de Vries", "OBS De Klimop", "24:00", "2026-2027"):
        assert_in_pdf(value, text)

    client = app.test_client()
    login(client, company.admin)
    page = client.get("/statements/certificates")
    assert b"Sanne de Vries" in page.data
    response = client.get(f"/statements/certificates/{enrolment.id}/pdf")
    assert response.status_code == 200 and response.data == data
    assert response.headers["Content-Security-Policy"] == "sandbox"


def test_certificate_is_404_for_another_company_or_an_unfinished_placement(app, placement, leader, make_company, login):
    company, enrolment, _planned = placement
    client = app.test_client()
    login(client, company.admin)
    assert client.get(f"/statements/certificates/{enrolment.id}/pdf").status_code == 404  # still active
    enrollment.move(enrolment, "completed", leader)
    intruder = make_company("Intruder")
    other = app.test_client()
    login(other, intruder.admin)
    assert other.get(f"/statements/certificates/{enrolment.id}/pdf").status_code == 404
    assert b"Sanne" not in other.get("/statements/certificates").data
