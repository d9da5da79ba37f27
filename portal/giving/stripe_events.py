"""The work of one Stripe event (webhooks.py stores it and queues this): re-read what Stripe says
now, then settle the payment, sync its refunds and disputes, and raise what does not match as a
PaymentIssue for the project leader. Each event is claimed in the same transaction as its effect;
every move only goes forward, under the donation's lock."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import peewee
from flask_babel import lazy_gettext as _l

from portal.core import audit, mail
from portal.core.db import atomic_write, utcnow
from portal.core.urls import external_url
from portal.giving import corrections, payments
from portal.giving.base import (
    CHECKOUT_EVENTS,
    DISPUTE_EVENTS,
    DISPUTE_RANK,
    HANDLED_EVENTS,
    ISSUE_LABELS,
    REFUND_EVENTS,
    REFUND_RANK,
    _lock,
    _move,
    leaders,
)
from portal.giving.contributions import _post_money
from portal.giving.documents import amsterdam_date
from portal.giving.gifts import _company_of_payment
from portal.giving.models import CreditNote, Dispute, Donation, PaymentIssue, Refund, StripeEvent
from portal.giving.receipts import _mail_failed

log = logging.getLogger("portal.giving")


@dataclass
class Observed:
    """What Stripe's API says now about the objects an event concerns."""

    donation_id: int | None = None
    session: payments.SessionFacts | None = None
    payment: payments.PaymentFacts | None = None
    refunds: list[payments.RefundFacts] = field(default_factory=list)
    disputes: list[payments.DisputeFacts] = field(default_factory=list)


@dataclass
class Outcome:
    outcome: str                      # applied, no_change, flagged, ignored, duplicate
    donation_id: int | None = None
    receipts_due: bool = False


# An event the webhook stored on arrival whose work has not been applied yet (webhooks.py queues
# it): `queued`, or `failed` after its last retry (the tasks page queues it again).
WAITING_OUTCOMES = ("queued", "failed")


def already_handled(event_id: str) -> bool:
    return StripeEvent.select().where((StripeEvent.event_id == event_id)
                                      & StripeEvent.outcome.not_in(WAITING_OUTCOMES)).exists()


def observe(event: payments.EventFacts) -> Observed:
    """Re-read from Stripe's API what the event is about (raises ProviderError when unreachable)."""
    if event.type in CHECKOUT_EVENTS:
        session = payments.retrieve_session(event.object_id)
        payment = payments.retrieve_payment(session.payment_intent_id) if session.payment_intent_id else None
        return Observed(donation_id=session.donation_id, session=session, payment=payment)
    if event.type in REFUND_EVENTS:
        if event.object_type == "charge":
            intent = payments.payment_intent_of_charge(event.object_id)
        else:
            refund = payments.retrieve_refund(event.object_id)
            intent = refund.payment_intent_id or (
                payments.payment_intent_of_charge(refund.charge_id) if refund.charge_id else None)
        if not intent:
            return Observed()
        payment = payments.retrieve_payment(intent)
        return Observed(donation_id=payment.donation_id, payment=payment, refunds=payments.refunds_of(intent))
    if event.type in DISPUTE_EVENTS:
        dispute = payments.retrieve_dispute(event.object_id)
        if not dispute.payment_intent_id:
            return Observed()
        payment = payments.retrieve_payment(dispute.payment_intent_id)
        return Observed(donation_id=payment.donation_id, payment=payment, disputes=[dispute])
    return Observed()


def handle_event(event: payments.EventFacts) -> Outcome:
    """Apply one verified Stripe event exactly once; unknown types are only acknowledged."""
    if already_handled(event.id):
        return Outcome("duplicate")
    try:
        observed = observe(event) if event.type in HANDLED_EVENTS else Observed()
    except payments.NotFound:
        # Signed with our secret but unknown to our key's API: nothing of ours to update.
        log.warning("stripe event %s (%s): its object %s does not exist for this key", event.id, event.type,
                    event.object_id)
        observed = Observed()
    with atomic_write():
        stored = (StripeEvent.insert(event_id=event.id, type=event.type[:100], object_id=event.object_id[:255],
                                     outcome="received", stripe_created_at=event.created_at)
                  .on_conflict_ignore().as_rowcount().execute())
        if not stored:
            # Stored on arrival by the webhook: this run claims it, and only one run can.
            stored = (StripeEvent.update(outcome="received")
                      .where((StripeEvent.event_id == event.id) & StripeEvent.outcome.in_(WAITING_OUTCOMES))
                      .execute())
        if not stored:
            return Outcome("duplicate")
        if event.type not in HANDLED_EVENTS:
            result = Outcome("ignored")
        else:
            result = _apply(event, observed)
        StripeEvent.update(outcome=result.outcome, donation=result.donation_id).where(
            StripeEvent.event_id == event.id).execute()
    return result


