"""Giving fixtures: localstripe in this process on 127.0.0.1, a small Checkout/Dispute transport
in front of it, webhook deliveries signed with Stripe's real scheme, and a few factories.

localstripe (GPL, a test tool) serves PaymentIntents, Charges, Refunds and BalanceTransactions;
it has no Checkout Sessions and no Disputes, so `StripeTransport` answers those paths itself,
the way Stripe documents them (including idempotency-key replay for session creation), and
passes every other request to localstripe through the real `stripe` library's HTTP client.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
import warnings
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import stripe

WEBHOOK_SECRET = "whsec_test_giving_0123456789"
SECRET_KEY = "sk_test_giving_0123456789"


# --- the transport: Checkout Sessions and Disputes here, the rest at localstripe ----------------

def _nested(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (a[b][0][c]=v) back into nested dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part, following in zip(parts, parts[1:] + [None], strict=True):
            if following is None:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    def lists(value):
        if isinstance(value, dict):
            if value and all(k.isdigit() for k in value):
                return [lists(value[k]) for k in sorted(value, key=int)]
            return {k: lists(v) for k, v in value.items()}
        return value
    return lists(root)


@dataclass
class StripeTransport(stripe.RequestsClient):
    sessions: dict = field(default_factory=dict)
    disputes: dict = field(default_factory=dict)
    idempotency: dict = field(default_factory=dict)
    created_params: list = field(default_factory=list)
    calls: list = field(default_factory=list)
    fail_paths: set = field(default_factory=set)   # path prefixes answered with a 500
    fees: dict = field(default_factory=dict)        # balance transaction id -> fee in cents

    def __post_init__(self) -> None:
        stripe.RequestsClient.__init__(self, timeout=10)
        self.lock = threading.Lock()

    def _answer(self, status: int, body: dict):
        return json.dumps(body).encode(), status, {"Request-Id": "req_test"}

    def request(self, method, url, headers, post_data=None):
        path = urlsplit(url).path
        self.calls.append((method.upper(), path))
        if any(path.startswith(prefix) for prefix in self.fail_paths):
            return self._answer(500, {"error": {"type": "api_error", "message": "test outage"}})
        if path.startswith("/v1/checkout/sessions"):
            with self.lock:
                return self._sessions(method.upper(), path, headers or {}, post_data)
        if path.startswith("/v1/disputes/"):
            dispute = self.disputes.get(path.rsplit("/", 1)[1])
            if dispute is None:
                return self._answer(404, {"error": {"type": "invalid_request_error", "message": "No such dispute"}})
            return self._answer(200, dispute)
        content, status, response_headers = super().request(method, url, headers, post_data)
        if self.fees and status == 200:
            content = self._with_fees(content)
        return content, status, response_headers

    def _with_fees(self, content: bytes) -> bytes:
        """localstripe charges no fee; put Stripe-like fees on chosen balance transactions."""
        data = json.loads(content)

        def walk(node):
            if isinstance(node, dict):
                if node.get("object") == "balance_transaction" and node.get("id") in self.fees:
                    node["fee"] = self.fees[node["id"]]
                    node["net"] = node["amount"] - node["fee"]
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)
        walk(data)
        return json.dumps(data).encode()

    def _sessions(self, method: str, path: str, headers: dict, post_data):
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 3:
            key = headers.get("Idempotency-Key")
            params = _nested(parse_qsl(post_data or "", keep_blank_values=True))
            if key in self.idempotency:
                earlier_params, response = self.idempotency[key]
                if earlier_params != params:
                    return self._answer(400, {"error": {"type": "idempotency_error",
                                                        "message": "Keys for idempotent requests can only be used "
                                                                   "with the same parameters they were first used with."}})
                return response
            self.created_params.append(params)
            session_id = "cs_test_" + secrets.token_hex(12)
            item = params["line_items"][0]
            session = {
                "id": session_id, "object": "checkout.session", "mode": params["mode"],
                "submit_type": params.get("submit_type"), "status": "open", "payment_status": "unpaid",
                "amount_total": int(item["price_data"]["unit_amount"]) * int(item["quantity"]),
                "currency": item["price_data"]["currency"], "metadata": params.get("metadata", {}),
                "client_reference_id": params.get("client_reference_id"),
                "payment_method_types": params.get("payment_method_types", []),
                "customer_email": params.get("customer_email"), "payment_intent": None,
                "success_url": params["success_url"], "cancel_url": params["cancel_url"],
                "url": f"https://checkout.stripe.com/c/pay/{session_id}", "livemode": False,
                "_payment_intent_data": params.get("payment_intent_data", {}),
            }
            self.sessions[session_id] = session
            response = self._answer(200, self._public(session))
            if key:
                self.idempotency[key] = (params, response)
            return response
        session = self.sessions.get(parts[3]) if len(parts) >= 4 else None
        if session is None:
            return self._answer(404, {"error": {"type": "invalid_request_error", "message": "No such session"}})
        if method == "POST" and len(parts) == 5 and parts[4] == "expire":
            if session["status"] != "open":
                return self._answer(400, {"error": {"type": "invalid_request_error",
                                                    "message": "Only open sessions can be expired."}})
            session["status"] = "expired"
            return self._answer(200, self._public(session))
        return self._answer(200, self._public(session))

    @staticmethod
    def _public(session: dict) -> dict:
        return {k: v for k, v in session.items() if not k.startswith("_")}

    def session_for(self, donation_id: int) -> dict:
        found = [s for s in self.sessions.values() if s["client_reference_id"] == str(donation_id)]
        assert len(found) == 1, found
        return found[0]


@dataclass
class Stripe:
    """Test helpers: the transport, a client on localstripe, and signed webhook deliveries."""

    transport: StripeTransport
    api: stripe.StripeClient
    app: object
    client: object
    counter: list = field(default_factory=lambda: [0])

    # -- payments at "Stripe" -------------------------------------------------------------------
    def pay(self, session: dict, *, method: str = "pm_card_visa", amount: int | None = None,
            currency: str = "eur", status: str = "complete") -> str:
        """The donor pays on Checkout: a real PaymentIntent at localstripe, the session completed."""
        metadata = session["_payment_intent_data"].get("metadata", {})
        intent = self.api.v1.payment_intents.create(params={
            "amount": amount if amount is not None else session["amount_total"], "currency": currency,
            "payment_method": method, "confirm": True, "metadata": metadata, "payment_method_types": ["card"]})
        session.update(status=status, payment_status="paid" if intent.status == "succeeded" else "unpaid",
                       payment_intent=intent.id)
        return intent.id

    def refund(self, payment_intent: str, amount: int) -> str:
        return self.api.v1.refunds.create(params={"payment_intent": payment_intent, "amount": amount}).id

    def charge_of(self, payment_intent: str) -> dict:
        intent = self.api.v1.payment_intents.retrieve(payment_intent)
        charge = intent.latest_charge
        charge_id = charge if isinstance(charge, str) else charge.id
        return self.api.v1.charges.retrieve(charge_id).to_dict()

    # -- webhooks ---------------------------------------------------------------------------------
    def event(self, type_: str, obj: dict, *, event_id: str | None = None, livemode: bool = False,
              created: int | None = None) -> bytes:
        self.counter[0] += 1
        body = {"id": event_id or f"evt_test_{secrets.token_hex(8)}", "object": "event", "type": type_,
                "api_version": "2026-10-28.endive", "created": created or int(time.time()), "livemode": livemode,
                "data": {"object": StripeTransport._public(obj) if isinstance(obj, dict) else obj}}
        return json.dumps(body).encode()

    def sign(self, payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
        return stripe.WebhookSignature.generate_signature_header(payload.decode(), secret,
                                                                 timestamp=timestamp or int(time.time()))

    def deliver(self, payload: bytes, *, signature: str | None = None, client=None):
        response = (client or self.client).post("/webhooks/stripe", data=payload, content_type="application/json",
                                                headers={"Stripe-Signature": signature or self.sign(payload)})
        from portal.giving import receipts

        receipts.wait_for_followups(self.app)
        return response

    def send(self, type_: str, obj: dict, **kwargs):
        return self.deliver(self.event(type_, obj, **kwargs))


@pytest.fixture
def app_config(app_config, localstripe_url):
    return {**app_config, "STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": localstripe_url}


@pytest.fixture
def stripe_env(app, localstripe_url):
    from portal.giving import payments

    requests.delete(localstripe_url + "/_config/data", timeout=5)
    transport = StripeTransport()
    app.extensions[payments.TRANSPORT_KEY] = transport
    payments.reset_client(app)
    api = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe_url}, max_network_retries=0)
    yield Stripe(transport=transport, api=api, app=app, client=app.test_client())
    from portal.giving import receipts

    receipts.wait_for_followups(app)


@pytest.fixture(autouse=True)
def _drain_followups(app):
    # localstripe's aiohttp routes are plain functions; aiohttp warns about that on every request.
    warnings.filterwarnings("ignore", "Bare functions are deprecated", DeprecationWarning)
    yield
    from portal.giving import receipts

    receipts.wait_for_followups(app)


@pytest.fixture
def request_context(app):
    """Service calls outside a page (as the reconciliation's CLI makes them) run in a request context,
    which mail rendering needs."""
    with app.test_request_context():
        yield


@pytest.fixture
def company_client(app, make_company, login):
    def make(name: str = "Acme", **kwargs):
        company = make_company(name, **kwargs)
        client = app.test_client()
        login(client, company.admin)
        return company, client

    return make


@pytest.fixture
def started(stripe_env, company_client):
    """A company that submitted the donate form: a pending donation with an open Checkout session."""

    from portal.giving.models import Donation

    def start(amount: str = "250", **form):
        company, client = company_client(f"Donor{Donation.select().count()}")
        response = client.post("/giving/donate", data=donate_form(amount=amount, **form))
        assert response.status_code == 303, response.data[:400]
        donation = Donation.select().order_by(Donation.id.desc()).get()
        return company, donation, stripe_env.transport.session_for(donation.id)

    return start


def attachments_of(mail) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in mail.message.iter_attachments()}


def donate_form(**overrides) -> dict:
    values = {"amount": "250", "classification": "gift", "method": "stripe", "earmark_school": "",
              "earmark_purpose": "", "form_token": secrets.token_urlsafe(24)}
    values.update(overrides)
    return values


def public_form(**overrides) -> dict:
    values = donate_form(company_name="Nieuw Bedrijf B.V.", kvk="87654321", contact_name="Noor Jansen",
                         contact_email="noor@nieuwbedrijf.nl", language="en")
    values.update(overrides)
    return values


def clone(obj: dict) -> dict:
    return copy.deepcopy(obj)
