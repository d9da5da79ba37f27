"""Script and formula payloads typed into free-text fields stay text wherever they are shown: in
HTML (escaped), in CSV exports (a cell that would be a formula gets an apostrophe) and in PDFs
(printed as text, and the document carries no script or action)."""

from __future__ import annotations

import csv
import io
import secrets

import pypdf

from portal.core.spreadsheet import FORMULA_START
from portal.enrollment import service as enrollment
from portal.giving.models import Donation
from tests.enrollment.conftest import valid_raw

SCRIPT = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example","klik")'


def test_payloads_in_free_text_stay_text_in_html_csv_and_pdf(app, make_company, login):
    company = make_company("Acme", member=True)
    client = login(app.test_client(), company.admin)
    company.member.name = f"Mia {SCRIPT}"
    company.member.save()
    with app.test_request_context():
        enrollment.seed_reference_data()  # the migration seeds it; PostgreSQL test runs truncate it
        data, errors = enrollment.validate_enrolment(
            valid_raw(employee_name=f"Ed {SCRIPT}", job_title=FORMULA, department=SCRIPT),
            enrollment.ValidationContext.load(company))
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
    reader = pypdf.PdfReader(io.BytesIO(pdf.data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert 'alert("x")' in text.replace(" ", "")  # the typed text is printed, as text
    assert b"/JavaScript" not in pdf.data and b"/JS " not in pdf.data and b"/Launch" not in pdf.data
