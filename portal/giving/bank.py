"""Bank transfers beyond one exact payment of a request (issue 13): parts, surpluses and their
refunds or keeping, the balance of each request, and undoing a bank line matched by mistake.
The exact payment of a request itself is service.mark_paid_by_bank."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import peewee
from flask_babel import lazy_gettext as _l
from stdnum import iso11649

from portal.accounts.models import Company, User
from portal.core import audit, clock
from portal.core.db import atomic_write, utcnow
from portal.giving import corrections
from portal.giving.base import GivingError, _lock
from portal.giving.contributions import _post_money
from portal.giving.gifts import _company_of_payment
from portal.giving.models import BankReceipt, CreditNote, Document, Donation, PaymentIssue, Refund
from portal.giving.stripe_events import _credit, raise_issue


@dataclass(frozen=True)
class BankResult:
    status: str          # paid, already_recorded, unknown_reference, amount_mismatch, duplicate_payment,
    #                      not_pending, line_already_used
    donation_id: int | None = None

    @property
    def applied(self) -> bool:
        return self.status == "paid"


def normalise_reference(text: str | None) -> str | None:
    """An RF reference in its compact form, or None when it is not a valid one."""
    compact = iso11649.compact(text or "")
    return compact if iso11649.is_valid(compact) else None


@dataclass(frozen=True)
class BankBalance:
    """What the bank brought to one payment request beyond a single exact transfer."""

    donation_id: int
    requested_cents: int
    paid: bool                # the request is settled
    received_cents: int = 0   # every transfer recorded as a part (duplicates too)
    parts_cents: int = 0      # of that, what paid the request
    refunded_cents: int = 0
    kept_cents: int = 0

    @property
    def outstanding_cents(self) -> int:
        return 0 if self.paid else max(self.requested_cents - self.parts_cents, 0)

    @property
    def surplus_cents(self) -> int:
        """Paid beyond the request and neither refunded nor kept with the company's consent."""
        return self.received_cents - self.parts_cents - self.refunded_cents - self.kept_cents


def bank_balances(donation_ids: Iterable[int] | None = None) -> dict[int, BankBalance]:
    """Received, counted, refunded and kept per request that has bank receipts (all, or these)."""
    query = (BankReceipt.select(BankReceipt.donation, BankReceipt.kind,
                                peewee.fn.SUM(BankReceipt.amount_cents).alias("amount"),
                                peewee.fn.SUM(BankReceipt.counted_cents).alias("counted"))
             .group_by(BankReceipt.donation, BankReceipt.kind))
    if donation_ids is not None:
        query = query.where(BankReceipt.donation.in_(list(donation_ids)))
    sums: dict[int, dict[str, tuple[int, int]]] = {}
    for row in query.dicts():
        sums.setdefault(row["donation"], {})[row["kind"]] = (int(row["amount"] or 0), int(row["counted"] or 0))
    if not sums:
        return {}
    donations = {d_id: (amount, status) for d_id, amount, status in
                 Donation.select(Donation.id, Donation.amount_cents, Donation.status)
                 .where(Donation.id.in_(list(sums))).tuples()}
    found = {}
    for donation_id, kinds in sums.items():
        requested, status = donations[donation_id]
        part, refund, kept = (kinds.get(k, (0, 0)) for k in ("part", "refund", "kept"))
        found[donation_id] = BankBalance(donation_id, requested, status == "paid", part[0], part[1], -refund[0],
                                         kept[1])
    return found


def bank_balance(donation: Donation) -> BankBalance:
    return bank_balances([donation.id]).get(donation.id) or BankBalance(donation.id, donation.amount_cents,
                                                                         donation.status == "paid")


def open_bank_requests() -> list[Donation]:
    """Pending payment requests, each with `outstanding_cents` (what is still to pay after the parts
    received) and `company_name` (the company's legal name, else the donor's name)."""
    counted = (BankReceipt.select(peewee.fn.COALESCE(peewee.fn.SUM(BankReceipt.counted_cents), 0))
               .where((BankReceipt.donation == Donation.id) & (BankReceipt.kind == "part")))
    rows = (Donation.select(Donation, counted.alias("parts_cents"), Company.legal_name.alias("company_name"))
            .join(Company, peewee.JOIN.LEFT_OUTER, on=(Donation.company == Company.id))
            .where((Donation.method == "bank") & (Donation.status == "pending"))
            .order_by(Donation.due_on, Donation.id).objects())
    found = []
    for donation in rows:
        donation.outstanding_cents = donation.amount_cents - int(donation.parts_cents or 0)
        donation.company_name = donation.company_name or donation.donor_name
        found.append(donation)
    return found


