"""Allocation of contributions to commitments, valuation by each commitment's rules, the suggestion."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from portal.core import audit
from portal.sroi import commitments, pool, service
from portal.sroi.models import Allocation, Commitment
from tests.sroi.conftest import Contribution

pytestmark = pytest.mark.usefixtures("request_context")
TODAY = dt.date(2026, 11, 1)


def allocations() -> list[tuple[int, str, int, int]]:
    return [(a.commitment_id, a.contribution_key, a.minutes, a.cents)
            for a in Allocation.select().order_by(Allocation.id)]


def test_hours_at_the_utrecht_rate_money_and_materials_at_cost(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    hours = ledger.hours(company, 280 * 60, value_cents=1_400_000)
    money = ledger.money(company, 250_000)
    laptops = ledger.material(company, 120_050)
    commitment = make_commitment(company.admin)
    for contribution in (hours, money, laptops):
        service.set_allocation(company.admin, commitment.id, contribution.key, pool.whole_of(contribution))
    summary = service.summary(commitment, today=TODAY)
    assert summary.obligation_cents == 5_000_000
    assert summary.totals["hours_sponsored"].value_cents == 2_800_000   # 280 h x EUR 100, not the employer cost
    assert summary.totals["money"].value_cents == 250_000
    assert summary.totals["material"].value_cents == 120_050
    assert summary.claimed_cents == 2_800_000 + 250_000 + 120_050
    assert summary.approved_cents == 0
    assert summary.gap_cents == 5_000_000
    assert summary.unclaimed_cents == 5_000_000 - summary.claimed_cents


def test_employer_cost_rule_uses_the_cost_registered_with_the_hours(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    hours = ledger.hours(company, 600, value_cents=45_001)            # 10 h at a declared cost
    commitment = make_commitment(company.admin, template="at-cost")
    service.set_allocation(company.admin, commitment.id, hours.key, 200)   # a third of it
    summary = service.summary(commitment)
    assert summary.totals["hours_sponsored"].value_cents == 15_000    # 45,001 x 200 / 600 = 15,000.33 -> 15,000
    assert summary.claimed_cents == 15_000


def test_one_contribution_split_across_commitments_never_counts_twice(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    donation = ledger.money(company, 100_000)
    first = make_commitment(company.admin, contract_reference="A")
    second = make_commitment(company.admin, contract_reference="B")
    service.set_allocation(company.admin, first.id, donation.key, 60_000)
    service.set_allocation(company.admin, second.id, donation.key, 40_000)
    with pytest.raises(service.SroiError) as caught:
        service.set_allocation(company.admin, second.id, donation.key, 40_001)
    assert "Only €400.00 of this contribution is still free" in str(caught.value)
    assert "never counts for more than its whole value" in str(caught.value)
    with pytest.raises(service.SroiError):
        service.set_allocation(company.admin, first.id, donation.key, 60_001)
    assert allocations() == [(first.id, donation.key, 0, 60_000), (second.id, donation.key, 0, 40_000)]
    # Lowering one frees room for the other.
    service.set_allocation(company.admin, first.id, donation.key, 50_000)
    service.set_allocation(company.admin, second.id, donation.key, 50_000)
    claimed = [service.summary(c).claimed_cents for c in (first, second)]
    assert claimed == [50_000, 50_000]


def test_hours_are_split_in_minutes(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    hours = ledger.hours(company, 450)
    first = make_commitment(company.admin, contract_reference="A")
    second = make_commitment(company.admin, contract_reference="B")
    service.set_allocation(company.admin, first.id, hours.key, 300)
    with pytest.raises(service.SroiError) as caught:
        service.set_allocation(company.admin, second.id, hours.key, 151)
    assert "Only 2:30 h of this contribution is still free" in str(caught.value)
    service.set_allocation(company.admin, second.id, hours.key, 150)
    assert service.summary(second).claimed_cents == 25_000


def test_another_companys_contribution_is_refused(make_company, ledger, make_commitment):
    mine, theirs = make_company("Mine"), make_company("Theirs")
    their_donation = ledger.money(theirs, 100_000)
    commitment = make_commitment(mine.admin)
    with pytest.raises(service.SroiError) as caught:
        service.set_allocation(mine.admin, commitment.id, their_donation.key, 100)
    assert "not among your company's confirmed contributions" in str(caught.value)
    # Nor can a user reach another company's commitment.
    their_commitment = make_commitment(theirs.admin)
    with pytest.raises(service.SroiError):
        service.set_allocation(mine.admin, their_commitment.id, their_donation.key, 100)
    assert allocations() == []


def test_refusals_change_nothing(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    donation = ledger.money(company, 100_000)
    early = ledger.money(company, 5_000, on=dt.date(2025, 1, 1))
    refund = ledger.money(company, -10_000)
    volunteered = ledger.hours(company, 120, kind="hours_volunteered")
    commitment = make_commitment(company.admin)
    before = audit.AuditLog.select().count()
    cases = [
        (donation.key, 100_001, "still free"),
        (donation.key, -1, "cannot be negative"),
        (early.key, 100, "in this commitment's period"),
        (refund.key, 100, "no value left"),
        (volunteered.key, 60, "does not count under this commitment's rules"),
        ("", 100, "Choose a contribution"),
        ("donation:999999", 100, "not among your company's"),
    ]
    for key, amount, message in cases:
        with pytest.raises(service.SroiError) as caught:
            service.set_allocation(company.admin, commitment.id, key, amount)
        assert message in str(caught.value), key
    assert allocations() == []
    assert audit.AuditLog.select().count() == before


def test_kind_switched_off_counts_for_nothing_and_says_why(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    donation = ledger.money(company, 10_000)
    commitment = make_commitment(company.admin)
    service.set_allocation(company.admin, commitment.id, donation.key, 10_000)
    rules = service.rules_of(commitment)
    rules.counts_money = False
    service.update_rules(company.admin, commitment.id, rules)
    summary = service.summary(Commitment.get_by_id(commitment.id))
    assert summary.claimed_cents == 0
    assert [line.status for line in summary.lines] == ["not_counted"]
    assert "does not count" in summary.lines[0].status_label


def test_cap_of_hours_per_person(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    anna_1 = ledger.hours(company, 6 * 60, person="Anna", on=dt.date(2026, 9, 1))
    anna_2 = ledger.hours(company, 6 * 60, person="Anna", on=dt.date(2026, 9, 8))
    bram = ledger.hours(company, 6 * 60, person="Bram", on=dt.date(2026, 9, 1))
    commitment = make_commitment(company.admin, rules={"max_minutes_per_person": 10 * 60})
    for c in (anna_1, anna_2, bram):
        service.set_allocation(company.admin, commitment.id, c.key, 360)
    summary = service.summary(commitment)
    by_key = {line.allocation.contribution_key: line for line in summary.lines}
    assert by_key[anna_1.key].counted == 360
    assert by_key[anna_2.key].counted == 240 and by_key[anna_2.key].status == "capped"
    assert by_key[bram.key].counted == 360
    assert summary.totals["hours_sponsored"].counted == 16 * 60
    assert summary.claimed_cents == 160_000          # 16 h x EUR 100, not 18 h


def test_a_withdrawn_or_reduced_contribution_stops_counting(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    donation = ledger.money(company, 100_000, key="donation:1")
    other = ledger.money(company, 20_000, key="donation:2")
    first = make_commitment(company.admin, contract_reference="A")
    second = make_commitment(company.admin, contract_reference="B")
    service.set_allocation(company.admin, first.id, donation.key, 70_000)
    service.set_allocation(company.admin, second.id, donation.key, 30_000)
    service.set_allocation(company.admin, second.id, other.key, 20_000)
    # The source now reports the donation as partly refunded: worth 80,000.
    ledger.remove(donation.key)
    ledger.money(company, 80_000, key="donation:1")
    ledger.remove(other.key)
    first_summary, second_summary = service.summaries([first, second])
    assert first_summary.claimed_cents == 70_000                     # first allocated, first served
    assert second_summary.claimed_cents == 10_000                    # 10,000 left of the donation, 0 of the other
    statuses = sorted(line.status for line in second_summary.lines)
    assert statuses == ["reduced", "withdrawn"]
    assert len(second_summary.problems) == 2


def test_allocation_is_audited(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    donation = ledger.money(company, 10_000)
    commitment = make_commitment(company.admin)
    service.set_allocation(company.admin, commitment.id, donation.key, 5_000)
    service.set_allocation(company.admin, commitment.id, donation.key, 0)
    rows = list(audit.AuditLog.select().where(audit.AuditLog.action == "sroi.allocation.set").order_by(audit.AuditLog.id))
    assert [(json.loads(r.details)["before"], json.loads(r.details)["after"]) for r in rows] == [(0, 5_000), (5_000, 0)]
    assert all(r.company_id == company.id and r.actor_id == company.admin.id for r in rows)
    assert audit.verify().ok
    assert allocations() == []


def test_suggestion_fills_the_nearest_deadline_first(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    later = make_commitment(company.admin, contract_reference="LATER", base_cents=10_000_000,
                            deadline_on=dt.date(2027, 12, 31))          # obligation 5,000.00
    sooner = make_commitment(company.admin, contract_reference="SOONER", base_cents=4_000_000,
                             deadline_on=dt.date(2027, 8, 31))           # obligation 2,000.00
    hours = ledger.hours(company, 30, person="Anna", on=dt.date(2026, 9, 1))   # 0:30 h = 50.00 at the rate
    donation = ledger.money(company, 300_000, on=dt.date(2026, 9, 2))
    plan = service.suggest(company.id, TODAY)
    assert [(s.commitment.contract_reference, s.contribution.key, s.add) for s in plan] == [
        ("SOONER", hours.key, 30),
        ("SOONER", donation.key, 195_000),            # 2,000.00 - 50.00
        ("LATER", donation.key, 105_000),             # what is left of the donation
    ]
    assert sum(s.value_cents for s in plan) == 50 * 100 + 195_000 + 105_000
    assert allocations() == []                        # a suggestion saves nothing
    assert service.apply_suggestion(company.admin, service.plan_fingerprint(plan), TODAY) == 3
    sooner_summary, later_summary = service.summaries([sooner, later], today=TODAY)
    assert sooner_summary.claimed_cents == sooner_summary.obligation_cents == 200_000
    assert later_summary.claimed_cents == 105_000
    assert service.suggest(company.id, TODAY) == []    # nothing free is left


def test_suggestion_needs_only_minutes_enough_and_respects_the_person_cap(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    commitment = make_commitment(company.admin, base_cents=1_000_000, rules={"max_minutes_per_person": 600})  # 500.00
    anna = ledger.hours(company, 900, person="Anna", on=dt.date(2026, 9, 1))
    plan = service.suggest(company.id, TODAY)
    assert [(s.contribution.key, s.add, s.value_cents) for s in plan] == [(anna.key, 300, 50_000)]
    service.set_allocation(company.admin, commitment.id, anna.key, 100)
    service.update_commitment(company.admin, commitment.id,
                              commitments.commitment_input(commitment).__class__(**{
                                  **commitments.commitment_input(commitment).__dict__, "base_cents": 100_000_000}))
    plan = service.suggest(company.id, TODAY)
    assert [(s.contribution.key, s.add, s.new_total) for s in plan] == [(anna.key, 500, 600)]   # up to the 10 h cap


def test_confirming_a_stale_suggestion_is_refused(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    make_commitment(company.admin)
    donation = ledger.money(company, 10_000)
    plan = service.suggest(company.id, TODAY)
    ledger.money(company, 20_000)
    with pytest.raises(service.SroiError) as caught:
        service.apply_suggestion(company.admin, service.plan_fingerprint(plan), TODAY)
    assert "changed since the suggestion" in str(caught.value)
    assert allocations() == []
    assert plan[0].contribution.key == donation.key


def test_commitments_past_their_deadline_get_no_suggestion(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    make_commitment(company.admin, deadline_on=dt.date(2026, 10, 1))
    ledger.money(company, 10_000, on=dt.date(2026, 9, 1))
    assert service.suggest(company.id, TODAY) == []


def test_a_mixed_hours_row_has_two_parts_under_one_key(make_company, ledger, make_commitment):
    """Enrolment reports a partly sponsored, partly volunteered session as two contributions with one key."""
    company = make_company("Bouw")
    sponsored = ledger.hours(company, 240, key="hours:7", person="Anna")
    volunteered = ledger.hours(company, 180, key="hours:7", person="Anna", kind="hours_volunteered")
    commitment = make_commitment(company.admin, rules={"counts_hours_volunteered": True})
    with pytest.raises(service.SroiError) as caught:
        service.set_allocation(company.admin, commitment.id, "hours:7", 60)
    assert "several parts" in str(caught.value)
    service.set_allocation(company.admin, commitment.id, "hours:7", 240, sponsored.kind)
    service.set_allocation(company.admin, commitment.id, "hours:7", 180, volunteered.kind)
    with pytest.raises(service.SroiError):
        service.set_allocation(company.admin, commitment.id, "hours:7", 181, volunteered.kind)
    summary = service.summary(commitment)
    assert summary.totals["hours_sponsored"].counted == 240
    assert summary.totals["hours_volunteered"].counted == 180
    assert summary.claimed_cents == 70_000                          # 7 h at EUR 100, both parts by the same rate


def test_reversed_hours_stop_counting(make_company, ledger, make_commitment):
    """A correction of confirmed hours arrives as a negative contribution under a new key."""
    company = make_company("Bouw")
    first = ledger.hours(company, 450, key="hours:1", person="Anna", on=dt.date(2026, 9, 7))
    second = ledger.hours(company, 450, key="hours:2", person="Anna", on=dt.date(2026, 9, 14))
    commitment = make_commitment(company.admin)
    service.set_allocation(company.admin, commitment.id, first.key, 450)
    service.set_allocation(company.admin, commitment.id, second.key, 450)
    assert service.summary(commitment).claimed_cents == 150_000
    # The session of 14 September is reversed and confirmed again at 6:00.
    ledger.hours(company, -450, key="hours:3", person="Anna", on=dt.date(2026, 9, 14), value_cents=-37_500)
    corrected = ledger.hours(company, 360, key="hours:4", person="Anna", on=dt.date(2026, 9, 14))
    summary = service.summary(commitment)
    assert summary.totals["hours_sponsored"].counted == 450 + 360   # Anna's net hours, not 15:00
    assert summary.claimed_cents == 135_000
    assert [line.status for line in summary.lines] == ["ok", "reduced"]
    # Nothing more of Anna's hours can be allocated, not even the corrected row.
    with pytest.raises(service.SroiError) as caught:
        service.set_allocation(company.admin, commitment.id, corrected.key, 1)
    assert "a later correction" in str(caught.value)
    offered = {a.contribution.key: a for a in service.available(commitment)}
    assert offered[corrected.key].free == 0 and offered[corrected.key].group_limited
    assert service.suggest(company.id, TODAY) == []


def test_a_refund_under_the_same_payment_reference_lowers_the_donation(make_company, ledger, make_commitment):
    company = make_company("Bouw")
    donation = ledger.add(Contribution(kind="money", key="donation:1", company_id=company.id, on=dt.date(2026, 9, 1),
                                       description="Donation", value_cents=100_000, basis="at_cost",
                                       reference="RF18539007547034"))
    commitment = make_commitment(company.admin)
    service.set_allocation(company.admin, commitment.id, donation.key, 100_000)
    ledger.add(Contribution(kind="money", key="refund:1", company_id=company.id, on=dt.date(2026, 9, 20),
                            description="Refund", value_cents=-30_000, basis="at_cost",
                            reference="RF18539007547034"))
    summary = service.summary(commitment)
    assert summary.claimed_cents == 70_000
    assert summary.lines[0].status == "reduced"
    with pytest.raises(service.SroiError):
        service.set_allocation(company.admin, commitment.id, donation.key, 70_001)
    service.set_allocation(company.admin, commitment.id, donation.key, 70_000)
    assert service.summary(commitment).lines[0].status == "ok"
