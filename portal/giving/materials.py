"""Materials: the needs the project leader publishes, a company's pledges of materials, and their
moves (accepted, declined, delivered, confirmed with a value), with the mails they cause."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import peewee
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company, User
from portal.core import audit, clock, ledger, mail, money
from portal.core.db import atomic_write, utcnow
from portal.core.urls import external_url
from portal.giving.base import STATUS_LABELS, TOKEN_SHAPE, GivingError, _lock, leaders
from portal.giving.checks import _school, _text, check_no_control, max_cents
from portal.giving.models import CLASSIFICATIONS, MAX_QUANTITY, MaterialNeed, MaterialPledge


def _quantity(value: Any, field_name: str = "quantity") -> int:
    try:
        return money.parse_quantity(value, maximum=MAX_QUANTITY)
    except money.AmountError as error:
        raise GivingError(error.message, field_name) from None


def publish_need(leader: User, *, item: str, description: str, quantity: Any, school_id: int | None,
                 needed_by: dt.date | None, today: dt.date | None = None) -> MaterialNeed:
    """Publish what a school needs, for companies to pledge against."""
    item = _text(item, 200, "item", required=True)
    check_no_control(description, "description", multiline=True)
    description = (description or "").strip()[:2000]
    quantity = _quantity(quantity)
    school_id, school_name = _school(school_id, "school")
    if needed_by is not None and needed_by < (today or clock.today()):
        raise GivingError(_l("The date cannot be in the past."), "needed_by")
    with atomic_write():
        need = MaterialNeed.create(item=item, description=description, quantity=quantity, school_id=school_id,
                                   school_name=school_name, needed_by=needed_by, created_by=leader.id)
        audit.record("material.need_published", actor=leader, obj=need, item=item, quantity=quantity)
    return need


def close_need(leader: User, need_id: int) -> bool:
    with atomic_write():
        closed = (MaterialNeed.update(status="closed", closed_at=utcnow())
                  .where((MaterialNeed.id == need_id) & (MaterialNeed.status == "published")).execute())
        if closed:
            audit.record("material.need_closed", actor=leader, object_type="materialneed", object_id=need_id)
    return bool(closed)


@dataclass(frozen=True)
class NeedView:
    need: MaterialNeed
    pledged: int        # quantity offered or on its way (not declined)
    received: int       # quantity confirmed


def needs(*, published_only: bool = True) -> list[NeedView]:
    query = MaterialNeed.select().order_by(MaterialNeed.needed_by.asc(nulls="LAST"), MaterialNeed.id)
    if published_only:
        query = query.where(MaterialNeed.status == "published")
    rows = list(query)
    totals: dict[int, list[int]] = {need.id: [0, 0] for need in rows}
    if rows:
        pledges = (MaterialPledge.select(MaterialPledge.need, MaterialPledge.status,
                                         peewee.fn.SUM(MaterialPledge.quantity))
                   .where(MaterialPledge.need.in_([n.id for n in rows]) & (MaterialPledge.status != "declined"))
                   .group_by(MaterialPledge.need, MaterialPledge.status).tuples())
        for need_id, status, quantity in pledges:
            totals[need_id][0] += int(quantity)
            if status == "confirmed":
                totals[need_id][1] += int(quantity)
    return [NeedView(need, *totals[need.id]) for need in rows]


@dataclass
class PledgeInput:
    description: str
    quantity: Any
    declared_value_cents: int
    classification: str
    form_token: str
    need_id: int | None = None


def pledge(user: User, data: PledgeInput) -> tuple[MaterialPledge, bool]:
    """A company offers materials, against a published need or on its own (a double click: one pledge)."""
    if user.company_id is None:
        raise GivingError(_l("Only a company can offer materials."))
    if not TOKEN_SHAPE.match(data.form_token or ""):
        raise GivingError(_l("The form has expired. Please submit it again."))
    need = None
    if data.need_id:
        need = MaterialNeed.get_or_none((MaterialNeed.id == data.need_id) & (MaterialNeed.status == "published"))
        if need is None:
            raise GivingError(_l("This need is no longer open."), "need")
    description = _text(data.description, 500, "description", required=need is None) or (need.item if need else "")
    quantity = _quantity(data.quantity)
    value = data.declared_value_cents
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise GivingError(_l("The amount must be more than zero."), "declared_value")
    if value > max_cents("bank"):
        raise GivingError(_l("The amount cannot be more than %(maximum)s.", maximum=money.format_eur(max_cents("bank"))),
                          "declared_value")
    if data.classification not in CLASSIFICATIONS:
        raise GivingError(_l("Choose whether this is a gift or sponsoring."), "classification")
    try:
        with atomic_write():
            row = MaterialPledge.create(company=user.company_id, need=need.id if need else None, created_by=user.id,
                                        description=description, quantity=quantity, declared_value_cents=value,
                                        classification=data.classification, form_token=data.form_token)
            audit.record("material.pledged", actor=user, company=user.company_id, obj=row, quantity=quantity,
                         declared_value_cents=value, need=need.id if need else None)
            for leader in leaders():
                mail.send_template(leader.email, "giving/pledge_for_leader", leader.language,
                                   _l("New offer of materials"), leader=leader, pledge=row, company=user.company,
                                   need=need, link=external_url("giving.leader_pledge", pledge_id=row.id))
    except peewee.IntegrityError:
        existing = MaterialPledge.get_or_none(MaterialPledge.form_token == data.form_token)
        if existing is None or existing.company_id != user.company_id:
            raise GivingError(_l("The form has expired. Please submit it again.")) from None
        return existing, False
    return row, True


PLEDGE_MOVES = {
    "accept": ("accepted", ("pledged",)),
    "decline": ("declined", ("pledged", "accepted")),
    "deliver": ("delivered", ("accepted",)),
    "confirm": ("confirmed", ("delivered",)),
}


def move_pledge(leader: User, pledge_id: int, action: str, *, reason: str = "", on: dt.date | None = None,
                value_cents: int | None = None, today: dt.date | None = None) -> MaterialPledge:
    """The project leader accepts, declines, records delivery of or confirms (with its value) a pledge."""
    if action not in PLEDGE_MOVES:
        raise GivingError(_l("Unknown action."))
    to, from_ = PLEDGE_MOVES[action]
    today = today or clock.today()
    values: dict[str, Any] = {"status": to, "decided_by": leader.id, "updated_at": utcnow()}
    if action == "decline":
        values["decline_reason"] = _text(reason, 1000, "reason", required=True, multiline=True)
    if action in ("deliver", "confirm"):
        if on is None:
            raise GivingError(_l("Enter a valid date."), "on")
        if on > today:
            raise GivingError(_l("The date cannot be in the future."), "on")
    if on is not None and action in ("deliver", "confirm"):
        if ledger.is_closed(on):
            raise GivingError(_l("%(date)s lies in a closed period: choose a date after it, or record a "
                                 "correction in the reconciliation.", date=on.isoformat()), "on")
    if action == "deliver":
        values["delivered_on"] = on
    if action == "confirm":
        if isinstance(value_cents, bool) or not isinstance(value_cents, int) or value_cents <= 0:
            raise GivingError(_l("The amount must be more than zero."), "value")
        if value_cents > max_cents("bank"):
            raise GivingError(_l("The amount cannot be more than %(maximum)s.",
                                 maximum=money.format_eur(max_cents("bank"))), "value")
        values.update(confirmed_value_cents=value_cents, confirmed_on=on)
    with atomic_write():
        row = _lock(MaterialPledge, pledge_id)
        if row is None:
            raise GivingError(_l("This offer does not exist."))
        if action == "confirm" and row.delivered_on and on < row.delivered_on:
            raise GivingError(_l("The value is confirmed on or after the day of delivery."), "on")
        moved = (MaterialPledge.update(**values)
                 .where((MaterialPledge.id == row.id) & MaterialPledge.status.in_(from_)).execute())
        if not moved:
            raise GivingError(_l("This offer is %(status)s; that step is not possible now.",
                                 status=STATUS_LABELS.get(row.status, row.status)))
        if action == "confirm":
            ledger.post(company_id=row.company_id, dated_on=on, kind="material", key=f"material:{row.id}",
                        source="material.confirmed", basis="market_value", classification=row.classification,
                        method="in_kind", value_cents=value_cents, subject_id=row.id)
        audit.record(f"material.{to}", actor=leader, company=row.company_id, obj=row, before=row.status,
                     **{k: v for k, v in values.items() if k not in ("status", "decided_by", "updated_at")})
        row = MaterialPledge.get_by_id(row.id)
        _mail_pledge(row)
    return row


def _mail_pledge(row: MaterialPledge) -> None:
    company = Company.get_by_id(row.company_id)
    user = User.get_or_none((User.id == row.created_by_id) & User.is_active) if row.created_by_id else None
    to = user.email if user else company.billing_email
    language = (user.language if user else company.language) or "nl"
    mail.send_template(to, "giving/pledge_status", language, _l("Your offer of materials: %(status)s",
                                                                status=STATUS_LABELS[row.status]),
                       pledge=row, company=company, status_label=STATUS_LABELS[row.status], link=external_url("giving.index"))