def bank_request(reference: str) -> Donation | None:
    """The payment request with this RF reference (any status), or None."""
    compact = normalise_reference(reference)
    if compact is None:
        return None
    return Donation.get_or_none((Donation.reference == compact) & (Donation.method == "bank"))


def surplus_requests() -> list[tuple[Donation, BankBalance]]:
    """Requests paid beyond what was asked and not yet refunded or kept, oldest first."""
    # A part's surplus is amount - counted; a refund's amount is negative; a kept surplus is counted.
    surplus = peewee.fn.SUM(BankReceipt.amount_cents - BankReceipt.counted_cents)
    open_ids = [row[0] for row in BankReceipt.select(BankReceipt.donation).group_by(BankReceipt.donation)
                .having(surplus > 0).tuples()]
    if not open_ids:
        return []
    balances = bank_balances(open_ids)
    donations = Donation.select().where(Donation.id.in_(list(balances))).order_by(Donation.id)
    return [(d, balances[d.id]) for d in donations]


def _check_bank_args(amount_cents: Any, paid_on: Any, bank_line_ref: str | None) -> str:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValueError("amount_cents must be a positive integer")
    if not isinstance(paid_on, dt.date) or isinstance(paid_on, dt.datetime):
        raise ValueError("paid_on must be a date")
    line = (bank_line_ref or "").strip()
    if not line or len(line) > 200:
        raise ValueError("bank_line_ref must be 1 to 200 characters")
    return line


def _bank_target(reference: str, amount_cents: Any, paid_on: Any,
                 bank_line_ref: str | None) -> tuple[str, Donation | None]:
    """A bank transfer's checked line (a ValueError when an argument is off) and the payment
    request its reference names (None when there is none)."""
    return _check_bank_args(amount_cents, paid_on, bank_line_ref), bank_request(reference)


def _record_part(donation: Donation, balance: BankBalance, amount_cents: int, paid_on: dt.date,
                 actor: User | None, line: str, keep_surplus: bool) -> BankResult:
    counted = min(amount_cents, balance.outstanding_cents)
    company_id, decision = _company_of_payment(donation)
    if donation.company_id != company_id:
        Donation.update(company=company_id, company_decision=decision, updated_at=utcnow()).where(
            Donation.id == donation.id).execute()
        donation.company_id, donation.company_decision = company_id, decision
    receipt = BankReceipt.create(donation=donation.id, line_ref=line, kind="part", amount_cents=amount_cents,
                                 counted_cents=counted, received_on=paid_on, recorded_by=getattr(actor, "id", actor))
    if counted:
        _post_money(donation, key=f"donation:{donation.id}:bank:{receipt.id}", source="donation.bank_part",
                    dated_on=paid_on, gross=counted, fee=0, net=counted)
    details = {"bank_line": line, "amount_cents": amount_cents, "counted_cents": counted,
               "paid_on": paid_on.isoformat(), "requested_cents": donation.amount_cents}
    if donation.status == "paid":
        raise_issue("bank_duplicate_payment", line, donation, **details)
        status = "duplicate_payment"
    elif counted == balance.outstanding_cents:
        Donation.update(status="paid", paid_on=paid_on, paid_at=utcnow(), paid_recorded_by=getattr(actor, "id", actor),
                        fee_cents=0, net_cents=donation.amount_cents, updated_at=utcnow()).where(
            (Donation.id == donation.id) & (Donation.status == "pending")).execute()
        audit.record("donation.paid", actor=actor, company=company_id, obj=donation, before="pending", via="bank",
                     amount_cents=amount_cents, bank_line=line, paid_on=paid_on.isoformat(),
                     reference=donation.reference, company_decision=decision,
                     parts_cents=balance.parts_cents + counted, surplus_cents=amount_cents - counted)
        _restore_unmatched(donation, paid_on)
        status = "paid" if counted == amount_cents else "paid_with_surplus"
    else:
        status = "part_recorded"
    audit.record("donation.bank_received", actor=actor, company=company_id, obj=donation, status=status, **details)
    if keep_surplus and amount_cents > counted:
        _keep_surplus(donation, actor, paid_on, amount_cents - counted)
    return BankResult(status, donation.id)


