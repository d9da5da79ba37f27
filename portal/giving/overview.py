"""What a company sees of its giving (rows, filters, totals, CSV) and the project leader's desk
(open requests, waiting gifts, issues, pledges and the counts of what needs attention)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import peewee
from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.accounts.models import User
from portal.core import audit, clock, ledger
from portal.core.db import atomic_write, is_sqlite, utcnow
from portal.core.prepared import Prepared
from portal.core.spreadsheet import Euros, csv_style, styled_csv_bytes
from portal.giving import documents
from portal.giving.base import (
    CLASSIFICATION_LABELS,
    COMPLETED_STATUSES,
    METHOD_LABELS,
    STATUS_LABELS,
    STOPPED_STATUSES,
    GivingError,
    counts,
)
from portal.giving.checks import _text
from portal.giving.contributions import _earmark
from portal.giving.documents import amsterdam_date
from portal.giving.gifts import waiting_gifts
from portal.giving.materials import NeedView, needs
from portal.giving.models import (
    CLASSIFICATIONS,
    CreditNote,
    Dispute,
    Donation,
    Invoice,
    MaterialPledge,
    PaymentIssue,
    Refund,
)
from portal.giving.receipts import document_kinds


@dataclass(frozen=True)
class Filters:
    kind: str = ""            # "", money, material
    state: str = ""           # "", open, completed, stopped
    classification: str = ""  # "", gift, sponsoring
    year: int | None = None

    @classmethod
    def parse(cls, args: Any) -> Filters:
        kind = args.get("kind", "") if args.get("kind", "") in ("money", "material") else ""
        state = args.get("state", "") if args.get("state", "") in ("open", "completed", "stopped") else ""
        classification = args.get("classification", "") if args.get("classification", "") in CLASSIFICATIONS else ""
        try:
            year = int(args.get("year", "") or 0) or None
        except ValueError:
            year = None
        if year is not None and not 2000 <= year <= 2100:
            year = None
        return cls(kind, state, classification, year)

    def as_args(self) -> dict[str, str]:
        values = {"kind": self.kind, "state": self.state, "classification": self.classification,
                  "year": str(self.year or "")}
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class Row:
    kind: str                 # money or material
    id: int
    number: str
    on: dt.date
    description: str
    method: str
    classification: str
    status: str
    amount_cents: int         # money: the amount; material: confirmed value, else declared value
    refunded_cents: int = 0
    fee_cents: int | None = None
    net_cents: int | None = None
    reference: str = ""
    earmark: str = ""
    documents: tuple[str, ...] = ()
    note: str = ""
    credit_notes: tuple[tuple[int, str, str], ...] = ()   # (id, number, kind) of each credit note
    invoice_number: str = ""                               # the receipt is this VAT invoice

    @property
    def state(self) -> str:
        if self.status in COMPLETED_STATUSES:
            return "completed"
        return "stopped" if self.status in STOPPED_STATUSES else "open"

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))


def donation_description(donation: Donation, *, translated: bool = True) -> str:
    """'Gift: OBS De Klimop · reading books'; plain English for contributions (read outside requests)."""
    label = str(CLASSIFICATION_LABELS[donation.classification]) if translated else donation.classification.capitalize()
    return f"{label}: {_earmark(donation)}" if _earmark(donation) else label


def _year_of(column: peewee.Node, *, moment: bool = False) -> peewee.Node:
    """SQL for the calendar year of a date column, or of a naive UTC `*_at` column in Amsterdam: on
    1 January Amsterdam is always one hour ahead of UTC (CET), so UTC plus an hour has its year."""
    if is_sqlite():
        return peewee.fn.strftime("%Y", column, "+1 hour").cast("INTEGER") if moment else (
            peewee.fn.strftime("%Y", column).cast("INTEGER"))
    shifted = column + peewee.SQL("INTERVAL '1 hour'") if moment else column
    return peewee.fn.date_part("year", shifted).cast("INTEGER")


def _utc_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The naive UTC moments at which the year begins and ends in Amsterdam."""
    def midnight(on_year: int) -> dt.datetime:
        local = dt.datetime(on_year, 1, 1, tzinfo=clock.AMSTERDAM)
        return local.astimezone(dt.UTC).replace(tzinfo=None)
    return midnight(year), midnight(year + 1)


