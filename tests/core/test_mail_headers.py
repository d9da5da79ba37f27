"""Issue 15 item 6: a name typed with CR/LF (or stored before forms refused it) in a subject must
not make the mail fail, nor roll back the change the mail is about, nor add a header of its own."""

from __future__ import annotations

import pytest

from portal.accounts.models import Company
from portal.core import mail
from portal.core.db import database
from tests.core.test_mail import parts, smtp  # noqa: F401 (the real SMTP server fixture)

NASTY = "Withdrawn: Kees\r\nBcc: everyone@example.org\r\n\tde\x00 Vries\x0b\u2028B.V."
FOLDED = "Withdrawn: Kees Bcc: everyone@example.org de Vries B.V."


@pytest.fixture
def request_context(app):
    with app.test_request_context("/", base_url="http://portal.test"):
        yield


def test_a_subject_with_cr_lf_is_sent_over_smtp_on_one_line(app, smtp, request_context, make_company):  # noqa: F811
    company = make_company("Acme")
    mail.send_template("a@acme.nl", "accounts/already_member", "en", NASTY, company=company)

    [message] = smtp.to("a@acme.nl")
    assert message["Subject"] == FOLDED
    assert message["Bcc"] is None and smtp.envelopes[0][1] == ["a@acme.nl"]
    assert set(parts(message)) == {"text/plain", "text/html"}


def test_a_subject_with_cr_lf_after_commit_keeps_the_change_and_sends(app, smtp, request_context,  # noqa: F811
                                                                      make_company):
    company = make_company("Acme")
    with database.atomic():
        Company.update(city="Amsterdam").where(Company.id == company.id).execute()
        mail.send_template("a@acme.nl", "accounts/already_member", "en", NASTY, company=company)

    assert Company.get_by_id(company.id).city == "Amsterdam"
    [message] = smtp.to("a@acme.nl")
    assert message["Subject"] == FOLDED


def test_a_subject_with_cr_lf_goes_to_the_outbox_on_one_line(app, request_context, outbox, make_company):
    assert not app.config["SMTP_HOST"]
    company = make_company("Acme")
    mail.send_template("a@acme.nl", "accounts/already_member", "en", NASTY, company=company)

    [sent] = outbox.to("a@acme.nl")
    assert sent.subject == FOLDED
    [eml] = list(outbox.folder.glob("*.eml"))
    assert b"\nBcc:" not in eml.read_bytes()


@pytest.mark.parametrize("value, expected", [
    ("plain", "plain"),
    ("a\r\nb", "a b"),
    ("a\nb\rc", "a b c"),
    ("  tab\there  ", "tab here"),
    ("nul\x00and\x7fdel\x85", "nul and del"),
    ("line\u2028sep", "line sep"),
    ("", ""),
    (None, ""),
])
def test_header_text_folds_control_characters(value, expected):
    assert mail.header_text(value) == expected
