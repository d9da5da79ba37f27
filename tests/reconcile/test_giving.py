"""Matching pays giving's payment requests through giving's own service (mark_paid_by_bank)."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from portal.reconcile import bank_import, line_matching
from portal.reconcile.models import BankLine

from .conftest import camt


@pytest.fixture
def request_for(app, make_company):
    from portal.giving import service as giving

    def make(cents: int, company=None):
        company = company or make_company(f"Payer{secrets.randbelow(10**6)}")
        with app.test_request_context():
            donation, _ = giving.create_donation(giving.DonationInput(
                amount_cents=cents, classification="gift", method="bank", form_token=secrets.token_urlsafe(24)),
                user=company.admin)
        return donation

    return make


def test_a_transfer_with_the_reference_pays_the_request(app, leader, request_for, request_context):
    from portal.giving.models import Donation

    exact, short = request_for(250000), request_for(100000)
    data = camt({"amount": "2500.00", "on": "2026-05-04", "ref": "A1", "iban": "NL02ABNA0123456789",
                 "remittance": f"<Strd><CdtrRefInf><Ref>{exact.reference}</Ref></CdtrRefInf></Strd>"},
                {"amount": "400.00", "on": "2026-05-05", "ref": "A2", "iban": "NL44RABO0123456789",
                 "remittance": f"<Ustrd>deel {short.reference}</Ustrd>"})
    result = bank_import.import_statement(data, actor=leader)
    assert result.matched == 2
    paid = Donation.get_by_id(exact.id)
    assert paid.status == "paid" and paid.paid_on == dt.date(2026, 5, 4) and paid.bank_line_ref.startswith("bankline:")
    line = BankLine.get(BankLine.bank_ref == "A1")
    assert (line.settlement, line.outcome, line.company_id) == ("paid", "exact", exact.company_id)
    partial = BankLine.get(BankLine.bank_ref == "A2")
    # Less than the request: what arrived is recorded, the request stays open for the rest (issue 13).
    assert (partial.outcome, partial.settlement) == ("partial", "part_recorded")
    assert Donation.get_by_id(short.id).status == "pending"
    for recorded in (line, partial):
        # Undone through giving: the money leaves the books again (issue 21; tests/reconcile/test_work_list.py).
        assert line_matching.unmatch_line(recorded.id, leader, "oops").status == "unmatched"
    assert Donation.get_by_id(exact.id).status == "pending"


def test_a_later_transfer_from_a_known_account_matches_by_amount(app, leader, make_company, request_for,
                                                                  request_context):
    from portal.giving.models import Donation

    company = make_company("Loyal")
    first, second = request_for(5000, company), request_for(7500, company)
    bank_import.import_statement(camt(
        {"amount": "50.00", "on": "2026-05-04", "ref": "B1", "iban": "NL69INGB0123456789",
         "remittance": f"<Ustrd>{first.reference}</Ustrd>"},
        {"amount": "75.00", "on": "2026-05-20", "ref": "B2", "iban": "NL69INGB0123456789",
         "remittance": "<Ustrd>tweede gift</Ustrd>"}), actor=leader)
    assert Donation.get_by_id(second.id).status == "paid"
    assert BankLine.get(BankLine.bank_ref == "B2").match_method == "iban_amount"


def test_the_donation_number_in_the_description_is_a_pattern(app, leader, request_for, request_context):
    from portal.giving.models import Donation

    donation = request_for(6000)
    bank_import.import_statement(camt({"amount": "60.00", "on": "2026-05-13", "ref": "C1", "iban": "NL20INGB0001234567",
                                   "remittance": f"<Ustrd>gift {donation.number}</Ustrd>"}), actor=leader)
    line = BankLine.get()
    assert (line.match_method, line.target) == ("description", f"donation:{donation.id}")
    assert Donation.get_by_id(donation.id).status == "paid"


def test_a_pasted_list_marks_requests_paid_in_one_go(leader_client, request_for):
    from portal.giving.models import Donation

    one, two = request_for(1000), request_for(2000)
    response = leader_client.post("/leader/reconcile/paste", data={
        "references": f"{one.reference}\n{two.number}\nRF00BOGUS\n", "paid_on": "2026-06-01"})
    assert response.status_code == 200
    assert b"unknown_reference" in response.data
    assert Donation.get_by_id(one.id).status == "paid" and Donation.get_by_id(two.id).status == "paid"
    assert Donation.get_by_id(one.id).paid_on == dt.date(2026, 6, 1)
