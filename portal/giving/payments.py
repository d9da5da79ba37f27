"""Stripe, behind plain data: the only module of the portal that imports `stripe`.

The rest of giving sees frozen dataclasses (SessionFacts, PaymentFacts, RefundFacts,
DisputeFacts, EventFacts) built from what Stripe's API says *now*: webhook handling re-reads
every object instead of trusting the event payload. Amounts are integer cents as Stripe sends
them; times become naive UTC.

Tests (and the benchmark) hand the client a transport through `app.extensions[TRANSPORT_KEY]`,
a `stripe.HTTPClient`; in production the SDK's own transport talks to api.stripe.com. On a
developer's machine without Stripe keys (PORTAL_DEMO_PAYMENTS, see demo_checkout.py) the
transport is the demo gateway: the same calls, answered from a local store, and webhook events
signed with a development secret, so the whole path runs as it does with Stripe.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe
from flask import current_app

from portal.giving import demo_checkout

TRANSPORT_KEY = "portal.giving.stripe_transport"
CLIENT_KEY = "portal.giving.stripe_client"
TOLERANCE_SECONDS = 300


class ProviderError(RuntimeError):
    """Stripe could not be reached or refused the request; nothing was recorded."""


class NotFound(ProviderError):
    """Stripe says the object does not exist (for this key)."""


class SignatureError(ValueError):
    """A webhook delivery whose signature, timestamp or body is not acceptable."""


# --- plain facts ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BalanceFacts:
    id: str
    amount_cents: int
    fee_cents: int
    net_cents: int
    currency: str
    created_at: dt.datetime | None


@dataclass(frozen=True)
class SessionFacts:
    id: str
    status: str                  # open, complete, expired
    payment_status: str          # paid, unpaid, no_payment_required
    amount_total: int | None
    currency: str
    donation_id: int | None      # client_reference_id, else metadata.donation_id
    metadata_donation_id: int | None
    payment_intent_id: str | None
    url: str
    livemode: bool


@dataclass(frozen=True)
class PaymentFacts:
    payment_intent_id: str
    status: str                  # succeeded, processing, requires_payment_method, canceled, ...
    amount_cents: int
    currency: str
    donation_id: int | None
    charge_id: str | None
    charge_created_at: dt.datetime | None
    payment_method_type: str
    balance: BalanceFacts | None
    livemode: bool


@dataclass(frozen=True)
class RefundFacts:
    id: str
    status: str
    amount_cents: int
    currency: str
    payment_intent_id: str | None
    charge_id: str | None
    created_at: dt.datetime | None
    balance: BalanceFacts | None


@dataclass(frozen=True)
class DisputeFacts:
    id: str
    status: str
    reason: str
    amount_cents: int
    currency: str
    payment_intent_id: str | None
    charge_id: str | None
    movements: tuple[BalanceFacts, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class EventFacts:
    id: str
    type: str
    livemode: bool
    created_at: dt.datetime | None
    object_type: str
    object_id: str
    data: dict[str, Any]


# --- the client -------------------------------------------------------------------------------

class _DemoTransport(stripe.HTTPClient):
    """The demo gateway behind the Stripe SDK: every call is answered by demo_checkout.answer()."""

    name = "demo-checkout"

    def request(self, method, url, headers, post_data=None):
        parts = urlsplit(url)
        status, body = demo_checkout.answer(method.upper(), parts.path, parse_qsl(parts.query),
                                            parse_qsl(post_data or "", keep_blank_values=True),
                                            (headers or {}).get("Idempotency-Key") or "")
        return json.dumps(body).encode(), status, {"Request-Id": "req_demo"}

    def close(self):
        pass


def _client() -> stripe.StripeClient:
    app = current_app
    client = app.extensions.get(CLIENT_KEY)
    if client is None:
        key = app.config.get("STRIPE_SECRET_KEY") or ""
        options: dict[str, Any] = {"max_network_retries": 2}
        transport = app.extensions.get(TRANSPORT_KEY)
        if not key and demo_checkout.enabled():
            key = demo_checkout.API_KEY
            options["base_addresses"] = {"api": demo_checkout.API_BASE}
            transport = transport or _DemoTransport()
        if not key:
            raise ProviderError("Stripe is not configured (PORTAL_STRIPE_SECRET_KEY is empty)")
        if app.config.get("STRIPE_API_BASE"):
            options["base_addresses"] = {"api": app.config["STRIPE_API_BASE"]}
        if transport is not None:
            options["http_client"] = transport
            options["max_network_retries"] = 0
        client = stripe.StripeClient(key, **options)
        app.extensions[CLIENT_KEY] = client
    return client


def reset_client(app) -> None:
    """Forget the cached client (after the configuration or transport changed)."""
    app.extensions.pop(CLIENT_KEY, None)


def configured() -> bool:
    """Whether donors can pay online: with Stripe, or on a developer's machine with the demo gateway."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY")) or demo_checkout.enabled()


