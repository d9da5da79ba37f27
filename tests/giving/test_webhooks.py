"""POST /webhooks/stripe: signatures, modes, duplicates, order, mismatches, refunds, disputes, fees."""

from __future__ import annotations

import json
import time

from portal.core.audit import AuditLog
from portal.giving import contributions, stripe_events
from portal.giving.models import Dispute, Donation, PaymentIssue, Refund, StripeEvent

from .conftest import WEBHOOK_SECRET


def state(donation_id: int) -> tuple:
    d = Donation.get_by_id(donation_id)
    return (d.status, d.fee_cents, d.net_cents, d.stripe_payment_intent_id, StripeEvent.select().count(),
            Refund.select().count(), PaymentIssue.select().count(), AuditLog.select().count())


def receipts(outbox, company) -> list:
    return [m for m in outbox.to(company.admin.email) if m.subject.startswith("Receipt")]


# --- signature, timestamp, mode ---------------------------------------------------------------

def test_forged_signature_stale_timestamp_and_wrong_mode_get_400_and_change_nothing(stripe_env, started, outbox):
    company, donation, session = started()
    stripe_env.pay(session)
    payload = stripe_env.event("checkout.session.completed", session)
    before = state(donation.id)
    now = int(time.time())
    refused = {
        "wrong secret": stripe_env.sign(payload, secret="whsec_someone_else"),
        "stale timestamp": stripe_env.sign(payload, timestamp=now - 301),
        "no v1 signature": f"t={now}",
        "empty header": "",
    }
    for reason, header in refused.items():
        response = stripe_env.client.post("/webhooks/stripe", data=payload, content_type="application/json",
                                          headers={"Stripe-Signature": header})
        assert response.status_code == 400, reason
    tampered = payload.replace(b'"livemode": false', b'"livemode": false ')
    assert stripe_env.deliver(tampered, signature=stripe_env.sign(payload)).status_code == 400
    live = stripe_env.event("checkout.session.completed", session, livemode=True)
    assert stripe_env.deliver(live).status_code == 400
    assert state(donation.id) == before
    assert not receipts(outbox, company)
    # A timestamp just inside the tolerance is accepted.
    assert stripe_env.deliver(payload, signature=stripe_env.sign(payload, timestamp=now - 290)).status_code == 200
    assert Donation.get_by_id(donation.id).status == "paid"


def test_without_a_configured_secret_every_delivery_is_refused(app, stripe_env, started):
    _company, donation, session = started()
    stripe_env.pay(session)
    app.config["STRIPE_WEBHOOK_SECRET"] = ""
    assert stripe_env.send("checkout.session.completed", session).status_code == 400
    assert Donation.get_by_id(donation.id).status == "pending"


def test_the_webhook_needs_no_csrf_token(app, stripe_env, started):
    _company, donation, session = started()
    stripe_env.pay(session)
    app.config["WTF_CSRF_ENABLED"] = True
    assert stripe_env.send("checkout.session.completed", session).status_code == 200
    assert Donation.get_by_id(donation.id).status == "paid"


def test_unknown_events_are_acknowledged_and_recorded(stripe_env):
    response = stripe_env.send("customer.created", {"id": "cus_123", "object": "customer"})
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert StripeEvent.get().outcome == "ignored"


def test_a_payment_the_portal_did_not_start_is_ignored(stripe_env):
    intent = stripe_env.api.v1.payment_intents.create(params={
        "amount": 1000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True,
        "payment_method_types": ["card"]})
    response = stripe_env.send("charge.refunded", stripe_env.charge_of(intent.id))
    assert response.get_json()["outcome"] == "ignored"
    assert not PaymentIssue.select().exists()


def test_an_event_naming_a_donation_that_does_not_exist_is_flagged(stripe_env, outbox, leader):
    intent = stripe_env.api.v1.payment_intents.create(params={
        "amount": 1000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True,
        "payment_method_types": ["card"], "metadata": {"donation_id": "999"}})
    response = stripe_env.send("charge.refunded", stripe_env.charge_of(intent.id))
    assert response.get_json()["outcome"] == "flagged"
    assert PaymentIssue.get().kind == "unknown_donation"
    assert "needs your attention" in outbox.last(leader.email).subject


# --- exactly once ---------------------------------------------------------------------------------

