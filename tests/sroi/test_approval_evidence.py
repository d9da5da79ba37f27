"""SROI approvals as a control (issue 14): the company records the buyer's approval with the buyer's
letter, the project leader confirms it (or rejects it with a reason), and only confirmed approvals
count as approved. The commitment: 5 % of a EUR 400,000 contract = EUR 20,000; sponsored hours
valued at EUR 100 an hour (Utrecht's table)."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import json
import re
import struct
import zlib

import pytest

from portal.core import audit
from portal.sroi import evidence, report, service
from portal.sroi.models import Approval, ApprovalEvidence, ApprovalReview
from tests.conftest import PASSWORD
from tests.sroi.conftest import pdf_bytes

APPROVED_ON = "2026-11-20"


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A small real PNG (a scan of a letter, in miniature): every chunk with its checksum."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    return (evidence.PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def jpeg_bytes() -> bytes:
    """The frame of a baseline JPEG of 1 x 1 pixel: start, frame header, scan header, data, end."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    frame = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 1, 1, 1) + b"\x01\x11\x00"
    scan = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app0 + frame + scan + b"\x12\x34\x56" + b"\xff\xd9"


@pytest.fixture
def world(company_client, make_company, ledger, make_commitment, leader, leader_client, app):
    """Bouwbedrijf with its commitment (obligation EUR 20,000) and 160 sponsored hours allocated
    (20 days of 8 hours at EUR 100 = EUR 16,000 claimed); the leader signed in."""
    company, client = company_client("Bouwbedrijf", member=True)
    with app.test_request_context():
        commitment = make_commitment(company.admin, base_cents=40_000_000, contract_reference="UTR-2026-0400")
        for day in range(20):
            session = ledger.hours(company, 8 * 60, person="Anna de Vries" if day % 2 else "Bram Jansen",
                                   on=dt.date(2026, 9, 1) + dt.timedelta(days=day * 3))
            service.set_allocation(company.admin, commitment.id, session.key, 8 * 60)
    state = service.summary(commitment)
    assert (state.obligation_cents, state.claimed_cents) == (2_000_000, 1_600_000)

    class World:
        pass

    w = World()
    w.company, w.client, w.commitment, w.leader, w.leader_client = company, client, commitment, leader, leader_client
    return w


def record(client, commitment, amount: str, *, data: bytes | None = None, name: str = "akkoord-utrecht.pdf",
           reason: str = "", reference: str = "SR-UTR-2026-118", mimetype: str = "application/pdf"):
    form = {"amount": amount, "approved_on": APPROVED_ON, "reference": reference, "note": "Rapportage eerste halfjaar",
            "exceeds_reason": reason}
    if data is not None or name:
        form["evidence"] = (io.BytesIO(pdf_bytes() if data is None else data), name, mimetype)
    return client.post(f"/sroi/{commitment.id}/approvals/new", data=form, content_type="multipart/form-data")


