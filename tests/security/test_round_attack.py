# ruff: noqa: F811  (fixtures imported from the SROI tests are named again as test parameters)
"""An outside attacker's round against this round's new routes (review R2).

Each test is one attack: IDOR across companies, key-guarded links without the key, CSRF on the new
POST routes, file-upload tricks on the buyer's letter and the bank statement, the demo payment
page and forged webhooks in a production-like configuration, formula injection in the journal
and the exports, script in new templates, and links that break the leader's pages.

A test marked xfail(strict=True) shows a hole that is still open (its reason says which); the
others are attacks the portal refuses today and stay as regression tests.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import secrets
import struct
import time
import zlib

import pytest

from portal import create_app
from portal.core.spreadsheet import FORMULA_START
from portal.giving import demo_checkout
from portal.giving.models import Donation, StripeEvent
from portal.sroi import evidence
from portal.sroi.models import Approval, ApprovalEvidence
from tests.conftest import PRODUCTION_ISSUER, FreshContextClient
from tests.sroi.conftest import company_client, ledger, make_commitment, pdf_bytes  # noqa: F401

TODAY = dt.date(2026, 11, 28)
SCRIPT = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'
FORMULAS = ['=HYPERLINK("http://evil.example","klik")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def unescaped(response) -> str:
    return " ".join(html.unescape(response.get_data(as_text=True)).split())


def given_in_2025(app, ledger, gifts) -> None:
    """Money each company gave in March 2025, in the books and in a contribution source, as a
    capability posts it: what a run for every company issues statements of."""
    from portal.core import hooks
    from portal.core.contributions import Contribution

    class Posted:
        def __init__(self, company_id: int) -> None:
            self.id = company_id

    given = [Contribution(kind="money", key=f"donation:run-{company.id}", company_id=company.id,
                          on=dt.date(2025, 3, 2), description=f"Gift {SCRIPT}", value_cents=cents, basis="at_cost",
                          classification="gift", gross_cents=cents, net_cents=cents, method="bank")
             for company, cents in gifts]
    for c in given:
        ledger.money(Posted(c.company_id), c.gross_cents, on=c.on, key=c.key)
    hooks.connect(app, hooks.CONTRIBUTIONS, lambda company_id, start, end: [
        c for c in given if (company_id is None or c.company_id == company_id)
        and (start is None or c.on >= start) and (end is None or c.on <= end)])


def assert_escaped(response, where: str = "") -> None:
    text = response.get_data(as_text=True)
    assert response.status_code == 200, (where, response.status_code)
    assert "<script>alert" not in text and "<img src=x" not in text, where


# --- SROI: the buyer's letter ------------------------------------------------------------------

def _png(width: int = 2, height: int = 2, *, idat: bytes | None = None, tail: bytes = b"") -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\xff\xff\xff" * min(width, 4) for _ in range(min(height, 4)))
    return (evidence.PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", idat if idat is not None else zlib.compress(rows)) + chunk(b"IEND", b"") + tail)


@pytest.fixture
def sroi(app, company_client, ledger, make_commitment, leader, leader_client):
    """Company A (a commitment with EUR 16,000 of sponsored hours allocated) and company B, both
    logged in; the project leader signed in."""
    from portal.sroi import service

    a, a_client = company_client("Bouwbedrijf", member=True)
    b, b_client = company_client("Concurrent")
    with app.test_request_context():
        commitment = make_commitment(a.admin, base_cents=40_000_000, contract_reference="UTR-2026-0400")
        own_b = make_commitment(b.admin, base_cents=40_000_000, contract_reference="B-2026-0001")
        for day in range(20):
            session = ledger.hours(a, 8 * 60, on=dt.date(2026, 9, 1) + dt.timedelta(days=day * 3))
            service.set_allocation(a.admin, commitment.id, session.key, 8 * 60)

    class S:
        pass

    s = S()
    s.a, s.a_client, s.b, s.b_client, s.commitment, s.own_b = a, a_client, b, b_client, commitment, own_b
    s.leader, s.leader_client = leader, leader_client
    return s


def record(client, commitment_id: int, data: bytes, name: str, mimetype: str = "application/pdf", **extra):
    form = {"amount": "10.000,00", "approved_on": "2026-11-20", "reference": "SR-UTR-2026-118",
            "note": "Rapportage", "exceeds_reason": "", "evidence": (io.BytesIO(data), name, mimetype), **extra}
    return client.post(f"/sroi/{commitment_id}/approvals/new", data=form, content_type="multipart/form-data")


def _active_pdf(kind: str) -> bytes:
    """A real, readable PDF that runs something when opened: JavaScript, or a /Launch action."""
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    if kind == "javascript":
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('x');")})
    else:
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


HOSTILE_LETTERS = [
    (b"<html><script>alert(document.cookie)</script></html>", "brief.pdf", "application/pdf"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "brief.png", "image/png"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "brief.svg",
     "image/svg+xml"),
    (b"PK\x03\x04" + b"\x00" * 200, "brief.pdf", "application/pdf"),                       # a zip renamed
    (b"MZ\x90\x00" + b"\x00" * 200, "brief.pdf", "application/pdf"),                       # an exe renamed
    (b"%PDF-1.7\n<html><body><script>alert(1)</script></body></html>\n%%EOF", "brief.pdf",
     "application/pdf"),                                                                   # PDF header, HTML body
    (_png(100_000, 100_000), "scan.png", "image/png"),                                    # a pixel-flood bomb
    (_png(2, 2)[:-20], "scan.png", "image/png"),                                          # a truncated PNG
    (b"\xff\xd8\xff\xe0<html><script>alert(1)</script>", "scan.jpg", "image/jpeg"),       # JPEG magic, HTML body
    (b"", "brief.pdf", "application/pdf"),
    (_active_pdf("javascript"), "brief.pdf", "application/pdf"),
    (_active_pdf("launch"), "brief.pdf", "application/pdf"),
]


@pytest.mark.parametrize("data, name, mimetype", HOSTILE_LETTERS,
                         ids=["html-as-pdf", "svg-as-png", "svg", "zip", "exe", "pdf-html-polyglot", "png-bomb",
                              "png-truncated", "jpeg-html", "empty",
                              "pdf-javascript", "pdf-launch"])
def test_a_letter_that_is_no_real_pdf_png_or_jpeg_is_refused_and_nothing_is_stored(sroi, data, name, mimetype):
    response = record(sroi.a_client, sroi.commitment.id, data, name, mimetype)
    assert response.status_code == 422, response.status_code
    assert "SR-UTR-2026-118" in response.get_data(as_text=True)        # what was typed is kept
    assert Approval.select().count() == 0 and ApprovalEvidence.select().count() == 0


def test_a_letter_above_5_mb_is_refused_and_a_body_above_the_limit_is_413(sroi):
    big = pdf_bytes() + b"%" * (5 * 1024 * 1024)
    assert record(sroi.a_client, sroi.commitment.id, big, "big.pdf").status_code == 422
    huge = b"%PDF-1.7\n" + b"0" * (13 * 1024 * 1024)
    assert record(sroi.a_client, sroi.commitment.id, huge, "huge.pdf").status_code == 413
    assert Approval.select().count() == 0 and ApprovalEvidence.select().count() == 0


def test_a_filename_with_path_separators_crlf_and_quotes_cannot_reach_the_headers(sroi):
    """A browser sends CR and LF in a file name percent-encoded; a hand-made request may send them raw
    (display_name drops them either way). Neither reaches the download's headers, nor a path."""
    assert evidence.display_name('x\r\nSet-Cookie: pwned=1\r\n.pdf', "application/pdf") == "xSet-Cookie: pwned=1.pdf"
    name = '..\\..\\..\\etc/passwd%0D%0ASet-Cookie: pwned=1"; filename=evil.html; x=\u202egpj.exe\u0000.pdf'
    assert record(sroi.a_client, sroi.commitment.id, pdf_bytes(), name).status_code == 302
    approval = Approval.get()
    stored = ApprovalEvidence.get().original_name
    assert stored.endswith(".pdf") and not re.search(r'[\\/"\u202e\x00;]', stored), stored
    for client, url in ((sroi.a_client, f"/sroi/{sroi.commitment.id}/approvals/{approval.id}/letter"),
                        (sroi.leader_client, f"/sroi/leader/{sroi.commitment.id}/approvals/{approval.id}/letter")):
        response = client.get(url)
        assert response.status_code == 200 and response.data == pdf_bytes()
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert not re.search(r"[\r\n\"/\\]", disposition.split("filename=", 1)[1].replace('"', "", 2)), disposition
        assert "Set-Cookie" not in response.headers and "X-Evil" not in response.headers
        assert response.headers["Content-Security-Policy"] == "sandbox"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("kind", ["png", "pdf"])
