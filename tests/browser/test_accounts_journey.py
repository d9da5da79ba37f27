"""A company registers, confirms its address, logs in and invites a colleague, in a real browser."""

import re

from tests.conftest import Outbox


def test_company_registers_and_invites_a_colleague(live_server, journey):
    page = journey.page
    outbox = Outbox(__import__("pathlib").Path(live_server.app.config["OUTBOX_DIR"]))
    journey.visit(live_server.url + "/register", "register form")
    page.fill("#legal_name", "Kanaal & Co B.V.")
    page.fill("#kvk", "1234 5678")
    page.fill("#street", "Oudegracht 200")
    page.fill("#postcode", "3511nr")
    page.fill("#city", "Utrecht")
    page.fill("#billing_email", "finance@kanaal.example")
    page.fill("#admin_name", "Kees Kanaal")
    page.fill("#admin_email", "kees@kanaal.example")
    page.fill("#password", "short")
    page.click("main button[type=submit]")
    # the weak password is refused and everything else typed is still there
    assert page.input_value("#legal_name") == "Kanaal & Co B.V."
    assert page.input_value("#postcode") == "3511 NR"
    assert page.locator(".field-error").count() == 1
    journey.check_accessibility()
    journey.snap("weak password refused")
    page.fill("#password", "grachtenfiets-lindeboom-93")
    page.click("main button[type=submit]")
    page.wait_for_selector("h1")
    journey.snap("check your mail")

    confirm = outbox.last("kees@kanaal.example")
    page.goto(live_server.url + confirm.link())
    page.fill("#email", "kees@kanaal.example")
    page.fill("#password", "grachtenfiets-lindeboom-93")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard$"))
    journey.check_accessibility()
    journey.snap("dashboard")

    journey.visit(live_server.url + "/team", "team page")
    page.fill("#email", "collega@kanaal.example")
    page.click("main form.stacked button[type=submit]")
    page.wait_for_selector(".flash")
    assert "collega@kanaal.example" in page.content()
    journey.snap("invitation sent")

    invite = outbox.last("collega@kanaal.example")
    colleague = journey.page.context.browser.new_context().new_page()
    colleague.goto(live_server.url + invite.link())
    colleague.fill("#name", "Cor Collega")
    colleague.fill("#password", "schoolplein-regenboog-417")
    colleague.click("main button[type=submit]")
    colleague.wait_for_url(re.compile(r".*/dashboard$"))
    assert "Kanaal &amp; Co B.V." in colleague.content() or "Kanaal & Co B.V." in colleague.content()
