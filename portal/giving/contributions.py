"""What giving contributes: paid money (refunds and chargebacks as negative lines) and confirmed
materials as contributions, their postings to the ledger, and the ledger's hooks (open payment
issues of a month, and the rows `portal ledger check` compares the ledger with)."""

from __future__ import annotations

import datetime as dt
import functools

import peewee
from flask_babel import lazy_gettext as _l

from portal.core import ledger
from portal.core.contributions import Contribution
from portal.core.db import dated
from portal.giving.base import ISSUE_LABELS, counts
from portal.giving.models import (
    BankReceipt,
    Dispute,
    Donation,
    MaterialPledge,
    PaymentIssue,
    Refund,
)


def _parts_paid() -> peewee.Expression:
    """SQL: a donation whose money the ledger holds as bank receipts (not as one payment)."""
    return Donation.id.in_(BankReceipt.select(BankReceipt.donation)
                           .where((BankReceipt.kind == "part") & (BankReceipt.counted_cents > 0)))


def _earmark(donation: Donation) -> str:
    return " · ".join(part for part in (donation.earmark_school, donation.earmark_purpose) if part)


def contributions(company_id: int | None, start: dt.date | None, end: dt.date | None) -> list[Contribution]:
    """Paid money (refunds and dispute withdrawals as negative lines) and confirmed materials.

    The dates are compared in SQL, and refunds and disputes are joined to their paid donation (never
    an IN list of donation ids: one bound parameter per paid donation overflows the database's limit)."""
    within = functools.partial(dated, start=start, end=end)
    paid = (Donation.status == "paid") & counts()
    if company_id is not None:
        paid &= Donation.company == company_id
    columns = (Donation.id, Donation.company, Donation.paid_on, Donation.amount_cents, Donation.fee_cents,
               Donation.net_cents, Donation.classification, Donation.method, Donation.earmark_school,
               Donation.earmark_purpose, Donation.stripe_payment_intent_id, Donation.reference)  # what a line names
    found: list[Contribution] = []
    in_parts = _parts_paid()
    for d in Donation.select(*columns).where(paid & ~in_parts & within(Donation.paid_on)).order_by(Donation.id):
        fee = d.fee_cents or 0
        found.append(Contribution(
            kind="money", key=f"donation:{d.id}", company_id=d.company_id, on=d.paid_on,
            what="donation", subject=d.number, detail=_earmark(d), value_cents=d.amount_cents, basis="at_cost",
            classification=d.classification, gross_cents=d.amount_cents, fee_cents=fee,
            net_cents=d.net_cents if d.net_cents is not None else d.amount_cents - fee,
            method=d.method, reference=reference_of(d)))
    # A request paid in parts, or beyond what it asked: each counted part on its own date (issue 13).
    counted = (Donation.company.is_null(False) & counts() & (BankReceipt.counted_cents > 0)
               & within(BankReceipt.received_on))
    if company_id is not None:
        counted &= Donation.company == company_id
    for r in (BankReceipt.select(BankReceipt, *columns).join(Donation, on=(BankReceipt.donation == Donation.id))
              .where(counted).order_by(BankReceipt.id)):
        d = r.donation
        found.append(Contribution(
            kind="money", key=f"donation:{d.id}:{'bank' if r.kind == 'part' else 'kept'}:{r.id}",
            company_id=d.company_id, on=r.received_on, what="donation", subject=d.number, detail=_earmark(d),
            value_cents=r.counted_cents, basis="at_cost", classification=d.classification,
            gross_cents=r.counted_cents, fee_cents=0, net_cents=r.counted_cents, method=d.method,
            reference=reference_of(d)))
    refunds = (Refund.select(Refund, *columns).join(Donation, on=(Refund.donation == Donation.id))
               .where(paid & (Refund.status == "succeeded") & within(Refund.succeeded_on)).order_by(Refund.id))
    for r in refunds:
        d, fee = r.donation, r.fee_cents or 0
        found.append(Contribution(
            kind="money", key=f"donation:{d.id}:refund:{r.id}", company_id=d.company_id, on=r.succeeded_on,
            what="refund", subject=d.number, value_cents=-r.amount_cents, basis="at_cost",
            classification=d.classification, gross_cents=-r.amount_cents, fee_cents=fee,
            net_cents=r.net_cents if r.net_cents is not None else -r.amount_cents - fee,
            method=d.method, reference=reference_of(d)))
    disputes = Dispute.select(Dispute, *columns).join(Donation, on=(Dispute.donation == Donation.id))
    for x in disputes.where(paid & Dispute.withdrawn_cents.is_null(False) & within(Dispute.withdrawn_on)).order_by(
            Dispute.id):
        d = x.donation
        found.append(Contribution(
            kind="money", key=f"donation:{d.id}:dispute:{x.id}:withdrawn", company_id=d.company_id,
            on=x.withdrawn_on, what="chargeback", subject=d.number, value_cents=-x.withdrawn_cents,
            basis="at_cost", classification=d.classification, gross_cents=-x.withdrawn_cents,
            fee_cents=x.withdrawn_fee_cents, net_cents=-x.withdrawn_cents - x.withdrawn_fee_cents,
            method=d.method, reference=reference_of(d)))
    for x in disputes.where(paid & Dispute.reinstated_cents.is_null(False) & within(Dispute.reinstated_on)).order_by(
            Dispute.id):
        d = x.donation
        found.append(Contribution(
            kind="money", key=f"donation:{d.id}:dispute:{x.id}:reinstated", company_id=d.company_id,
            on=x.reinstated_on, what="chargeback_reversed", subject=d.number,
            value_cents=x.reinstated_cents, basis="at_cost", classification=d.classification,
            gross_cents=x.reinstated_cents, fee_cents=x.reinstated_fee_cents,
            net_cents=x.reinstated_cents - x.reinstated_fee_cents, method=d.method, reference=reference_of(d)))
    pledges = MaterialPledge.select().where((MaterialPledge.status == "confirmed") & within(MaterialPledge.confirmed_on))
    if company_id is not None:
        pledges = pledges.where(MaterialPledge.company == company_id)
    for p in pledges.order_by(MaterialPledge.id):
        found.append(Contribution(
            kind="material", key=f"material:{p.id}", company_id=p.company_id, on=p.confirmed_on,
            what="material", subject=p.description, detail=str(p.quantity), value_cents=p.confirmed_value_cents,
            basis="market_value", classification=p.classification, method="in_kind"))
    return found