def test_a_letter_with_html_after_its_end_is_only_ever_a_sandboxed_download(sroi, kind):
    """A polyglot (a whole PNG or PDF followed by an HTML page) is stored, but served so that no
    browser renders it in the portal's origin: an attachment, its real type, nosniff and a sandbox."""
    page = b"<html><script>alert(document.domain)</script></html>"
    polyglot = _png(tail=page) if kind == "png" else pdf_bytes() + page
    response = record(sroi.a_client, sroi.commitment.id, polyglot, "scan.html", "text/html")
    assert response.status_code == 302
    approval = Approval.get()
    download = sroi.a_client.get(f"/sroi/{sroi.commitment.id}/approvals/{approval.id}/letter")
    assert download.mimetype == {"png": "image/png", "pdf": "application/pdf"}[kind]
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert f"scan.{kind}" in download.headers["Content-Disposition"]       # the extension of what it is
    assert download.headers["Content-Security-Policy"] == "sandbox"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_company_b_cannot_download_the_letter_of_a_by_any_of_its_ids(sroi):
    assert record(sroi.a_client, sroi.commitment.id, pdf_bytes(), "akkoord.pdf").status_code == 302
    approval = Approval.get()
    for url in (f"/sroi/{sroi.commitment.id}/approvals/{approval.id}/letter",
                f"/sroi/{sroi.own_b.id}/approvals/{approval.id}/letter",            # A's approval under B's commitment
                f"/sroi/leader/{sroi.commitment.id}/approvals/{approval.id}/letter"):
        response = sroi.b_client.get(url)
        assert response.status_code == 404 and b"%PDF" not in response.data, url


def test_a_company_cannot_confirm_its_own_approval(sroi):
    """The leader's review is the control; the company posting to it (or smuggling a status into its
    own form) changes nothing."""
    from portal.sroi import service

    response = record(sroi.a_client, sroi.commitment.id, pdf_bytes(), "akkoord.pdf",
                      status="confirmed", decision="confirm", reviewed="1", confirmed="1", company_id=str(sroi.b.id))
    assert response.status_code == 302
    approval = Approval.get()
    assert approval.commitment_id == sroi.commitment.id
    url = f"/sroi/leader/{sroi.commitment.id}/approvals/{approval.id}/review"
    for client in (sroi.a_client, sroi.b_client):
        assert client.post(url, data={"decision": "confirm"}).status_code == 404
    assert service.summary(sroi.commitment).approved_cents == 0
    # The leader's review of A's approval under B's commitment is 404 as well.
    assert sroi.leader_client.post(f"/sroi/leader/{sroi.own_b.id}/approvals/{approval.id}/review",
                                   data={"decision": "confirm"}).status_code == 404
    assert service.summary(sroi.commitment).approved_cents == 0


