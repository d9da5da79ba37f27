"""Deliveries at the same moment: threads released by a barrier, each with its own database
connection (peewee connects per thread), on the test database file (or PostgreSQL when
PORTAL_TEST_DATABASE_URL is set). The barrier sits after the Stripe reads, so every thread
reaches the transaction together: the UNIQUE event id and the conditional updates decide."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from portal.core import clock
from portal.core.audit import AuditLog
from portal.core.db import database
from portal.giving import contributions, receipts, service, stripe_events
from portal.giving.models import Donation, Refund, StripeEvent

from .conftest import donate_form

THREADS = 6


@pytest.fixture
def paid_session(stripe_env, company_client):
    company, client = company_client("Racer")
    assert client.post("/giving/donate", data=donate_form(amount="100")).status_code == 303
    donation = Donation.get()
    session = stripe_env.transport.session_for(donation.id)
    intent = stripe_env.pay(session)
    return company, donation, session, intent


def run_together(app, monkeypatch, jobs):
    """Run each job in its own thread; all of them enter the database work at the same moment."""
    barrier = threading.Barrier(len(jobs))
    original = stripe_events.observe

    def observe_then_wait(event):
        observed = original(event)
        barrier.wait(20)
        return observed

    monkeypatch.setattr(stripe_events, "observe", observe_then_wait)
    monkeypatch.setattr(stripe_events, "already_handled", lambda event_id: False)  # no thread may skip ahead
    results: list = [None] * len(jobs)
    errors: list = []

    def work(index, job):
        try:
            with app.app_context():
                results[index] = job()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            if not database.is_closed():
                database.close()

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_the_same_event_from_many_threads_has_one_effect(app, stripe_env, paid_session, monkeypatch, outbox):
    company, donation, session, _intent = paid_session
    payload = stripe_env.event("checkout.session.completed", session)
    signature = stripe_env.sign(payload)

    def deliver():
        response = app.test_client().post("/webhooks/stripe", data=payload, content_type="application/json",
                                          headers={"Stripe-Signature": signature})
        return response.status_code, response.get_json()["outcome"]

    results = run_together(app, monkeypatch, [deliver] * THREADS)
    receipts.wait_for_followups(app)
    assert sorted(results) == [(200, "applied")] + [(200, "duplicate")] * (THREADS - 1)
    assert Donation.get_by_id(donation.id).status == "paid"
    assert StripeEvent.select().count() == 1
    assert AuditLog.select().where(AuditLog.action == "donation.paid").count() == 1
    assert len([m for m in outbox.to(company.admin.email) if m.subject.startswith("Receipt")]) == 1


def test_different_events_for_one_payment_at_once(app, stripe_env, paid_session, monkeypatch, outbox):
    """completed, async_payment_succeeded and a refund, all at the same moment: paid once, refund once."""
    company, donation, session, intent = paid_session
    stripe_env.refund(intent, 4_000)
    payloads = [stripe_env.event("checkout.session.completed", session),
                stripe_env.event("checkout.session.async_payment_succeeded", session),
                stripe_env.event("charge.refunded", stripe_env.charge_of(intent)),
                stripe_env.event("charge.refunded", stripe_env.charge_of(intent))]

    def job(payload):
        def deliver():
            response = app.test_client().post("/webhooks/stripe", data=payload, content_type="application/json",
                                              headers={"Stripe-Signature": stripe_env.sign(payload)})
            return response.status_code
        return deliver

    assert run_together(app, monkeypatch, [job(p) for p in payloads]) == [200] * 4
    receipts.wait_for_followups(app)
    assert Donation.get_by_id(donation.id).status == "paid"
    assert [(r.amount_cents, r.status) for r in Refund.select()] == [(4_000, "succeeded")]
    assert StripeEvent.select().count() == 4
    assert AuditLog.select().where(AuditLog.action == "donation.paid").count() == 1
    assert AuditLog.select().where(AuditLog.action == "donation.refund_succeeded").count() == 1
    assert len([m for m in outbox.to(company.admin.email) if m.subject.startswith("Receipt")]) == 1
    assert sum(c.gross_cents for c in contributions.contributions(company.id, None, None)) == 6_000


def test_two_bank_lines_paying_one_request_at_once(app, stripe_env, company_client, leader, monkeypatch):
    _company, client = company_client("Bank")
    client.post("/giving/donate", data=donate_form(amount="250", method="bank"))
    donation = Donation.get()
    barrier = threading.Barrier(THREADS)
    results = []

    def pay(line):
        with app.app_context(), app.test_request_context():
            barrier.wait(20)
            results.append(service.mark_paid_by_bank(donation.reference, 25_000, dt.date(2026, 11, 2), leader, line))
        if not database.is_closed():
            database.close()

    threads = [threading.Thread(target=pay, args=(f"line {n}",)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    receipts.wait_for_followups(app)
    assert sorted(r.status for r in results) == ["duplicate_payment"] * (THREADS - 1) + ["paid"]
    assert Donation.get_by_id(donation.id).status == "paid"
    assert AuditLog.select().where(AuditLog.action == "donation.paid").count() == 1


def test_receipts_are_sent_once_when_every_worker_sweeps(app, stripe_env, paid_session, caplog):
    company, donation, session, _intent = paid_session
    with database.atomic():
        Donation.update(status="paid", paid_on=clock.today(), paid_at=dt.datetime(2026, 11, 2)).where(
            Donation.id == donation.id).execute()
    barrier = threading.Barrier(THREADS)
    sent = []

    def sweep():
        with app.app_context(), app.test_request_context():
            barrier.wait(20)
            sent.append(receipts.send_due_receipts())
        if not database.is_closed():
            database.close()

    threads = [threading.Thread(target=sweep) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    failures = [r.getMessage() + "\n" + (r.exc_text or "") for r in caplog.records if r.levelname == "ERROR"]
    assert sorted(sent) == [0] * (THREADS - 1) + [1], failures
    assert Donation.get_by_id(donation.id).receipt_sent_at is not None