def _in_year(year: int, *dates: peewee.Field, created: peewee.Field) -> peewee.Expression:
    """A row whose shown date (the first of `dates` that is set, else the Amsterdam date it was
    created on) falls in `year`: a condition the database checks, for one year's rows only."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    since, until = _utc_bounds(year)
    condition, unset = None, None
    for column in dates:
        here = column.between(first, last) if unset is None else (unset & column.between(first, last))
        condition = here if condition is None else (condition | here)
        unset = column.is_null() if unset is None else (unset & column.is_null())
    return condition | (unset & (created >= since) & (created < until))


def _state_condition(status: peewee.Field, state: str) -> peewee.Expression | None:
    """The statuses of a Row.state ("open", "completed", "stopped"), as SQL."""
    if state == "completed":
        return status.in_(COMPLETED_STATUSES)
    if state == "stopped":
        return status.in_(STOPPED_STATUSES)
    if state == "open":
        return status.not_in(COMPLETED_STATUSES + STOPPED_STATUSES)
    return None


def company_years(company_id: int) -> list[int]:
    """The years with a contribution of the company (by the date each row shows), newest first: one
    grouped query, not the rows."""
    donations = Donation.select(_year_of(Donation.paid_on).alias("year")).where(
        (Donation.company == company_id) & Donation.paid_on.is_null(False) & counts())
    requests = Donation.select(_year_of(Donation.created_at, moment=True).alias("year")).where(
        (Donation.company == company_id) & Donation.paid_on.is_null() & counts())
    pledges = MaterialPledge.select(_year_of(peewee.fn.COALESCE(MaterialPledge.confirmed_on,
                                                                MaterialPledge.delivered_on)).alias("year")).where(
        (MaterialPledge.company == company_id)
        & (MaterialPledge.confirmed_on.is_null(False) | MaterialPledge.delivered_on.is_null(False)))
    offers = MaterialPledge.select(_year_of(MaterialPledge.created_at, moment=True).alias("year")).where(
        (MaterialPledge.company == company_id) & MaterialPledge.confirmed_on.is_null()
        & MaterialPledge.delivered_on.is_null())
    query = donations | requests | pledges | offers  # UNION: each year once
    return sorted({int(year) for (year,) in query.tuples() if year is not None}, reverse=True)


def shown_year(filters: Filters, years: list[int]) -> Filters:
    """The filters with the year the page shows: the one asked for, else the newest with rows (else
    this year). The page reads one year at a time, so its cost does not grow with the history."""
    if filters.year is not None:
        return filters
    return replace(filters, year=years[0] if years else clock.today().year)


def company_rows(company_id: int, filters: Filters | None = None) -> list[Row]:
    """The money and material contributions of one company in one year (the filter's, else the
    newest with rows), newest first, as filtered: filtered in SQL, refunds and disputes joined."""
    filters = filters or Filters()
    if filters.year is None:
        filters = shown_year(filters, company_years(company_id))
    year = filters.year
    rows: list[Row] = []
    if filters.kind in ("", "money"):
        condition = ((Donation.company == company_id) & counts()
                     & _in_year(year, Donation.paid_on, created=Donation.created_at))
        if filters.classification:
            condition &= Donation.classification == filters.classification
        refunded, lost, gone = _taken_back()
        state = _state_condition(Donation.status, filters.state)
        if filters.state == "completed":
            condition &= state & ~gone
        elif filters.state == "stopped":
            condition &= state | gone
        elif state is not None:
            condition &= state
        donations = list(Donation.select(Donation, refunded.alias("refunded"), lost.alias("lost")).where(condition)
                         .order_by(Donation.id))
        notes: dict[int, list[str]] = {}
        credit_notes: dict[int, list[tuple[int, str, str]]] = {}
        if donations:
            disputes = (Dispute.select(Dispute.donation, Dispute.status)
                        .join(Donation, on=(Dispute.donation == Donation.id)).where(condition).order_by(Dispute.id))
            for donation_id, status in disputes.tuples():
                notes.setdefault(donation_id, []).append(str(_l("disputed (%(status)s)", status=status)))
            for note in (CreditNote.select(CreditNote.id, CreditNote.donation, CreditNote.year, CreditNote.sequence,
                                           CreditNote.kind)
                         .join(Donation, on=(CreditNote.donation == Donation.id)).where(condition)
                         .order_by(CreditNote.id)):
                credit_notes.setdefault(note.donation_id, []).append((note.id, note.number, note.kind))
        invoices = {}
        if donations:
            invoices = {i.donation_id: i.number for i in Invoice.select(
                Invoice.donation, Invoice.year, Invoice.sequence)
                .join(Donation, on=(Invoice.donation == Donation.id)).where(condition)}
        for d in donations:
            refunded = int(d.refunded or 0)
            taken_back = refunded + int(d.lost or 0)
            status = "refunded" if d.status == "paid" and taken_back >= d.amount_cents else d.status
            if refunded and status != "refunded":
                notes.setdefault(d.id, []).insert(0, str(_l("partly refunded")))
            rows.append(Row("money", d.id, d.number, d.paid_on or amsterdam_date(d.created_at), donation_description(d),
                            d.method, d.classification, status, d.amount_cents, refunded, d.fee_cents, d.net_cents,
                            (documents.format_reference(d.reference) if d.reference else d.stripe_payment_intent_id or ""),
                            _earmark(d), tuple(document_kinds(d)), "; ".join(notes.get(d.id, [])),
                            tuple(credit_notes.get(d.id, [])), invoices.get(d.id, "")))
    if filters.kind in ("", "material"):
        condition = (MaterialPledge.company == company_id) & _in_year(
            year, MaterialPledge.confirmed_on, MaterialPledge.delivered_on, created=MaterialPledge.created_at)
        if filters.classification:
            condition &= MaterialPledge.classification == filters.classification
        state = _state_condition(MaterialPledge.status, filters.state)
        if state is not None:
            condition &= state
        for p in MaterialPledge.select().where(condition).order_by(MaterialPledge.id):
            on = p.confirmed_on or p.delivered_on or amsterdam_date(p.created_at)
            rows.append(Row("material", p.id, f"M-{p.id:06d}", on, f"{p.quantity} × {p.description}", "in_kind",
                            p.classification, p.status, p.confirmed_value_cents or p.declared_value_cents,
                            note=p.decline_reason if p.status == "declined" else (
                                "" if p.status == "confirmed" else str(_l("declared value")))))
    return sorted(rows, key=lambda r: (r.on, r.kind, r.id), reverse=True)


def _taken_back() -> tuple[peewee.Node, peewee.Node, peewee.Expression]:
    """SQL per donation row: its succeeded refunds, its lost chargebacks (not reinstated), and whether
    together they take back all of a paid donation (then it shows as refunded, never as received)."""
    refund = Refund.alias()
    refunded = (refund.select(peewee.fn.COALESCE(peewee.fn.SUM(refund.amount_cents), 0))
                .where((refund.donation == Donation.id) & (refund.status == "succeeded")))
    dispute = Dispute.alias()
    lost = (dispute.select(peewee.fn.COALESCE(peewee.fn.SUM(
        peewee.fn.COALESCE(dispute.withdrawn_cents, dispute.amount_cents)
        - peewee.fn.COALESCE(dispute.reinstated_cents, 0)), 0))
        .where((dispute.donation == Donation.id) & (dispute.status == "lost")))
    # Each subquery wrapped as a value: `select + select` would be peewee's UNION ALL, not a sum.
    taken = peewee.fn.COALESCE(refunded, 0) + peewee.fn.COALESCE(lost, 0)
    return refunded, lost, (Donation.status == "paid") & (taken >= Donation.amount_cents)


@dataclass(frozen=True)
class Totals:
    money_cents: int       # paid, minus refunds and chargebacks
    materials_cents: int   # confirmed value
    open_requests: int
    open_pledges: int


def company_totals(company_id: int, year: int | None = None) -> Totals:
    """The company's money and materials of a year (all years: None) from the ledger's maintained
    totals (by the month each change is booked in), and what is still open: two queries."""
    start, end = (dt.date(year, 1, 1), dt.date(year, 12, 31)) if year else (None, None)
    sums = {row["kind"]: row for row in ledger.totals(by=("kind",), company_id=company_id, start=start, end=end,
                                                       kinds=("money", "material"))}
    money_cents = int(sums["money"]["gross_cents"]) if "money" in sums else 0
    materials = int(sums["material"]["value_cents"]) if "material" in sums else 0
    requests, pledges = _OPEN.first(company=company_id)
    return Totals(money_cents, materials, int(requests), int(pledges))


# A company's open payment requests (bank transfers it has not refused) and open pledges of materials.
_OPEN = Prepared(lambda company: peewee.Select(columns=[
    Donation.select(peewee.fn.COUNT(Donation.id)).where(
        (Donation.company == company) & (Donation.method == "bank") & (Donation.status == "pending") & counts()),
    MaterialPledge.select(peewee.fn.COUNT(MaterialPledge.id)).where(
        (MaterialPledge.company == company) & MaterialPledge.status.in_(("pledged", "accepted", "delivered")))]).tuples())


# The export's columns, named in the reader's language (a finance desk opens it in a spreadsheet).
CSV_COLUMNS = {"type": _l("Kind"), "number": _l("Number"), "date": _l("Date"), "description": _l("Description"),
               "method": _l("Method"), "classification": _l("Gift or sponsoring"), "status": _l("Status"),
               "amount_eur": _l("Amount (EUR)"), "refunded_eur": _l("Refunded (EUR)"), "fee_eur": _l("Fee (EUR)"),
               "net_eur": _l("Net (EUR)"), "reference": _l("Reference"), "earmark": _l("Earmarked for"), "note": _l("Note")}


def csv_file(rows: Iterable[Row], language: str) -> bytes:
    """The export as a CSV file for the reader's spreadsheet (portal.core.spreadsheet.CsvStyle: a
    Dutch reader's file is `;`-separated with decimal commas), text cells never a formula."""
    return styled_csv_bytes([str(label) for label in CSV_COLUMNS.values()], ([
        str(_l("money")) if r.kind == "money" else str(_l("material")), r.number, r.on, r.description,
        str(METHOD_LABELS.get(r.method, r.method)), str(CLASSIFICATION_LABELS.get(r.classification, "")),
        r.status_label, Euros(r.amount_cents), Euros(r.refunded_cents) if r.kind == "money" else "",
        Euros(r.fee_cents) if r.fee_cents is not None else "", Euros(r.net_cents) if r.net_cents is not None else "",
        r.reference, r.earmark, r.note] for r in rows), csv_style(language))