def test_script_in_a_rejection_reason_and_a_letters_name_stays_text(sroi):
    assert record(sroi.a_client, sroi.commitment.id, pdf_bytes(), f"brief {SCRIPT}.pdf",
                  note=f"Akkoord {SCRIPT}").status_code == 302
    approval = Approval.get()
    response = sroi.leader_client.post(f"/sroi/leader/{sroi.commitment.id}/approvals/{approval.id}/review",
                                       data={"decision": "reject", "reason": f"Verkeerde brief {SCRIPT}"})
    assert response.status_code == 302
    for client, url in ((sroi.a_client, f"/sroi/{sroi.commitment.id}"),
                        (sroi.leader_client, f"/sroi/leader/{sroi.commitment.id}")):
        page = client.get(url)
        assert_escaped(page, url)
        assert "Verkeerde brief" in unescaped(page)


# --- giving: credit notes behind the mailed key ----------------------------------------------------

@pytest.fixture
def refunded(app, make_company, login, leader):
    """Company A's donation of EUR 250 paid by bank, EUR 50 sent back: a credit note. A second donation
    of A's with a credit note of its own, and company B logged in."""
    from portal.giving import checks, receipts, service
    from portal.giving.forms import new_token

    a = make_company("Alpha", member=True)
    b = make_company("Bravo")
    with app.test_request_context("/", base_url="http://portal.test"):
        made = []
        for cents, purpose in ((25_000, "Books"), (12_000, "Chairs")):
            donation, _new = service.create_donation(service.DonationInput(
                amount_cents=cents, classification="gift", method="bank", form_token=new_token(),
                earmark_purpose=purpose), user=a.admin, today=TODAY)
            assert service.mark_paid_by_bank(donation.reference, cents, TODAY, leader, f"in-{donation.id}"
                                             ).status == "paid"
            assert service.record_bank_refund(donation.reference, 5_000, TODAY, leader, f"back-{donation.id}"
                                              ).status == "refund_recorded"
            made.append(donation)
        receipts.wait_for_followups(app)
        notes = [service.corrections_of(d).notes[0] for d in made]
        keys = [checks.access_key(d) for d in made]

    class R:
        pass

    r = R()
    r.a, r.b, r.donations, r.notes, r.keys = a, b, made, notes, keys
    r.a_client = login(app.test_client(), a.admin)
    r.b_client = login(app.test_client(), b.admin)
    return r


def test_the_public_credit_note_needs_its_own_donations_key(app, refunded):
    first, second = refunded.donations
    note, other_note = refunded.notes
    key, other_key = refunded.keys
    url = f"/give/donations/{first.id}/credit-notes/{note.id}.pdf"
    anonymous = app.test_client()
    assert anonymous.get(f"{url}?key={key}").status_code == 200                   # the donor's own link works
    attempts = ["", "?key=", "?key=0", f"?key={key[:-1]}", f"?key={other_key}", f"?key={key}x", f"?key[]={key}",
                f"?key=&key={key}"] + ([f"?key={key.upper()}"] if key.upper() != key else [])
    for attempt in attempts:
        response = anonymous.get(url + attempt)
        assert response.status_code == 404 and b"%PDF" not in response.data, attempt
    # The receipt (the invoice, for sponsoring) behind the same key: the other donation's key opens nothing.
    assert anonymous.get(f"/give/donations/{first.id}/receipt.pdf?key={key}").status_code == 200
    for attempt in ("", f"?key={other_key}", "?key=" + "0" * 32):
        assert anonymous.get(f"/give/donations/{first.id}/receipt.pdf{attempt}").status_code == 404, attempt
    # The right key of one donation does not open the other donation's credit note under it.
    assert anonymous.get(f"/give/donations/{first.id}/credit-notes/{other_note.id}.pdf?key={key}").status_code == 404
    assert anonymous.get(f"/give/donations/{second.id}/credit-notes/{note.id}.pdf?key={other_key}").status_code == 404
    # Company B, logged in, gets nothing of A's without the key, on the public path or its own.
    for path in (url, f"/giving/donations/{first.id}/credit-notes/{note.id}.pdf",
                 f"/giving/leader/donations/{first.id}/credit-notes/{note.id}.pdf"):
        response = refunded.b_client.get(path)
        assert response.status_code == 404 and b"%PDF" not in response.data, path
    # A itself reaches its own note only under the donation it belongs to.
    assert refunded.a_client.get(f"/giving/donations/{first.id}/credit-notes/{note.id}.pdf").status_code == 200
    assert refunded.a_client.get(f"/giving/donations/{first.id}/credit-notes/{other_note.id}.pdf").status_code == 404


def test_credit_note_and_receipt_downloads_are_attachments_that_do_not_render(app, refunded):
    first = refunded.donations[0]
    for path in (f"/give/donations/{first.id}/credit-notes/{refunded.notes[0].id}.pdf?key={refunded.keys[0]}",
                 f"/giving/donations/{first.id}/receipt.pdf"):
        response = refunded.a_client.get(path)
        assert response.status_code == 200 and response.mimetype == "application/pdf", path
        assert response.headers["Content-Disposition"].startswith("attachment;"), path
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
        assert "\r" not in response.headers["Content-Disposition"]


