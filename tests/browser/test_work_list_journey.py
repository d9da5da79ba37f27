"""The reconciliation work list at 1,280 px (issue 21, item 1): no horizontal scrolling, each
line's first candidate reachable by keyboard with a visible focus, one click to match."""

import datetime as dt
import re

import pyotp

from portal.accounts import service as accounts
from portal.core import clock
from portal.giving import service as giving
from portal.giving.models import Donation
from portal.reconcile import bank_import
from portal.reconcile.models import BankLine
from tests.conftest import PASSWORD


def test_the_work_list_fits_1280_px_and_matches_in_one_click(live_server, new_journey, make_company):
    leader = accounts.create_leader("projectleider@onderwijsambassadeurs.example", PASSWORD, "Pim Projectleider")
    day = (clock.today().replace(day=1) - dt.timedelta(days=1)).isoformat()
    rows = ["date,amount,description,reference,counterparty_name,counterparty_iban"]
    with live_server.app.test_request_context():
        for n, (name, euros) in enumerate((("Drukkerij Lek", 500), ("Bakkerij Vaart", 750),
                                           ("Adviesbureau Kromme Rijn en Vechtstreek", 1234))):
            giving.create_donation(giving.DonationInput(euros * 100, "gift", "bank", f"work-list-token-{n:08d}"),
                                   user=make_company(name, language="nl").admin)
            rows.append(f"{day},{euros}.00,gift van {name.lower()} voor het schooljaar met een lange omschrijving,,"
                        f"{name} B.V.,NL{44 + n}ABNA04171643{n:02d}")
        bank_import.import_statement(("\n".join(rows) + "\n").encode(), filename="rekening.csv", actor=leader)
    assert BankLine.select().where(BankLine.status == "unmatched").count() == 3

    journey = new_journey(viewport={"width": 1280, "height": 800})
    page = journey.page
    page.goto(live_server.url + "/login")
    page.fill("#email", leader.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/login/totp$"))
    secret = re.search(r"\b([A-Z2-7]{32,})\b", page.inner_text("main").replace(" ", "")).group(1)
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/leader$"))

    journey.visit(live_server.url + "/leader/reconcile/queue", "work list at 1280 px")   # axe + the screenshot
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.set_viewport_size({"width": 390, "height": 844})     # a phone: the facts above the candidates
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 800})
    first = page.locator(".wl-line").first.locator(".wl-candidates button").first
    first.focus()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash")
    assert "De regel is gekoppeld." in page.content()
    assert Donation.select().where(Donation.status == "paid").count() == 1