def test_the_same_event_twice_has_one_effect(stripe_env, started, outbox):
    company, donation, session = started()
    stripe_env.pay(session)
    payload = stripe_env.event("checkout.session.completed", session)
    first = stripe_env.deliver(payload)
    after_first = state(donation.id)
    second = stripe_env.deliver(payload)
    assert first.get_json()["outcome"] == "applied"
    assert second.status_code == 200 and second.get_json()["outcome"] == "duplicate"
    assert state(donation.id) == after_first
    assert len(receipts(outbox, company)) == 1


def test_two_events_about_the_same_payment_settle_it_once(stripe_env, started, outbox):
    """Stripe may send completed and async_payment_succeeded (or two event objects) for one payment."""
    company, donation, session = started()
    stripe_env.pay(session)
    assert stripe_env.send("checkout.session.completed", session).get_json()["outcome"] == "applied"
    assert stripe_env.send("checkout.session.async_payment_succeeded", session).get_json()["outcome"] == "no_change"
    assert AuditLog.select().where(AuditLog.action == "donation.paid").count() == 1
    assert len(receipts(outbox, company)) == 1


# --- the life of a payment ------------------------------------------------------------------------

def test_delayed_payment_is_processing_then_paid(stripe_env, started, outbox):
    company, donation, session = started()
    session.update(status="complete", payment_status="unpaid")
    assert stripe_env.send("checkout.session.completed", session).status_code == 200
    assert Donation.get_by_id(donation.id).status == "processing"
    assert not receipts(outbox, company)
    stripe_env.pay(session)
    assert stripe_env.send("checkout.session.async_payment_succeeded", session).status_code == 200
    assert Donation.get_by_id(donation.id).status == "paid"
    assert len(receipts(outbox, company)) == 1


def test_delayed_payment_that_fails(stripe_env, started, outbox):
    company, donation, session = started()
    session.update(status="complete", payment_status="unpaid")
    stripe_env.send("checkout.session.completed", session)
    assert stripe_env.send("checkout.session.async_payment_failed", session).get_json()["outcome"] == "applied"
    assert Donation.get_by_id(donation.id).status == "failed"
    assert "did not go through" in outbox.last(company.admin.email).subject
    # A late "completed" cannot move it back.
    assert stripe_env.send("checkout.session.completed", session).get_json()["outcome"] == "no_change"
    assert Donation.get_by_id(donation.id).status == "failed"


def test_an_abandoned_session_expires(stripe_env, started):
    _company, donation, session = started()
    session.update(status="expired")
    assert stripe_env.send("checkout.session.expired", session).get_json()["outcome"] == "applied"
    assert Donation.get_by_id(donation.id).status == "expired"


def test_the_object_is_read_from_stripe_not_from_the_event(stripe_env, started):
    """An event body that claims 'paid' for a session Stripe says is open changes nothing."""
    _company, donation, session = started()
    claimed = {**stripe_env.transport._public(session), "status": "complete", "payment_status": "paid"}
    assert stripe_env.send("checkout.session.completed", claimed).get_json()["outcome"] == "no_change"
    assert Donation.get_by_id(donation.id).status == "pending"


def test_fee_and_net_come_from_the_balance_transaction(stripe_env, started):
    _company, donation, session = started(amount="1000")
    intent = stripe_env.pay(session)
    charge = stripe_env.charge_of(intent)
    stripe_env.transport.fees[charge["balance_transaction"]] = 1_525   # 1.5% + EUR 0.25 of EUR 1,000
    stripe_env.send("checkout.session.completed", session)
    donation = Donation.get_by_id(donation.id)
    assert (donation.amount_cents, donation.fee_cents, donation.net_cents) == (100_000, 1_525, 98_475)
    line = [c for c in contributions.contributions(donation.company_id, None, None) if c.key == f"donation:{donation.id}"][0]
    assert (line.gross_cents, line.fee_cents, line.net_cents) == (100_000, 1_525, 98_475)


# --- mismatches are flagged, never applied ----------------------------------------------------------

def test_an_amount_that_does_not_match_is_flagged_not_applied(stripe_env, started, outbox, leader):
    company, donation, session = started(amount="250")
    stripe_env.pay(session, amount=2_500)          # someone paid EUR 25 against a EUR 250 donation
    response = stripe_env.send("checkout.session.completed", session)
    assert response.status_code == 200 and response.get_json()["outcome"] == "flagged"
    assert Donation.get_by_id(donation.id).status == "pending"
    issue = PaymentIssue.get()
    assert issue.kind == "amount_mismatch" and issue.donation_id == donation.id
    details = json.loads(issue.details)
    assert (details["expected_cents"], details["stripe_cents"]) == (25_000, 2_500)
    assert not receipts(outbox, company)
    assert "needs your attention" in outbox.last(leader.email).subject


