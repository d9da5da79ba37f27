"""Stripe's webhook, answered fast (issue 19): a verified event is stored and acknowledged, and its
work (stripe_events.handle_event: re-read from Stripe, settle, refund, receipt) runs on the task queue.

- Stored once: the event row goes in under its UNIQUE id with outcome `queued`, in one short
  transaction, and the work is queued when that commits. A second delivery of the same event
  finds the row and is acknowledged as a duplicate (if the first one's work has not been applied
  yet, the work is queued again: only one run can claim the row, see stripe_events.handle_event).
- Any order: the work re-reads what Stripe says now, as before, so an event that arrives late or
  twice changes nothing that a later one settled.
- Failures stay visible and are retried: the task is retried with back-off; after its last retry
  the row's outcome is `failed` and the task stays on the project leader's tasks page, which
  queues it again. A worker killed mid-task leaves the row `queued`; a periodic sweep queues
  such rows again once they are older than every retry could take.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from portal.core import tasks
from portal.core.db import atomic_write, utcnow
from portal.core.prepared import Prepared
from portal.giving import payments, service, stripe_events
from portal.giving.models import StripeEvent

log = logging.getLogger("portal.giving")

RETRIES = 6
RETRY_DELAY_SECONDS = 30   # 30 s, 1, 2, 4, 8 and 16 minutes: about half an hour in all
STUCK_MINUTES = 60         # longer than every retry takes: a row still queued then lost its task
SWEEP_LIMIT = 500


_FACT_FIELDS = tuple(field.name for field in dataclasses.fields(payments.EventFacts))


def _facts(event: payments.EventFacts) -> dict:
    """The event as its task's argument: a shallow dict (dataclasses.asdict would deep-copy the
    payload, which the queue serializes anyway and the task only reads)."""
    return {name: getattr(event, name) for name in _FACT_FIELDS}


# The event's row, its SQL written once (core.prepared): in a profile of the webhook, peewee writing
# the INSERT afresh was about a tenth of each answer.
_STORE = Prepared(lambda event_id, type, object_id, created, received: StripeEvent.insert(
    event_id=event_id, type=type, object_id=object_id, outcome="queued", stripe_created_at=created,
    received_at=received).on_conflict_ignore())


def accept(event: payments.EventFacts) -> str:
    """Store a verified event once and queue its work; returns `duplicate` for an event already
    received, else the stored outcome (`queued`, or already the result where tasks run at once)."""
    facts = _facts(event)
    with atomic_write():
        stored = _STORE.rowcount(event_id=event.id, type=event.type[:100], object_id=event.object_id[:255],
                                 created=event.created_at, received=utcnow())
        if stored:
            tasks.enqueue(process_event, facts)
    if not stored:
        waiting = StripeEvent.select().where((StripeEvent.event_id == event.id)
                                             & StripeEvent.outcome.in_(stripe_events.WAITING_OUTCOMES)).exists()
        if waiting:
            tasks.enqueue(process_event, facts)
        return "duplicate"
    if not tasks.queue().immediate:
        return "queued"
    return StripeEvent.select(StripeEvent.outcome).where(StripeEvent.event_id == event.id).scalar() or "queued"


@tasks.task(retries=RETRIES, retry_delay=RETRY_DELAY_SECONDS, backoff=2.0, context=True)
def process_event(facts: dict, task=None) -> str:
    """The work of one stored Stripe event (stripe_events.handle_event), then its receipts."""
    event = payments.EventFacts(**facts)
    try:
        outcome = stripe_events.handle_event(event)
    except Exception as error:
        if task is None or not task.retries:
            _mark_failed(event.id, error)
        raise
    if outcome.receipts_due:
        service.schedule_receipts()
    return outcome.outcome


def _mark_failed(event_id: str, error: Exception) -> None:
    log.error("stripe event %s failed after its retries: %s", event_id, error)
    try:
        with atomic_write():
            StripeEvent.update(outcome="failed").where(
                (StripeEvent.event_id == event_id) & (StripeEvent.outcome == "queued")).execute()
    except Exception:
        log.exception("stripe event %s could not be marked failed", event_id)


def _object_type(event_type: str, object_id: str) -> str:
    """The type of an event's object, from its type (a swept row keeps no payload)."""
    if event_type.startswith("checkout.session."):
        return "checkout.session"
    if event_type.startswith("charge.dispute."):
        return "dispute"
    if event_type == "charge.refunded" or object_id.startswith("ch_"):
        return "charge"
    if event_type.startswith(("charge.refund.", "refund.")):
        return "refund"
    return ""


def requeue_stuck(now: dt.datetime | None = None) -> int:
    """Queue again the events still `queued` long after they arrived (their task was lost)."""
    before = (now or utcnow()) - dt.timedelta(minutes=STUCK_MINUTES)
    rows = list(StripeEvent.select().where((StripeEvent.outcome == "queued") & (StripeEvent.received_at < before))
                .order_by(StripeEvent.id).limit(SWEEP_LIMIT))
    for row in rows:
        tasks.enqueue(process_event, {
            "id": row.event_id, "type": row.type, "livemode": payments.live_mode(),
            "created_at": row.stripe_created_at, "object_type": _object_type(row.type, row.object_id),
            "object_id": row.object_id, "data": {}})
    return len(rows)


@tasks.periodic(tasks.crontab(minute="*/15"))
def requeue_stuck_regularly() -> int:
    """Find the stored events whose work a killed worker lost."""
    return requeue_stuck()