def _post_money(donation: Donation, *, key: str, source: str, dated_on: dt.date, gross: int, fee: int, net: int,
                lines: int = 1) -> None:
    """Post a change of a donation's money to the ledger (inside the change's transaction). A public
    gift that waits for its company's acceptance (or was declined) posts nothing: accepting it posts
    its lines then (accept_gift)."""
    if not donation.counts_for_company:
        return
    ledger.post(company_id=donation.company_id, dated_on=dated_on, kind="money", key=key, source=source,
                basis="at_cost", classification=donation.classification, method=donation.method, lines=lines,
                value_cents=gross, gross_cents=gross, fee_cents=fee, net_cents=net, subject_id=donation.id,
                reference=reference_of(donation))


@ledger.open_items.connect
def ledger_open_items(_sender, *, start: dt.date, end: dt.date) -> list[ledger.OpenItem]:
    """Payment issues raised in the month that the project leader has not resolved yet."""
    first = dt.datetime.combine(start, dt.time.min)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min)
    issues = (PaymentIssue.select(PaymentIssue, Donation).join(Donation, peewee.JOIN.LEFT_OUTER)
              .where(PaymentIssue.resolved_at.is_null() & (PaymentIssue.created_at >= first)
                     & (PaymentIssue.created_at < after)).order_by(PaymentIssue.id))
    return [ledger.OpenItem(f"payment_issue:{issue.id}",
                            _l("payment issue: %(kind)s (%(donation)s)", kind=ISSUE_LABELS.get(issue.kind, issue.kind),
                               donation=issue.donation.number if issue.donation_id else issue.source))
            for issue in issues]


