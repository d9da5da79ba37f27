"""Script and formula payloads typed into free-text fields stay text wherever they are shown: in
HTML (escaped), in CSV exports (a cell that would be a formula gets an apostrophe) and in PDFs
(printed as text, and the document carries no script or action)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets

from portal.core.spreadsheet import FORMULA_START
from portal.enrollment import reference, schools, validation
from portal.enrollment import service as enrollment
from portal.giving.models import Donation
from tests.enrollment.conftest import valid_raw
from tests.pdftext import assert_in_pdf
from tests.sroi.conftest import pdf_bytes

SCRIPT = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example","klik")'


def test_payloads_in_free_text_stay_text_in_html_csv_and_pdf(app, make_company, login):
    company = make_company("Acme", member=True)
    client = login(app.test_client(), company.admin)
    company.member.name = f"Mia {SCRIPT}"
    company.member.save()
    with app.test_request_context():
        reference.seed_reference_data()  # the migration seeds it; PostgreSQL test runs truncate it
        data, errors = validation.validate_enrolment(
            valid_raw(employee_name=f"Ed {SCRIPT}", job_title=FORMULA, department=SCRIPT),
            validation.ValidationContext.load(company))
        assert not errors, errors
        enrolment = enrollment.create_enrolment(company, company.admin, data)
    response = client.post("/giving/donate", data={
        "amount": "250", "classification": "gift", "method": "bank", "earmark_school": "",
        "earmark_purpose": f"{FORMULA} {SCRIPT}", "form_token": secrets.token_urlsafe(24)})
    assert response.status_code in (302, 303), response.data[:300]
    donation = Donation.get()

    for path in ("/dashboard", "/team", "/ambassadors", f"/ambassadors/{enrolment.id}", "/giving",
                 f"/give/donations/{donation.id}"):
        page = client.get(path)
        text = page.get_data(as_text=True)
        assert page.status_code == 200, path
        assert "<script>alert" not in text and "<img src=x" not in text, path
        assert "&lt;script&gt;" in text or "&lt;img src=x" in text, f"{path} does not show the typed text at all"

    rows = list(csv.reader(io.StringIO(client.get("/giving/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    cells = [cell for row in rows[1:] for cell in row if "HYPERLINK" in cell]
    assert f"'{FORMULA} {SCRIPT}" in cells                     # the earmark column, neutralised
    assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_START)], rows

    pdf = client.get(f"/giving/donations/{donation.id}/payment-request.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert_in_pdf('alert("x")', pdf.data)  # the typed text is printed, as text
    assert b"/JavaScript" not in pdf.data and b"/JS " not in pdf.data and b"/Launch" not in pdf.data


def _shown_as_text(client, path: str) -> None:
    page = client.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200, (path, page.status_code)
    assert "<script>alert" not in text and "<img src=x" not in text, path
    assert "&lt;script&gt;" in text or "&lt;img src=x" in text, f"{path} does not show the typed text at all"


def _pdf_is_inert_and_prints(data: bytes, *, printed: bool = True) -> None:
    assert data.startswith(b"%PDF-")
    assert b"/JavaScript" not in data and b"/JS " not in data and b"/Launch" not in data
    if printed:
        assert_in_pdf('alert("x")', data)


def _csv_is_inert(data: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_START)], rows
    return rows


def test_payloads_in_sroi_materials_schools_reasons_and_statements_stay_text(
        app, make_company, login, leader, leader_client):
    from portal.giving import materials
    from portal.giving import service as giving
    from portal.statements import periods
    from portal.statements import service as statements
    from portal.statements.models import Statement

    company = make_company("Acme")
    client = login(app.test_client(), company.admin)

    # SROI: every free-text field of a commitment and of an approval.
    response = client.post("/sroi/new", data={
        "template": "utrecht-bouwblokken", "authority": f"Gemeente {SCRIPT}", "contract_reference": FORMULA,
        "description": f"Onderhoud {SCRIPT}", "base_type": "contract_value_excl_vat", "base_amount": "100.000,00",
        "percentage": "5", "cap_amount": "", "period_start_on": "2026-08-01", "period_end_on": "2027-07-31",
        "deadline_on": "2027-09-30", "buyer_contact_name": f"Sanne {SCRIPT}", "buyer_contact_email": "sroi@utrecht.nl",
        "buyer_contact_phone": "030 286 00 00"})
    assert response.status_code == 302, response.data[:500]
    commitment_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    response = client.post(f"/sroi/{commitment_id}/approvals/new", data={
        "amount": "100", "approved_on": "2026-10-01", "reference": FORMULA, "note": f"Akkoord {SCRIPT}",
        "evidence": (io.BytesIO(pdf_bytes()), f"brief {SCRIPT}.pdf"), "exceeds_reason": f"Vooraf {SCRIPT}"})
    assert response.status_code == 302, response.data[:500]
    for path in ("/sroi/", f"/sroi/{commitment_id}"):
        _shown_as_text(client, path)
    _shown_as_text(leader_client, f"/sroi/leader/{commitment_id}")
    _pdf_is_inert_and_prints(client.get(f"/sroi/{commitment_id}/report.pdf").data)

    # Materials: the leader's need, the company's offer, the leader's reason for declining.
    with app.test_request_context():
        materials.publish_need(leader, item=f"Boeken {SCRIPT}", description=FORMULA, quantity=3, school_id=None,
                            needed_by=None)
    response = client.post("/giving/materials/pledge", data={
        "need": "", "description": f"Laptops {SCRIPT}", "quantity": "2", "declared_value": "100,00",
        "classification": "gift", "form_token": secrets.token_urlsafe(24)})
    assert response.status_code == 302, response.data[:500]
    from portal.giving.models import MaterialPledge

    pledge = MaterialPledge.get()
    assert leader_client.post(f"/giving/leader/pledges/{pledge.id}/decline",
                              data={"reason": f"Vol {SCRIPT}"}).status_code == 302
    _shown_as_text(client, "/giving/materials")
    _shown_as_text(leader_client, f"/giving/leader/pledges/{pledge.id}")
    _shown_as_text(leader_client, "/giving/leader")

    # Schools (named by the leader) and a withdrawal's reason, as HR sees them.
    with app.test_request_context():
        reference.seed_reference_data()
        school = schools.save_school(leader, {
            "name": f"OBS {SCRIPT}", "brin": "12KL", "street": "Zamenhofdreef 2", "postcode": "3562 JT",
            "city": "Utrecht", "coordinator_name": f"Ic {SCRIPT}", "coordinator_email": "ic@klimop.nl"})
        data, errors = validation.validate_enrolment(valid_raw(), validation.ValidationContext.load(company))
        assert not errors, errors
        enrolment = enrollment.create_enrolment(company, company.admin, data)
        enrollment.move(enrolment, "intake", leader)
        enrollment.move(enrollment.Enrolment.get_by_id(enrolment.id), "matched", leader, school=school,
                        group_name=f"groep 5 {SCRIPT}", teacher_name=FORMULA)
        enrollment.move(enrollment.Enrolment.get_by_id(enrolment.id), "withdrawn", leader,
                        reason=f"Verhuisd {SCRIPT}")
    _shown_as_text(client, f"/ambassadors/{enrolment.id}")
    _shown_as_text(leader_client, f"/leader/ambassadors/{enrolment.id}")

    # A statement: a donation's purpose on paper and in the specification spreadsheet.
    with app.test_request_context():
        donation, _new = giving.create_donation(
            giving.DonationInput(25_000, "gift", "bank", secrets.token_urlsafe(24), earmark_purpose=f"{FORMULA} {SCRIPT}"),
            user=company.admin)
        giving.mark_paid_by_bank(donation.reference, 25_000, dt.date(2026, 11, 2), leader, "line 1")
        statements.issue(company, periods.calendar_year(2026), company.admin, today=dt.date(2027, 1, 4))
    statement = Statement.get()
    _pdf_is_inert_and_prints(client.get(f"/statements/{statement.id}/pdf").data)
    rows = _csv_is_inert(client.get(f"/statements/{statement.id}/specification.csv").get_data(as_text=True))
    assert any("HYPERLINK" in cell for row in rows for cell in row)
