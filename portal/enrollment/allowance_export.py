"""Exporting the volunteer allowance for payment: the open lines of a month range go out in a
batch (a CSV for the bank run), refused while a year has no limits or a warned line has no
decision; an earlier batch can be downloaded again."""

from __future__ import annotations

import datetime as dt
import secrets

import peewee
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal.accounts.models import User
from portal.core import audit
from portal.core.db import atomic_write, utcnow
from portal.core.spreadsheet import Euros, csv_style, styled_csv_bytes
from portal.enrollment.allowance import DECISION_LABELS, LedgerRow, ledger
from portal.enrollment.base import EnrollmentError
from portal.enrollment.models import AllowanceLine

# The batch file's columns, named in the reader's language, as the warnings and decisions are.
EXPORT_COLUMNS = {"batch": _l("Batch"), "month": _l("Month"), "ambassador": _l("Ambassador"), "email": _l("E-mail"),
                  "iban": _l("IBAN"), "company": _l("Company"), "enrolment": _l("Enrolment"),
                  "amount_eur": _l("Amount (EUR)"), "warnings": _l("Warnings")}


def _month_label(row: LedgerRow) -> str:
    return f"{row.enrolment.employee_name} ({row.line.month:%Y-%m})"


def _names(rows: list[LedgerRow], most: int = 20) -> str:
    """'Vera Visser (2026-09); ...' for a message, the first `most` of them."""
    shown = "; ".join(_month_label(row) for row in rows[:most])
    return shown + (f"; … (+{len(rows) - most})" if len(rows) > most else "")


def _csv_notes(row: LedgerRow) -> str:
    notes = list(row.warnings)
    if row.line.decision:
        notes.append(str(_l("Decision: %(decision)s (%(reason)s)", decision=DECISION_LABELS[row.line.decision],
                            reason=row.line.decision_reason or "")))
    if row.line.blocked_at is not None:
        notes.append(str(_l("Blocked from further payment: its hours were reversed after export.")))
    return " | ".join(notes)


def _csv(rows: list[LedgerRow], batch: str, language: str) -> bytes:
    """The batch in `language`, for its spreadsheet: a Dutch reader's file is ;-separated with decimal commas."""
    with force_locale(language):
        return styled_csv_bytes(
            [str(label) for label in EXPORT_COLUMNS.values()],
            [[batch, row.line.month.strftime("%Y-%m"), row.enrolment.employee_name, row.enrolment.employee_email,
              row.enrolment.payout_iban, row.company_name, row.enrolment.id, Euros(row.payable_cents),
              _csv_notes(row)] for row in rows], csv_style(language))


def export_open(actor: User, month_from: dt.date, month_to: dt.date, language: str = "nl") -> tuple[str, bytes]:
    """Mark the open lines of a month range as exported in a new batch; returns (batch, CSV).

    Refused, naming the lines, while a year has no limits or a line has a warning without a decision.
    Lines the leader decided not to pay stay out of the file; blocked lines are never paid again.
    """
    batch = f"A{utcnow():%Y%m%d%H%M%S}{secrets.token_hex(2)}"
    with atomic_write():
        with force_locale(language):  # the warnings, in the file's language
            current = ledger(month_from, month_to, language=language)
        candidates = [row for row in current.rows if row.is_open]
        without_caps = sorted({row.line.month.year for row in candidates if row.caps_missing})
        if without_caps:
            raise EnrollmentError(_l("Nothing was exported: no allowance limits entered for %(years)s. "
                                     "Enter them before paying.", years=", ".join(str(y) for y in without_caps)))
        undecided = [row for row in candidates if row.needs_decision]
        if undecided:
            raise EnrollmentError(_l("Nothing was exported: these allowances have a warning and no decision yet: "
                                     "%(lines)s. Record a decision for each first.",
                                     lines=_names(undecided)))
        rows = [row for row in candidates if row.payable_cents > 0]
        if not rows:
            raise EnrollmentError(_l("There are no open allowance lines in this period."))
        now = utcnow()
        exported = 0
        for row in rows:
            exported += (AllowanceLine.update(status="exported", export_batch=batch, exported_at=now,
                                              minutes=row.volunteered_minutes)
                         .where((AllowanceLine.id == row.line.id) & (AllowanceLine.status == "open")
                                & AllowanceLine.blocked_at.is_null()).execute())
        if exported != len(rows):
            raise EnrollmentError(_l("Someone else exported these allowances a moment ago. Please look again."))
        audit.record("enrollment.allowance_exported", actor=actor, object_type="allowance_batch", object_id=batch,
                     lines=len(rows), total_cents=sum(row.payable_cents for row in rows))
    return batch, _csv(rows, batch, language)


def batch_csv(batch: str, language: str = "nl") -> bytes | None:
    """The CSV of an earlier export batch, again (a line blocked since says so)."""
    months = list(AllowanceLine.select(AllowanceLine.month).where(AllowanceLine.export_batch == batch).tuples())
    if not months:
        return None
    first, last = min(m for (m,) in months), max(m for (m,) in months)
    with force_locale(language):
        rows = [row for row in ledger(first, last, language=language).rows if row.line.export_batch == batch]
    return _csv(rows, batch, language)


def batches() -> list[tuple[str, dt.datetime, int, int]]:
    paid = peewee.fn.COALESCE(AllowanceLine.payable_cents, AllowanceLine.amount_cents)
    return list(AllowanceLine.select(AllowanceLine.export_batch, peewee.fn.MIN(AllowanceLine.exported_at),
                                     peewee.fn.COUNT(AllowanceLine.id), peewee.fn.SUM(paid))
                .where(AllowanceLine.export_batch != "").group_by(AllowanceLine.export_batch)
                .order_by(peewee.fn.MIN(AllowanceLine.exported_at).desc()).tuples())