def record_bank_refund(reference: str, amount_cents: int, paid_on: dt.date, actor: User | None,
                       bank_line_ref: str) -> BankResult:
    """Record money sent back by bank transfer (a debit bank line with the request's reference): from
    the request's surplus when it has one (no document: a surplus was never on the receipt); else,
    of a paid request, part or all of the gift itself: a refund that is credited on the receipt by a
    credit note (issue 14). A refund larger than the surplus, or than what is left of the gift, is
    raised as an issue for the project leader and records nothing.

    Status: refund_recorded, refund_exceeds_surplus (an issue is raised), already_recorded,
    unknown_reference, line_already_used."""
    line, found = _bank_target(reference, amount_cents, paid_on, bank_line_ref)
    if found is None:
        return BankResult("unknown_reference")
    with atomic_write():
        donation = _lock(Donation, found.id)
        existing = (BankReceipt.get_or_none(BankReceipt.line_ref == line)
                    or Refund.get_or_none(Refund.stripe_refund_id == f"bank:{line}"))
        if existing is not None:
            return BankResult("already_recorded" if existing.donation_id == donation.id else "line_already_used",
                              existing.donation_id)
        balance = bank_balance(donation)
        if balance.surplus_cents <= 0 and donation.status == "paid" and 0 < amount_cents <= _refundable(donation):
            _refund_gift_by_bank(donation, amount_cents, paid_on, actor, line)
            return BankResult("refund_recorded", donation.id)
        if amount_cents > balance.surplus_cents:
            raise_issue("bank_refund_exceeds_surplus", line, donation, bank_line=line, amount_cents=amount_cents,
                        surplus_cents=balance.surplus_cents, paid_on=paid_on.isoformat())
            return BankResult("refund_exceeds_surplus", donation.id)
        BankReceipt.create(donation=donation.id, line_ref=line, kind="refund", amount_cents=-amount_cents,
                           counted_cents=0, received_on=paid_on, recorded_by=getattr(actor, "id", actor))
        audit.record("donation.surplus_refunded", actor=actor, company=donation.company_id, obj=donation,
                     amount_cents=amount_cents, bank_line=line, paid_on=paid_on.isoformat(),
                     surplus_left_cents=balance.surplus_cents - amount_cents)
    return BankResult("refund_recorded", donation.id)


def _refundable(donation: Donation) -> int:
    """What is left of a paid donation to refund: the amount minus succeeded refunds."""
    refunded = (Refund.select(peewee.fn.COALESCE(peewee.fn.SUM(Refund.amount_cents), 0))
                .where((Refund.donation == donation.id) & (Refund.status == "succeeded")).scalar())
    return donation.amount_cents - int(refunded)


def _refund_gift_by_bank(donation: Donation, amount_cents: int, paid_on: dt.date, actor: User | None,
                         line: str) -> None:
    """Part or all of a paid request's gift sent back by bank: a refund row (as Stripe's, so every
    total and the ledger count it), its ledger line and its credit note, in the caller's transaction."""
    row = Refund.create(donation=donation.id, stripe_refund_id=f"bank:{line}", amount_cents=amount_cents,
                        currency="eur", status="succeeded", fee_cents=0, net_cents=-amount_cents,
                        succeeded_on=paid_on)
    _post_money(donation, key=f"donation:{donation.id}:refund:{row.id}", source="refund.succeeded",
                dated_on=paid_on, gross=-amount_cents, fee=0, net=-amount_cents)
    _credit(donation, source=f"refund:{row.id}", kind="refund", amount_cents=amount_cents, happened_on=paid_on,
            bank_line=line)
    audit.record("donation.refund_succeeded", actor=actor, company=donation.company_id, obj=donation,
                 refund=row.stripe_refund_id, amount_cents=amount_cents, bank_line=line, paid_on=paid_on.isoformat(),
                 via="bank")


def _undo_blocked(status: str, receipt: BankReceipt | None, later: list[BankReceipt]) -> bool:
    """A bank line's money cannot be taken back when later money of its request depends on it: a
    later part or refund, or a kept surplus larger than this line's own surplus."""
    surplus = receipt.amount_cents - receipt.counted_cents if receipt is not None and receipt.kind == "part" else 0
    return (status not in ("pending", "paid") or any(r.kind != "kept" for r in later)
            or sum(r.counted_cents for r in later if r.kind == "kept") > surplus)


