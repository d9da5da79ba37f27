"""A visitor asks the project leader a question through the contact form, in a real browser (Dutch):
a mistake comes back with what she typed, then the message goes through; she works out what a
placement costs on the cost page (a GET form, no JavaScript); the project leader logs in with her
second factor, finds the message and answers it."""

import re

import pyotp

from portal.accounts import service as accounts
from portal.contact.models import ContactMessage
from portal.enrollment import reference
from tests.conftest import PASSWORD


def test_a_visitor_asks_a_question_and_the_leader_answers_it(live_server, journey):
    reference.seed_reference_data()  # the school calendar: the migration seeds it, PostgreSQL runs truncate it
    leader = accounts.create_leader("projectleider@onderwijsambassadeurs.example", PASSWORD, "Pim Projectleider")
    page = journey.page
    base = live_server.url

    journey.visit(base + "/contactformulier", "contact form")
    assert page.get_attribute("html", "lang") == "nl"
    page.fill("#name", "Vera Vraag")
    page.fill("#organisation", "Bouwbedrijf Vaart B.V.")
    page.fill("#email", "vera at vaart")
    page.check("#question_type-0")  # employer
    page.click("main form button[type=submit]")
    page.wait_for_selector(".form-summary")
    journey.check_accessibility()
    journey.snap("mistakes marked, input kept")
    assert page.input_value("#name") == "Vera Vraag" and page.input_value("#email") == "vera at vaart"
    assert page.is_checked("#question_type-0")
    assert page.locator("#email-error").count() == 1 and page.locator("#message-error").count() == 1
    assert ContactMessage.select().count() == 0

    page.fill("#email", "vera@vaart.example")
    page.fill("#message", "Hoeveel uur kost een ambassadeur ons per jaar?\nWe denken aan twee collega's.")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".flash-success")
    journey.check_accessibility()
    journey.snap("message sent")
    assert page.url == base + "/contactformulier" and page.input_value("#name") == ""
    message = ContactMessage.get()
    assert (message.name, message.email, message.language, message.question_type) == (
        "Vera Vraag", "vera@vaart.example", "nl", "employer")

    journey.visit(base + "/wat-kost-het", "what does it cost")
    page.select_option("#weekday", "1")  # Tuesday
    page.fill("#hours_per_week", "8")
    page.fill("#sponsored_hours_per_week", "6")
    page.fill("#hourly_cost", "45,50")
    page.click("#calculator ~ form button[type=submit]")
    page.wait_for_selector("#result")
    journey.check_accessibility()
    journey.snap("cost calculated")
    assert page.get_attribute("[data-cost-cents]", "data-cost-cents") == "1119300"  # 41 x 6 h x € 45,50
    assert "€ 11.193,00" in page.inner_text("#result")

    journey.visit(base + "/login", "leader logs in")
    page.fill("#email", leader.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/login/totp$"))
    secret = re.search(r"\b([A-Z2-7]{32,})\b", page.inner_text("main").replace(" ", "")).group(1)
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/leader$"))
    assert page.locator(".contact-panel .badge").count() == 1  # one message waits
    page.click(".contact-panel a")
    page.wait_for_url(re.compile(r".*/contact/leader$"))
    journey.check_accessibility()
    journey.snap("the leader's inbox")
    page.click("main table a:has-text(\"Vera Vraag\")")
    page.wait_for_url(re.compile(rf".*/contact/leader/{message.id}$"))
    journey.check_accessibility()
    assert "We denken aan twee collega's." in page.inner_text("main")
    page.fill("#reply", "Beste Vera,\nEen heel schooljaar is 39 tot 41 schooldagen. Ik bel je.")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".flash-success")
    journey.check_accessibility()
    journey.snap("answered")
    answered = ContactMessage.get_by_id(message.id)
    assert answered.status == "answered" and answered.reply.endswith("Ik bel je.")
    assert page.locator("#reply").count() == 0  # answered once: no second reply form