class _Flagged(Exception):
    pass


class _Effects:
    """What one event did, gathered while it is applied."""

    def __init__(self, event: payments.EventFacts, donation: Donation | None) -> None:
        self.event = event
        self.donation = donation
        self.changed = False
        self.flagged = False
        self.receipts_due = False

    def flag(self, kind: str, **details) -> None:
        raise_issue(kind, self.event.id, self.donation, event_type=self.event.type, **details)
        self.flagged = True


def raise_issue(kind: str, source: str, donation: Donation | None, **details) -> bool:
    """Record an issue for the project leader once per (kind, source); mails the leader when new."""
    created = (PaymentIssue.insert(donation=donation.id if donation else None, kind=kind, source=source[:255],
                                   details=json.dumps(details, sort_keys=True, default=str))
               .on_conflict_ignore().as_rowcount().execute())
    if created:
        audit.record("giving.issue_raised", company=donation.company_id if donation else None,
                     object_type="donation", object_id=donation.id if donation else "", kind=kind, source=source,
                     **details)
        for leader in leaders():
            mail.send_template(leader.email, "giving/issue", leader.language, _l("A payment needs your attention"),
                               leader=leader, kind=kind, kind_label=ISSUE_LABELS.get(kind, kind), donation=donation,
                               details=details, link=external_url("giving.leader_desk"))
    return bool(created)


def _apply(event: payments.EventFacts, observed: Observed) -> Outcome:
    if observed.donation_id is None:
        return Outcome("ignored")  # a payment on the account that the portal did not start
    donation = _lock(Donation, observed.donation_id)
    effects = _Effects(event, donation)
    if donation is None:
        effects.donation = None
        effects.flag("unknown_donation", donation_id=observed.donation_id)
        return Outcome("flagged")
    try:
        _check_identity(donation, observed, effects)
        payment = observed.payment
        session = observed.session
        if payment is not None and payment.status == "succeeded":
            _settle(donation, payment, effects)
        elif session is not None and session.status == "expired":
            effects.changed |= _move(donation, "expired", ("pending",), event=event.id)
        elif session is not None and session.status == "complete" and session.payment_status == "unpaid":
            failed = event.type == "checkout.session.async_payment_failed" or (
                payment is not None and payment.status in ("requires_payment_method", "canceled"))
            if failed:
                if _move(donation, "failed", ("pending", "processing"), event=event.id):
                    effects.changed = True
                    _mail_failed(donation)
            elif _move(donation, "processing", ("pending",), event=event.id):
                effects.changed = True
        for refund in observed.refunds:
            _sync_refund(donation, refund, effects)
        for dispute in observed.disputes:
            _sync_dispute(donation, dispute, effects)
    except _Flagged:
        pass
    outcome = "flagged" if effects.flagged else ("applied" if effects.changed else "no_change")
    return Outcome(outcome, donation.id, effects.receipts_due)


def _check_identity(donation: Donation, observed: Observed, effects: _Effects) -> None:
    """Stop (flagged, nothing applied) when what Stripe says does not fit the donation."""
    if donation.method != "stripe":
        effects.flag("not_a_stripe_donation")
        raise _Flagged
    session, payment = observed.session, observed.payment
    if session is not None:
        if session.metadata_donation_id not in (None, donation.id) or (
                donation.stripe_checkout_session_id not in (None, session.id)):
            effects.flag("session_mismatch", session=session.id, stored=donation.stripe_checkout_session_id)
            raise _Flagged
        if session.currency != "eur":
            effects.flag("currency_mismatch", session=session.id, currency=session.currency)
            raise _Flagged
        if session.amount_total != donation.amount_cents:
            effects.flag("amount_mismatch", session=session.id, expected_cents=donation.amount_cents,
                         stripe_cents=session.amount_total)
            raise _Flagged
        if donation.stripe_checkout_session_id is None:
            Donation.update(stripe_checkout_session_id=session.id, checkout_url=session.url).where(
                (Donation.id == donation.id) & Donation.stripe_checkout_session_id.is_null()).execute()
            donation.stripe_checkout_session_id = session.id
    if payment is not None:
        if payment.donation_id not in (None, donation.id) or (
                donation.stripe_payment_intent_id not in (None, payment.payment_intent_id)):
            effects.flag("payment_mismatch", payment_intent=payment.payment_intent_id,
                         stored=donation.stripe_payment_intent_id)
            raise _Flagged
        if payment.currency != "eur":
            effects.flag("currency_mismatch", payment_intent=payment.payment_intent_id, currency=payment.currency)
            raise _Flagged
        if payment.amount_cents != donation.amount_cents:
            effects.flag("amount_mismatch", payment_intent=payment.payment_intent_id,
                         expected_cents=donation.amount_cents, stripe_cents=payment.amount_cents)
            raise _Flagged
        if donation.stripe_payment_intent_id is None:
            Donation.update(stripe_payment_intent_id=payment.payment_intent_id).where(
                (Donation.id == donation.id) & Donation.stripe_payment_intent_id.is_null()).execute()
            donation.stripe_payment_intent_id = payment.payment_intent_id