def test_the_key_is_not_leaked_to_other_sites_by_the_referrer(app, refunded):
    first = refunded.donations[0]
    page = app.test_client().get(f"/give/donations/{first.id}?key={refunded.keys[0]}")
    assert page.status_code == 200
    policy = page.headers.get("Referrer-Policy", "")
    assert policy in ("no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"), policy


# --- the demo payment page and the webhook -------------------------------------------------------

def _config(app_config, **overrides) -> dict:
    plain = {name: value for name, value in app_config.items() if not name.startswith("STRIPE_")}
    return {**plain, **overrides}


def _production(app_config, **overrides) -> dict:
    return _config(app_config, ENV="production", TESTING=False, SECRET_KEY=secrets.token_hex(32),
                   SECURE_COOKIES=True, **PRODUCTION_ISSUER, **overrides)


@pytest.mark.parametrize("overrides", [
    {"ENV": "production", "DEMO_PAYMENTS": "on"},
    {"ENV": "production", "DEMO_PAYMENTS": "yes"},
    {"ENV": "production", "DEMO_PAYMENTS": "1"},
    {"ENV": "production", "DEMO_PAYMENTS": True},
    {"ENV": "testing", "DEMO_PAYMENTS": "on", "STRIPE_SECRET_KEY": "sk_live_123"},
    {"ENV": "testing", "DEMO_PAYMENTS": "on", "STRIPE_WEBHOOK_SECRET": "whsec_123"},
    {"ENV": "staging", "DEMO_PAYMENTS": "on"},
])
def test_asking_for_the_demo_where_it_must_not_run_stops_the_portal(app_config, overrides):
    from portal.config import ConfigError

    config = (_production(app_config, **{k: v for k, v in overrides.items() if k != "ENV"})
              if overrides["ENV"] == "production" else _config(app_config, **overrides))
    with pytest.raises(ConfigError, match="DEMO_PAYMENTS"):
        create_app(config)


@pytest.mark.parametrize("overrides", [
    {"DEMO_PAYMENTS": "auto"},
    {"DEMO_PAYMENTS": "auto", "STRIPE_SECRET_KEY": "sk_live_123", "STRIPE_WEBHOOK_SECRET": "whsec_live"},
])
def test_in_production_the_demo_page_does_nothing_and_demo_signed_events_are_refused(app_config, make_company,
                                                                                      overrides):
    """A production portal (with or without Stripe keys): the demo page with the donation's right key
    only leads to the donation's page, and an event signed with the demo secret (derived from the
    app's own SECRET_KEY) is refused by the webhook."""
    from portal.giving import checks, service
    from portal.giving.forms import new_token

    production = create_app(_production(app_config, **overrides))
    production.test_client_class = FreshContextClient
    company = make_company("Prod")
    with production.test_request_context("/", base_url="https://portal.test"):
        assert not demo_checkout.enabled()
        donation, _new = service.create_donation(service.DonationInput(
            amount_cents=10_000, classification="gift", method="bank", form_token=new_token()),
            user=company.admin, today=TODAY)
        Donation.update(method="stripe", reference=None, bank_line_ref=None, stripe_checkout_session_id="cs_demo_0123456789abcdef01234567").where(
            Donation.id == donation.id).execute()
        key = checks.access_key(donation)
        event = {"id": "evt_demo_forged", "object": "event", "type": "checkout.session.completed",
                 "livemode": False, "created": int(time.time()), "data": {"object": {
                     "id": "cs_demo_0123456789abcdef01234567", "object": "checkout.session",
                     "client_reference_id": str(donation.id), "payment_status": "paid", "status": "complete",
                     "amount_total": 10_000, "currency": "eur"}}}
        payload = json.dumps(event).encode()
        demo_signature = demo_checkout.sign(payload)
    client = production.test_client()
    offer = client.get("/give", base_url="https://portal.test")
    assert offer.status_code == 200 and "No money moves." not in offer.get_data(as_text=True)
    if not overrides.get("STRIPE_SECRET_KEY"):
        assert 'value="stripe"' not in offer.get_data(as_text=True)    # no online payment at all without Stripe
    page = client.get(f"/give/donations/{donation.id}/demo-checkout?key={key}", base_url="https://portal.test")
    assert page.status_code == 302 and "demo-checkout" not in page.headers["Location"]
    assert b"DEMO" not in page.data
    posted = client.post(f"/give/donations/{donation.id}/demo-checkout?key={key}", data={"outcome": "succeed"},
                         base_url="https://portal.test")
    assert posted.status_code in (302, 400)
    hook = client.post("/webhooks/stripe", data=payload, content_type="application/json",
                       headers={"Stripe-Signature": demo_signature}, base_url="https://portal.test")
    assert hook.status_code == 400
    assert Donation.get_by_id(donation.id).status == "pending" and not StripeEvent.select().exists()


@pytest.fixture
def demo_app(app_config):
    application = create_app(_config(app_config, DEMO_PAYMENTS="on"))
    application.test_client_class = FreshContextClient
    return application


def _demo_donation(demo_app, make_company, login):
    company = make_company(f"Demo{Donation.select().count()}")
    client = login(demo_app.test_client(), company.admin)
    response = client.post("/giving/donate", data={
        "amount": "250", "classification": "gift", "method": "stripe", "earmark_school": "", "earmark_purpose": "",
        "form_token": secrets.token_urlsafe(24)})
    assert response.status_code == 303, response.data[:300]
    donation = Donation.select().order_by(Donation.id.desc()).get()
    return company, client, donation