@dataclass(frozen=True)
class Desk:
    issues: list[PaymentIssue]
    open_requests: list[Donation]
    stuck: list[Donation]
    recent: list[Donation]
    pledges: list[MaterialPledge]
    needs: list[NeedView]
    today: dt.date
    waiting: list[Donation] = field(default_factory=list)
    refunded: set[int] = field(default_factory=set)    # of `recent`: refunded in full


def desk(today: dt.date | None = None) -> Desk:
    today = today or clock.today()
    days = int(current_app.config.get("PENDING_ALERT_DAYS") or 14)
    horizon = utcnow() - dt.timedelta(days=days)
    return Desk(
        issues=list(PaymentIssue.select().where(PaymentIssue.resolved_at.is_null()).order_by(PaymentIssue.id)),
        open_requests=list(Donation.select().where((Donation.method == "bank") & (Donation.status == "pending"))
                           .order_by(Donation.due_on, Donation.id)),
        stuck=list(Donation.select().where((Donation.method == "stripe") & Donation.status.in_(("pending", "processing"))
                                           & (Donation.created_at < horizon)).order_by(Donation.id)),
        recent=list(Donation.select().where(Donation.status == "paid").order_by(Donation.paid_at.desc()).limit(25)),
        pledges=list(MaterialPledge.select().where(MaterialPledge.status.in_(("pledged", "accepted", "delivered")))
                     .order_by(MaterialPledge.id)),
        needs=needs(published_only=False),
        today=today,
        waiting=waiting_gifts(None),
        refunded={d_id for (d_id,) in Donation.select(Donation.id).where(
            Donation.id.in_(Donation.select(Donation.id).where(Donation.status == "paid")
                            .order_by(Donation.paid_at.desc()).limit(25)) & _taken_back()[2]).tuples()},
    )