def test_an_approval_counts_only_once_the_project_leader_has_confirmed_it(world):
    letter = pdf_bytes(pages=2)
    response = record(world.client, world.commitment, "16.000,00", data=letter)
    assert response.status_code == 302, text_of(response)
    approval = Approval.get()
    stored = ApprovalEvidence.get(ApprovalEvidence.approval == approval.id)
    assert (stored.content_type, stored.size_bytes, stored.company_id) == ("application/pdf", len(letter), world.company.id)
    assert stored.sha256 == hashlib.sha256(letter).hexdigest() and bytes(stored.data) == letter   # kept as sent

    # Recorded, not approved: the company sees it waiting, and the three amounts say so.
    page = text_of(world.client.get(f"/sroi/{world.commitment.id}"))
    assert "waiting for the project leader" in page
    assert "€16,000.00 waiting for confirmation" in page
    state = service.summary(world.commitment)
    assert (state.obligation_cents, state.claimed_cents, state.approved_cents, state.awaiting_cents) == (
        2_000_000, 1_600_000, 0, 1_600_000)
    assert state.gap_cents == 2_000_000

    # The leader sees what waits for her, reads the letter and confirms.
    assert "1 to confirm" in text_of(world.leader_client.get("/sroi/leader"))
    assert "1 approval by a buyer waits for your confirmation." in text_of(world.leader_client.get("/leader"))
    download = world.leader_client.get(f"/sroi/leader/{world.commitment.id}/approvals/{approval.id}/letter")
    assert download.status_code == 200 and download.data == letter
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "akkoord-utrecht.pdf" in download.headers["Content-Disposition"]
    assert download.headers["Content-Security-Policy"] == "sandbox"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    leader_page = text_of(world.leader_client.get(f"/sroi/leader/{world.commitment.id}"))
    assert "akkoord-utrecht.pdf" in leader_page and "Confirm" in leader_page
    response = world.leader_client.post(f"/sroi/leader/{world.commitment.id}/approvals/{approval.id}/review",
                                        data={"decision": "confirm"})
    assert response.status_code == 302

    state = service.summary(world.commitment)
    assert (state.approved_cents, state.awaiting_cents, state.gap_cents) == (1_600_000, 0, 400_000)
    page = text_of(world.client.get(f"/sroi/{world.commitment.id}"))
    assert "confirmed, counts" in page and "Lotte Leider" in page
    # A second decision is refused by the database's UNIQUE rule, not by looking first.
    response = world.leader_client.post(f"/sroi/leader/{world.commitment.id}/approvals/{approval.id}/review",
                                        data={"decision": "reject", "reason": "Second thoughts"},
                                        follow_redirects=True)
    assert "decided on already" in text_of(response)
    assert ApprovalReview.select().count() == 1 and ApprovalReview.get().decision == "confirmed"

    recorded = audit.AuditLog.get(audit.AuditLog.action == "sroi.approval.recorded")
    details = json.loads(recorded.details)
    assert (recorded.company_id, recorded.actor_id) == (world.company.id, world.company.admin.id)
    assert details["amount_cents"] == 1_600_000 and details["evidence_sha256"] == hashlib.sha256(letter).hexdigest()
    confirmed = audit.AuditLog.get(audit.AuditLog.action == "sroi.approval.confirmed")
    assert (confirmed.company_id, confirmed.actor_id) == (world.company.id, world.leader.id)
    assert json.loads(confirmed.details)["approval_id"] == approval.id
    assert audit.verify().ok


def test_the_leader_rejects_with_a_reason_the_company_reads(world):
    assert record(world.client, world.commitment, "16.000,00").status_code == 302
    approval = Approval.get()
    url = f"/sroi/leader/{world.commitment.id}/approvals/{approval.id}/review"
    response = world.leader_client.post(url, data={"decision": "reject", "reason": ""})
    assert response.status_code == 422
    assert "Please fill in the reason for rejecting." in text_of(response)
    assert ApprovalReview.select().count() == 0
    response = world.leader_client.post(url, data={"decision": "reject",
                                                   "reason": "The letter approves the 2025 contract, not this one"})
    assert response.status_code == 302
    page = text_of(world.client.get(f"/sroi/{world.commitment.id}"))
    assert "rejected" in page and "The letter approves the 2025 contract, not this one" in page
    state = service.summary(world.commitment)
    assert (state.approved_cents, state.awaiting_cents, state.gap_cents) == (0, 0, 2_000_000)
    rejected = audit.AuditLog.get(audit.AuditLog.action == "sroi.approval.rejected")
    assert json.loads(rejected.details)["reason"] == "The letter approves the 2025 contract, not this one"
    assert rejected.actor_id == world.leader.id
    # A rejected approval no longer stands: a new one of EUR 16,000 needs no reason.
    assert record(world.client, world.commitment, "16.000,00", reference="SR-UTR-2026-119").status_code == 302