def demo() -> bool:
    """Whether online payments go to the demo payment page (no money moves)."""
    return not current_app.config.get("STRIPE_SECRET_KEY") and demo_checkout.enabled()


def webhook_secret() -> str:
    """The secret webhook events are signed with: Stripe's endpoint secret, or the demo's."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET") or ""
    if not secret and demo_checkout.enabled():
        return demo_checkout.webhook_secret()
    return secret


def live_mode() -> bool:
    """Whether the configured key is a live key: events must say the same."""
    key = current_app.config.get("STRIPE_SECRET_KEY") or ""
    return key.startswith(("sk_live_", "rk_live_"))


def payment_methods() -> list[str]:
    text = current_app.config.get("STRIPE_PAYMENT_METHODS") or "card"
    return [name.strip() for name in text.split(",") if name.strip()]


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except stripe.InvalidRequestError as exc:
        error = NotFound if exc.http_status == 404 else ProviderError
        raise error(f"{type(exc).__name__}: {exc.user_message or exc}") from exc
    except stripe.StripeError as exc:
        raise ProviderError(f"{type(exc).__name__}: {exc.user_message or exc}") from exc


# --- conversions --------------------------------------------------------------------------------

def _plain(obj: Any) -> Any:
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return obj


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None or isinstance(obj, str):
        return default
    data = obj if isinstance(obj, dict) else _plain(obj)
    value = data.get(name, default) if isinstance(data, dict) else default
    return default if value is None else value


def _id_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return _get(value, "id")


def _time(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    return dt.datetime.fromtimestamp(int(value), dt.UTC).replace(tzinfo=None)


def _int_or_none(text: Any) -> int | None:
    try:
        number = int(str(text))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _balance(value: Any) -> BalanceFacts | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = _call(_client().v1.balance_transactions.retrieve, value)
    data = _plain(value)
    return BalanceFacts(id=data["id"], amount_cents=int(data["amount"]), fee_cents=int(data.get("fee") or 0),
                        net_cents=int(data["net"]), currency=str(data.get("currency") or "").lower(),
                        created_at=_time(data.get("created")))


def session_facts(data: dict[str, Any]) -> SessionFacts:
    metadata = data.get("metadata") or {}
    metadata_id = _int_or_none(metadata.get("donation_id"))
    return SessionFacts(
        id=data["id"], status=str(data.get("status") or ""), payment_status=str(data.get("payment_status") or ""),
        amount_total=None if data.get("amount_total") is None else int(data["amount_total"]),
        currency=str(data.get("currency") or "").lower(),
        donation_id=_int_or_none(data.get("client_reference_id")) or metadata_id,
        metadata_donation_id=metadata_id,
        payment_intent_id=_id_of(data.get("payment_intent")), url=str(data.get("url") or ""),
        livemode=bool(data.get("livemode")))


# --- Checkout Sessions --------------------------------------------------------------------------

def create_checkout_session(*, donation_id: int, company_id: int | None, amount_cents: int, classification: str,
                            product_name: str, customer_email: str, locale: str, success_url: str,
                            cancel_url: str) -> SessionFacts:
    """Create (or, for the same donation, get back) the Checkout Session that pays a donation."""
    metadata = {"donation_id": str(donation_id), "classification": classification,
                "company_id": str(company_id or "")}
    params: dict[str, Any] = {
        "mode": "payment",
        "submit_type": "donate",
        "payment_method_types": payment_methods(),
        "line_items": [{"quantity": 1, "price_data": {
            "currency": "eur", "unit_amount": int(amount_cents), "product_data": {"name": product_name[:250]}}}],
        "client_reference_id": str(donation_id),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": locale if locale in ("nl", "en") else "auto",
    }
    if customer_email:
        params["customer_email"] = customer_email
    session = _call(_client().v1.checkout.sessions.create, params=params,
                    options={"idempotency_key": f"donation-{donation_id}"})
    return session_facts(_plain(session))


def retrieve_session(session_id: str) -> SessionFacts:
    return session_facts(_plain(_call(_client().v1.checkout.sessions.retrieve, session_id)))


def expire_session(session_id: str) -> SessionFacts:
    """Close an open session so it can no longer be paid (the donor went back to the form)."""
    return session_facts(_plain(_call(_client().v1.checkout.sessions.expire, session_id)))


# --- payments, refunds, disputes ----------------------------------------------------------------

def retrieve_payment(payment_intent_id: str) -> PaymentFacts:
    """The PaymentIntent with its latest charge and that charge's balance transaction."""
    client = _client()
    intent = _plain(_call(client.v1.payment_intents.retrieve, payment_intent_id,
                          params={"expand": ["latest_charge.balance_transaction"]}))
    charge = intent.get("latest_charge")
    if isinstance(charge, str):
        charge = _plain(_call(client.v1.charges.retrieve, charge, params={"expand": ["balance_transaction"]}))
    charge = charge or {}
    method_details = charge.get("payment_method_details") or {}
    return PaymentFacts(
        payment_intent_id=intent["id"], status=str(intent.get("status") or ""), amount_cents=int(intent["amount"]),
        currency=str(intent.get("currency") or "").lower(),
        donation_id=_int_or_none((intent.get("metadata") or {}).get("donation_id")),
        charge_id=charge.get("id"), charge_created_at=_time(charge.get("created")),
        payment_method_type=str(method_details.get("type") or ""),
        balance=_balance(charge.get("balance_transaction")) if charge.get("status") == "succeeded" else None,
        livemode=bool(intent.get("livemode")))


