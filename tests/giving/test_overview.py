"""The company's page of money and materials: filters, downloads, the CSV export, the dashboard."""

from __future__ import annotations

import csv
import io

import pytest

from portal.core import clock
from portal.giving import materials, service
from portal.giving.models import Donation, MaterialPledge

from .conftest import donate_form


@pytest.fixture
def history(stripe_env, company_client, leader, request_context):
    """One company with a paid gift (partly refunded), a pending request, a cancelled one and a material."""
    company, client = company_client("Historie")
    client.post("/giving/donate", data=donate_form(amount="100", earmark_purpose="=HYPERLINK(\"http://x\")"))
    paid = Donation.get()
    session = stripe_env.transport.session_for(paid.id)
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    stripe_env.refund(intent, 2_500)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    client.post("/giving/donate", data=donate_form(amount="500", method="bank", classification="sponsoring"))
    client.post("/giving/donate", data=donate_form(amount="40", method="bank", earmark_purpose="+cmd|' /C calc'!A0"))
    cancelled = Donation.select().order_by(Donation.id.desc()).get()
    service.withdraw_request(cancelled, company.admin)
    client.post("/giving/materials/pledge", data={"description": "@SUM(1+1)", "quantity": "3",
                                                  "declared_value": "90", "classification": "gift",
                                                  "form_token": "material-token-0123456789"})
    pledge = MaterialPledge.get()
    for action, kwargs in (("accept", {}), ("deliver", {"on": clock.today()}),
                           ("confirm", {"on": clock.today(), "value_cents": 8_000})):
        materials.move_pledge(leader, pledge.id, action, **kwargs)
    return company, client, paid


def test_everything_is_on_the_page_with_its_status_and_documents(history):
    company, client, paid = history
    page = client.get("/giving").get_data(as_text=True)
    assert page.count("<tr>") == 1 + 4
    assert "partly refunded" in page and "refunded €25.00" in page
    assert f"/giving/donations/{paid.id}/receipt.pdf" in page
    assert "payment-request.pdf" in page
    assert "Withdraw request" in page
    assert "€75.00" in page and "€80.00" in page


def test_filters(history):
    _company, client, _paid = history

    def numbers(query: str) -> int:
        page = client.get("/giving?" + query).get_data(as_text=True)
        return 0 if "Nothing to show." in page else page.count("<tr>") - 1

    assert numbers("kind=money") == 3
    assert numbers("kind=material") == 1
    assert numbers("state=completed") == 2
    assert numbers("state=open") == 1
    assert numbers("state=stopped") == 1
    assert numbers("classification=sponsoring") == 1
    assert numbers(f"year={clock.today().year}") == 4
    assert numbers("year=2001") == 0
    assert numbers("kind=nonsense&state=<script>&year=abc") == 4


def read_csv(response) -> list[list[str]]:
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_csv_export_is_what_is_on_screen_and_never_a_formula(history):
    _company, client, paid = history
    rows = read_csv(client.get("/giving/export.csv"))
    assert rows[0][:3] == ["Kind", "Number", "Date"]
    assert len(rows) == 1 + 4
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    cells = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://x\")" in " ".join(cells)
    assert any(cell.startswith("'+cmd") for cell in cells)
    assert "3 × @SUM(1+1)" in cells       # not at the start of a cell: no formula
    by_number = {row[1]: row for row in rows[1:]}
    gift = by_number[paid.number]
    header = rows[0]
    assert gift[header.index("Amount (EUR)")] == "100.00"
    assert gift[header.index("Refunded (EUR)")] == "25.00"
    assert gift[header.index("Fee (EUR)")] == "0.00" and gift[header.index("Net (EUR)")] == "100.00"
    filtered = read_csv(client.get("/giving/export.csv?kind=money&state=open"))
    assert len(filtered) == 2 and filtered[1][header.index("Status")] == "awaiting payment"


def test_the_exports_text_cells_are_never_formulas():
    from portal.core.spreadsheet import safe_cell

    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("-5") == "'-5"
    assert safe_cell("@x") == "'@x"
    assert safe_cell("+x") == "'+x"
    assert safe_cell("plain") == "plain"
    assert safe_cell(None) == ""


def test_dashboard_panel(history):
    _company, client, _paid = history
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Money and materials this year" in page and "€75.00" in page and "€80.00" in page


def test_a_dutch_reader_gets_the_csv_export_for_a_dutch_spreadsheet(history):
    company, client, paid = history
    company.admin.language = "nl"
    company.admin.save()
    response = client.get("/giving/export.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    header = rows[0]
    assert header[:3] == ["Soort", "Nummer", "Datum"]
    gift = {row[1]: row for row in rows[1:]}[paid.number]
    assert gift[header.index("Bedrag (EUR)")] == "100,00" and gift[header.index("Terugbetaald (EUR)")] == "25,00"