def _fee_and_net(donation: Donation, balance: payments.BalanceFacts | None, effects: _Effects):
    if balance is None:
        return None, None
    if (balance.currency != "eur" or balance.amount_cents != donation.amount_cents
            or balance.net_cents != balance.amount_cents - balance.fee_cents):
        effects.flag("settlement_mismatch", balance_transaction=balance.id, amount_cents=balance.amount_cents,
                     fee_cents=balance.fee_cents, net_cents=balance.net_cents, currency=balance.currency)
        return None, None
    return balance.fee_cents, balance.net_cents


def _settle(donation: Donation, payment: payments.PaymentFacts, effects: _Effects) -> None:
    fee, net = _fee_and_net(donation, payment.balance, effects)
    if donation.status == "paid":
        if fee is not None and donation.fee_cents is None:
            filled = (Donation.update(fee_cents=fee, net_cents=net, updated_at=utcnow())
                      .where((Donation.id == donation.id) & Donation.fee_cents.is_null()).execute())
            if filled:
                _post_money(donation, key=f"donation:{donation.id}", source="donation.fee", dated_on=donation.paid_on,
                            lines=0, gross=0, fee=fee, net=-fee)
                audit.record("donation.fee_recorded", company=donation.company_id, obj=donation, fee_cents=fee,
                             net_cents=net, event=effects.event.id)
                effects.changed = True
        return
    paid_at = payment.charge_created_at or effects.event.created_at or utcnow()
    company_id, decision = _company_of_payment(donation)
    before = donation.status
    moved = (Donation.update(status="paid", paid_at=paid_at, paid_on=amsterdam_date(paid_at), company=company_id,
                             company_decision=decision,
                             stripe_payment_intent_id=payment.payment_intent_id,
                             stripe_charge_id=payment.charge_id, payment_method_type=payment.payment_method_type[:40],
                             fee_cents=fee, net_cents=net, updated_at=utcnow())
             .where((Donation.id == donation.id) & (Donation.status != "paid")).execute())
    if not moved:
        return
    donation.status, donation.company_id, donation.company_decision = "paid", company_id, decision
    donation.paid_on = amsterdam_date(paid_at)
    donation.stripe_payment_intent_id = payment.payment_intent_id
    _post_money(donation, key=f"donation:{donation.id}", source="donation.paid", dated_on=amsterdam_date(paid_at),
                gross=donation.amount_cents, fee=fee or 0,
                net=net if net is not None else donation.amount_cents - (fee or 0))
    audit.record("donation.paid", company=company_id, obj=donation, before=before, via="stripe",
                 amount_cents=donation.amount_cents, fee_cents=fee, net_cents=net,
                 payment_intent=payment.payment_intent_id, event=effects.event.id, company_decision=decision)
    effects.changed = True
    effects.receipts_due = True
    if before in ("failed", "expired", "canceled"):
        effects.flag("paid_after_close", before=before, payment_intent=payment.payment_intent_id)