def test_a_demo_event_replayed_tampered_or_stale_is_refused(demo_app, make_company, login):
    from portal.core import ledger as books

    _company, client, donation = _demo_donation(demo_app, make_company, login)
    with demo_app.test_request_context():
        payload, signature = demo_checkout.act(donation.stripe_checkout_session_id, "succeed")
        stale = demo_checkout.sign(payload, timestamp=int(time.time()) - 600)
        tampered = payload.replace(b'"livemode": false', b'"livemode": true')
    hook = demo_app.test_client()
    assert hook.post("/webhooks/stripe", data=payload, content_type="application/json",
                     headers={"Stripe-Signature": stale}).status_code == 400
    assert hook.post("/webhooks/stripe", data=tampered, content_type="application/json",
                     headers={"Stripe-Signature": signature}).status_code == 400
    assert hook.post("/webhooks/stripe", data=payload, content_type="application/json",
                     headers={"Stripe-Signature": ""}).status_code == 400
    assert hook.post("/webhooks/stripe", data=payload, content_type="application/json",
                     headers={"Stripe-Signature": signature.replace("v1=", "v0=")}).status_code == 400
    assert not StripeEvent.select().exists() and Donation.get_by_id(donation.id).status == "pending"
    first = hook.post("/webhooks/stripe", data=payload, content_type="application/json",
                      headers={"Stripe-Signature": signature})
    again = hook.post("/webhooks/stripe", data=payload, content_type="application/json",
                      headers={"Stripe-Signature": signature})
    assert first.status_code == 200 and again.status_code == 200 and again.get_json()["outcome"] == "duplicate"
    assert Donation.get_by_id(donation.id).status == "paid" and StripeEvent.select().count() == 1
    postings = books.postings(kinds=("money",))
    assert len([p for p in postings if p.subject_id == donation.id]) == 1


def test_the_demo_page_needs_its_key_and_its_csrf_token(demo_app, make_company, login):
    company, client, donation = _demo_donation(demo_app, make_company, login)
    with demo_app.test_request_context():
        from portal.giving import checks

        key = checks.access_key(donation)
    other_company = make_company("Other")
    other = login(demo_app.test_client(), other_company.admin)
    url = f"/give/donations/{donation.id}/demo-checkout"
    for who, attacker in (("owner", client), ("other company", other), ("anonymous", demo_app.test_client())):
        wrong = key[:-1] + ("1" if key[-1] == "0" else "0")   # one character off, never the key itself
        for query in ("", "?key=", f"?key={wrong}"):
            assert attacker.get(url + query).status_code == 404, (who, query)
            assert attacker.post(url + query, data={"outcome": "succeed"}).status_code == 404, (who, query)
    demo_app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"{url}?key={key}", data={"outcome": "succeed"}).status_code == 400
    assert client.post(f"{url}?key={key}", data={"outcome": "succeed", "csrf_token": "forged"}).status_code == 400
    assert Donation.get_by_id(donation.id).status == "pending" and not StripeEvent.select().exists()