def payment_intent_of_charge(charge_id: str) -> str | None:
    return _id_of(_get(_call(_client().v1.charges.retrieve, charge_id), "payment_intent"))


def _refund_facts(data: dict[str, Any]) -> RefundFacts:
    return RefundFacts(
        id=data["id"], status=str(data.get("status") or ""), amount_cents=int(data["amount"]),
        currency=str(data.get("currency") or "").lower(), payment_intent_id=_id_of(data.get("payment_intent")),
        charge_id=_id_of(data.get("charge")), created_at=_time(data.get("created")),
        balance=_balance(data.get("balance_transaction")))


def refunds_of(payment_intent_id: str) -> list[RefundFacts]:
    """Every refund of a payment, as Stripe has them now."""
    page = _call(_client().v1.refunds.list, params={"payment_intent": payment_intent_id, "limit": 100,
                                                      "expand": ["data.balance_transaction"]})
    return [_refund_facts(_plain(refund)) for refund in page.auto_paging_iter()]


def retrieve_refund(refund_id: str) -> RefundFacts:
    return _refund_facts(_plain(_call(_client().v1.refunds.retrieve, refund_id,
                                      params={"expand": ["balance_transaction"]})))


def retrieve_dispute(dispute_id: str) -> DisputeFacts:
    data = _plain(_call(_client().v1.disputes.retrieve, dispute_id))
    charge = data.get("charge")
    intent = _id_of(data.get("payment_intent"))
    if intent is None and charge:
        intent = payment_intent_of_charge(_id_of(charge))
    movements = tuple(m for m in (_balance(item) for item in data.get("balance_transactions") or []) if m)
    return DisputeFacts(id=data["id"], status=str(data.get("status") or ""), reason=str(data.get("reason") or ""),
                        amount_cents=int(data["amount"]), currency=str(data.get("currency") or "").lower(),
                        payment_intent_id=intent, charge_id=_id_of(charge), movements=movements)


