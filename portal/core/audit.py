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
import logging
from dataclasses import dataclass, field
from typing import Any

import peewee

from portal.core import tasks
from portal.core.db import BaseModel, database, is_sqlite, utcnow

log = logging.getLogger("portal.audit")

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


class AuditCheck(BaseModel):
    """The outcome of one walk of the whole chain (`check()`): the audit page shows the newest,
    so a page view never walks a chain that grows with every change."""

    checked_at = peewee.DateTimeField(default=utcnow, index=True)
    rows = peewee.IntegerField()
    anchors = peewee.IntegerField(default=0)
    last_id = peewee.IntegerField(null=True)
    broken_at = peewee.IntegerField(null=True)
    problem = peewee.CharField(max_length=20, default="")
    params = peewee.TextField(default="{}")
    requested_by = peewee.IntegerField(null=True)


MODELS = (AuditLog, AuditAnchor, AuditCheck)


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
    """What a walk of the chain found. `problem` is a code (with `params`) that pages render in
    the reader's language; `reason` says the same in English for the command line."""

    rows: int
    broken_at: int | None = None
    problem: str = ""
    params: dict = field(default_factory=dict)
    anchors: int = 0
    last_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None

    @property
    def reason(self) -> str:
        return describe(self.problem, self.params)


def describe(problem: str, params: dict) -> str:
    """The problem in English words (the command line's; the audit page has its own, translated)."""
    missing = _missing(params.get("first"), params.get("last"))
    anchored = f"{params.get('anchor', '')} ({params.get('anchored_at', '')} UTC)"
    return {
        "": "",
        "removed_before": f"{missing} removed before it",
        "link": "the link to the previous row is broken (a row was removed or inserted)",
        "changed": "the row's content does not match its hash (it was changed)",
        "anchor_differs": f"the row's hash differs from the one anchored by {anchored}",
        "newest_removed": f"{missing} removed: row {params.get('head_id')} was the newest when {anchored} "
                          "anchored the chain",
    }.get(problem, problem)


def _anchor_params(mark: AuditAnchor) -> dict:
    at = mark.at.strftime("%Y-%m-%d %H:%M") if hasattr(mark.at, "strftime") else str(mark.at)
    return {"anchor": mark.reason, "anchored_at": at}


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
    columns = ("id", "at", "actor_id", "company_id", "action", "object_type", "object_id", "details",
               "prev_hash", "row_hash")
    query = AuditLog.select(*(getattr(AuditLog, name) for name in columns)).order_by(AuditLog.id)
    for row in query.dicts().iterator():
        count += 1
        row_id = row["id"]
        if row["prev_hash"] != expected_prev:
            if previous_id + 1 < row_id:
                return ChainReport(count, row_id, "removed_before", {"first": previous_id + 1, "last": row_id - 1})
            return ChainReport(count, row_id, "link")
        if _digest(row) != row["row_hash"]:
            return ChainReport(count, row_id, "changed")
        for mark in anchors.pop(row_id, ()):
            if mark.head_hash != row["row_hash"]:
                return ChainReport(count, row_id, "anchor_differs", _anchor_params(mark))
        expected_prev = row["row_hash"]
        previous_id = row_id
    if anchors:
        head_id = min(anchors)
        mark = anchors[head_id][0]
        first = previous_id + 1
        return ChainReport(count, head_id, "newest_removed",
                           {"first": first, "last": max(head_id, first), "head_id": head_id, **_anchor_params(mark)})
    return ChainReport(count, anchors=anchor_count, last_id=previous_id or None)


def check(requested_by: int | None = None) -> AuditCheck:
    """Walk the chain and keep what was found (nightly on the task queue, and when the project
    leader asks on the audit page)."""
    report = verify()
    with database.atomic():
        return AuditCheck.create(rows=report.rows, anchors=report.anchors, last_id=report.last_id,
                                 broken_at=report.broken_at, problem=report.problem,
                                 params=json.dumps(report.params, sort_keys=True), requested_by=requested_by)


@tasks.periodic(tasks.crontab(minute="40", hour="2"))
def check_nightly() -> None:
    """Every night (02:40 UTC): walk the whole chain and keep the outcome for the audit page."""
    found = check()
    if found.broken_at is not None:
        log.error("audit chain broken at row %s: %s", found.broken_at, describe(found.problem, json.loads(found.params)))


@tasks.task(retries=1, retry_delay=60)
def check_requested(user_id: int) -> None:
    """The project leader asked for a walk of the chain on the audit page."""
    check(requested_by=user_id)


def last_check() -> AuditCheck | None:
    return AuditCheck.select().order_by(AuditCheck.id.desc()).first()


def rows_since(last: AuditCheck | None) -> int:
    """Audit rows written after `last` walked the chain (all rows when it never was)."""
    query = AuditLog.select()
    if last is not None and last.last_id is not None:
        query = query.where(AuditLog.id > last.last_id)
    elif last is not None and last.broken_at is not None:
        query = query.where(AuditLog.id > last.broken_at)
    return query.count()


def _missing(first: int | None, last: int | None) -> str:
    """'row 4 was' / 'rows 4-6 were'."""
    if first is None or last is None or first > last:
        return ""
    return f"row {first} was" if first == last else f"rows {first}-{last} were"