def test_a_webhook_event_with_a_signature_of_the_wrong_secret_writes_nothing(app_config, make_company):
    real = create_app(_config(app_config, STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_real_secret"))
    real.test_client_class = FreshContextClient
    event = {"id": "evt_forged_1", "object": "event", "type": "checkout.session.completed", "livemode": False,
             "created": int(time.time()), "data": {"object": {"id": "cs_test_x", "object": "checkout.session"}}}
    payload = json.dumps(event).encode()
    with real.test_request_context():
        demo_signature = demo_checkout.sign(payload, secret=demo_checkout.webhook_secret())
    for signature in (demo_checkout.sign(payload, secret="whsec_guess"), demo_signature,
                      f"t={int(time.time())}", "garbage", demo_checkout.sign(payload, secret="")):
        response = real.test_client().post("/webhooks/stripe", data=payload, content_type="application/json",
                                           headers={"Stripe-Signature": signature})
        assert response.status_code == 400, signature
    assert not StripeEvent.select().exists()
    good = real.test_client().post("/webhooks/stripe", data=payload, content_type="application/json",
                                   headers={"Stripe-Signature": demo_checkout.sign(payload,
                                                                                   secret="whsec_real_secret")})
    assert good.status_code == 200 and StripeEvent.select().count() == 1


# --- CSRF on the new POST routes (leader and company) ----------------------------------------------

@pytest.fixture
def csrf_app(app_config):
    application = create_app(dict(app_config, WTF_CSRF_ENABLED=True))
    application.test_client_class = FreshContextClient
    return application


def test_the_new_leader_posts_refuse_a_form_without_its_token(csrf_app, leader, make_company):
    import pyotp

    from portal.accounts.models import User
    from portal.reconcile.models import BankImportJob
    from portal.statements.models import StatementRun
    from tests.conftest import PASSWORD
    from tests.security.test_csrf import token_from

    client = csrf_app.test_client()
    client.post("/login", data={"email": leader.email, "password": PASSWORD, "csrf_token": token_from(client, "/login")})
    token = token_from(client, "/login/totp")
    code = pyotp.TOTP(User.get_by_id(leader.id).totp_secret).now()
    response = client.post("/login/totp", data={"code": code, "csrf_token": token})
    assert response.status_code == 302
    assert client.get("/leader/statements/runs").status_code == 200
    attempts = [
        ("/leader/statements/runs", {"kind": "calendar_year", "year": "2025"}),
        ("/leader/audit/check", {}),
        ("/leader/reconcile/import", {"format": "auto", "encoding": "utf-8"}),
        ("/sroi/leader/1/approvals/1/review", {"decision": "confirm"}),
    ]
    for path, form in attempts:
        for token in (None, "forged", token_from(csrf_app.test_client(), "/login")):
            data = dict(form, **({"csrf_token": token} if token else {}))
            if path == "/leader/reconcile/import":
                data["statement"] = (io.BytesIO(b"date,amount\n2026-05-04,1.00\n"), "x.csv")
            assert client.post(path, data=data, content_type="multipart/form-data").status_code == 400, (path, token)
    assert StatementRun.select().count() == 0 and BankImportJob.select().count() == 0


# --- the bank statement upload --------------------------------------------------------------------

CAMT_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>{doctype}'
             '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
             "<GrpHdr><MsgId>{body}</MsgId></GrpHdr></BkToCstmrStmt></Document>")

XML_ATTACKS = {
    "billion-laughs": CAMT_HEAD.format(
        doctype='<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
                '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>',
        body="&f;"),
    "xxe-file": CAMT_HEAD.format(doctype='<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>', body="&x;"),
    "xxe-url": CAMT_HEAD.format(doctype='<!DOCTYPE d [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>', body="&x;"),
    "dtd-only": CAMT_HEAD.format(doctype='<!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd">', body="x"),
}


@pytest.mark.parametrize("background", [False, True], ids=["in-request", "queued"])
@pytest.mark.parametrize("attack", sorted(XML_ATTACKS))
def test_a_hostile_xml_statement_is_refused_and_stores_no_lines(app, leader_client, attack, background):
    from portal.reconcile.models import BankImportJob, BankLine, BankStatement

    if background:
        app.config["RECONCILE_BACKGROUND_IMPORT_KB"] = 0
    response = leader_client.post("/leader/reconcile/import", content_type="multipart/form-data", data={
        "statement": (io.BytesIO(XML_ATTACKS[attack].encode()), "camt.xml"), "format": "auto", "encoding": "utf-8"},
        follow_redirects=True)
    assert response.status_code == 200
    assert "root:" not in response.get_data(as_text=True)
    assert BankLine.select().count() == 0 and BankStatement.select().count() == 0
    assert not BankImportJob.select().where(BankImportJob.status == "done").exists()
    # Nothing of an upload stays stored (a refused file is not kept for a retry either).
    assert not BankImportJob.select().where(BankImportJob.data.is_null(False)).exists()


def test_an_oversized_statement_is_refused_before_anything_is_stored(app, leader_client):
    from portal.reconcile.models import BankImportJob, BankLine

    app.config.update(RECONCILE_BACKGROUND_IMPORT_KB=0, RECONCILE_MAX_UPLOAD_MB=1)
    rows = "".join(f"2026-05-04,1.00,NL02ABNA0123456789,Payer,gift {n}\n" for n in range(40_000))
    data = ("date,amount,counterparty_iban,counterparty_name,description\n" + rows).encode()
    assert len(data) > 1024 * 1024
    response = leader_client.post("/leader/reconcile/import", content_type="multipart/form-data", data={
        "statement": (io.BytesIO(data), "big.csv"), "format": "auto", "encoding": "utf-8"})
    assert response.status_code in (200, 413, 422)
    assert BankImportJob.select().count() == 0 and BankLine.select().count() == 0


def test_a_statements_filename_shows_as_text_on_the_import_and_tasks_pages(app, leader_client):
    from portal.reconcile.models import BankImportJob

    app.config["RECONCILE_BACKGROUND_IMPORT_KB"] = 0
    data = ("date,amount,counterparty_iban,counterparty_name,description\n"
            f"2026-05-04,250.00,NL02ABNA0123456789,Payer {SCRIPT},Gift {SCRIPT}\n").encode()
    name = f"mei {SCRIPT}.csv"
    response = leader_client.post("/leader/reconcile/import", content_type="multipart/form-data", data={
        "statement": (io.BytesIO(data), name), "format": "auto", "encoding": "utf-8"})
    assert response.status_code == 302
    assert BankImportJob.select().count() == 1
    for path in ("/leader/reconcile/import", "/leader/tasks", "/leader/reconcile/queue"):
        page = leader_client.get(path)
        assert_escaped(page, path)
    assert "mei <script>" in unescaped(leader_client.get("/leader/reconcile/import"))


# --- formula injection: the journal and the exports ----------------------------------------------

@pytest.fixture
def hostile_books(app, make_company, leader):
    """Companies whose legal names are spreadsheet formulas, each with a donation paid by bank."""
    from portal.accounts.models import Company
    from portal.giving import receipts, service
    from portal.giving.forms import new_token

    companies = []
    with app.test_request_context("/", base_url="http://portal.test"):
        for n, formula in enumerate([*FORMULAS, f"Script {SCRIPT}"]):
            company = make_company(f"Hostile{n}")
            Company.update(legal_name=formula).where(Company.id == company.id).execute()
            donation, _new = service.create_donation(service.DonationInput(
                amount_cents=10_000 + n, classification="gift" if n % 2 else "sponsoring", method="bank",
                form_token=new_token(), earmark_purpose=formula.strip()), user=company.admin, today=TODAY)
            assert service.mark_paid_by_bank(donation.reference, 10_000 + n, TODAY, leader, f"line-{n}"
                                             ).status == "paid"
            companies.append(company)
        receipts.wait_for_followups(app)
    return companies


def _csv_cells(data: bytes, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def _xlsx_cells(data: bytes) -> list:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def _assert_inert_csv(rows: list[list[str]], where: str) -> None:
    bad = [cell for row in rows for cell in row if cell.startswith(FORMULA_START)]
    assert not bad, (where, bad)
    assert any("HYPERLINK" in cell for row in rows for cell in row), f"{where}: the names are not in the file at all"


def _assert_inert_xlsx(cells: list, where: str) -> None:
    formulas = [cell.value for cell in cells if cell.data_type == "f"
                or (isinstance(cell.value, str) and cell.value.startswith(FORMULA_START))]
    assert not formulas, (where, formulas)
    assert any(isinstance(cell.value, str) and "HYPERLINK" in cell.value for cell in cells), where


def test_company_names_as_formulas_stay_text_in_the_journal(app, hostile_books, leader_client):
    query = "start=2026-11-01&end=2026-11-30"
    for fmt, delimiter in (("csv_nl", ";"), ("csv_en", ",")):
        response = leader_client.get(f"/leader/reconcile/journal/download?{query}&format={fmt}")
        assert response.status_code == 200 and response.mimetype == "text/csv", (fmt, response.status_code)
        _assert_inert_csv(_csv_cells(response.data, delimiter), fmt)
    response = leader_client.get(f"/leader/reconcile/journal/download?{query}&format=xlsx")
    assert response.status_code == 200
    _assert_inert_xlsx(_xlsx_cells(response.data), "journal.xlsx")
    for page in (f"/leader/reconcile/journal?{query}", f"/leader/reconcile/export?{query}"):
        response = leader_client.get(page)
        assert_escaped(response, page)
        if "export" in page:
            assert "Script <script>" in unescaped(response), page  # the name is shown, as text


def test_company_names_and_purposes_as_formulas_stay_text_in_the_exports(app, hostile_books, leader_client):
    query = "start=2026-11-01&end=2026-11-30"
    for style, delimiter in (("nl", ";"), ("en", ",")):
        response = leader_client.get(f"/leader/reconcile/export.csv?{query}&csv={style}")
        assert response.status_code == 200
        _assert_inert_csv(_csv_cells(response.data, delimiter), f"export.csv {style}")
    response = leader_client.get(f"/leader/reconcile/export.xlsx?{query}")
    assert response.status_code == 200
    _assert_inert_xlsx(_xlsx_cells(response.data), "export.xlsx")


# --- script in the leader's new pages ----------------------------------------------------------------

def test_script_in_company_names_and_failure_reasons_stays_text_on_the_runs_page(app, make_company, leader_client,
                                                                                  ledger, monkeypatch):
    from portal.core import clock, hooks
    from portal.statements import service

    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 12, 2))
    hooks.connect(app, hooks.STATEMENT_CLAIMS, lambda company_id, start, end: [])  # no SROI claims
    good, broken = make_company(f"Goed {SCRIPT}"), make_company(f"Kapot {SCRIPT}")
    given_in_2025(app, ledger, ((good, 250_000), (broken, 10_000)))
    render = service.render

    def render_or_fail(snapshot, **kwargs):
        if snapshot["company"]["id"] == broken.id:
            raise RuntimeError(f"renderer said {SCRIPT}")
        return render(snapshot, **kwargs)

    monkeypatch.setattr(service, "render", render_or_fail)
    response = leader_client.post("/leader/statements/runs", data={"kind": "calendar_year", "year": "2025"})
    assert response.status_code == 302
    page = leader_client.get("/leader/statements/runs")
    assert_escaped(page, "runs")
    assert "renderer said <script>" in unescaped(page)       # the reason is shown, as text