def attention_counts(today: dt.date | None = None) -> dict[str, int]:
    """What the reconciliation desk's attention list counts of giving, counted in SQL: Stripe gifts
    pending longer than PENDING_ALERT_DAYS plus bank requests created that long ago, requests past
    their due date, open payment issues, and pledges not yet delivered."""
    today = today or clock.today()
    days = int(current_app.config.get("PENDING_ALERT_DAYS") or 14)
    horizon = utcnow() - dt.timedelta(days=days)
    requests = Donation.select().where((Donation.method == "bank") & (Donation.status == "pending"))
    stuck = Donation.select().where((Donation.method == "stripe") & Donation.status.in_(("pending", "processing"))
                                    & (Donation.created_at < horizon))
    return {
        "pending_long": stuck.count() + requests.where(Donation.created_at < horizon).count(),
        "overdue": requests.where(Donation.due_on < today).count(),
        "issues": PaymentIssue.select().where(PaymentIssue.resolved_at.is_null()).count(),
        "pledges": MaterialPledge.select().where(MaterialPledge.status.in_(("pledged", "accepted"))).count(),
    }


def leader_counts() -> dict[str, int]:
    return {
        "issues": PaymentIssue.select().where(PaymentIssue.resolved_at.is_null()).count(),
        "requests": Donation.select().where((Donation.method == "bank") & (Donation.status == "pending")).count(),
        "pledges": MaterialPledge.select().where(MaterialPledge.status.in_(("pledged", "accepted", "delivered"))).count(),
    }


def resolve_issue(leader: User, issue_id: int, resolution: str) -> bool:
    text = _text(resolution, 1000, "resolution", required=True, multiline=True)
    with atomic_write():
        issue = PaymentIssue.get_or_none(PaymentIssue.id == issue_id)
        if issue is None:
            raise GivingError(_l("This issue does not exist."))
        done = (PaymentIssue.update(resolved_at=utcnow(), resolved_by=leader.id, resolution=text)
                .where((PaymentIssue.id == issue_id) & PaymentIssue.resolved_at.is_null()).execute())
        if done:
            audit.record("giving.issue_resolved", actor=leader, object_type="paymentissue", object_id=issue_id,
                         kind=issue.kind, resolution=text)
    return bool(done)