def test_an_approval_above_the_claim_or_the_obligation_needs_the_companys_reason(world):
    response = record(world.client, world.commitment, "18.000,00")
    assert response.status_code == 422
    page = text_of(response)
    assert "more than your claim of €16,000.00" in page
    assert 'value="SR-UTR-2026-118"' in page and 'value="18.000,00"' in page        # nothing typed is lost
    assert Approval.select().count() == 0 and ApprovalEvidence.select().count() == 0

    response = record(world.client, world.commitment, "18.000,00",
                      reason="The adviser also counts the two training days")
    assert response.status_code == 302
    first = Approval.get()
    assert (first.exceeds, first.exceeds_reason) == ("claim", "The adviser also counts the two training days")
    for page in (text_of(world.client.get(f"/sroi/{world.commitment.id}")),
                 text_of(world.leader_client.get(f"/sroi/leader/{world.commitment.id}"))):
        assert "More than the claim" in page and "The adviser also counts the two training days" in page

    # A second letter brings the approvals to EUR 21,000: above the obligation of EUR 20,000 too.
    response = record(world.client, world.commitment, "3.000,00", reference="SR-UTR-2026-140")
    assert response.status_code == 422
    assert "come to €21,000.00, more than your claim of €16,000.00 (obligation €20,000.00)" in text_of(response)
    response = record(world.client, world.commitment, "3.000,00", reference="SR-UTR-2026-140",
                      reason="Final report approved with the extra lessons")
    assert response.status_code == 302
    assert Approval.get(Approval.reference == "SR-UTR-2026-140").exceeds == "both"
    details = json.loads(audit.AuditLog.select().where(audit.AuditLog.action == "sroi.approval.recorded")
                         .order_by(audit.AuditLog.id.desc()).first().details)
    assert (details["standing_cents"], details["claimed_cents"], details["obligation_cents"]) == (
        2_100_000, 1_600_000, 2_000_000)
    # The report says what is confirmed and what waits.
    with world.client.application.test_request_context():
        text = report.report_html(world.commitment, world.company)
    assert "More than the claim and the obligation" in text and "waiting for confirmation" in text


@pytest.mark.parametrize(("data", "name", "mimetype", "message"), [
    (b"<html><script>alert(1)</script></html>", "akkoord.pdf", "application/pdf", "not a PDF, PNG or JPEG"),
    (b"MZ\x90\x00 an executable", "akkoord.jpg", "image/jpeg", "not a PDF, PNG or JPEG"),
    (png_bytes()[:40], "scan.png", "image/png", "damaged or incomplete"),
    (jpeg_bytes()[:-12], "scan.jpg", "image/jpeg", "damaged or incomplete"),
    (b"%PDF-1.7\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n", "akkoord.pdf",
     "application/pdf", "scripts, actions or attached files"),
    (b"%PDF-1.7\n" + b"0" * evidence.MAX_EVIDENCE_BYTES, "groot.pdf", "application/pdf", "larger than 5 MB"),
    (b"", "", "application/octet-stream", "Upload the buyer's letter"),
])
def test_the_letter_is_judged_by_its_bytes_not_by_its_name(world, data, name, mimetype, message):
    response = record(world.client, world.commitment, "16.000,00", data=data, name=name, mimetype=mimetype)
    assert response.status_code == 422
    page = text_of(response)
    assert message in page
    assert 'value="SR-UTR-2026-118"' in page
    assert Approval.select().count() == 0 and ApprovalEvidence.select().count() == 0