def test_a_currency_that_does_not_match_is_flagged_not_applied(stripe_env, started):
    _company, donation, session = started(amount="250")
    stripe_env.pay(session, currency="usd")
    assert stripe_env.send("checkout.session.completed", session).get_json()["outcome"] == "flagged"
    assert Donation.get_by_id(donation.id).status == "pending"
    assert PaymentIssue.get().kind == "currency_mismatch"


def test_a_session_total_that_does_not_match_is_flagged(stripe_env, started):
    _company, donation, session = started(amount="250")
    stripe_env.pay(session)
    session["amount_total"] = 100
    assert stripe_env.send("checkout.session.completed", session).get_json()["outcome"] == "flagged"
    assert Donation.get_by_id(donation.id).status == "pending"


# --- refunds ------------------------------------------------------------------------------------------

def test_partial_then_full_refund(stripe_env, started):
    _company, donation, session = started(amount="100")
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    stripe_env.refund(intent, 3_000)
    assert stripe_env.send("charge.refunded", stripe_env.charge_of(intent)).get_json()["outcome"] == "applied"
    assert [(r.amount_cents, r.status, r.net_cents) for r in Refund.select()] == [(3_000, "succeeded", -3_000)]
    refund_id = stripe_env.refund(intent, 7_000)
    refund = stripe_env.api.v1.refunds.retrieve(refund_id).to_dict()
    assert stripe_env.send("refund.created", refund).get_json()["outcome"] == "applied"
    assert sorted(r.amount_cents for r in Refund.select().where(Refund.status == "succeeded")) == [3_000, 7_000]
    assert Donation.get_by_id(donation.id).status == "paid"          # still a paid donation, fully refunded
    lines = contributions.contributions(donation.company_id, None, None)
    assert sum(c.gross_cents for c in lines) == 0
    assert {c.reference for c in lines} == {intent}                   # corrections net under one reference
    # The same refund reported again changes nothing.
    assert stripe_env.send("charge.refunded", stripe_env.charge_of(intent)).get_json()["outcome"] == "no_change"


def test_refund_before_completion_ends_paid_and_refunded(stripe_env, started, outbox):
    company, donation, session = started(amount="80")
    intent = stripe_env.pay(session)
    stripe_env.refund(intent, 2_000)
    assert stripe_env.send("charge.refunded", stripe_env.charge_of(intent)).get_json()["outcome"] == "applied"
    donation = Donation.get_by_id(donation.id)
    assert donation.status == "paid" and Refund.get().status == "succeeded"
    assert stripe_env.send("checkout.session.completed", session).get_json()["outcome"] == "no_change"
    assert Donation.get_by_id(donation.id).status == "paid"
    assert len(receipts(outbox, company)) == 1
    assert sum(c.gross_cents for c in contributions.contributions(company.id, None, None)) == 6_000


def test_refunds_beyond_what_was_paid_are_flagged(stripe_env, started):
    """localstripe (unlike Stripe) accepts refunds beyond the charge: the portal never records them."""
    _company, donation, session = started(amount="50")
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    stripe_env.refund(intent, 4_000)
    stripe_env.refund(intent, 4_000)
    assert stripe_env.send("charge.refunded", stripe_env.charge_of(intent)).get_json()["outcome"] == "flagged"
    assert Refund.select().where(Refund.status == "succeeded").count() == 1
    assert PaymentIssue.get().kind == "refund_exceeds_payment"
    assert sum(c.gross_cents for c in contributions.contributions(donation.company_id, None, None)) == 1_000


def test_a_refund_only_moves_forward(app, stripe_env, started):
    """A late 'pending' report of a refund that already succeeded leaves it succeeded; a later failure counts."""
    from dataclasses import replace

    from portal.core.db import atomic_write
    from portal.giving import payments

    _company, donation, session = started(amount="50")
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    refund_id = stripe_env.refund(intent, 1_000)
    stripe_env.send("refund.created", stripe_env.api.v1.refunds.retrieve(refund_id).to_dict())
    event = payments.EventFacts("evt_late", "refund.updated", False, None, "refund", refund_id, {})
    observed = stripe_events.observe(event)
    for status, expected in (("pending", "succeeded"), ("failed", "failed"), ("succeeded", "failed")):
        with atomic_write():
            stripe_events._apply(event, replace(observed, refunds=[replace(observed.refunds[0], status=status)]))
        assert Refund.get().status == expected
    assert sum(c.gross_cents for c in contributions.contributions(donation.company_id, None, None)) == 5_000


# --- disputes -------------------------------------------------------------------------------------------