@ledger.sources.connect
def ledger_sources(_sender) -> list[peewee.Select]:
    """What the ledger should hold for money and materials, from giving's own rows (`portal ledger check`)."""
    text = peewee.SQL

    def money_line(query, *, key, source, dated_on, gross, fee, net, reference=None) -> peewee.Select:
        return query.select(
            Donation.company.alias("company_id"), dated_on.alias("dated_on"), text("'money'").alias("kind"),
            key.alias("key"), text(f"'{source}'").alias("source"), text("'at_cost'").alias("basis"),
            Donation.classification.alias("classification"), Donation.method.alias("method"),
            text("1").alias("lines"), text("0").alias("minutes"), gross.alias("value_cents"),
            gross.alias("gross_cents"), fee.alias("fee_cents"), net.alias("net_cents"), text("''").alias("person"),
            Donation.id.alias("subject_id"),
            peewee.fn.COALESCE(Donation.stripe_payment_intent_id, Donation.reference, "").alias("reference"))

    paid = (Donation.status == "paid") & Donation.company.is_null(False) & counts()
    donation_key = text("'donation:'").concat(Donation.id.cast("text"))
    fee = peewee.fn.COALESCE(Donation.fee_cents, 0)
    donations = money_line(Donation.select().where(paid & ~_parts_paid()), key=donation_key, source="donation.paid",
                           dated_on=Donation.paid_on, gross=Donation.amount_cents, fee=fee,
                           net=peewee.fn.COALESCE(Donation.net_cents, Donation.amount_cents - fee))
    refund_fee = peewee.fn.COALESCE(Refund.fee_cents, 0)
    refunds = money_line(
        Refund.select().join(Donation, on=(Refund.donation == Donation.id)).where(paid & (Refund.status == "succeeded")),
        key=donation_key.concat(text("':refund:'")).concat(Refund.id.cast("text")), source="refund.succeeded",
        dated_on=Refund.succeeded_on, gross=Refund.amount_cents * -1, fee=refund_fee,
        net=peewee.fn.COALESCE(Refund.net_cents, Refund.amount_cents * -1 - refund_fee))
    disputes = Dispute.select().join(Donation, on=(Dispute.donation == Donation.id))
    dispute_key = donation_key.concat(text("':dispute:'")).concat(Dispute.id.cast("text"))
    withdrawn = money_line(
        disputes.where(paid & Dispute.withdrawn_cents.is_null(False)), key=dispute_key.concat(text("':withdrawn'")),
        source="dispute.withdrawn", dated_on=Dispute.withdrawn_on, gross=Dispute.withdrawn_cents * -1,
        fee=Dispute.withdrawn_fee_cents, net=Dispute.withdrawn_cents * -1 - Dispute.withdrawn_fee_cents)
    reinstated = money_line(
        disputes.where(paid & Dispute.reinstated_cents.is_null(False)), key=dispute_key.concat(text("':reinstated'")),
        source="dispute.reinstated", dated_on=Dispute.reinstated_on, gross=Dispute.reinstated_cents,
        fee=Dispute.reinstated_fee_cents, net=Dispute.reinstated_cents - Dispute.reinstated_fee_cents)
    materials = MaterialPledge.select(
        MaterialPledge.company.alias("company_id"), MaterialPledge.confirmed_on.alias("dated_on"),
        text("'material'").alias("kind"), text("'material:'").concat(MaterialPledge.id.cast("text")).alias("key"),
        text("'material.confirmed'").alias("source"), text("'market_value'").alias("basis"),
        MaterialPledge.classification.alias("classification"), text("'in_kind'").alias("method"),
        text("1").alias("lines"), text("0").alias("minutes"), MaterialPledge.confirmed_value_cents.alias("value_cents"),
        text("0").alias("gross_cents"), text("0").alias("fee_cents"), text("0").alias("net_cents"),
        text("''").alias("person"), MaterialPledge.id.alias("subject_id"), text("''").alias("reference"),
    ).where(MaterialPledge.status == "confirmed")
    receipts = BankReceipt.select().join(Donation, on=(BankReceipt.donation == Donation.id)).where(
        Donation.company.is_null(False) & counts() & (BankReceipt.counted_cents > 0))
    parts = money_line(
        receipts.where(BankReceipt.kind == "part"),
        key=donation_key.concat(text("':bank:'")).concat(BankReceipt.id.cast("text")), source="donation.bank_part",
        dated_on=BankReceipt.received_on, gross=BankReceipt.counted_cents, fee=text("0"), net=BankReceipt.counted_cents)
    kept = money_line(
        receipts.where(BankReceipt.kind == "kept"),
        key=donation_key.concat(text("':kept:'")).concat(BankReceipt.id.cast("text")),
        source="donation.surplus_kept", dated_on=BankReceipt.received_on, gross=BankReceipt.counted_cents, fee=text("0"),
        net=BankReceipt.counted_cents)
    return [donations, refunds, withdrawn, reinstated, materials, parts, kept]


def reference_of(donation: Donation) -> str:
    """The payment reference that ties a donation's corrections (refunds, chargebacks) to it."""
    return donation.stripe_payment_intent_id or donation.reference or ""
