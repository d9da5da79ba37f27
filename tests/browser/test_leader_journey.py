"""The project leader logs in with a password and a TOTP second factor, imports a bank statement,
matches what was not matched automatically, and closes the month, in a real browser (Dutch)."""

import datetime as dt
import re

import pyotp

from portal.accounts import service as accounts
from portal.core import clock
from portal.giving import service as giving
from portal.giving.models import Donation
from portal.reconcile.models import BankLine, PeriodClose
from tests.conftest import PASSWORD


def payment_request(company, euros: int, token: str) -> Donation:
    donation, _ = giving.create_donation(giving.DonationInput(euros * 100, "gift", "bank", token), user=company.admin)
    return donation


def test_the_leader_reconciles_a_bank_statement_and_closes_the_month(live_server, journey, make_company, tmp_path):
    leader = accounts.create_leader("projectleider@onderwijsambassadeurs.example", PASSWORD, "Pim Projectleider")
    with live_server.app.test_request_context():
        first = payment_request(make_company("Drukkerij Lek", language="nl"), 500, "lek-0123456789abcdef")
        second = payment_request(make_company("Bakkerij Vaart", language="nl"), 750, "vaart-0123456789abcde")
    # The statement is of the month that just ended: a month closes only once it is over.
    day = (clock.today().replace(day=1) - dt.timedelta(days=1)).isoformat()
    statement = tmp_path / "rekening.csv"
    statement.write_text(
        "date,amount,description,reference,counterparty_name,counterparty_iban\n"
        f"{day},500.00,Gift {first.reference},{first.reference},Drukkerij Lek B.V.,NL02RABO0123456789\n"
        f"{day},750.00,gift van de bakker,,Bakkerij Vaart B.V.,NL44ABNA0417164300\n", encoding="utf-8")
    page = journey.page

    journey.visit(live_server.url + "/login", "log in")
    page.fill("#email", leader.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/login/totp$"))
    journey.check_accessibility()
    journey.snap("second factor: enrol with the QR code")
    assert page.locator("main svg").count() >= 1  # the QR code, as inline SVG
    secret = re.search(r"\b([A-Z2-7]{32,})\b", page.inner_text("main").replace(" ", "")).group(1)
    page.fill("#code", "000000")
    page.click("main button[type=submit]")
    assert "klopt niet" in page.content()  # a wrong code is refused
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/leader$"))
    journey.check_accessibility()
    journey.snap("leader dashboard")

    journey.visit(live_server.url + "/leader/reconcile/import", "bank import")
    page.set_input_files("input[type=file]", str(statement))
    page.click("main form[enctype] button[type=submit]")
    page.wait_for_selector(".flash")
    assert "2 nieuwe regels geïmporteerd (van 2 in het bestand); 1 automatisch gekoppeld." in page.content()
    journey.check_accessibility()
    journey.snap("imported, one matched by its reference")
    assert Donation.get_by_id(first.id).status == "paid"

    journey.visit(live_server.url + "/leader/reconcile/queue", "unmatched line")
    line = BankLine.get(BankLine.amount_cents == 75000)
    page.click(f"#line-{line.id} summary")  # naming an item by hand is under "More" (issue 21)
    page.fill(f"#target-{line.id}", second.reference)
    page.click(f"form:has(#target-{line.id}) button[type=submit]")
    page.wait_for_selector(".flash")
    assert "De regel is gekoppeld." in page.content()
    journey.snap("matched by hand")
    assert Donation.get_by_id(second.id).status == "paid"

    running = clock.today().isoformat()[:7]
    journey.visit(live_server.url + f"/leader/reconcile/periods?kind=month&label={running}", "the running month")
    assert "Deze periode loopt tot" in page.content()  # no close button while it runs
    assert page.locator("main form.stacked").count() == 0
    journey.snap("the running month cannot close yet")
    month = day[:7]
    journey.visit(live_server.url + f"/leader/reconcile/periods?kind=month&label={month}", "the month")
    page.fill("#explanation", "Twee betaalverzoeken, beide betaald.")
    page.click("main form.stacked button[type=submit]")
    page.wait_for_selector(".flash")
    assert "De periode is afgesloten" in page.content()
    journey.check_accessibility()
    journey.snap("month closed")
    assert PeriodClose.select().where(PeriodClose.kind == "month").count() == 1
