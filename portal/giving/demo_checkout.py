"""The demo payment gateway: a stand-in for Stripe Checkout on a developer's machine (issue 21).

`make run` has no Stripe keys. With PORTAL_DEMO_PAYMENTS (decided in portal/config.py: only in
development or testing, never beside a Stripe key or webhook secret) the portal still offers
online payment, as a shop's dummy gateway does:

- payments.py gives the Stripe SDK a transport that calls `answer()`: the few API calls the portal
  makes (create, read and expire a Checkout Session; read a PaymentIntent, a Charge, the refunds)
  are answered in Stripe's shapes from a small store of its own, a SQLite file beside the portal's
  database (the web process and the queue worker both read it);
- the session's address is the demo payment page (views.demo_checkout_page), which says plainly
  that it is a demo and that no money moves. Its buttons decide the outcome: succeed, fail, or
  pending and settled later (as a SEPA direct debit is);
- each outcome changes the stored objects and returns a Stripe event signed with the development
  webhook secret in Stripe's own `Stripe-Signature` scheme. The page hands it to the webhook's own
  handler, which verifies the signature, stores the event and queues its work: from there on it is
  exactly the path a Stripe event takes (re-read of the session and payment, settlement, receipt).

Nothing here imports `stripe` (payments.py does) or talks to the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import time
from urllib.parse import unquote

from flask import current_app

from portal import config as portal_config
from portal.core.urls import external_url
from portal.giving.checks import access_key
from portal.giving.models import Donation

API_KEY = "sk_test_demo_payments"   # noqa: S105 - not a secret: the demo gateway accepts any key
API_BASE = "https://demo-checkout.invalid"
# What Stripe typically charges in the Netherlands (iDEAL a fixed EUR 0.29, SEPA Direct Debit
# EUR 0.35), so the demo's fee and net look like real ones on the pages and statements.
FEES = {"ideal": 29, "sepa_debit": 35}
OUTCOMES = ("succeed", "fail", "pending", "settle")


class DemoError(ValueError):
    """A button that does not fit the demo payment's state (it was paid or closed meanwhile)."""


def enabled() -> bool:
    return portal_config.demo_payments(current_app.config)


def webhook_secret() -> str:
    """The development webhook secret: derived from the app's secret key, never a Stripe secret."""
    key = str(current_app.config.get("SECRET_KEY") or "").encode()
    return "whsec_demo_" + hmac.new(key, b"portal demo payments webhook", hashlib.sha256).hexdigest()[:32]