def test_a_scan_as_png_or_jpeg_is_kept_as_what_it_really_is(world):
    # A PNG the browser calls a PDF: stored and served as the PNG it is, with a name that says so.
    assert record(world.client, world.commitment, "8.000,00", data=png_bytes(), name="scan akkoord.pdf",
                  mimetype="application/pdf").status_code == 302
    assert record(world.client, world.commitment, "8.000,00", data=jpeg_bytes(), name="foto-brief",
                  reference="SR-UTR-2026-119", mimetype="application/octet-stream").status_code == 302
    stored = [(e.content_type, e.original_name) for e in ApprovalEvidence.select().order_by(ApprovalEvidence.id)]
    assert stored == [("image/png", "scan akkoord.png"), ("image/jpeg", "foto-brief.jpg")]
    first = Approval.select().order_by(Approval.id).first()
    download = world.client.get(f"/sroi/{world.commitment.id}/approvals/{first.id}/letter")
    assert download.status_code == 200 and download.mimetype == "image/png" and download.data == png_bytes()
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_a_second_company_can_neither_see_nor_download_the_letter(world, company_client, make_commitment, app):
    assert record(world.client, world.commitment, "16.000,00", name="akkoord-bouwbedrijf-geheim.pdf").status_code == 302
    approval = Approval.get()
    other, other_client = company_client("Installatiebedrijf", member=True)
    with app.test_request_context():
        own = make_commitment(other.admin, contract_reference="INST-2026-01")
    letter_url = f"/sroi/{world.commitment.id}/approvals/{approval.id}/letter"
    for url in (letter_url, f"/sroi/{own.id}/approvals/{approval.id}/letter",      # under its own commitment too
                f"/sroi/{world.commitment.id}", f"/sroi/{world.commitment.id}/approvals/{approval.id}/correct"):
        response = other_client.get(url)
        assert response.status_code == 404, url
        assert "akkoord-bouwbedrijf-geheim" not in response.get_data(as_text=True)
    assert "akkoord-bouwbedrijf-geheim" not in other_client.get(f"/sroi/{own.id}").get_data(as_text=True)
    # Nor the leader's routes, for anyone but the leader; nor can a company confirm its own approval.
    for client in (other_client, world.client):
        assert client.get(f"/sroi/leader/{world.commitment.id}/approvals/{approval.id}/letter").status_code == 404
        assert client.post(f"/sroi/leader/{world.commitment.id}/approvals/{approval.id}/review",
                           data={"decision": "confirm"}).status_code == 404
    assert ApprovalReview.select().count() == 0
    with app.test_request_context(), pytest.raises(service.SroiError):
        service.confirm_approval(world.company.admin, approval.id)
    # The company's member may download it, and the leader.
    member = world.client.application.test_client()
    member.post("/login", data={"email": world.company.member.email, "password": PASSWORD})
    assert member.get(letter_url).status_code == 200
    assert world.leader_client.get(f"/sroi/leader/{world.commitment.id}/approvals/{approval.id}/letter"
                                   ).status_code == 200
    # An approval under another commitment's URL is not found, for the leader too.
    assert world.leader_client.get(f"/sroi/leader/{own.id}/approvals/{approval.id}/letter").status_code == 404


def test_a_correction_keeps_the_letter_and_is_confirmed_again(world):
    assert record(world.client, world.commitment, "16.000,00").status_code == 302
    original = Approval.get()
    with world.client.application.test_request_context():
        service.confirm_approval(world.leader, original.id)
    assert service.summary(world.commitment).approved_cents == 1_600_000
    response = world.client.post(
        f"/sroi/{world.commitment.id}/approvals/{original.id}/correct",
        data={"amount": "15.000,00", "approved_on": APPROVED_ON, "reference": "SR-UTR-2026-118b",
              "reason": "The adviser's second letter lowers the amount"}, content_type="multipart/form-data")
    assert response.status_code == 302, text_of(response)
    correction = Approval.get(Approval.corrects == original.id)
    letters = {e.approval_id: e.sha256 for e in ApprovalEvidence.select()}
    assert letters[correction.id] == letters[original.id]                     # the original's letter, kept
    state = service.summary(world.commitment)
    assert (state.approved_cents, state.awaiting_cents) == (0, 1_500_000)     # replaced, the correction waits
    with world.client.application.test_request_context():
        with pytest.raises(service.SroiError, match="corrected this approval"):
            service.confirm_approval(world.leader, original.id)
        service.confirm_approval(world.leader, correction.id)
    assert service.summary(world.commitment).approved_cents == 1_500_000


def test_an_approval_recorded_before_letters_were_required_waits_for_one(world):
    assert record(world.client, world.commitment, "16.000,00").status_code == 302
    approval = Approval.get()
    ApprovalEvidence.delete().execute()            # as every approval recorded before migration 0015
    response = world.leader_client.post(f"/sroi/leader/{world.commitment.id}/approvals/{approval.id}/review",
                                        data={"decision": "confirm"}, follow_redirects=True)
    assert "has no letter from the buyer" in text_of(response)
    assert ApprovalReview.select().count() == 0
    assert "no letter" in text_of(world.client.get(f"/sroi/{world.commitment.id}"))
    form = {"amount": "16.000,00", "approved_on": APPROVED_ON, "reference": "SR-UTR-2026-118",
            "reason": "The buyer's letter added"}
    url = f"/sroi/{world.commitment.id}/approvals/{approval.id}/correct"
    response = world.client.post(url, data=form, content_type="multipart/form-data")
    assert response.status_code == 422 and "Upload the buyer's letter" in text_of(response)
    response = world.client.post(url, data={**form, "evidence": (io.BytesIO(pdf_bytes()), "brief.pdf")},
                                 content_type="multipart/form-data")
    assert response.status_code == 302
    assert ApprovalEvidence.select().count() == 1
