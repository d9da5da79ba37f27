"""Public gifts that name a company by KvK number: the company they count for (found, or made when
the money arrives), and the decision of an existing company (or the project leader) to accept
such a gift, which posts its money to the ledger then."""

from __future__ import annotations

import peewee
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company, User
from portal.core import audit
from portal.core.db import atomic_write, database, utcnow
from portal.giving.base import GivingError, _lock
from portal.giving.contributions import _post_money
from portal.giving.models import BankReceipt, Dispute, Donation, Refund


def company_for_public_donation(donation: Donation) -> int:
    """The company a public donation names by KvK number: found, or made when the money arrives."""
    return public_company(donation)[0]


def public_company(donation: Donation) -> tuple[int, bool]:
    """The company a public donation names by KvK number, and whether it was made for this gift
    (False: it existed already, so the gift waits for that company to accept it)."""
    found = Company.get_or_none(Company.kvk == donation.donor_kvk)
    if found is not None:
        return found.id, False
    try:
        with database.atomic():
            company = Company.create(legal_name=donation.donor_name, kvk=donation.donor_kvk, street="", postcode="",
                                     city="", billing_email=donation.donor_email, language=donation.donor_language)
            audit.record("company.created_from_donation", company=company, obj=company, kvk=company.kvk,
                         donation=donation.id)
    except peewee.IntegrityError:
        return Company.get(Company.kvk == donation.donor_kvk).id, False
    return company.id, True


def _company_of_payment(donation: Donation) -> tuple[int, str | None]:
    """The company a donation is paid for, and its decision: a public gift naming a company that
    already existed waits for that company (or the project leader) to accept it; it never counts
    for someone else's company, and its donor gains nothing there by giving."""
    if donation.company_id is not None:
        return donation.company_id, donation.company_decision
    company_id, made = public_company(donation)
    return company_id, None if made else "waiting"


def waiting_gifts(company_id: int | None) -> list[Donation]:
    """Paid public gifts naming a company (None: any company) that wait for its acceptance."""
    query = (Donation.select(Donation, Company).join(Company, on=(Donation.company == Company.id))
             .where((Donation.status == "paid") & (Donation.company_decision == "waiting")))
    if company_id is not None:
        query = query.where(Donation.company == company_id)
    return list(query.order_by(Donation.paid_on, Donation.id))


def may_decide(actor: User, donation: Donation) -> bool:
    """The project leader, or an administrator of the company the gift names."""
    if actor.is_leader:
        return True
    return actor.role == "admin" and actor.company_id is not None and actor.company_id == donation.company_id


def decide_gift(actor: User, donation_id: int, accept: bool) -> Donation:
    """The named company's administrator (or the project leader) accepts a waiting public gift, which
    then counts for the company: its lines are posted now, each dated as it happened (the ledger books
    a change of a closed month in the first open one); or declines it, and it never counts for it."""
    to = "accepted" if accept else "declined"
    with atomic_write():
        donation = _lock(Donation, donation_id)
        if donation is None or not may_decide(actor, donation):
            raise GivingError(_l("This contribution does not exist."))
        moved = (Donation.update(company_decision=to, updated_at=utcnow())
                 .where((Donation.id == donation.id) & (Donation.status == "paid")
                        & (Donation.company_decision == "waiting")).execute())
        if not moved:
            raise GivingError(_l("This contribution no longer waits for a decision."))
        donation.company_decision = to
        if accept:
            _post_accepted(donation)
        audit.record(f"donation.company_{to}", actor=actor, company=donation.company_id, obj=donation,
                     amount_cents=donation.amount_cents, donor_name=donation.donor_name,
                     donor_email=donation.donor_email)
    return donation


def _post_accepted(donation: Donation) -> None:
    """Post what an accepted gift holds now: its payment, succeeded refunds and chargebacks, each
    keyed and dated as ledger_sources expects it."""
    key = f"donation:{donation.id}"
    fee = donation.fee_cents or 0
    receipts = list(BankReceipt.select().where((BankReceipt.donation == donation.id)
                                               & (BankReceipt.counted_cents > 0)).order_by(BankReceipt.id))
    for receipt in receipts:  # paid in parts or beyond the request (issue 13)
        kind, source = ("bank", "donation.bank_part") if receipt.kind == "part" else ("kept", "donation.surplus_kept")
        _post_money(donation, key=f"{key}:{kind}:{receipt.id}", source=source, dated_on=receipt.received_on,
                    gross=receipt.counted_cents, fee=0, net=receipt.counted_cents)
    if not any(receipt.kind == "part" for receipt in receipts):
        _post_money(donation, key=key, source="donation.paid", dated_on=donation.paid_on,
                    gross=donation.amount_cents, fee=fee,
                    net=donation.net_cents if donation.net_cents is not None else donation.amount_cents - fee)
    for refund in Refund.select().where((Refund.donation == donation.id) & (Refund.status == "succeeded")).order_by(
            Refund.id):
        refund_fee = refund.fee_cents or 0
        _post_money(donation, key=f"{key}:refund:{refund.id}", source="refund.succeeded",
                    dated_on=refund.succeeded_on, gross=-refund.amount_cents, fee=refund_fee,
                    net=refund.net_cents if refund.net_cents is not None else -refund.amount_cents - refund_fee)
    for dispute in Dispute.select().where(Dispute.donation == donation.id).order_by(Dispute.id):
        if dispute.withdrawn_cents is not None:
            amount, dispute_fee = dispute.withdrawn_cents, dispute.withdrawn_fee_cents
            _post_money(donation, key=f"{key}:dispute:{dispute.id}:withdrawn", source="dispute.withdrawn",
                        dated_on=dispute.withdrawn_on, gross=-amount, fee=dispute_fee, net=-amount - dispute_fee)
        if dispute.reinstated_cents is not None:
            amount, dispute_fee = dispute.reinstated_cents, dispute.reinstated_fee_cents
            _post_money(donation, key=f"{key}:dispute:{dispute.id}:reinstated", source="dispute.reinstated",
                        dated_on=dispute.reinstated_on, gross=amount, fee=dispute_fee, net=amount - dispute_fee)