# --- webhooks -----------------------------------------------------------------------------------

def verify_event(payload: bytes, signature_header: str) -> EventFacts:
    """Check Stripe's signature over the raw body (300 s tolerance) and read the event."""
    secret = webhook_secret()
    if not secret:
        raise SignatureError("no webhook secret is configured")
    if not signature_header:
        raise SignatureError("no Stripe-Signature header")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature_header, secret, TOLERANCE_SECONDS)
        data = json.loads(text)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise SignatureError(str(exc)) from exc
    if not isinstance(data, dict) or data.get("object") != "event" or not isinstance(data.get("data"), dict):
        raise SignatureError("not a Stripe event")
    obj = data["data"].get("object") or {}
    if not isinstance(obj, dict) or not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise SignatureError("not a Stripe event")
    return EventFacts(id=data["id"], type=data["type"], livemode=bool(data.get("livemode")),
                      created_at=_time(data.get("created")), object_type=str(obj.get("object") or ""),
                      object_id=str(obj.get("id") or ""), data=obj)


# --- reconciliation: balance transactions and payouts (read by portal.reconcile) --------------

@dataclass(frozen=True)
class BalanceTransactionFacts:
    id: str
    type: str
    reporting_category: str
    amount_cents: int
    fee_cents: int
    net_cents: int
    currency: str
    source_id: str
    status: str
    created_at: dt.datetime | None


@dataclass(frozen=True)
class PayoutFacts:
    id: str
    amount_cents: int
    currency: str
    status: str
    arrival_on: dt.date | None
    created_at: dt.datetime | None


def _txn_facts(data: dict[str, Any]) -> BalanceTransactionFacts:
    return BalanceTransactionFacts(
        id=data["id"], type=str(data.get("type") or ""), reporting_category=str(data.get("reporting_category") or ""),
        amount_cents=int(data["amount"]), fee_cents=int(data.get("fee") or 0), net_cents=int(data["net"]),
        currency=str(data.get("currency") or "").lower(), source_id=_id_of(data.get("source")) or "",
        status=str(data.get("status") or ""), created_at=_time(data.get("created")))


def balance_transactions(*, payout_id: str | None = None, page_size: int = 100):
    """Balance transactions, newest first, fetched page by page as the caller iterates."""
    params: dict[str, Any] = {"limit": page_size}
    if payout_id:
        params["payout"] = payout_id
    for item in _pages(_call(_client().v1.balance_transactions.list, params=params)):
        yield _txn_facts(_plain(item))


def _pages(page):
    """Every item of a list, the next page fetched only when needed; errors become ProviderError."""
    iterator = page.auto_paging_iter()
    while True:
        item = _call(next, iterator, None)
        if item is None:
            return
        yield item


def payouts(*, page_size: int = 100):
    """Payouts, newest first, fetched page by page as the caller iterates."""
    for item in _pages(_call(_client().v1.payouts.list, params={"limit": page_size})):
        data = _plain(item)
        arrival = data.get("arrival_date")
        yield PayoutFacts(id=data["id"], amount_cents=int(data["amount"]),
                          currency=str(data.get("currency") or "").lower(), status=str(data.get("status") or ""),
                          arrival_on=_time(arrival).date() if arrival else None, created_at=_time(data.get("created")))