def dispute(donation_intent: str, charge: str, status: str, movements: list[tuple[int, int]]) -> dict:
    return {"id": "dp_test_1", "object": "dispute", "amount": -min(a for a, _f in movements) if movements else 5_000,
            "currency": "eur", "status": status, "reason": "fraudulent", "charge": charge,
            "payment_intent": donation_intent,
            "balance_transactions": [{"id": f"txn_dp_{i}", "object": "balance_transaction", "amount": amount,
                                      "fee": fee, "net": amount - fee, "currency": "eur",
                                      "created": 1_790_000_000 + i * 86_400}
                                     for i, (amount, fee) in enumerate(movements)]}


def test_dispute_created_then_won(stripe_env, started):
    _company, donation, session = started(amount="50")
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    charge = stripe_env.charge_of(intent)["id"]
    stripe_env.transport.disputes["dp_test_1"] = dispute(intent, charge, "needs_response", [(-5_000, 2_000)])
    assert stripe_env.send("charge.dispute.created", stripe_env.transport.disputes["dp_test_1"]).status_code == 200
    row = Dispute.get()
    assert (row.status, row.withdrawn_cents, row.withdrawn_fee_cents) == ("needs_response", 5_000, 2_000)
    lines = contributions.contributions(donation.company_id, None, None)
    assert sum(c.gross_cents for c in lines) == 0 and sum(c.net_cents for c in lines) == -2_000
    stripe_env.transport.disputes["dp_test_1"] = dispute(intent, charge, "won", [(-5_000, 2_000), (5_000, -2_000)])
    assert stripe_env.send("charge.dispute.closed", stripe_env.transport.disputes["dp_test_1"]).status_code == 200
    row = Dispute.get()
    assert (row.status, row.reinstated_cents, row.reinstated_fee_cents) == ("won", 5_000, -2_000)
    lines = contributions.contributions(donation.company_id, None, None)
    assert sum(c.gross_cents for c in lines) == 5_000 and sum(c.net_cents for c in lines) == 5_000
    # An older 'needs_response' delivered late does not reopen it.
    stripe_env.transport.disputes["dp_test_1"]["status"] = "needs_response"
    stripe_env.send("charge.dispute.updated", stripe_env.transport.disputes["dp_test_1"])
    assert Dispute.get().status == "won"


def test_dispute_lost_keeps_the_money_withdrawn(stripe_env, started):
    _company, donation, session = started(amount="50")
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    charge = stripe_env.charge_of(intent)["id"]
    stripe_env.transport.disputes["dp_test_1"] = dispute(intent, charge, "lost", [(-5_000, 2_000)])
    stripe_env.send("charge.dispute.closed", stripe_env.transport.disputes["dp_test_1"])
    assert Dispute.get().status == "lost"
    assert sum(c.gross_cents for c in contributions.contributions(donation.company_id, None, None)) == 0


# --- Stripe unreachable ---------------------------------------------------------------------------------

def test_when_stripe_cannot_be_read_the_event_is_kept_as_failed_and_a_retry_works(app, stripe_env, started):
    """The event is stored and acknowledged at once (issue 19); its work fails while Stripe's API is
    down, stays on the tasks page, and the retry from there settles the payment."""
    from portal.core import tasks

    _company, donation, session = started()
    stripe_env.pay(session)
    payload = stripe_env.event("checkout.session.completed", session)
    stripe_env.transport.fail_paths.add("/v1/checkout/sessions/")
    response = stripe_env.deliver(payload)
    assert response.status_code == 200 and response.get_json()["outcome"] == "failed"
    assert StripeEvent.get().outcome == "failed" and Donation.get_by_id(donation.id).status == "pending"
    [failure] = [f for f in tasks.failures(app) if f["name"].endswith("process_event")]
    assert "test outage" in failure["error"]
    stripe_env.transport.fail_paths.clear()
    assert tasks.retry(failure["id"], app)
    assert Donation.get_by_id(donation.id).status == "paid"
    assert StripeEvent.get().outcome == "applied"


def test_the_secret_is_checked_on_the_raw_body(stripe_env, started):
    """Re-serialised JSON (what a framework parsing the body would give) does not verify."""
    _company, _donation, session = started()
    payload = stripe_env.event("checkout.session.completed", session)
    reserialised = json.dumps(json.loads(payload), indent=1).encode()
    assert stripe_env.deliver(reserialised, signature=stripe_env.sign(payload)).status_code == 400
    assert WEBHOOK_SECRET not in stripe_env.deliver(payload).get_data(as_text=True)
