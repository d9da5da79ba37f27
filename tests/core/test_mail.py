"""Outgoing mail against a real SMTP server (aiosmtpd on 127.0.0.1): text and HTML parts in the
recipient's language, the file outbox without SMTP, and nothing sent for a rolled-back change."""

from __future__ import annotations

import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from portal.accounts.models import Company
from portal.core import mail
from portal.core.db import database
from tests.conftest import PASSWORD


class Collector:
    """An SMTP handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(app):
    """A real SMTP server on 127.0.0.1, and the app configured to use it."""
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    try:
        yield collector
    finally:
        controller.stop()


@pytest.fixture
def request_context(app):
    with app.test_request_context("/", base_url="http://portal.test"):
        yield


def parts(message) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.walk()
            if part.get_content_maintype() == "text"}


def test_a_real_registration_mail_goes_over_smtp_with_text_and_html(app, client, smtp, outbox):
    response = client.post("/register", data={
        "legal_name": "Kanaal B.V.", "kvk": "87654321", "street": "Oudegracht 1", "postcode": "3511 AB",
        "city": "Utrecht", "billing_email": "f@kanaal.example", "language": "en", "admin_name": "Kees",
        "admin_email": "kees@kanaal.example", "password": PASSWORD})
    assert response.status_code == 200

    [message] = smtp.to("kees@kanaal.example")
    assert smtp.envelopes[0][1] == ["kees@kanaal.example"]
    assert message["Subject"] == "Confirm your e-mail address"
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["Message-ID"] and message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    texts = parts(message)
    assert set(texts) == {"text/plain", "text/html"}
    assert "Hello Kees," in texts["text/plain"] and "http://portal.test/confirm/" in texts["text/plain"]
    assert '<html lang="en">' in texts["text/html"] and "http://portal.test/confirm/" in texts["text/html"]
    assert outbox.messages == []  # SMTP configured: nothing in the file outbox


def test_every_mail_is_rendered_in_the_recipients_language(app, smtp, request_context, make_company):
    company = make_company("Acme")
    for language in ("nl", "en"):
        mail.send_template(f"{language}@acme.nl", "accounts/already_member", language,
                           "Someone tried to invite you", company=company)

    for language in ("nl", "en"):
        [message] = smtp.to(f"{language}@acme.nl")
        texts = parts(message)
        assert f'<html lang="{language}">' in texts["text/html"]
        assert texts["text/plain"].strip()


def test_a_mail_in_dutch_and_a_page_in_english_do_not_mix(app, smtp, make_company):
    """Rendering a Dutch mail inside an English request leaves the request English."""
    from flask_babel import get_locale

    company = make_company("Acme")
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert str(get_locale()) == "en"
        mail.send_template("nl@acme.nl", "accounts/already_member", "nl", "Onderwerp", company=company)
        assert str(get_locale()) == "en"
    assert '<html lang="nl">' in parts(smtp.to("nl@acme.nl")[0])["text/html"]


def test_attachments_travel_with_both_parts(app, smtp, request_context, make_company):
    company = make_company("Acme")
    pdf = b"%PDF-1.7\n%%EOF\n"
    mail.send_template("a@acme.nl", "accounts/already_member", "en", "With a file", company=company,
                       attachments=[mail.Attachment("statement.pdf", pdf)])

    [message] = smtp.to("a@acme.nl")
    attachments = list(message.iter_attachments())
    assert [(a.get_filename(), a.get_content_type(), a.get_content()) for a in attachments] == \
        [("statement.pdf", "application/pdf", pdf)]
    body = message.get_body(("html", "plain"))
    assert body is not None and set(parts(message)) == {"text/plain", "text/html"}


def test_without_smtp_the_mail_is_an_eml_file_in_the_outbox(app, request_context, outbox, make_company):
    assert not app.config["SMTP_HOST"]
    company = make_company("Acme")
    mail.send_template("a@acme.nl", "accounts/already_member", "en", "Outbox", company=company)

    [sent] = outbox.to("a@acme.nl")
    assert sent.subject == "Outbox" and sent.text.strip() and '<html lang="en">' in sent.html
    files = list(outbox.folder.glob("*.eml"))
    assert len(files) == 1 and files[0].suffix == ".eml"


def test_nothing_is_sent_for_a_rolled_back_transaction(app, smtp, request_context, make_company, outbox):
    company = make_company("Acme")
    with pytest.raises(RuntimeError), database.atomic():
        Company.update(city="Amsterdam").where(Company.id == company.id).execute()
        mail.send_template("a@acme.nl", "accounts/already_member", "en", "Rolled back", company=company)
        assert smtp.messages == []  # not before the commit either
        raise RuntimeError("the change fails after the mail was queued")

    assert smtp.messages == [] and outbox.messages == []
    assert Company.get_by_id(company.id).city == "Utrecht"


def test_nothing_goes_to_the_outbox_for_a_rolled_back_transaction(app, request_context, make_company, outbox):
    company = make_company("Acme")
    with pytest.raises(RuntimeError), database.atomic():
        mail.send_template("a@acme.nl", "accounts/already_member", "en", "Rolled back", company=company)
        raise RuntimeError("boom")
    assert outbox.messages == []


def test_a_mail_in_a_transaction_is_sent_once_it_commits(app, smtp, request_context, make_company):
    company = make_company("Acme")
    with database.atomic():
        mail.send_template("a@acme.nl", "accounts/already_member", "en", "Committed", company=company)
        assert smtp.messages == []
    assert len(smtp.to("a@acme.nl")) == 1


def test_a_registration_that_fails_sends_nothing(app, client, smtp, make_company):
    existing = make_company("Kanaal")
    client.post("/register", data={
        "legal_name": "Kanaal B.V.", "kvk": existing.kvk, "street": "Oudegracht 1", "postcode": "3511 AB",
        "city": "Utrecht", "billing_email": "f@kanaal.example", "language": "en", "admin_name": "Kees",
        "admin_email": "kees@kanaal.example", "password": PASSWORD})
    assert smtp.messages == []


def test_an_unreachable_smtp_server_after_commit_keeps_the_change_and_the_page(app, client, caplog, tmp_path):
    """The mail relay being down must not turn a committed registration into an error page."""
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nobody listens there
    response = client.post("/register", data={
        "legal_name": "Kanaal B.V.", "kvk": "87654321", "street": "Oudegracht 1", "postcode": "3511 AB",
        "city": "Utrecht", "billing_email": "f@kanaal.example", "language": "en", "admin_name": "Kees",
        "admin_email": "kees@kanaal.example", "password": PASSWORD})

    assert response.status_code == 200
    assert Company.select().count() == 1
    assert any("kees@kanaal.example" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    unsent = list((tmp_path / "outbox" / "unsent").glob("*.eml"))
    assert len(unsent) == 1 and b"kees@kanaal.example" in unsent[0].read_bytes()
