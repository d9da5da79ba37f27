"""Stripe sync: balance transactions and payouts since the last sync, page by page.

Idempotent: every balance transaction and payout is stored once (UNIQUE ids), and a run
stops paging back as soon as it meets a transaction it already has (Stripe lists newest
first). Each paid payout is tied to its transactions (gross - fees - refunds = net = the
payout) and, by the matching engine, to the bank line that paid it out. A charge whose
donation is still open (its webhook never arrived) is settled through giving's webhook
code path, with a synthetic event id so that it, too, happens once.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.accounts.models import User
from portal.core import audit
from portal.core.db import atomic_write, utcnow
from portal.giving import payments
from portal.giving import service as giving
from portal.reconcile.models import StripeBalanceTransaction, StripePayout, StripeSync

FINAL_PAYOUT_STATUSES = ("paid", "failed", "canceled")
SETTLING_TYPES = ("charge", "payment")


@dataclass
class SyncResult:
    transactions_new: int = 0
    payouts_new: int = 0
    payouts_tied: int = 0
    settled: int = 0
    error: str = ""




def sync(actor: User | None = None) -> SyncResult:
    """Fetch what is new at Stripe, store it once, tie payouts and settle missed payments."""
    result = SyncResult()
    run = StripeSync.create(started_by=getattr(actor, "id", actor))
    new_charges: list[str] = []
    try:
        for txn in payments.balance_transactions():
            if StripeBalanceTransaction.select().where(StripeBalanceTransaction.txn_id == txn.id).exists():
                break  # everything older was stored by an earlier run
            added = (StripeBalanceTransaction.insert(
                txn_id=txn.id, type=txn.type[:40], reporting_category=txn.reporting_category[:60],
                amount_cents=txn.amount_cents, fee_cents=txn.fee_cents, net_cents=txn.net_cents,
                currency=txn.currency[:3], source_id=txn.source_id[:255], status=txn.status[:20],
                created_at=txn.created_at).on_conflict_ignore().as_rowcount().execute())
            result.transactions_new += added
            if added and txn.type in SETTLING_TYPES and txn.source_id:
                new_charges.append(txn.source_id)
        for payout in payments.payouts():
            known = StripePayout.get_or_none(StripePayout.payout_id == payout.id)
            if known is not None and known.status in FINAL_PAYOUT_STATUSES:
                break
            if known is None:
                result.payouts_new += (StripePayout.insert(
                    payout_id=payout.id, amount_cents=payout.amount_cents, currency=payout.currency[:3],
                    status=payout.status[:20], arrival_on=payout.arrival_on, created_at=payout.created_at)
                    .on_conflict_ignore().as_rowcount().execute())
            else:
                StripePayout.update(status=payout.status[:20], arrival_on=payout.arrival_on, synced_at=utcnow()) \
                    .where(StripePayout.id == known.id).execute()
        result.payouts_tied = tie_payouts()
        result.settled = settle_missed(new_charges)
    except payments.ProviderError as exc:
        result.error = str(exc)[:500]
    with atomic_write():
        StripeSync.update(finished_at=utcnow(), transactions_new=result.transactions_new,
                          payouts_new=result.payouts_new, settled=result.settled, error=result.error) \
            .where(StripeSync.id == run.id).execute()
        audit.record("reconcile.stripe_synced", actor=actor, object_type="stripesync", object_id=run.id,
                     transactions_new=result.transactions_new, payouts_new=result.payouts_new,
                     payouts_tied=result.payouts_tied, settled=result.settled, error=result.error)
    return result


def tie_payouts() -> int:
    """Sum each paid payout's balance transactions; a payout adds up when their net is its amount."""
    tied = 0
    for payout in StripePayout.select().where(~StripePayout.items_known & (StripePayout.status == "paid")):
        try:
            items = list(payments.balance_transactions(payout_id=payout.payout_id))
        except payments.ProviderError:
            continue  # this Stripe (e.g. localstripe) cannot list a payout's transactions
        own = [t for t in items if t.type not in ("payout",)]
        gross = sum(t.amount_cents for t in own if t.type in SETTLING_TYPES)
        refunds = sum(t.amount_cents for t in own if t.type in ("refund", "payment_refund"))
        with atomic_write():
            for t in own:
                (StripeBalanceTransaction.insert(
                    txn_id=t.id, type=t.type[:40], reporting_category=t.reporting_category[:60],
                    amount_cents=t.amount_cents, fee_cents=t.fee_cents, net_cents=t.net_cents, currency=t.currency[:3],
                    source_id=t.source_id[:255], status=t.status[:20], created_at=t.created_at,
                    payout_id=payout.payout_id).on_conflict_ignore().execute())
            if own:
                StripeBalanceTransaction.update(payout_id=payout.payout_id).where(
                    StripeBalanceTransaction.txn_id.in_([t.id for t in own])).execute()
            StripePayout.update(items_known=True, items_net_cents=sum(t.net_cents for t in own),
                                items_gross_cents=gross, items_fee_cents=sum(t.fee_cents for t in own),
                                items_refund_cents=refunds, synced_at=utcnow()) \
                .where(StripePayout.id == payout.id).execute()
        tied += 1
    return tied


def settle_missed(charge_ids: list[str]) -> int:
    """Settle charges whose webhook never arrived, through giving's own event handling."""
    if not charge_ids:
        return 0
    settled = 0
    for charge_id in charge_ids:
        event = payments.EventFacts(
            id=f"reconcile-sync:{charge_id}", type="charge.refunded", livemode=payments.live_mode(),
            created_at=utcnow(), object_type="charge", object_id=charge_id, data={})
        outcome = giving.handle_event(event)
        if outcome.outcome == "applied":
            settled += 1
            if outcome.receipts_due:
                giving.schedule_receipts()
    return settled


def payouts(limit: int = 100) -> list[StripePayout]:
    return list(StripePayout.select().order_by(StripePayout.created_at.desc(nulls="LAST"), StripePayout.id.desc())
                .limit(limit))


def last_runs(limit: int = 10) -> list[StripeSync]:
    return list(StripeSync.select().order_by(StripeSync.id.desc()).limit(limit))
