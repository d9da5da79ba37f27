"""End to end with the real capabilities: an ambassador's confirmed hours (enrolment) and a
paid bank donation (giving) reach SROI only through the books (core.ledger), and count there."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from portal.core import clock
from portal.sroi import service

TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def placement(app, make_company, contribute, monkeypatch):
    """Sanne, placed on Tuesdays from September, her first two sessions confirmed at 8 hours."""
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    company = make_company("Keten")
    return company, contribute.confirmed_sessions(company, 480, 2, "Sanne de Vries", earliest=True)


@pytest.fixture
def bank_donation(app, leader, request_context):
    from portal.giving import service as giving

    def pay(company, euros: int):
        donation, _new = giving.create_donation(
            giving.DonationInput(amount_cents=euros * 100, classification="sponsoring", method="bank",
                                 form_token=secrets.token_urlsafe(24)), user=company.admin)
        giving.mark_paid_by_bank(donation.reference, euros * 100, dt.date(2026, 11, 20), leader, "bank line 1")
        return donation

    return pay


def test_confirmed_hours_and_a_paid_donation_count_toward_a_commitment(placement, bank_donation, make_commitment):
    company, sessions = placement
    donation = bank_donation(company, 1_500)
    utrecht = make_commitment(company.admin, contract_reference="UTR", base_cents=2_000_000,       # 1,000.00
                              deadline_on=dt.date(2027, 3, 1))
    at_cost = make_commitment(company.admin, template="at-cost", contract_reference="COST",
                              base_cents=100_000_000, deadline_on=dt.date(2027, 9, 30))             # 50,000.00
    found = {c.key: c for c in service.pool_for(company.id).live.values()}     # what SROI reads of the books
    hour_keys = [f"hours:{e.id}" for e in sessions]
    assert [found[k].minutes for k in hour_keys] == [480, 480]
    assert found[hour_keys[0]].kind == "hours_sponsored" and found[hour_keys[0]].value_cents == 40_000
    assert found[f"donation:{donation.id}"].value_cents == 150_000

    plan = service.suggest(company.id, TODAY)
    service.apply_suggestion(company.admin, service.plan_fingerprint(plan), TODAY)
    first, second = service.summaries([utrecht, at_cost], today=TODAY)
    # Utrecht (nearest deadline) needs 1,000.00: the oldest contributions first, 10 hours at EUR 100.
    assert first.totals["hours_sponsored"].counted == 600
    assert first.totals["money"].lines == 0
    assert first.claimed_cents == 100_000
    # The rest goes at cost: 6 hours at the employer's EUR 50 and the whole donation.
    assert second.totals["hours_sponsored"].counted == 360
    assert second.totals["hours_sponsored"].value_cents == 30_000
    assert second.totals["money"].counted == 150_000
    assert second.claimed_cents == 180_000
    # Nothing is left to allocate, and nothing can be counted twice.
    assert service.suggest(company.id, TODAY) == []
    with pytest.raises(service.SroiError):
        service.set_allocation(company.admin, utrecht.id, hour_keys[1], 121, "hours_sponsored")


def test_a_correction_of_confirmed_hours_lowers_the_claim(placement, leader, make_commitment):
    from portal.enrollment import hours

    company, sessions = placement
    commitment = make_commitment(company.admin, deadline_on=dt.date(2027, 9, 30))
    for entry in sessions:
        service.set_allocation(company.admin, commitment.id, f"hours:{entry.id}", 480, "hours_sponsored")
    assert service.summary(commitment, TODAY).claimed_cents == 160_000               # 16 h at EUR 100
    hours.correct_entry(sessions[1].id, leader, "Left at noon", new_minutes=240)
    summary = service.summary(commitment, TODAY)
    assert summary.totals["hours_sponsored"].counted == 720                         # 8 h + 4 h, not 16 h
    assert summary.claimed_cents == 120_000
    assert [line.status for line in summary.lines] == ["ok", "reduced"]
    assert service.suggest(company.id, TODAY) == []                                  # the corrected row adds nothing
