"""Stripe's webhook answers fast (issue 19): the verified event is stored once and acknowledged; its
work (re-reading Stripe, settling, refunds, the receipt) runs on the task queue, in any order, once;
a failing event is retried and stays visible; a lost task is found again."""

from __future__ import annotations

import datetime as dt

from portal.core import tasks
from portal.core.audit import AuditLog
from portal.core.db import utcnow
from portal.giving import webhooks
from portal.giving.models import Donation, Refund, StripeEvent
from tests.conftest import work_off


def run_retries(queue) -> int:
    """Run the retries huey scheduled (as the worker does once their delay has passed)."""
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=1)
    due = queue.huey.read_schedule(later)
    for task in due:
        queue.huey.execute(task, timestamp=later)
    return len(due)


def receipts(outbox, company) -> list:
    return [m for m in outbox.to(company.admin.email) if m.subject.startswith("Receipt")]


def test_the_event_is_stored_and_acknowledged_before_any_work(stripe_env, started, real_queue, outbox):
    company, donation, session = started(amount="250")
    stripe_env.pay(session)
    calls_before = len(stripe_env.transport.calls)

    response = stripe_env.send("checkout.session.completed", session)

    assert response.status_code == 200 and response.get_json() == {"received": True, "outcome": "queued"}
    assert StripeEvent.get().outcome == "queued"
    # Acknowledged without asking Stripe anything and without touching the donation.
    assert len(stripe_env.transport.calls) == calls_before
    assert Donation.get_by_id(donation.id).status == "pending" and not receipts(outbox, company)

    assert work_off(real_queue) == 2   # the event, then the receipt it made due
    paid = Donation.get_by_id(donation.id)
    assert paid.status == "paid" and paid.amount_cents == 25_000
    assert StripeEvent.get().outcome == "applied" and StripeEvent.get().donation_id == donation.id
    assert len(receipts(outbox, company)) == 1


def test_a_second_delivery_is_a_duplicate_and_the_work_is_done_once(stripe_env, started, real_queue, outbox):
    company, donation, session = started(amount="100")
    stripe_env.pay(session)
    payload = stripe_env.event("checkout.session.completed", session)
    assert stripe_env.deliver(payload).get_json()["outcome"] == "queued"
    assert stripe_env.deliver(payload).get_json()["outcome"] == "duplicate"
    assert StripeEvent.select().count() == 1

    work_off(real_queue)   # both deliveries' work ran: only one could claim the event
    assert Donation.get_by_id(donation.id).status == "paid"
    assert AuditLog.select().where(AuditLog.action == "donation.paid").count() == 1
    assert len(receipts(outbox, company)) == 1
    assert stripe_env.deliver(payload).get_json()["outcome"] == "duplicate"
    assert work_off(real_queue) == 0   # applied: a later delivery queues nothing


def test_events_worked_off_in_any_order_settle_once(stripe_env, started, real_queue, outbox):
    """A refund's event may be worked off before the payment's: each re-reads Stripe, nothing is lost."""
    company, donation, session = started(amount="100")
    intent = stripe_env.pay(session)
    stripe_env.refund(intent, 2_500)
    stripe_env.send("checkout.session.completed", session)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    stripe_env.send("checkout.session.async_payment_succeeded", session)
    queued = [real_queue.huey.dequeue() for _ in range(3)]
    for task in reversed(queued):          # newest first
        real_queue.huey.execute(task)
    work_off(real_queue)
    assert Donation.get_by_id(donation.id).status == "paid"
    assert [(r.amount_cents, r.status) for r in Refund.select()] == [(2_500, "succeeded")]
    outcomes = {e.type: e.outcome for e in StripeEvent.select()}
    assert outcomes == {"checkout.session.async_payment_succeeded": "applied", "charge.refunded": "applied",
                        "checkout.session.completed": "no_change"}
    assert AuditLog.select().where(AuditLog.action == "donation.paid").count() == 1
    assert len(receipts(outbox, company)) == 1


def test_a_failing_event_is_retried_and_settles_when_stripe_is_back(stripe_env, started, real_queue):
    _company, donation, session = started(amount="60")
    stripe_env.pay(session)
    stripe_env.transport.fail_paths.add("/v1/checkout/sessions/")
    assert stripe_env.send("checkout.session.completed", session).status_code == 200
    work_off(real_queue)
    # Failed once: scheduled again, still waiting, nothing applied.
    assert StripeEvent.get().outcome == "queued" and Donation.get_by_id(donation.id).status == "pending"
    assert tasks.queued_count() == 1 and not tasks.failures()
    stripe_env.transport.fail_paths.clear()
    assert run_retries(real_queue) == 1
    work_off(real_queue)
    assert Donation.get_by_id(donation.id).status == "paid" and StripeEvent.get().outcome == "applied"


def test_an_event_that_fails_every_retry_stays_on_the_leaders_tasks_page(app, stripe_env, started, leader_client):
    """The tests' queue runs a task once, without retries: so its one failure is its last."""
    _company, donation, session = started(amount="60")
    stripe_env.pay(session)
    stripe_env.transport.fail_paths.add("/v1/checkout/sessions/")
    assert stripe_env.send("checkout.session.completed", session).get_json()["outcome"] == "failed"
    assert StripeEvent.get().outcome == "failed"
    page = leader_client.get("/leader/tasks").get_data(as_text=True)
    assert "process_event" in page or "Stripe" in page
    assert "test outage" in page
    stripe_env.transport.fail_paths.clear()
    [failure] = tasks.failures()
    assert leader_client.post(f"/leader/tasks/{failure['id']}/retry").status_code == 302
    assert Donation.get_by_id(donation.id).status == "paid" and StripeEvent.get().outcome == "applied"


def test_an_event_whose_task_was_lost_is_queued_again_by_the_sweep(stripe_env, started, real_queue, outbox):
    company, donation, session = started(amount="80")
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    work_off(real_queue)
    stripe_env.refund(intent, 3_000)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    real_queue.huey.flush()        # the worker was killed holding the task: it is gone
    assert StripeEvent.get(StripeEvent.type == "charge.refunded").outcome == "queued"

    assert webhooks.requeue_stuck() == 0          # young: its task may still be retrying
    later = utcnow() + dt.timedelta(minutes=webhooks.STUCK_MINUTES + 1)
    assert webhooks.requeue_stuck(later) == 1
    work_off(real_queue)
    assert [(r.amount_cents, r.status) for r in Refund.select()] == [(3_000, "succeeded")]
    assert StripeEvent.get(StripeEvent.type == "charge.refunded").outcome == "applied"
    assert webhooks.requeue_stuck(later) == 0
    assert Donation.get_by_id(donation.id).status == "paid" and len(receipts(outbox, company)) == 1