def bank_lines_not_undoable(bank_line_refs: Iterable[str]) -> set[str]:
    """Of these bank lines, the ones whose recorded money undo_bank_line would refuse to take back."""
    refs = [ref for ref in bank_line_refs if ref]
    if not refs:
        return set()
    receipts = {r.line_ref: r for r in BankReceipt.select().where(BankReceipt.line_ref.in_(refs))}
    paid = dict(Donation.select(Donation.bank_line_ref, Donation.id).where(Donation.bank_line_ref.in_(refs)).tuples())
    ids = {r.donation_id for r in receipts.values()} | set(paid.values())
    if not ids:
        return set()
    statuses = dict(Donation.select(Donation.id, Donation.status).where(Donation.id.in_(list(ids))).tuples())
    by_donation: dict[int, list[BankReceipt]] = {}
    for row in BankReceipt.select().where(BankReceipt.donation.in_(list(ids))).order_by(BankReceipt.id):
        by_donation.setdefault(row.donation_id, []).append(row)
    blocked = set()
    for ref in refs:
        receipt = receipts.get(ref)
        donation_id = receipt.donation_id if receipt is not None else paid.get(ref)
        if donation_id is None:
            continue
        after = receipt.id if receipt is not None else 0
        later = [r for r in by_donation.get(donation_id, []) if r.id > after]
        if _undo_blocked(statuses[donation_id], receipt, later):
            blocked.add(ref)
    return blocked


def undo_bank_line(bank_line_ref: str, actor: User | None, reason: str) -> BankResult:
    """Take back what one bank line recorded (a match made by mistake): the payment, part, duplicate
    or refund is removed and its money posted back through the ledger, dated as the original (the
    ledger books it in the first open month when that month is closed). Only the latest money of a
    request can be taken back: a later part, refund or kept surplus must go first (GivingError).
    When the request's receipt (or VAT invoice) was issued, a credit note takes what the line
    counted off it in the same transaction; paid after all, the request's receipt counts again by a
    reversal of that note (one receipt, never a second one for the same money).

    Status: undone (the request is pending again when the line had settled it), nothing_recorded."""
    line = (bank_line_ref or "").strip()
    with atomic_write():
        receipt = BankReceipt.get_or_none(BankReceipt.line_ref == line) if line else None
        paid = Donation.get_or_none(Donation.bank_line_ref == line) if line and receipt is None else None
        if receipt is None and paid is None:
            refund = Refund.get_or_none((Refund.stripe_refund_id == f"bank:{line}") & (Refund.status == "succeeded"))
            if line and refund is not None:
                return _undo_bank_refund(refund, actor, reason, line)
            return BankResult("nothing_recorded")
        donation = _lock(Donation, receipt.donation_id if receipt is not None else paid.id)
        later = list(BankReceipt.select().where((BankReceipt.donation == donation.id)
                                                & (BankReceipt.id > (receipt.id if receipt else 0)))
                     .order_by(BankReceipt.id))
        kept = [r for r in later if r.kind == "kept"]
        # A gift refunded (by bank, issue 14) keeps the payment it refunded: undo the refund first.
        carried_gift = receipt is None or receipt.counted_cents > 0
        refunded = carried_gift and Refund.select().where(
            (Refund.donation == donation.id) & (Refund.status == "succeeded")).exists()
        if _undo_blocked(donation.status, receipt, later) or refunded:
            raise GivingError(_l("Later money of %(number)s was recorded after this line (a part, a refund or a "
                                 "kept surplus): undo that first, or record a correction.", number=donation.number))
        for row in kept:   # the surplus of this very line, kept as a gift: taken back with it
            _post_money(donation, key=f"donation:{donation.id}:kept:{row.id}", source="donation.bank_undone",
                        dated_on=row.received_on, gross=-row.counted_cents, fee=0, net=-row.counted_cents, lines=-1)
            row.delete_instance()
        settled_by_line = False
        taken, taken_on = 0, None   # what of the request's amount this line counted, and when
        if receipt is not None:
            if receipt.counted_cents:
                _post_money(donation, key=f"donation:{donation.id}:bank:{receipt.id}", source="donation.bank_undone",
                            dated_on=receipt.received_on, gross=-receipt.counted_cents, fee=0,
                            net=-receipt.counted_cents, lines=-1)
                settled_by_line = donation.status == "paid" and donation.bank_line_ref is None
                taken, taken_on = receipt.counted_cents, receipt.received_on
            PaymentIssue.update(resolved_at=utcnow(), resolved_by=getattr(actor, "id", actor),
                                resolution=f"bank line unmatched: {reason}"[:1000]).where(
                (PaymentIssue.source == line[:255]) & PaymentIssue.resolved_at.is_null()).execute()
            receipt.delete_instance()
        else:
            _post_money(donation, key=f"donation:{donation.id}", source="donation.bank_undone",
                        dated_on=donation.paid_on, gross=-donation.amount_cents, fee=-(donation.fee_cents or 0),
                        net=-(donation.net_cents if donation.net_cents is not None else donation.amount_cents),
                        lines=-1)
            settled_by_line = True
            taken, taken_on = donation.amount_cents, donation.paid_on
        if taken:
            _credit_unmatched(donation, taken, taken_on, line)
        if settled_by_line:
            Donation.update(status="pending", paid_on=None, paid_at=None, bank_line_ref=None, paid_recorded_by=None,
                            fee_cents=None, net_cents=None, updated_at=utcnow()).where(
                (Donation.id == donation.id) & (Donation.status == "paid")).execute()
        audit.record("donation.bank_undone", actor=actor, company=donation.company_id, obj=donation, bank_line=line,
                     reason=reason, reopened=settled_by_line, kind=receipt.kind if receipt is not None else "payment",
                     amount_cents=receipt.amount_cents if receipt is not None else donation.amount_cents)
    return BankResult("undone", donation.id)