def test_script_in_the_audit_pages_filters_and_rows_stays_text(app, sroi):
    assert record(sroi.a_client, sroi.commitment.id, pdf_bytes(), "akkoord.pdf",
                  reference=f"SR {SCRIPT}"[:60], note=f"Note {SCRIPT}").status_code == 302
    for path in ("/leader/audit", f"/leader/audit?actor={SCRIPT}&start={SCRIPT}&object_type={SCRIPT}&object_id=x",
                 "/leader/audit?action=%22%3E%3Cscript%3Ealert(1)%3C/script%3E"):
        assert_escaped(sroi.leader_client.get(path), path)


# --- links that break the leader's pages -------------------------------------------------------------

@pytest.mark.parametrize("path", ["/leader/reconcile/journal/download", "/leader/reconcile/export"])
def test_an_unexpected_query_parameter_does_not_break_the_leaders_pages(leader_client, path):
    response = leader_client.get(f"{path}?start=2026-11-01&end=2026-11-30&endpoint=x")
    assert response.status_code in (200, 302), response.status_code


@pytest.mark.parametrize("query", ["_external=1&_scheme=javascript", "_scheme=javascript", "_external=1",
                                   "_anchor=%22%3E%3Cscript%3E"])
def test_url_for_options_in_the_query_never_lead_to_another_site(leader_client, query):
    """The same pass-through with url_for's own options: the journal's way back and the export's
    download links stay on this site, with no script scheme."""
    from urllib.parse import urlsplit

    back = leader_client.get(f"/leader/reconcile/journal/download?start=nonsense&{query}")
    assert back.status_code == 302
    links = [back.headers["Location"]]
    page = leader_client.get(f"/leader/reconcile/export?start=2026-11-01&{query}")
    assert page.status_code == 200
    links += re.findall(r'href="([^"]*export\.(?:csv|xlsx)[^"]*)"', page.get_data(as_text=True))
    for link in links:
        parts = urlsplit(html.unescape(link))
        assert parts.scheme in ("", "http", "https") and parts.netloc in ("", "localhost"), link
        assert "<script>" not in html.unescape(link)


