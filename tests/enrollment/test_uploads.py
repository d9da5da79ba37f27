"""The employee's own pages through a single-use link, and the CV/motivation uploads: PDF
only, checked by content, stored outside static under random names, served only to the
employee and the project leader as attachments that no browser renders in our origin."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tests.enrollment.conftest import pdf_bytes


@pytest.fixture
def enrolment(hr, enrol):
    return enrol(hr, employee_email="sanne@acme.nl")


def _upload(client, data: bytes, kind: str = "cv", name: str = "cv.pdf"):
    return client.post("/ambassador/documents", data={"kind": kind, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"]) / "enrollment"
    return sorted(p for p in root.iterdir()) if root.exists() else []


def test_the_link_works_once_and_a_mail_scanner_cannot_use_it_up(app, enrolment, outbox):
    path = outbox.last("sanne@acme.nl").link()
    scanner = app.test_client()
    assert scanner.get(path).status_code == 200  # following the link shows a button, nothing more
    assert scanner.get(path).status_code == 200
    browser = app.test_client()
    response = browser.post(path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/ambassador")
    home = browser.get("/ambassador")
    assert home.status_code == 200 and b"Hello Sanne de Vries" in home.data
    again = app.test_client().post(path)
    assert again.status_code == 302 and "/ambassador/link" in again.headers["Location"]
    assert app.test_client().get("/ambassador").status_code == 302  # no session, no page


def test_asking_for_a_new_link_is_silent_about_unknown_addresses(app, enrolment, outbox):
    client = app.test_client()
    before = len(outbox.messages)
    response = client.post("/ambassador/link", data={"email": "nobody@acme.nl"})
    assert response.status_code == 302 and len(outbox.messages) == before
    client.post("/ambassador/link", data={"email": "Sanne@Acme.nl"})
    assert len(outbox.to("sanne@acme.nl")) == 2


def test_a_new_link_leaves_the_old_one_working_until_one_is_used(app, hr, enrolment, outbox):
    # Issue 15 item 12: a new link used to cancel the old one, so anyone who knew the address
    # could keep cancelling the employee's link. Now the first link used ends the others.
    old = outbox.last("sanne@acme.nl").link()
    assert hr.client.post(f"/ambassadors/{enrolment.id}/link").status_code == 302
    new = outbox.last("sanne@acme.nl").link()
    assert old != new
    assert app.test_client().get(old).status_code == 200
    assert app.test_client().post(new).headers["Location"].endswith("/ambassador")
    assert "/ambassador/link" in app.test_client().post(old).headers["Location"]


def test_a_pdf_is_stored_under_a_random_name_outside_static(app, enrolment, ambassador_client):
    client = ambassador_client(enrolment)
    response = _upload(client, pdf_bytes(2), name="..\\..\\../etc/<cv> 2026.pdf")
    assert response.status_code == 302
    from portal.enrollment.models import Document

    document = Document.get()
    (stored,) = _stored_files(app)
    assert stored.name == document.stored_name and len(stored.stem) == 32
    assert "static" not in str(stored) and str(stored).startswith(app.config["UPLOAD_DIR"])
    assert document.original_name == "cv 2026.pdf"
    assert document.pages == 2 and document.size_bytes == stored.stat().st_size
    # A second upload replaces the first and leaves no file behind.
    assert _upload(client, pdf_bytes(1), name="cv-2026.pdf").status_code == 302
    (stored_again,) = _stored_files(app)
    assert stored_again != stored and Document.get().original_name == "cv-2026.pdf"


def test_the_employee_downloads_it_as_an_attachment_that_cannot_run(app, enrolment, ambassador_client):
    client = ambassador_client(enrolment)
    data = pdf_bytes()
    _upload(client, data, name="Motivatie Zoë.pdf", kind="motivation")
    response = client.get("/ambassador/documents/motivation")
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Motivatie%20Zo%C3%AB.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"MZ\x90\x00" + b"\x00" * 2000, "cv.pdf", "not a PDF"),
    (b"<html><script>alert(1)</script></html>", "cv.pdf", "not a PDF"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "cv.pdf", "not a PDF"),
    (b"PK\x03\x04" + b"\x00" * 200, "cv.pdf", "not a PDF"),
    (b"", "cv.pdf", "empty"),
    (b"%PDF-1.7\n this is not really a pdf", "cv.pdf", "damaged"),
    (pdf_bytes(javascript="open"), "cv.pdf", "scripts"),
    (pdf_bytes(javascript="names"), "cv.pdf", "scripts"),
    (pdf_bytes(password="geheim"), "cv.pdf", "protected with a password"),
    (b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024), "cv.pdf", "larger than 5 MB"),
])
def test_anything_but_a_plain_pdf_is_refused_and_nothing_is_stored(app, enrolment, ambassador_client, data, name, message):
    client = ambassador_client(enrolment)
    response = _upload(client, data, name=name)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    from portal.enrollment.models import Document

    assert Document.select().count() == 0 and _stored_files(app) == []


def test_a_pdf_is_recognised_by_content_not_by_name(app, enrolment, ambassador_client):
    client = ambassador_client(enrolment)
    assert _upload(client, pdf_bytes(), name="curriculum.docx").status_code == 302
    from portal.enrollment.models import Document

    assert Document.get().original_name == "curriculum.docx.pdf"


def test_only_the_employee_and_the_leader_can_download(app, hr, enrolment, enrol, ambassador_client, leader_client, make_company, login):
    client = ambassador_client(enrolment)
    _upload(client, pdf_bytes())
    assert leader_client.get(f"/leader/ambassadors/{enrolment.id}/documents/cv").status_code == 200
    # HR sees that it was uploaded, but cannot open it (the CV is for the intake).
    assert b"uploaded" in hr.client.get(f"/ambassadors/{enrolment.id}").data
    assert hr.client.get(f"/leader/ambassadors/{enrolment.id}/documents/cv").status_code == 404
    # Another employee's session sees only their own documents.
    other = enrol(hr, employee_email="bram@acme.nl")
    other_client = ambassador_client(other)
    assert other_client.get("/ambassador/documents/cv").status_code == 404
    assert app.test_client().get("/ambassador/documents/cv").status_code == 404
    outsider = login(app.test_client(), make_company("Intruder").admin)
    assert outsider.get(f"/leader/ambassadors/{enrolment.id}/documents/cv").status_code == 404


def test_a_30_mb_upload_gets_a_friendly_413(app, enrolment, ambassador_client):
    client = ambassador_client(enrolment)
    response = _upload(client, b"%PDF-" + b"0" * (30 * 1024 * 1024))
    assert response.status_code == 413 and b"at most 5 MB" in response.data


@pytest.mark.parametrize(("uploaded", "shown"), [
    ("cv.pdf", "cv.pdf"),
    ("C:\\Users\\anna\\CV Anna.PDF", "CV Anna.PDF"),
    ("../../etc/passwd", "passwd.pdf"),
    ("evil\r\nContent-Disposition: inline.pdf", "evilContent-Disposition: inline.pdf"),
    ("nul\x00byte.pdf", "nulbyte.pdf"),
    ("\u202egnp.pdf", "gnp.pdf"),
    ("", "cv.pdf"),
    ("...", "cv.pdf"),
    ("x" * 500 + ".pdf", "x" * 116 + ".pdf"),
])
def test_the_uploaded_name_is_only_harmless_display_text(uploaded, shown):
    from portal.enrollment.documents import display_name

    assert display_name(uploaded, "cv") == shown


def test_stored_names_are_never_taken_from_the_database_blindly(app):
    from portal.enrollment import documents

    with pytest.raises(ValueError):
        documents._path("../../portal.db")
    with pytest.raises(ValueError):
        documents._path("a" * 32 + ".pdf/../x")
    assert os.path.basename(documents._path("0" * 32 + ".pdf")) == "0" * 32 + ".pdf"


def test_hr_may_resend_a_link_twenty_times_an_hour_and_the_leader_is_not_held_to_it(
        app, app_config, hr, enrolment, leader, login, outbox):
    """The resend button mails the employee: HR's is limited (a company cannot flood an inbox from
    the portal), the project leader's is not; both send while under it."""
    import pyotp

    from portal import create_app
    from portal.accounts.models import User
    from portal.core.security import limiter

    limited = create_app(dict(app_config, RATELIMIT_ENABLED=True))  # the shared app runs without limits
    with limited.app_context():
        limiter.reset()
    company_client = login(limited.test_client(), hr.admin)
    leader_client = login(limited.test_client(), leader)
    leader_client.get("/login/totp")
    leader_client.post("/login/totp", data={"code": pyotp.TOTP(User.get_by_id(leader.id).totp_secret).now()})
    before = len(outbox.to("sanne@acme.nl"))
    for _ in range(20):
        assert company_client.post(f"/ambassadors/{enrolment.id}/link").status_code == 302
    assert company_client.post(f"/ambassadors/{enrolment.id}/link").status_code == 429
    assert len(outbox.to("sanne@acme.nl")) == before + 20
    for _ in range(21):
        assert leader_client.post(f"/leader/ambassadors/{enrolment.id}/link").status_code == 302
    assert len(outbox.to("sanne@acme.nl")) == before + 41
    # HR cannot use the project leader's address to get round its limit.
    assert company_client.post(f"/leader/ambassadors/{enrolment.id}/link").status_code == 404