def sign(payload: bytes, secret: str | None = None, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header for `payload`, computed as Stripe does (HMAC-SHA256 of `t.body`)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new((secret or webhook_secret()).encode(), f"{timestamp}.".encode() + payload,
                      hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- the store --------------------------------------------------------------------------------------

def store_path() -> str:
    """Beside a SQLite database (`portal.db` -> `portal-demo-payments.db`), else in the instance folder."""
    url = current_app.config.get("DATABASE_URL") or ""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        stem, _ext = os.path.splitext(unquote(url[len("sqlite:///"):]))
        return stem + "-demo-payments.db"
    return os.path.join(current_app.instance_path, "demo-payments.db")


@contextlib.contextmanager
def _store():
    path = store_path()
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        connection.execute("CREATE TABLE IF NOT EXISTS demo_object (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    finally:
        connection.close()


def _get(connection, object_id: str) -> dict | None:
    row = connection.execute("SELECT body FROM demo_object WHERE id = ?", (object_id,)).fetchone()
    return json.loads(row[0]) if row else None


def _put(connection, obj: dict, object_id: str | None = None) -> None:
    connection.execute("INSERT OR REPLACE INTO demo_object (id, body) VALUES (?, ?)",
                       (object_id or obj["id"], json.dumps(obj, sort_keys=True)))


def session(session_id: str | None) -> dict | None:
    """The demo Checkout Session with its PaymentIntent under `_intent` (None when unknown)."""
    if not session_id or not session_id.startswith("cs_demo_"):
        return None
    with _store() as connection:
        found = _get(connection, session_id)
        if found is not None and found.get("payment_intent"):
            found["_intent"] = _get(connection, found["payment_intent"])
    return found


# --- the API, in Stripe's shapes ------------------------------------------------------------------

def _error(status: int, message: str, kind: str = "invalid_request_error") -> tuple[int, dict]:
    return status, {"error": {"type": kind, "message": message}}


def _form(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return dict(pairs)


def answer(method: str, path: str, query: list[tuple[str, str]], form: list[tuple[str, str]],
           idempotency_key: str) -> tuple[int, dict]:
    """Answer one Stripe API call the portal makes; anything else is 404, as for an unknown object."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["v1", "checkout", "sessions"]:
        if method == "POST" and len(parts) == 3:
            return _create_session(_form(form), idempotency_key)
        with _store() as connection:
            found = _get(connection, parts[3]) if len(parts) >= 4 else None
            if found is None:
                return _error(404, "No such checkout session")
            if method == "POST" and parts[4:] == ["expire"]:
                if found["status"] != "open":
                    return _error(400, "Only open sessions can be expired.")
                found["status"] = "expired"
                _put(connection, found)
            return 200, found
    if parts[:2] == ["v1", "payment_intents"] and len(parts) == 3:
        with _store() as connection:
            intent = _get(connection, parts[2])
        return (200, intent) if intent else _error(404, "No such payment_intent")
    if parts[:2] == ["v1", "charges"] and len(parts) == 3:
        with _store() as connection:
            intent = _get(connection, "pi_" + parts[2].removeprefix("ch_"))
        charge = (intent or {}).get("latest_charge")
        return (200, dict(charge, payment_intent=intent["id"])) if charge else _error(404, "No such charge")
    if len(parts) == 2 and parts[1] in ("refunds", "balance_transactions", "payouts") and method == "GET":
        # No refunds at the demo gateway, and no money to pay out (the desk's Stripe sync finds nothing).
        return 200, {"object": "list", "data": [], "has_more": False, "url": path}
    return _error(404, f"The demo payment gateway does not answer {method} {path}")


def _create_session(params: dict[str, str], idempotency_key: str) -> tuple[int, dict]:
    try:
        amount = int(params["line_items[0][price_data][unit_amount]"]) * int(params.get("line_items[0][quantity]", 1))
        donation_id = int(params["client_reference_id"])
    except (KeyError, ValueError):
        return _error(400, "A demo session needs an amount and a donation")
    fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    with _store() as connection:
        if idempotency_key:
            earlier = _get(connection, "idempotency:" + idempotency_key)
            # The same request again (a second click) gets the same session, as Stripe's key replay;
            # a finished one is not replayed (a database started afresh numbers its donations again).
            if earlier is not None and earlier["fingerprint"] == fingerprint:
                replay = _get(connection, earlier["session"])
                if replay is not None and replay["status"] == "open":
                    return 200, replay
        session_id = "cs_demo_" + secrets.token_hex(12)
        found = {
            "id": session_id, "object": "checkout.session", "mode": params.get("mode", "payment"),
            "status": "open", "payment_status": "unpaid", "amount_total": amount,
            "currency": params.get("line_items[0][price_data][currency]", "eur"),
            "client_reference_id": str(donation_id),
            "metadata": {key[len("metadata["):-1]: value for key, value in params.items()
                         if key.startswith("metadata[")},
            "customer_email": params.get("customer_email"), "payment_intent": None,
            "success_url": params.get("success_url", ""), "cancel_url": params.get("cancel_url", ""),
            "url": _page_url(donation_id), "livemode": False, "created": int(time.time()),
        }
        _put(connection, found)
        if idempotency_key:
            _put(connection, {"session": session_id, "fingerprint": fingerprint}, "idempotency:" + idempotency_key)
    return 200, found


def _page_url(donation_id: int) -> str:
    donation = Donation.get_by_id(donation_id)
    return external_url("giving.demo_checkout_page", donation_id=donation_id, key=access_key(donation))


# --- the buttons ------------------------------------------------------------------------------------

def _intent(found: dict, method_type: str, status: str) -> dict:
    intent_id = "pi_demo_" + found["id"].removeprefix("cs_demo_")
    return {"id": intent_id, "object": "payment_intent", "status": status, "amount": found["amount_total"],
            "currency": found["currency"], "metadata": dict(found["metadata"]), "livemode": False,
            "payment_method_types": [method_type], "latest_charge": None, "_method": method_type}


def _charge(intent: dict) -> dict:
    """The succeeded charge with its balance transaction: the fee and net the portal records."""
    suffix = intent["id"].removeprefix("pi_")
    fee = min(FEES.get(intent["_method"], 29), intent["amount"])
    now = int(time.time())
    return {"id": "ch_" + suffix, "object": "charge", "status": "succeeded", "created": now,
            "amount": intent["amount"], "currency": intent["currency"],
            "payment_method_details": {"type": intent["_method"]},
            "balance_transaction": {"id": "txn_" + suffix, "object": "balance_transaction",
                                    "amount": intent["amount"], "fee": fee, "net": intent["amount"] - fee,
                                    "currency": intent["currency"], "created": now}}


def act(session_id: str, outcome: str) -> tuple[bytes, str]:
    """Apply a button of the demo page; returns the signed webhook event (body, Stripe-Signature).

    succeed: paid by iDEAL at once. fail: the payment is refused. pending: a SEPA direct debit
    that is under way (the donation shows as being processed); settle: that debit arrives."""
    if outcome not in OUTCOMES:
        raise DemoError(outcome)
    with _store() as connection:
        found = _get(connection, session_id)
        if found is None:
            raise DemoError("unknown session")
        intent = _get(connection, found["payment_intent"]) if found.get("payment_intent") else None
        waiting = found["status"] == "complete" and intent is not None and intent["status"] == "processing"
        if outcome in ("succeed", "pending") and found["status"] != "open":
            raise DemoError("not open")
        if outcome == "settle" and not waiting:
            raise DemoError("nothing pending")
        if outcome == "fail" and found["status"] != "open" and not waiting:
            raise DemoError("not open")
        if outcome == "succeed":
            intent = _intent(found, "ideal", "succeeded")
            intent["latest_charge"] = _charge(intent)
            found.update(status="complete", payment_status="paid", payment_intent=intent["id"])
            event_type = "checkout.session.completed"
        elif outcome == "pending":
            intent = _intent(found, "sepa_debit", "processing")
            found.update(status="complete", payment_status="unpaid", payment_intent=intent["id"])
            event_type = "checkout.session.completed"
        elif outcome == "settle":
            intent["status"] = "succeeded"
            intent["latest_charge"] = _charge(intent)
            found["payment_status"] = "paid"
            event_type = "checkout.session.async_payment_succeeded"
        else:
            intent = intent if waiting else _intent(found, "sepa_debit", "requires_payment_method")
            intent["status"] = "requires_payment_method"
            found.update(status="complete", payment_status="unpaid", payment_intent=intent["id"])
            event_type = "checkout.session.async_payment_failed"
        _put(connection, intent)
        _put(connection, found)
    payload = json.dumps({"id": "evt_demo_" + secrets.token_hex(12), "object": "event", "type": event_type,
                          "api_version": "2024-06-20", "created": int(time.time()), "livemode": False,
                          "pending_webhooks": 1, "data": {"object": found}}).encode()
    return payload, sign(payload)
