"""A worker killed in the middle of a webhook: Stripe's retry applies the event once.

The worker is a separate process with its own database connection (tests/killed_worker.py). It
stores the event (committed on arrival) and applies its effect, then is SIGKILLed before that
transaction commits. Stripe saw no 2xx, so it delivers the same event again; that delivery must
apply it, exactly once.
"""

from __future__ import annotations

import pytest

from portal.giving import contributions
from portal.giving.models import Donation, Refund, StripeEvent


@pytest.mark.slow
def test_a_webhook_killed_midway_is_applied_once_when_stripe_retries(stripe_env, started, kill_worker_midway):
    _company, donation, session = started(amount="100")
    intent = stripe_env.pay(session)
    assert stripe_env.send("checkout.session.completed", session).get_json()["outcome"] == "applied"
    stripe_env.refund(intent, 4_000)
    payload = stripe_env.event("charge.refunded", stripe_env.charge_of(intent))
    events_before = StripeEvent.select().count()

    kill_worker_midway("webhook", payload=payload.decode(), signature=stripe_env.sign(payload))

    # The event was stored on arrival (issue 19), but nothing of its killed work remains: no refund.
    assert StripeEvent.select().count() == events_before + 1
    assert StripeEvent.get(StripeEvent.type == "charge.refunded").outcome == "queued"
    assert Refund.select().count() == 0
    # Stripe got no answer and retries the same event: received before, its waiting work runs again.
    retry = stripe_env.deliver(payload)
    assert retry.status_code == 200 and retry.get_json()["outcome"] == "duplicate"
    assert StripeEvent.get(StripeEvent.type == "charge.refunded").outcome == "applied"
    assert [(r.amount_cents, r.status) for r in Refund.select()] == [(4_000, "succeeded")]
    assert stripe_env.deliver(payload).get_json()["outcome"] == "duplicate"
    assert StripeEvent.select().count() == events_before + 1
    assert Donation.get_by_id(donation.id).status == "paid"
    assert sum(c.gross_cents for c in contributions.contributions(donation.company_id, None, None)) == 6_000
