"""Append-only, hash-chained audit log.

Each row stores the hash of the row before it and its own hash over its content, so a row
changed or removed behind the application's back breaks the chain (`portal audit verify`).
Database triggers (see the migrations) refuse UPDATE and DELETE on the table.
Call `record()` inside the same transaction as the change it describes.

A chain alone cannot show that its newest rows were removed: what is left is still a valid
chain. So moments that matter (each period close, each issued statement) `anchor()` the head:
they write the id and hash of the newest row into `audit_anchor`, which is append-only too, and
`verify()` checks every anchored row is still there with that hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import peewee

from portal.core.db import BaseModel, database, is_sqlite, utcnow

GENESIS = "0" * 64


class AuditLog(BaseModel):
    at = peewee.DateTimeField(default=utcnow)
    actor_id = peewee.IntegerField(null=True)
    company_id = peewee.IntegerField(null=True, index=True)
    action = peewee.CharField(max_length=80, index=True)
    object_type = peewee.CharField(max_length=40, default="")
    object_id = peewee.CharField(max_length=64, default="")
    details = peewee.TextField(default="{}")
    prev_hash = peewee.CharField(max_length=64)
    row_hash = peewee.CharField(max_length=64, unique=True)


class AuditAnchor(BaseModel):
    """The chain's head at a moment that matters; head_id NULL when the log was still empty."""

    reason = peewee.CharField(max_length=120)
    head_id = peewee.IntegerField(null=True)
    head_hash = peewee.CharField(max_length=64)
    at = peewee.DateTimeField(default=utcnow)


MODELS = (AuditLog, AuditAnchor)


def _digest(row: AuditLog | dict) -> str:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    at = get("at")
    payload = json.dumps(
        {
            "at": at.isoformat() if hasattr(at, "isoformat") else str(at),
            "actor_id": get("actor_id"),
            "company_id": get("company_id"),
            "action": get("action"),
            "object_type": get("object_type"),
            "object_id": get("object_id"),
            "details": get("details"),
            "prev_hash": get("prev_hash"),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(action: str, *, actor: Any = None, company: Any = None, obj: Any = None,
           object_type: str = "", object_id: Any = "", **details: Any) -> AuditLog:
    """Append one audit row; must run inside the transaction of the change it records."""
    if database.transaction_depth() == 0:
        raise RuntimeError("audit.record() must run inside the transaction of the change")
    if not is_sqlite():
        # One writer at a time extends the chain; on SQLite the write lock already does this.
        database.execute_sql("SELECT pg_advisory_xact_lock(7300101)")
    last = AuditLog.select(AuditLog.row_hash).order_by(AuditLog.id.desc()).first()
    if obj is not None:
        object_type = object_type or type(obj).__name__.lower()
        object_id = getattr(obj, "id", object_id)
    row = {
        "at": utcnow().replace(microsecond=0),
        "actor_id": getattr(actor, "id", actor),
        "company_id": getattr(company, "id", company),
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id if object_id is not None else ""),
        "details": json.dumps(details, sort_keys=True, default=str),
        "prev_hash": last.row_hash if last else GENESIS,
    }
    row["row_hash"] = _digest(row)
    return AuditLog.create(**row)


def anchor(reason: str) -> AuditAnchor:
    """Record the chain's head (after the audit rows of this transaction); must run inside the
    transaction of the change, after its `record()`."""
    if database.transaction_depth() == 0:
        raise RuntimeError("audit.anchor() must run inside the transaction of the change")
    if not is_sqlite():
        database.execute_sql("SELECT pg_advisory_xact_lock(7300101)")
    head = AuditLog.select(AuditLog.id, AuditLog.row_hash).order_by(AuditLog.id.desc()).first()
    return AuditAnchor.create(reason=reason[:120], head_id=head.id if head else None,
                              head_hash=head.row_hash if head else GENESIS,
                              at=utcnow().replace(microsecond=0))


@dataclass(frozen=True)
class ChainReport:
    rows: int
    broken_at: int | None = None
    reason: str = ""
    anchors: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify() -> ChainReport:
    """Walk the chain in order and report the first row whose link or content is wrong, then
    the first anchor whose row is gone or holds another hash (newest rows removed)."""
    anchors: dict[int, list[AuditAnchor]] = {}
    anchor_count = 0
    for mark in AuditAnchor.select().order_by(AuditAnchor.id).iterator():
        anchor_count += 1
        if mark.head_id is not None:
            anchors.setdefault(mark.head_id, []).append(mark)
    expected_prev = GENESIS
    previous_id = 0
    count = 0
    for row in AuditLog.select().order_by(AuditLog.id).iterator():
        count += 1
        if row.prev_hash != expected_prev:
            missing = _missing(previous_id, row.id)
            reason = (f"{missing} removed before it" if missing
                      else "the link to the previous row is broken (a row was removed or inserted)")
            return ChainReport(count, row.id, reason)
        if _digest(row) != row.row_hash:
            return ChainReport(count, row.id, "the row's content does not match its hash (it was changed)")
        for mark in anchors.pop(row.id, ()):
            if mark.head_hash != row.row_hash:
                return ChainReport(count, row.id, f"the row's hash differs from the one anchored by {_named(mark)}")
        expected_prev = row.row_hash
        previous_id = row.id
    if anchors:
        head_id = min(anchors)
        mark = anchors[head_id][0]
        missing = _missing(previous_id, head_id + 1) or f"row {head_id} was"
        return ChainReport(count, head_id, f"{missing} removed: row {head_id} was the newest when "
                                           f"{_named(mark)} anchored the chain")
    return ChainReport(count, anchors=anchor_count)


def _named(mark: AuditAnchor) -> str:
    at = mark.at.strftime("%Y-%m-%d %H:%M") if hasattr(mark.at, "strftime") else str(mark.at)
    return f"{mark.reason} ({at} UTC)"


def _missing(previous_id: int, row_id: int) -> str:
    """'row 4 was' / 'rows 4-6 were' when ids are missing between two rows, else ''."""
    first, last = previous_id + 1, row_id - 1
    if first > last:
        return ""
    return f"row {first} was" if first == last else f"rows {first}-{last} were"