def test_the_back_links_of_the_new_pages_stay_on_this_site(app, sroi, leader_client):
    """remove_allocation's `page`, the journal's back link and the demo page's way back carry no
    address of another site."""
    from portal.sroi.models import Allocation

    allocation = Allocation.select().where(Allocation.commitment == sroi.commitment.id).first()
    response = sroi.a_client.post(f"/sroi/{sroi.commitment.id}/allocations/{allocation.id}/remove",
                                  data={"fingerprint": "remove", "page": "//evil.example"})
    assert response.status_code in (302, 404)
    location = response.headers.get("Location", "")
    assert "evil.example" not in location
    response = leader_client.get("/leader/reconcile/journal/download?start=nonsense&next=https://evil.example")
    assert response.status_code == 302 and "://" not in response.headers["Location"].split("?")[0]
    assert not response.headers["Location"].startswith("//")


@pytest.mark.parametrize("path", [
    "/leader/reconcile/journal?start=2026-01-01&end=9999-12-31",
    "/leader/reconcile/journal/download?start=0001-01-01&end=9999-12-31&format=xlsx",
    "/leader/reconcile/export?page=%C2%B2",
    "/leader/audit?page=99999999999999999999",
    "/leader/audit?actor_id=%C2%B2",
    "/leader/audit?start=0001-01-01&end=9999-12-31",
    "/leader/reconcile/export?company=12345678901234567890",
    "/leader/reconcile/queue?page=99999999999999999999",
    "/leader/reconcile/matched?page=99999999999999999999",
])
def test_odd_query_values_on_the_leaders_new_pages_are_refused_not_a_500(leader_client, path):
    response = leader_client.get(path)
    assert response.status_code in (200, 302, 400, 422), response.status_code


# --- what a run for every company shows to each company ----------------------------------------------

def test_statements_issued_by_a_run_for_every_company_stay_with_their_company(app, make_company, login, ledger,
                                                                               leader_client, monkeypatch):
    from portal.core import clock
    from portal.statements.models import Statement

    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 12, 2))
    app.extensions["portal.statement_allocations"] = []
    a, b = make_company("Alpha TENANT-A-7731"), make_company("Bravo")
    given_in_2025(app, ledger, ((a, 250_000), (b, 10_000)))
    assert leader_client.post("/leader/statements/runs", data={"kind": "calendar_year", "year": "2025"}
                              ).status_code == 302
    mine = Statement.get(Statement.company == a.id)
    assert Statement.get(Statement.company == b.id)
    b_client = login(app.test_client(), b.admin)
    listing = b_client.get("/statements")
    assert listing.status_code == 200 and mine.number not in unescaped(listing)
    assert "TENANT-A-7731" not in unescaped(listing)
    for path in (f"/statements/{mine.id}", f"/statements/{mine.id}/pdf", f"/statements/{mine.id}/specification.csv",
                 "/leader/statements/runs"):
        response = b_client.get(path)
        assert response.status_code == 404 and b"TENANT-A-7731" not in response.data, path


# --- script on the demo page, and in the documents ---------------------------------------------------

def test_script_in_a_donations_purpose_stays_text_on_the_demo_page(demo_app, make_company, login):
    company = make_company("Demo")
    client = login(demo_app.test_client(), company.admin)
    response = client.post("/giving/donate", data={
        "amount": "250", "classification": "gift", "method": "stripe", "earmark_school": "",
        "earmark_purpose": f"Boeken {SCRIPT}", "form_token": secrets.token_urlsafe(24)})
    assert response.status_code == 303
    page = client.get(response.headers["Location"].replace("http://portal.test", ""))
    assert_escaped(page, "demo page")
    status = client.get(f"/give/donations/{Donation.get().id}")
    assert_escaped(status, "status page")


def test_markup_in_a_company_name_is_printed_not_fetched_in_the_credit_note(app, make_company, leader):
    """A company named with HTML that would fetch a local file prints that HTML as text on its credit
    note, and the PDF attaches, links and runs nothing."""
    from portal.accounts.models import Company
    from portal.giving import receipts, service
    from portal.giving.forms import new_token
    from tests.pdftext import assert_in_pdf

    payload = 'Evil <img src="file:///etc/passwd"><link rel="attachment" href="file:///etc/passwd">'
    company = make_company(payload)
    assert Company.get_by_id(company.id).legal_name.startswith(payload)
    with app.test_request_context("/", base_url="http://portal.test"):
        donation, _new = service.create_donation(service.DonationInput(
            amount_cents=25_000, classification="gift", method="bank", form_token=new_token()),
            user=company.admin, today=TODAY)
        service.mark_paid_by_bank(donation.reference, 25_000, TODAY, leader, "in-evil")
        service.record_bank_refund(donation.reference, 5_000, TODAY, leader, "back-evil")
        receipts.wait_for_followups(app)
        note = receipts.credit_note(Donation.get_by_id(donation.id), service.corrections_of(donation).notes[0].id)
    for data in (bytes(note.pdf), bytes(note.receipt_pdf)):
        assert data.startswith(b"%PDF-")
        assert b"/EmbeddedFile" not in data and b"/JavaScript" not in data and b"/Launch" not in data
        assert b"root:x:0:0" not in data
    assert_in_pdf("file:///etc/passwd", bytes(note.pdf))
