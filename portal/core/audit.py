"""Append-only, hash-chained audit log.

Each row stores the hash of the row before it and its own hash over its content, so a row
changed or removed behind the application's back breaks the chain (`portal audit verify`).
Database triggers (see the migrations) refuse UPDATE and DELETE on the table.
Call `record()` inside the same transaction as the change it describes.
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


MODELS = (AuditLog,)


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


@dataclass(frozen=True)
class ChainReport:
    rows: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify() -> ChainReport:
    """Walk the chain in order and report the first row whose link or content is wrong."""
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
        expected_prev = row.row_hash
        previous_id = row.id
    return ChainReport(count)


def _missing(previous_id: int, row_id: int) -> str:
    """'row 4 was' / 'rows 4-6 were' when ids are missing between two rows, else ''."""
    first, last = previous_id + 1, row_id - 1
    if first > last:
        return ""
    return f"row {first} was" if first == last else f"rows {first}-{last} were"