def _sync_refund(donation: Donation, facts: payments.RefundFacts, effects: _Effects) -> None:
    if facts.currency != "eur" or facts.amount_cents <= 0 or facts.amount_cents > donation.amount_cents or (
            facts.payment_intent_id not in (None, donation.stripe_payment_intent_id)):
        effects.flag("refund_mismatch", refund=facts.id, amount_cents=facts.amount_cents, currency=facts.currency)
        return
    if facts.status not in REFUND_RANK:
        return
    Refund.insert(donation=donation.id, stripe_refund_id=facts.id, amount_cents=facts.amount_cents,
                  currency="eur", status="pending").on_conflict_ignore().execute()
    row = _lock(Refund, Refund.get(Refund.stripe_refund_id == facts.id).id)
    if row.donation_id != donation.id or row.amount_cents != facts.amount_cents:
        effects.flag("refund_mismatch", refund=facts.id, amount_cents=facts.amount_cents, stored_cents=row.amount_cents)
        return
    if REFUND_RANK[facts.status] <= REFUND_RANK[row.status]:
        return
    values: dict[str, Any] = {"status": facts.status, "updated_at": utcnow()}
    if facts.status == "succeeded":
        if donation.status != "paid":
            effects.flag("refund_mismatch", refund=facts.id, reason="refund of a donation that is not paid")
            return
        refunded = (Refund.select(peewee.fn.COALESCE(peewee.fn.SUM(Refund.amount_cents), 0))
                    .where((Refund.donation == donation.id) & (Refund.status == "succeeded") & (Refund.id != row.id))
                    .scalar())
        if int(refunded) + facts.amount_cents > donation.amount_cents:
            effects.flag("refund_exceeds_payment", refund=facts.id, amount_cents=facts.amount_cents,
                         already_refunded_cents=int(refunded), paid_cents=donation.amount_cents)
            return
        balance = facts.balance
        if balance is not None and balance.currency == "eur" and balance.amount_cents == -facts.amount_cents \
                and balance.net_cents == balance.amount_cents - balance.fee_cents:
            values.update(fee_cents=balance.fee_cents, net_cents=balance.net_cents)
        when = (balance.created_at if balance else None) or facts.created_at or effects.event.created_at or utcnow()
        values["succeeded_on"] = row.succeeded_on or amsterdam_date(when)
    allowed = [status for status, rank in REFUND_RANK.items() if rank < REFUND_RANK[facts.status]]
    moved = Refund.update(**values).where((Refund.id == row.id) & Refund.status.in_(allowed)).execute()
    if moved and facts.status == "succeeded":
        fee = values.get("fee_cents") or 0
        _post_money(donation, key=f"donation:{donation.id}:refund:{row.id}", source="refund.succeeded",
                    dated_on=values["succeeded_on"], gross=-row.amount_cents, fee=fee,
                    net=values.get("net_cents", -row.amount_cents - fee))
        _credit(donation, source=f"refund:{row.id}", kind="refund", amount_cents=row.amount_cents,
                happened_on=values["succeeded_on"], refund=facts.id)
    elif moved and row.status == "succeeded":
        # A refund that had gone through failed or was canceled afterwards: the money is back with
        # us, so its line is undone, dated as the refund was (a closed month books it later).
        undone = Refund.get_by_id(row.id)
        fee = undone.fee_cents or 0
        net = undone.net_cents if undone.net_cents is not None else -undone.amount_cents - fee
        _post_money(donation, key=f"donation:{donation.id}:refund:{row.id}", source=f"refund.{facts.status}",
                    dated_on=undone.succeeded_on, lines=-1, gross=undone.amount_cents, fee=-fee, net=-net)
        corrections.reverse(donation, f"refund:{row.id}", happened_on=_event_date(effects))
    if moved:
        audit.record(f"donation.refund_{facts.status}", company=donation.company_id, obj=donation, refund=facts.id,
                     amount_cents=facts.amount_cents, before=row.status, event=effects.event.id)
        effects.changed = True


