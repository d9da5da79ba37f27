"""Giving: Stripe webhook events handled per second, on SQLite and on PostgreSQL.

Every delivery goes through the real path in this process (Flask test client -> signature check
on the raw body -> the event stored once under its UNIQUE id, its work queued, the answer). The
work is measured apart, as the queue worker does it (huey's own SQLite file, one worker in this
process): re-read of the session and payment from "Stripe", then one transaction with the event's
claim, the conditional update and the audit row. Stripe's API is an in-memory transport here, so
the figures are the portal's own cost, not the network's. Receipts are measured apart too
(render, store, mail to the file outbox). A bare POST endpoint in the same app is the baseline,
so the ratios compare across machines.

PostgreSQL runs when PORTAL_BENCH_DATABASE_URL names a server: the bench creates a scratch
database next to the one named (CREATE DATABASE, dropped afterwards) and never touches the named
database itself. Environment: BENCH_GIVING_EVENTS (default 300) events per kind.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from urllib.parse import parse_qsl, urlsplit

EVENTS = int(os.environ.get("BENCH_GIVING_EVENTS", "300"))
SQLITE = "SQLite (file, WAL)"
# Issue 19: a signed event verified, stored, queued and answered, a thousand a second on SQLite.
GOALS = {(SQLITE, "settle"): 1000}
WARM_UP = 400  # events through the webhook before anything is measured (see _measure)
BATCH = 25  # requests per batch: the bare endpoint's and the measured kind's batches alternate
WEBHOOK_SECRET = "whsec_bench"  # noqa: S105 - a made-up secret for signing the bench's own events


def _transport():
    import stripe

    class InMemoryStripe(stripe.HTTPClient):
        """Answers the four calls the webhook path makes, from dicts."""

        name = "bench"

        def __init__(self) -> None:
            super().__init__()
            self.sessions: dict[str, dict] = {}
            self.intents: dict[str, dict] = {}

        def request(self, method, url, headers, post_data=None):
            path = urlsplit(url).path.strip("/").split("/")
            if method.upper() == "POST" and path[1:] == ["checkout", "sessions"]:
                params = dict(parse_qsl(post_data or ""))
                session_id = "cs_bench_" + secrets.token_hex(8)
                self.sessions[session_id] = {
                    "id": session_id, "object": "checkout.session", "status": "open", "payment_status": "unpaid",
                    "amount_total": int(params["line_items[0][price_data][unit_amount]"]), "currency": "eur",
                    "client_reference_id": params["client_reference_id"],
                    "metadata": {"donation_id": params["metadata[donation_id]"]}, "payment_intent": None,
                    "url": f"https://checkout.stripe.com/c/pay/{session_id}", "livemode": False}
                return json.dumps(self.sessions[session_id]).encode(), 200, {}
            if path[1:3] == ["checkout", "sessions"]:
                return json.dumps(self.sessions[path[3]]).encode(), 200, {}
            if path[1] == "payment_intents":
                return json.dumps(self.intents[path[2]]).encode(), 200, {}
            return b'{"error": {"type": "invalid_request_error", "message": "not in the bench"}}', 404, {}

        def close(self):
            pass

    return InMemoryStripe()


def _pay(transport, session: dict) -> None:
    """The donor pays: a succeeded PaymentIntent with its charge and a balance transaction with a fee."""
    amount = session["amount_total"]
    intent_id = "pi_bench_" + secrets.token_hex(8)
    fee = (amount * 15 + 500) // 1000 + 25
    transport.intents[intent_id] = {
        "id": intent_id, "object": "payment_intent", "status": "succeeded", "amount": amount, "currency": "eur",
        "metadata": {"donation_id": session["client_reference_id"]}, "livemode": False,
        "latest_charge": {"id": "ch_" + intent_id[3:], "object": "charge", "status": "succeeded",
                          "created": int(time.time()), "payment_method_details": {"type": "card"},
                          "balance_transaction": {"id": "txn_" + intent_id[3:], "object": "balance_transaction",
                                                  "amount": amount, "fee": fee, "net": amount - fee,
                                                  "currency": "eur", "created": int(time.time())}}}
    session.update(status="complete", payment_status="paid", payment_intent=intent_id)


def _event(type_: str, obj: dict) -> bytes:
    return json.dumps({"id": "evt_" + secrets.token_hex(12), "object": "event", "type": type_,
                       "created": int(time.time()), "livemode": False, "data": {"object": obj}}).encode()


def _measure(app, transport, events: int) -> dict[str, float]:
    import stripe
    from flask import url_for

    from portal.accounts.models import Company, User
    from portal.core import tasks
    from portal.giving import receipts, service
    from portal.giving.models import Donation

    company = Company.create(legal_name="Bench B.V.", kvk=secrets.token_hex(4)[:8].replace("a", "1"), street="",
                             postcode="", city="Utrecht", billing_email="bench@example.nl", language="en")
    user = User.create(company=company, email=f"bench-{secrets.token_hex(4)}@example.nl", role="admin", language="en")
    sessions = []
    for n in range(events):
        donation, _new = service.create_donation(service.DonationInput(10_000 + n, "gift", "stripe",
                                                                       secrets.token_urlsafe(24)), user=user)
        service.start_checkout(donation, success_url=url_for("giving.donation_status", donation_id=donation.id),
                               cancel_url=url_for("giving.cancel", donation_id=donation.id), product_name="Bench")
        session = transport.sessions[Donation.get_by_id(donation.id).stripe_checkout_session_id]
        _pay(transport, session)
        sessions.append(session)
    client = app.test_client()

    def post(path: str, payload: bytes) -> int:
        signature = stripe.WebhookSignature.generate_signature_header(payload.decode(), WEBHOOK_SECRET)
        return client.post(path, data=payload, content_type="application/json",
                           headers={"Stripe-Signature": signature}).status_code

    bare: dict[str, float] = {}   # the bare endpoint's requests per second beside each measured kind

    def rate(path: str, payloads: list[bytes], name: str) -> float:
        """Requests per second; the bare endpoint answers a batch of its own before every batch, so
        both meet the machine in the same state (a shared machine's speed drifts within seconds)."""
        seconds = bare_seconds = 0.0
        for first in range(0, len(payloads), BATCH):
            batch = payloads[first:first + BATCH]
            start = time.perf_counter()
            for _ in batch:
                assert post("/bench/constant", ping) == 200
            middle = time.perf_counter()
            for payload in batch:
                assert post(path, payload) == 200
            seconds += time.perf_counter() - middle
            bare_seconds += middle - start
        bare[name] = len(payloads) / bare_seconds
        return len(payloads) / seconds

    def work_off() -> float:
        """What the queue worker does with the stored events; returns events applied per second."""
        queue = tasks.queue(app)
        start = time.perf_counter()
        while (task := queue.huey.dequeue()) is not None:
            queue.huey.execute(task)
        return events / (time.perf_counter() - start)

    ping = _event("bench.ping", {"id": "x"})
    # A running portal's SQLite WAL is written over in place after its checkpoints; a fresh file's first
    # writes grow it (~4 MB, ~200 events), each fsync then writing the file's size too. Measure after that.
    rate("/webhooks/stripe", [_event("customer.created", {"id": "cus_warm", "object": "customer"})
                              for _ in range(WARM_UP)], "warm-up")
    work_off()   # the warm-up's tasks, so that the worker's rows below time only their own
    settling = [_event("checkout.session.completed", s) for s in sessions]
    settle_rate = rate("/webhooks/stripe", settling, "settle")
    duplicate_rate = rate("/webhooks/stripe", settling, "duplicate")         # the same deliveries again, still queued
    settle_work = work_off()
    paid = Donation.select().where((Donation.company == company.id) & (Donation.status == "paid")).count()
    assert paid == events, (paid, events)
    unknown_rate = rate("/webhooks/stripe", [_event("customer.created", {"id": "cus_x", "object": "customer"})
                                             for _ in range(events)], "unknown")
    unknown_work = work_off()
    start = time.perf_counter()
    sent = receipts.send_due_receipts(limit=min(events, 50))
    receipt_rate = sent / (time.perf_counter() - start)
    return {"baseline": bare["settle"], "bare": bare, "settle": settle_rate, "duplicate": duplicate_rate, "unknown": unknown_rate,
            "settle_work": settle_work, "unknown_work": unknown_work, "receipts": receipt_rate}


def _run(url: str, folder: str) -> dict[str, float]:
    from playhouse.migrations import Runner

    from portal import create_app
    from portal.cli import MIGRATIONS_DIR
    from portal.core.db import database
    from portal.giving import payments, service

    app = create_app({"DATABASE_URL": url, "ENV": "testing", "TESTING": False, "OUTBOX_DIR": f"{folder}/outbox",
                      "PASSWORD_HASH_MEMORY_KIB": 1024, "STRIPE_SECRET_KEY": "sk_test_bench",
                      "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "BASE_URL": "http://bench.test"})

    @app.post("/bench/constant")
    def constant():
        return {"received": True}

    from portal.core.security import csrf

    csrf.exempt(constant)
    transport = _transport()
    app.extensions[payments.TRANSPORT_KEY] = transport
    original = service.schedule_receipts
    service.schedule_receipts = lambda: None   # receipts are timed on their own below
    try:
        with app.app_context(), app.test_request_context(base_url="http://bench.test"):
            database.connect(reuse_if_open=True)
            Runner(database.obj, MIGRATIONS_DIR).up()
            return _measure(app, transport, EVENTS)
    finally:
        service.schedule_receipts = original
        if not database.is_closed():
            database.close()


def _scratch_postgres(url: str):
    """Create a scratch database on the server `url` names; returns (scratch url, drop function)."""
    import psycopg

    parts = urlsplit(url)
    name = f"bench_giving_{secrets.token_hex(4)}"
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return parts._replace(path=f"/{name}").geturl(), drop


def _rows(name: str, figures: dict[str, float]) -> list[list[str]]:
    def ratio(key: str) -> float:   # to the bare endpoint measured beside it (the workers: the first one's)
        return figures[key] / figures["bare"].get(key, figures["baseline"])

    def goal(key: str) -> list[str]:
        wanted = GOALS.get((name, key))
        if wanted is None:
            return ["", ""]
        return [f">= {wanted:,}/s", "met" if figures[key] >= wanted else "BELOW"]

    return [[name, label, f"{figures[key]:.0f}", f"{ratio(key):.2f}", *goal(key)] for key, label in (
        ("baseline", "bare POST endpoint (baseline)"),
        ("settle", "checkout.session.completed: verified, stored, queued, answered"),
        ("duplicate", "the same deliveries again (duplicates, answered)"),
        ("unknown", "unknown event type: verified, stored, queued, answered"),
        ("settle_work", "queue worker: checkout.session.completed applied (settles a payment)"),
        ("unknown_work", "queue worker: unknown event type recorded"),
        ("receipts", "receipts rendered, stored and mailed (after the answer)"))]


def run(report) -> None:
    rows: list[list[str]] = []
    notes = [f"{EVENTS} events per kind after {WARM_UP} to warm up, one after another through the Flask test "
             f"client in one process, in batches of {BATCH} with a batch of the bare endpoint before each; "
             "the worker's rows count events (a duplicate delivery of an event still waiting queues a second, "
             "cheap run: it finds the event applied). Stripe's API answered from memory. "
             "Ratio = events per second / the bare endpoint's requests per second in the batches between."]
    with tempfile.TemporaryDirectory(prefix="bench-giving-") as folder:
        os.environ.setdefault("PORTAL_INSTANCE_DIR", folder)
        rows += _rows(SQLITE, _run(f"sqlite:///{folder}/bench.db", folder))
        url = os.environ.get("PORTAL_BENCH_DATABASE_URL", "")
        if url.startswith(("postgres://", "postgresql://")):
            try:
                scratch, drop = _scratch_postgres(url)
            except Exception as exc:  # noqa: BLE001 - reported in the note
                notes.append(f"PostgreSQL skipped: could not create a scratch database ({type(exc).__name__}).")
            else:
                try:
                    rows += _rows("PostgreSQL", _run(scratch, folder))
                except Exception as exc:  # noqa: BLE001 - reported in the note
                    notes.append(f"PostgreSQL failed: {type(exc).__name__}: {str(exc)[:160]}")
                finally:
                    drop()
        else:
            notes.append("PostgreSQL skipped: set PORTAL_BENCH_DATABASE_URL=postgresql://user@host/db to include it "
                         "(a scratch database is created beside it and dropped afterwards).")
    report.table("Giving: Stripe webhook events handled per second",
                 ["database", "work", "per second", "ratio to baseline", "goal", "verdict"], rows, " ".join(notes))


if __name__ == "__main__":  # pragma: no cover - `make bench` imports run()
    class _Print:
        def table(self, title, columns, rows, note=""):
            print(title)
            print(" | ".join(columns))
            for row in rows:
                print(" | ".join(row))
            print(note)

    run(_Print())
