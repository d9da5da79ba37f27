"""The public contact form: a visitor sends a message in Dutch or English, the project leader is
mailed, the visitor gets a confirmation in the language of the form; bad input comes back as
typed with the errors beside it; a filled-in honeypot looks accepted but is neither stored nor
mailed; the form is rate-limited and needs its CSRF token."""

from __future__ import annotations

import html
import re

import pytest

from portal import create_app
from portal.contact.models import ContactMessage
from portal.core.security import limiter
from tests.conftest import REDIS_URL, FreshContextClient

LEADER_EMAIL = "leider@onderwijsambassadeurs.nl"  # the `leader` fixture's address


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def token(client, path: str) -> str:
    """The form token of a freshly opened form, as a browser would send it back."""
    match = re.search(r'id="form_token" name="form_token" type="hidden" value="([^"]+)"', text(client.get(path)))
    assert match, "no form token on " + path
    return match.group(1)


def filled(client, path: str, **overrides) -> dict[str, str]:
    data = {"name": "Vera Vraag", "organisation": "Bouwbedrijf Vaart B.V.", "email": "vera@vaart.example",
            "question_type": "employer", "message": "Hoeveel uur kost het?\nWij hebben drie collega's.",
            "website": "", "form_token": token(client, path)}
    data.update(overrides)
    return data


def test_a_dutch_visitor_sends_a_message_and_gets_a_dutch_confirmation(client, leader, outbox):
    page = client.get("/contactformulier")
    assert page.status_code == 200
    assert '<html lang="nl">' in text(page)
    assert 'href="/en/contact-form"' in text(page)  # the language switch goes to the English form

    response = client.post("/contactformulier", data=filled(client, "/contactformulier"))
    assert response.status_code == 303 and response.headers["Location"] == "/contactformulier"

    message = ContactMessage.get()
    assert (message.name, message.organisation, message.email) == ("Vera Vraag", "Bouwbedrijf Vaart B.V.",
                                                                   "vera@vaart.example")
    assert (message.question_type, message.language, message.status) == ("employer", "nl", "new")
    assert message.message == "Hoeveel uur kost het?\nWij hebben drie collega's."

    to_leader = outbox.last(LEADER_EMAIL)
    assert "Hoeveel uur kost het?" in to_leader.text and "vera@vaart.example" in to_leader.text
    assert f"/contact/leader/{message.id}" in to_leader.link()
    confirmation = outbox.last("vera@vaart.example")
    assert '<html lang="nl">' in confirmation.html
    # Nobody can make the form mail a text of their choosing to someone else: no message in it.
    assert "Hoeveel uur" not in confirmation.text

    after = client.get("/contactformulier")
    assert '<html lang="nl">' in text(after) and 'class="flash flash-success"' in text(after)


def test_an_english_visitor_gets_the_english_form_and_an_english_confirmation(client, leader, outbox):
    page = text(client.get("/en/contact-form"))
    assert '<html lang="en">' in page and "<h1>Contact form</h1>" in page
    assert 'href="/contactformulier"' in page

    response = client.post("/en/contact-form", data=filled(client, "/en/contact-form", question_type="donation",
                                                           email="Ann@Example.com", message="Can we give money?"))
    assert response.status_code == 303 and response.headers["Location"] == "/en/contact-form"
    assert "Thank you, your message has been sent." in text(client.get("/en/contact-form"))

    message = ContactMessage.get()
    assert (message.language, message.question_type, message.email) == ("en", "donation", "ann@example.com")
    confirmation = outbox.last("ann@example.com")
    assert '<html lang="en">' in confirmation.html
    # A visitor has no account: the footer names the contact form, not an account on the portal.
    assert "given on the contact form" in confirmation.html and "your account" not in confirmation.html
    assert "Thank you for your message" in confirmation.text and "Donation or finance" in confirmation.text
    assert outbox.last(LEADER_EMAIL).subject == "Contact form: Donation or finance"


def test_the_form_language_wins_over_the_visitors_own(client, leader, outbox):
    """A visitor whose browser asks for English, on the Dutch form: a Dutch page and a Dutch mail."""
    client.post("/contactformulier", data=filled(client, "/contactformulier"), headers={"Accept-Language": "en"})
    assert ContactMessage.get().language == "nl"
    assert '<html lang="nl">' in outbox.last("vera@vaart.example").html


def test_bad_input_comes_back_as_typed_with_clear_errors(client, leader, outbox):
    data = filled(client, "/en/contact-form", email="vera at vaart", message="", name="Vera <b>Vraag</b>",
                  question_type="school")
    response = client.post("/en/contact-form", data=data)
    assert response.status_code == 422
    page = text(response)
    assert "Please correct the fields marked below." in page
    assert "Enter a valid e-mail address, such as name@company.nl." in page
    assert "This field is required." in page  # the empty message
    # What was typed is still there (escaped), the choice still made.
    body = response.get_data(as_text=True)
    assert 'value="Vera &lt;b&gt;Vraag&lt;/b&gt;"' in body
    assert 'value="Bouwbedrijf Vaart B.V."' in body and 'value="vera at vaart"' in body
    assert re.search(r'<input checked id="question_type-1" name="question_type" required type="radio" value="school">', body)
    assert ContactMessage.select().count() == 0 and outbox.messages == []


