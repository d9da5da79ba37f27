"""Receipts and payment requests parsed back with pypdf: content, language formats, safety."""

from __future__ import annotations

import datetime as dt
import io

import pypdf
from stdnum import iso11649

from portal.giving import checks, documents
from portal.giving.models import Donation
from tests.pdftext import assert_in_pdf, assert_not_in_pdf, pdf_text

HOSTILE = '<link rel=attachment href=file:///etc/passwd>'


def make(app, *, name: str = "Bouwgroep Domstad B.V.", language: str = "nl", method: str = "bank",
         purpose: str = "Leesboeken", classification: str = "gift") -> Donation:
    donation = Donation(id=42, via="public", donor_name=name, donor_kvk="30000000", donor_contact_name="Noor",
                        donor_email="noor@example.nl", donor_language=language, method=method, amount_cents=123_456,
                        classification=classification, earmark_school="OBS De Klimop", earmark_purpose=purpose,
                        status="paid", reference="RF462026000123" if method == "bank" else None,
                        stripe_payment_intent_id="pi_test_1" if method == "stripe" else None,
                        payment_method_type="ideal" if method == "stripe" else "",
                        due_on=dt.date(2026, 12, 28), paid_on=dt.date(2026, 11, 30),
                        created_at=dt.datetime(2026, 11, 28, 10, 0), form_token="t" * 20)
    return donation


def test_dutch_receipt(app):
    data = documents.render("receipt", make(app, language="nl"))
    text = pdf_text(data)
    for value in ("€ 1.234,56", "30 november 2026", "G-000042", "Bouwgroep Domstad B.V.", "30000000",
                  "OBS De Klimop · Leesboeken",
                  app.config["ISSUER_NAME"], app.config["ISSUER_KVK"], app.config["ISSUER_RSIN"]):
        assert_in_pdf(value, text)
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata["/CreationDate"].startswith("D:20261130")
    assert (round(float(reader.pages[0].mediabox.width)), round(float(reader.pages[0].mediabox.height))) == (595, 842)
    assert documents.render("receipt", make(app, language="nl")) == data      # same donation, same bytes


def test_english_receipt_for_online_sponsoring(app):
    text = pdf_text(documents.render("receipt", make(app, language="en", method="stripe",
                                                     classification="sponsoring")))
    for value in ("€1,234.56", "30 November 2026", "Sponsoring", "not a gift", "iDEAL", "pi_test_1"):
        assert_in_pdf(value, text)


def test_anbi_wording_follows_the_setting(app):
    for anbi, wording in ((True, "registered public-benefit institution"), (False, "does not have ANBI status")):
        app.config["ISSUER_ANBI"] = anbi
        assert_in_pdf(wording, documents.render("receipt", make(app, language="en")))


def test_payment_request_has_every_transfer_detail(app):
    donation = make(app, language="en")
    text = pdf_text(documents.render("payment_request", donation))
    assert iso11649.is_valid(donation.reference)
    for value in ("€1,234.56", iso11649.format(donation.reference), "NL91 ABNA 0417 1643 00", app.config["ISSUER_NAME"],
                  "28 December 2026", "28 November 2026", "Gift"):
        assert_in_pdf(value, text)


def test_epc_qr_code_carries_the_exact_transfer(app):
    import re

    data_uri = documents.epc_qr("Stichting X", "NL91ABNA0417164300", 123_456, "RF462026000123")
    assert data_uri.startswith("data:image/svg+xml")
    payload = segno_payload("Stichting X", "NL91ABNA0417164300", 123_456, "RF462026000123")
    assert re.search(r"\nEUR1234\.56\n", payload) and "RF462026000123" in payload


def segno_payload(name, iban, cents, reference) -> str:
    from segno import helpers

    from portal.core.money import cents_to_decimal

    return helpers._make_epc_qr_data(name, iban, cents_to_decimal(cents), reference=reference).decode()


def test_a_hostile_company_name_is_text_and_attaches_nothing(app, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-SERVER-FILE")
    purpose = f'<b>bold</b><img src="file://{secret}"><link rel="attachment" href="file://{secret}">'
    for kind in ("receipt", "payment_request"):
        data = documents.render(kind, make(app, name=HOSTILE, language="en", purpose=purpose))
        reader = pypdf.PdfReader(io.BytesIO(data))
        assert not reader.attachments
        assert b"/EmbeddedFile" not in data and b"/FileAttachment" not in data
        text = pdf_text(data)
        assert_in_pdf(HOSTILE, text)
        assert_in_pdf("<b>bold</b>", text)
        assert_not_in_pdf("TOP-SECRET", text)
        assert_not_in_pdf("root:", text)


def test_hostile_name_through_the_public_page(stripe_env, app, outbox):
    from .conftest import attachments_of, public_form

    client = app.test_client()
    client.post("/give", data=public_form(company_name=HOSTILE, amount="5", method="bank"))
    donation = Donation.get()
    pdf = attachments_of(outbox.last("noor@nieuwbedrijf.nl"))[f"payment-request-{donation.number}.pdf"]
    assert not pypdf.PdfReader(io.BytesIO(pdf)).attachments and b"/EmbeddedFile" not in pdf
    assert_in_pdf("attachment href=file:", pdf)
    page = client.get(f"/give/donations/{donation.id}?key={checks.access_key(donation)}")
    assert b"&lt;link rel=attachment" in page.data and b"<link rel=attachment" not in page.data