def _sync_dispute(donation: Donation, facts: payments.DisputeFacts, effects: _Effects) -> None:
    if facts.currency != "eur" or facts.amount_cents <= 0 or facts.amount_cents > donation.amount_cents:
        effects.flag("dispute_mismatch", dispute=facts.id, amount_cents=facts.amount_cents, currency=facts.currency)
        return
    Dispute.insert(donation=donation.id, stripe_dispute_id=facts.id, amount_cents=facts.amount_cents,
                   status=facts.status[:32], reason=facts.reason[:64]).on_conflict_ignore().execute()
    row = _lock(Dispute, Dispute.get(Dispute.stripe_dispute_id == facts.id).id)
    if row.donation_id != donation.id:
        effects.flag("dispute_mismatch", dispute=facts.id, stored_donation=row.donation_id)
        return
    changes: dict[str, Any] = {}
    if DISPUTE_RANK.get(facts.status, -1) > DISPUTE_RANK.get(row.status, -1):
        changes["status"] = facts.status[:32]
    withdrawn = [m for m in facts.movements if m.amount_cents < 0 and m.currency == "eur"]
    reinstated = [m for m in facts.movements if m.amount_cents > 0 and m.currency == "eur"]
    if withdrawn and row.withdrawn_cents is None:
        amount = -sum(m.amount_cents for m in withdrawn)
        if amount > donation.amount_cents:
            effects.flag("dispute_mismatch", dispute=facts.id, withdrawn_cents=amount)
            return
        changes.update(withdrawn_cents=amount, withdrawn_fee_cents=sum(m.fee_cents for m in withdrawn),
                       withdrawn_on=amsterdam_date(min(m.created_at or utcnow() for m in withdrawn)))
    if reinstated and row.reinstated_cents is None:
        changes.update(reinstated_cents=sum(m.amount_cents for m in reinstated),
                       reinstated_fee_cents=sum(m.fee_cents for m in reinstated),
                       reinstated_on=amsterdam_date(min(m.created_at or utcnow() for m in reinstated)))
    if not changes:
        return
    changes["updated_at"] = utcnow()
    query = Dispute.update(**changes).where(Dispute.id == row.id)
    if "withdrawn_cents" in changes:
        query = query.where(Dispute.withdrawn_cents.is_null())
    if "reinstated_cents" in changes:
        query = query.where(Dispute.reinstated_cents.is_null())
    if query.execute():
        key = f"donation:{donation.id}:dispute:{row.id}"
        if "withdrawn_cents" in changes and donation.status == "paid":
            amount, fee = changes["withdrawn_cents"], changes["withdrawn_fee_cents"]
            _post_money(donation, key=f"{key}:withdrawn", source="dispute.withdrawn",
                        dated_on=changes["withdrawn_on"], gross=-amount, fee=fee, net=-amount - fee)
        if "reinstated_cents" in changes and donation.status == "paid":
            amount, fee = changes["reinstated_cents"], changes["reinstated_fee_cents"]
            _post_money(donation, key=f"{key}:reinstated", source="dispute.reinstated",
                        dated_on=changes["reinstated_on"], gross=amount, fee=fee, net=amount - fee)
        _credit_dispute(donation, row, changes, effects)
        audit.record("donation.dispute_updated", company=donation.company_id, obj=donation, dispute=facts.id,
                     before=row.status, **{k: v for k, v in changes.items() if k != "updated_at"},
                     event=effects.event.id)
        effects.changed = True


def _event_date(effects: _Effects) -> dt.date:
    return amsterdam_date(effects.event.created_at or utcnow())


def _credit_dispute(donation: Donation, row: Dispute, changes: dict[str, Any], effects: _Effects) -> None:
    """A lost dispute credits the receipt (a credit note for what was withdrawn); money reinstated
    after that takes the credit note back. A dispute won before it was lost never had one."""
    if donation.status != "paid":
        return
    status = changes.get("status", row.status)
    reinstated = "reinstated_cents" in changes or row.reinstated_cents is not None
    if not reinstated and (changes.get("status") == "lost" or (status == "lost" and "withdrawn_cents" in changes)):
        withdrawn = changes.get("withdrawn_cents") or row.withdrawn_cents
        # A cardholder may dispute the whole charge after a partial refund: the bank takes it all,
        # but the receipt is credited only for what it still counts; the leader gets the rest.
        _credit(donation, source=f"dispute:{row.id}", kind="chargeback", amount_cents=withdrawn or row.amount_cents,
                happened_on=changes.get("withdrawn_on") or row.withdrawn_on or _event_date(effects),
                dispute=row.stripe_dispute_id, event_type=effects.event.type)
    if "reinstated_cents" in changes:
        corrections.reverse(donation, f"dispute:{row.id}", happened_on=changes["reinstated_on"])


def _credit(donation: Donation, *, source: str, kind: str, amount_cents: int, happened_on: dt.date,
            **details) -> CreditNote | None:
    """The credit note for money that went back on a paid donation, in the caller's transaction. It
    credits at most what the receipt (or invoice) still counts; when more went back (a chargeback
    of the whole charge after a partial refund), a payment issue names the difference for the
    project leader, once per source. None when the source has its note already."""
    if CreditNote.select().where(CreditNote.source == source).exists():
        return None
    counted = max(corrections.remaining_cents(donation), 0)
    note = corrections.credit(donation, source=source, kind=kind, amount_cents=amount_cents, happened_on=happened_on)
    if amount_cents > counted:
        raise_issue("credit_exceeds_receipt", source, donation, amount_cents=amount_cents, counted_cents=counted,
                    credited_cents=note.amount_cents if note else 0, not_credited_cents=amount_cents - counted,
                    paid_cents=donation.amount_cents, **details)
    return note