def _credit_unmatched(donation: Donation, cents: int, paid_on: dt.date, line: str) -> CreditNote | None:
    """Money a bank line brought to a request is taken back (matched by mistake) after the request's
    receipt or invoice was issued: a credit note takes what the line counted off that document, in
    the transaction that takes the money off the books (an issued document is never changed). None
    when no receipt was issued yet: it is made when the request is paid (again)."""
    if not Document.select().where((Document.donation == donation.id) & (Document.kind == "receipt")).exists():
        return None
    prefix = f"{corrections.UNMATCHED}{donation.id}:"
    earlier = CreditNote.select().where((CreditNote.donation == donation.id) & CreditNote.source.startswith(prefix))
    return _credit(donation, source=f"{prefix}{earlier.count() + 1}", kind="refund", amount_cents=cents,
                   happened_on=paid_on, bank_line=line)


def _restore_unmatched(donation: Donation, paid_on: dt.date) -> None:
    """A request whose mistaken match was credited on its issued receipt is paid after all: that
    receipt counts again through a reversal of each such credit note (the request never gets a
    second receipt: one document counts its money)."""
    prefix = f"{corrections.UNMATCHED}{donation.id}:"
    for note in (CreditNote.select().where((CreditNote.donation == donation.id) & CreditNote.source.startswith(prefix))
                 .order_by(CreditNote.id)):
        corrections.reverse(donation, note.source, happened_on=paid_on)


def _undo_bank_refund(refund: Refund, actor: User | None, reason: str, line: str) -> BankResult:
    """Take back a bank refund of a gift matched by mistake: the refund is cancelled, its ledger line
    undone (dated as it was), and its credit note taken back by a reversal (issued documents stay)."""
    donation = _lock(Donation, refund.donation_id)
    moved = (Refund.update(status="canceled", updated_at=utcnow())
             .where((Refund.id == refund.id) & (Refund.status == "succeeded")).execute())
    if not moved:
        return BankResult("nothing_recorded")
    _post_money(donation, key=f"donation:{donation.id}:refund:{refund.id}", source="refund.canceled",
                dated_on=refund.succeeded_on, lines=-1, gross=refund.amount_cents, fee=0, net=refund.amount_cents)
    corrections.reverse(donation, f"refund:{refund.id}", happened_on=clock.today())
    audit.record("donation.bank_undone", actor=actor, company=donation.company_id, obj=donation, bank_line=line,
                 reason=reason, reopened=False, kind="refund_of_gift", amount_cents=-refund.amount_cents)
    return BankResult("undone", donation.id)


def keep_surplus(donation_id: int, actor: User, on: dt.date | None = None) -> BankResult:
    """The company agreed that the surplus on its request stays as a gift: counted and posted."""
    on = on or clock.today()
    with atomic_write():
        donation = _lock(Donation, donation_id)
        if donation is None:
            raise GivingError(_l("This donation does not exist."))
        balance = bank_balance(donation)
        if balance.surplus_cents <= 0 or donation.company_id is None:
            raise GivingError(_l("There is no surplus to keep on this request."))
        _keep_surplus(donation, actor, on, balance.surplus_cents)
    return BankResult("surplus_kept", donation.id)


def _keep_surplus(donation: Donation, actor: User | None, on: dt.date, cents: int) -> None:
    number = BankReceipt.select().where((BankReceipt.donation == donation.id) & (BankReceipt.kind == "kept")).count()
    receipt = BankReceipt.create(donation=donation.id, line_ref=f"kept:{donation.id}:{number + 1}", kind="kept",
                                 amount_cents=0, counted_cents=cents, received_on=on, recorded_by=getattr(actor, "id", actor))
    _post_money(donation, key=f"donation:{donation.id}:kept:{receipt.id}", source="donation.surplus_kept",
                dated_on=on, gross=cents, fee=0, net=cents)
    audit.record("donation.surplus_kept", actor=actor, company=donation.company_id, obj=donation, amount_cents=cents,
                 on=on.isoformat())
