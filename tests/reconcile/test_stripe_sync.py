# ruff: noqa: F811  (pytest fixtures imported from giving are named again as test parameters)
"""Stripe sync against localstripe on 127.0.0.1 (giving's fixture, reused): idempotent, page by
page, settles a payment whose webhook never arrived, and ties a payout to its bank line."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from portal.core.audit import AuditLog
from portal.reconcile import bank_import, stripe_sync
from portal.reconcile.models import BankLine, StripeBalanceTransaction, StripePayout, StripeSync
from tests.giving.conftest import SECRET_KEY, app_config, stripe_env  # noqa: F401, F811 (giving's fixtures, reused)

# giving's `localstripe_url` serves localstripe's one aiohttp app inside the test process; a
# second copy of that fixture (this module's import of it) cannot serve the same app again in
# the same run, so here it runs in a child process, still only on 127.0.0.1.
LAUNCH = """
import asyncio, sys, warnings
warnings.simplefilter("ignore")
from aiohttp import web
import localstripe.resources as resources
from localstripe.server import app
resources.Store.dump_to_disk = lambda self: None
async def main():
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host="127.0.0.1", port=0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


@pytest.fixture(scope="session")
def localstripe_url():
    child = subprocess.Popen([sys.executable, "-c", LAUNCH], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        port = int(child.stdout.readline().strip())
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(10)


@pytest.fixture
def paid_without_webhook(app, stripe_env, make_company):
    from portal.giving import service as giving

    company = make_company("Online")
    with app.test_request_context():
        donation, _ = giving.create_donation(
            giving.DonationInput(amount_cents=5000, classification="gift", method="stripe",
                                 form_token=secrets.token_urlsafe(24)), user=company.admin)
        giving.start_checkout(donation, success_url="http://portal.test/ok", cancel_url="http://portal.test/no",
                              product_name="Donation")
    session = stripe_env.transport.session_for(donation.id)
    stripe_env.pay(session)  # paid at Stripe; no webhook is delivered
    return donation


def test_sync_settles_a_missed_webhook_once_and_is_idempotent(app, stripe_env, paid_without_webhook, leader):
    from portal.giving.models import Donation

    assert Donation.get_by_id(paid_without_webhook.id).status == "pending"
    with app.test_request_context():
        first = stripe_sync.sync(leader)
    assert first.error == "" and first.transactions_new >= 1 and first.settled == 1
    donation = Donation.get_by_id(paid_without_webhook.id)
    assert donation.status == "paid" and donation.net_cents == 5000
    with app.test_request_context():
        again = stripe_sync.sync(leader)
    assert (again.transactions_new, again.payouts_new, again.settled) == (0, 0, 0)
    assert StripeBalanceTransaction.select().count() == first.transactions_new
    assert StripeSync.select().count() == 2
    assert AuditLog.select().where(AuditLog.action == "donation.paid").count() == 1


def test_sync_pages_through_many_transactions(app, stripe_env, leader):
    for _ in range(5):
        stripe_env.api.v1.payment_intents.create(params={
            "amount": 1000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True,
            "payment_method_types": ["card"]})
    from portal.giving import payments

    original = payments.balance_transactions
    pages = {"size": None}

    def small_pages(**kwargs):
        pages["size"] = 2
        return original(page_size=2, **{k: v for k, v in kwargs.items() if k != "page_size"})

    payments.balance_transactions = small_pages
    try:
        with app.test_request_context():
            result = stripe_sync.sync(leader)
    finally:
        payments.balance_transactions = original
    assert pages["size"] == 2 and result.transactions_new == 5 and result.settled == 0


def test_a_payout_is_synced_once_and_found_on_the_bank_statement(app, stripe_env, leader):
    payout = stripe_env.api.v1.payouts.create(params={"amount": 123456, "currency": "eur"})
    with app.test_request_context():
        result = stripe_sync.sync(leader)
        assert result.payouts_new == 1 and stripe_sync.sync(leader).payouts_new == 0
    stored = StripePayout.get(StripePayout.payout_id == payout.id)
    assert stored.amount_cents == 123456 and not stored.items_known  # localstripe cannot list a payout's items
    camt = (b'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
            b"<BkToCstmrStmt><Stmt><Id>1</Id><Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct><Ntry>"
            b'<Amt Ccy="EUR">1234.56</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-06-02</Dt></BookgDt>'
            b"<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>STRIPE</Nm></Dbtr></RltdPties><RmtInf><Ustrd>STRIPE "
            + payout.id.encode() + b"</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>")
    with app.test_request_context():
        imported = bank_import.import_statement(camt, actor=leader)
    assert imported.matched == 1
    line = BankLine.get()
    assert (line.match_method, line.target) == ("payout", f"payout:{payout.id}")
    assert StripePayout.get_by_id(stored.id).bank_line_id == line.id


def test_a_payout_adds_up_from_its_transactions(app, leader, monkeypatch):
    """Real Stripe lists a payout's transactions; gross - fees - refunds must equal the payout."""
    from portal.giving import payments

    StripePayout.create(payout_id="po_sum", amount_cents=9300, status="paid")
    facts = [
        payments.BalanceTransactionFacts("txn_1", "charge", "charge", 10000, 320, 9680, "eur", "ch_1", "available", None),
        payments.BalanceTransactionFacts("txn_2", "charge", "charge", 500, 33, 467, "eur", "ch_2", "available", None),
        payments.BalanceTransactionFacts("txn_3", "refund", "refund", -847, 0, -847, "eur", "re_1", "available", None),
        payments.BalanceTransactionFacts("txn_4", "payout", "payout", -9300, 0, -9300, "eur", "po_sum", "available", None),
    ]
    monkeypatch.setattr(payments, "balance_transactions", lambda payout_id=None, **_: iter(facts if payout_id else []))
    assert stripe_sync.tie_payouts() == 1
    payout = StripePayout.get(StripePayout.payout_id == "po_sum")
    assert (payout.items_gross_cents, payout.items_fee_cents, payout.items_refund_cents) == (10500, 353, -847)
    assert payout.items_net_cents == 9300 and payout.balanced
    assert StripeBalanceTransaction.select().where(StripeBalanceTransaction.payout_id == "po_sum").count() == 3
    assert SECRET_KEY  # the giving fixtures configure the key