def test_a_message_that_is_too_long_is_refused_and_kept(client, leader, outbox):
    long_text = "Lange vraag. " * 500  # 6,500 characters
    response = client.post("/contactformulier", data=filled(client, "/contactformulier", message=long_text))
    assert response.status_code == 422
    assert '<html lang="nl">' in text(response)
    assert "5000" in text(response) and long_text.strip() in text(response)
    assert ContactMessage.select().count() == 0


def test_no_question_type_is_an_error(client, leader, outbox):
    data = filled(client, "/en/contact-form")
    del data["question_type"]
    response = client.post("/en/contact-form", data=data)
    assert response.status_code == 422
    assert "Choose what your question is about." in text(response)
    assert ContactMessage.select().count() == 0


def test_a_link_can_choose_the_question_type(client):
    body = client.get("/en/contact-form?about=donation").get_data(as_text=True)
    assert '<input checked id="question_type-3" name="question_type" required type="radio" value="donation">' in body


def test_a_filled_in_honeypot_looks_accepted_but_nothing_is_stored_or_mailed(client, leader, outbox):
    response = client.post("/en/contact-form", data=filled(client, "/en/contact-form",
                                                           website="https://cheap-pills.example"))
    assert response.status_code == 303 and response.headers["Location"] == "/en/contact-form"
    assert "Thank you, your message has been sent." in text(client.get("/en/contact-form"))
    assert ContactMessage.select().count() == 0
    assert outbox.messages == []


def test_the_honeypot_is_hidden_from_people_and_screen_readers(client):
    body = client.get("/en/contact-form").get_data(as_text=True)
    trap = re.search(r'<div class="visually-hidden" aria-hidden="true">(.*?)</div>', body, re.S)
    assert trap and 'name="website"' in trap.group(1) and 'tabindex="-1"' in trap.group(1)


def test_sending_the_same_form_twice_stores_and_mails_once(client, leader, outbox):
    data = filled(client, "/en/contact-form")
    assert client.post("/en/contact-form", data=data).status_code == 303
    assert client.post("/en/contact-form", data=data).status_code == 303
    assert ContactMessage.select().count() == 1
    assert len(outbox.to("vera@vaart.example")) == 1 and len(outbox.to(LEADER_EMAIL)) == 1


def test_the_form_needs_its_csrf_token(app_config, leader):
    application = create_app(dict(app_config, WTF_CSRF_ENABLED=True))
    application.test_client_class = FreshContextClient
    client = application.test_client()
    data = filled(client, "/en/contact-form")
    response = client.post("/en/contact-form", data=data, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert ContactMessage.select().count() == 0
    page = text(client.get("/en/contact-form"))
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = filled(client, "/en/contact-form", csrf_token=csrf)
    assert client.post("/en/contact-form", data=data).status_code == 303
    assert ContactMessage.select().count() == 1


# --- rate limits -------------------------------------------------------------------------------------

@pytest.fixture
def limited_app(app, app_config):
    """Limits on (made after the shared `app`: the limiter is one object, the app made last sets it up)."""
    config = dict(app_config, RATELIMIT_ENABLED=True)
    if REDIS_URL:
        config["RATELIMIT_STORAGE"] = REDIS_URL
    application = create_app(config)
    with application.app_context():
        limiter.reset()
    application.test_client_class = FreshContextClient
    return application


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_one_address_sending_many_messages_is_stopped(limited_app, leader, outbox):
    client = from_address(limited_app, "198.51.100.20")
    for n in range(5):
        response = client.post("/en/contact-form", data=filled(client, "/en/contact-form", email=f"v{n}@x.example"))
        assert response.status_code == 303, n
    blocked = client.post("/en/contact-form", data=filled(client, "/en/contact-form"),
                          headers={"Accept-Language": "nl"})
    assert blocked.status_code == 429
    page = text(blocked)
    assert '<html lang="en">' in page and "<h1>Too many attempts</h1>" in page  # the page's language
    assert blocked.headers["Retry-After"]
    assert ContactMessage.select().count() == 5
    # The Dutch form shares the limit: it is the same form.
    assert client.post("/contactformulier", data=filled(client, "/contactformulier")).status_code == 429
    # Reading the form is not limited, and another address may still write.
    assert client.get("/en/contact-form").status_code == 200
    other = from_address(limited_app, "198.51.100.21")
    assert other.post("/en/contact-form", data=filled(other, "/en/contact-form")).status_code == 303


def test_the_form_cannot_flood_one_mailbox_with_confirmations(limited_app, leader, outbox):
    for n in range(5):
        client = from_address(limited_app, f"203.0.113.{n + 1}")
        assert client.post("/en/contact-form", data=filled(client, "/en/contact-form",
                                                           email="victim@mail.example")).status_code == 303
    # Every message is kept and reaches the leader; the address named gets three confirmations a day.
    assert ContactMessage.select().count() == 5
    assert len(outbox.to(LEADER_EMAIL)) == 5
    assert len(outbox.to("victim@mail.example")) == 3
