"""The volunteer allowance ledger: a fixed amount per active month for volunteer and mixed
placements, checked against the tax-free limits of that calendar year, exported for payout.

A month is "active" when the ambassador has confirmed volunteered hours in it (net of
reversals), so the foundation pays only for time the project leader has confirmed.
The allowance is a fixed monthly fee (not agreed per hour): the hourly limit is shown as
information, the monthly and yearly limits as warnings. Limits are data per year
(`AllowanceCap`); a year without limits gets a warning of its own.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from dataclasses import dataclass, field

import peewee
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company, User
from portal.core import audit, money
from portal.core import ledger as books
from portal.core.db import atomic_write, utcnow
from portal.core.spreadsheet import csv_bytes, safe_cell
from portal.enrollment.calendar import month_start, months_between
from portal.enrollment.models import AllowanceCap, AllowanceLine, Enrolment, HoursEntry, SchoolYear
from portal.enrollment.service import EnrollmentError

ALLOWANCE_FUNDING = ("volunteer", "mixed")
EXPORT_COLUMNS = ("batch", "month", "ambassador", "email", "iban", "company", "enrolment", "amount_eur", "warnings")


def _month_end(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def volunteered_by_month(enrolment_ids=None, until: dt.date | None = None) -> dict[tuple[int, dt.date], int]:
    """Confirmed volunteered minutes per (enrolment, month), reversals included."""
    query = (HoursEntry.select(HoursEntry.enrolment, HoursEntry.worked_on,
                               HoursEntry.volunteered_minutes)
             .join(Enrolment, on=(HoursEntry.enrolment == Enrolment.id))
             .where((HoursEntry.status == "confirmed") & (HoursEntry.volunteered_minutes != 0)
                    & Enrolment.funding.in_(ALLOWANCE_FUNDING)))
    if enrolment_ids is not None:
        query = query.where(HoursEntry.enrolment.in_(list(enrolment_ids)))
    if until is not None:
        query = query.where(HoursEntry.worked_on <= until)
    totals: dict[tuple[int, dt.date], int] = defaultdict(int)
    for enrolment_id, day, minutes in query.tuples():
        totals[(enrolment_id, month_start(day))] += minutes
    return totals


def build_ledger(actor: User | None, upto: dt.date) -> int:
    """Add a line for every active month up to and including `upto`'s month; returns how many.

    Running it again adds nothing: (enrolment, month) is UNIQUE.
    """
    last_day = _month_end(month_start(upto))
    with atomic_write():
        minutes = volunteered_by_month(until=last_day)
        existing = set(AllowanceLine.select(AllowanceLine.enrolment, AllowanceLine.month).tuples())
        wanted = [(enrolment_id, month) for (enrolment_id, month), total in minutes.items()
                  if total > 0 and (enrolment_id, month) not in existing]
        if not wanted:
            return 0
        ids = sorted({enrolment_id for enrolment_id, _m in wanted})
        rates = {}
        for start in range(0, len(ids), 500):
            rates.update({e: (c, r) for e, c, r in (
                Enrolment.select(Enrolment.id, Enrolment.company, SchoolYear.allowance_monthly_cents)
                .join(SchoolYear).where(Enrolment.id.in_(ids[start:start + 500])).tuples())})
        now = utcnow()
        rows = [{"enrolment": e, "company": rates[e][0], "month": month, "amount_cents": rates[e][1],
                 "created_at": now} for e, month in sorted(wanted) if rates[e][1] > 0]
        for start in range(0, len(rows), 500):
            AllowanceLine.insert_many(rows[start:start + 500]).on_conflict_ignore().execute()
        for line in AllowanceLine.select().where(AllowanceLine.created_at == now).order_by(AllowanceLine.id):
            books.post(company_id=line.company_id, dated_on=line.month, kind="allowance", key=f"allowance:{line.id}",
                        source="allowance.line", basis="at_cost", value_cents=line.amount_cents,
                        subject_id=line.enrolment_id)
        audit.record("enrollment.allowance_built", actor=actor, upto=last_day, lines=len(rows))
    return len(rows)


@books.sources.connect
def ledger_sources(_sender) -> list[peewee.Select]:
    """Allowance lines as the ledger should hold them (`portal ledger check`)."""
    text = peewee.SQL
    return [AllowanceLine.select(
        AllowanceLine.company.alias("company_id"), AllowanceLine.month.alias("dated_on"),
        text("'allowance'").alias("kind"), text("'allowance:'").concat(AllowanceLine.id.cast("text")).alias("key"),
        text("'allowance.line'").alias("source"), text("'at_cost'").alias("basis"), text("''").alias("classification"),
        text("''").alias("method"), text("1").alias("lines"), text("0").alias("minutes"),
        AllowanceLine.amount_cents.alias("value_cents"), text("0").alias("gross_cents"), text("0").alias("fee_cents"),
        text("0").alias("net_cents"), text("''").alias("person"), AllowanceLine.enrolment.alias("subject_id"),
        text("''").alias("reference"))]


@dataclass
class LedgerRow:
    line: AllowanceLine
    enrolment: Enrolment
    company_name: str
    volunteered_minutes: int
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Ledger:
    rows: list[LedgerRow]
    warnings: list[str]
    total_cents: int
    open_cents: int


def _caps() -> dict[int, AllowanceCap]:
    return {cap.year: cap for cap in AllowanceCap.select()}


def ledger(month_from: dt.date, month_to: dt.date, company_id: int | None = None, language: str = "nl") -> Ledger:
    """Lines in a month range, each with the warnings that apply to it (amounts in `language`)."""

    def eur(cents: int) -> str:
        return money.format_eur(cents, language)

    month_from, month_to = month_start(month_from), month_start(month_to)
    query = (AllowanceLine.select(AllowanceLine, Enrolment, Company.legal_name)
             .join(Enrolment, on=(AllowanceLine.enrolment == Enrolment.id))
             .join(Company, on=(Enrolment.company == Company.id))
             .where((AllowanceLine.month >= month_from) & (AllowanceLine.month <= month_to))
             .order_by(AllowanceLine.month, Company.legal_name, Enrolment.employee_name))
    if company_id is not None:
        query = query.where(AllowanceLine.company == company_id)
    lines = list(query)
    caps = _caps()
    years = sorted({line.month.year for line in lines})
    # Limits apply per person and calendar year, across placements: total every line of those years.
    per_person_month: dict[tuple[str, dt.date], int] = defaultdict(int)
    per_person_year: dict[tuple[str, int], int] = defaultdict(int)
    projected_year: dict[tuple[str, int], int] = defaultdict(int)
    if years:
        all_lines = (AllowanceLine.select(AllowanceLine.month, AllowanceLine.amount_cents, Enrolment.employee_email)
                     .join(Enrolment).where((AllowanceLine.month >= dt.date(years[0], 1, 1))
                                            & (AllowanceLine.month <= dt.date(years[-1], 12, 1))).tuples())
        last_month: dict[tuple[str, int], dt.date] = {}
        for month, amount, email in all_lines:
            per_person_month[(email, month)] += amount
            per_person_year[(email, month.year)] += amount
            last_month[(email, month.year)] = max(month, last_month.get((email, month.year), month))
        projected_year.update(per_person_year)
        # What is still to come this year for placements that run on: the "would pass" check.
        for line in lines:
            enrolment = line.enrolment
            if enrolment.status in ("active", "matched"):
                key = (enrolment.employee_email, line.month.year)
                end = min(enrolment.ends_on, dt.date(line.month.year, 12, 31))
                later = [m for m in months_between(last_month[key], end) if m > last_month[key]]
                projected_year[key] = per_person_year[key] + len(later) * line.amount_cents
    minutes = volunteered_by_month({line.enrolment_id for line in lines}) if lines else {}
    rows: list[LedgerRow] = []
    general: list[str] = []
    for year in years:
        if year not in caps:
            general.append(str(_l("The volunteer allowance limits for %(year)s are not known yet: enter them (Belastingdienst) before paying out.", year=year)))
    for line in lines:
        enrolment = line.enrolment
        email = enrolment.employee_email
        row = LedgerRow(line, enrolment, line.enrolment.company.legal_name,
                        minutes.get((enrolment.id, line.month), 0))
        cap = caps.get(line.month.year)
        if cap is None:
            row.warnings.append(str(_l("Limits for %(year)s unknown.", year=line.month.year)))
        else:
            month_total = per_person_month[(email, line.month)]
            year_total = per_person_year[(email, line.month.year)]
            if month_total > cap.per_month_cents:
                row.warnings.append(str(_l("%(total)s this month passes the monthly limit of %(cap)s.",
                                           total=eur(month_total), cap=eur(cap.per_month_cents))))
            if year_total > cap.per_year_cents:
                row.warnings.append(str(_l("%(total)s in %(year)s passes the yearly limit of %(cap)s.",
                                           total=eur(year_total), year=line.month.year,
                                           cap=eur(cap.per_year_cents))))
            elif projected_year[(email, line.month.year)] > cap.per_year_cents:
                row.warnings.append(str(_l("With the months still to come, %(total)s in %(year)s would pass the yearly limit of %(cap)s.",
                                           total=eur(projected_year[(email, line.month.year)]),
                                           year=line.month.year, cap=eur(cap.per_year_cents))))
            hourly_cap = cap.per_hour_under_21_cents if enrolment.under_21 else cap.per_hour_cents
            if row.volunteered_minutes > 0:
                implied = line.amount_cents * 60 // row.volunteered_minutes
                if implied > hourly_cap:
                    row.notes.append(str(_l("Works out at %(rate)s an hour, above the %(cap)s hourly limit: pay it as a fixed monthly allowance, never per hour.",
                                            rate=eur(implied), cap=eur(hourly_cap))))
        rows.append(row)
    total = sum(r.line.amount_cents for r in rows)
    open_total = sum(r.line.amount_cents for r in rows if r.line.status == "open")
    if rows:
        general.append(str(_l("Limits count every organisation's allowances together; ask ambassadors whether they receive others.")))
    return Ledger(rows, general, total, open_total)


def _csv(rows: list[LedgerRow], batch: str) -> bytes:
    return csv_bytes([EXPORT_COLUMNS] + [[safe_cell(v) for v in (
        batch, row.line.month.strftime("%Y-%m"), row.enrolment.employee_name, row.enrolment.employee_email,
        row.enrolment.payout_iban, row.company_name, row.enrolment.id,
        money.format_plain(row.line.amount_cents), " | ".join(row.warnings))] for row in rows])


def export_open(actor: User, month_from: dt.date, month_to: dt.date, language: str = "nl") -> tuple[str, bytes]:
    """Mark the open lines of a month range as exported in a new batch; returns (batch, CSV)."""
    batch = f"A{utcnow():%Y%m%d%H%M%S}{secrets.token_hex(2)}"
    with atomic_write():
        current = ledger(month_from, month_to, language=language)
        ids = [row.line.id for row in current.rows if row.line.status == "open"]
        if not ids:
            raise EnrollmentError(_l("There are no open allowance lines in this period."))
        for start in range(0, len(ids), 500):
            (AllowanceLine.update(status="exported", export_batch=batch, exported_at=utcnow())
             .where(AllowanceLine.id.in_(ids[start:start + 500]) & (AllowanceLine.status == "open")).execute())
        audit.record("enrollment.allowance_exported", actor=actor, object_type="allowance_batch", object_id=batch,
                     lines=len(ids), total_cents=sum(r.line.amount_cents for r in current.rows if r.line.id in set(ids)))
        rows = [row for row in current.rows if row.line.id in set(ids)]
    return batch, _csv(rows, batch)


def batch_csv(batch: str, language: str = "nl") -> bytes | None:
    """The CSV of an earlier export batch, again."""
    months = list(AllowanceLine.select(AllowanceLine.month).where(AllowanceLine.export_batch == batch).tuples())
    if not months:
        return None
    first, last = min(m for (m,) in months), max(m for (m,) in months)
    rows = [row for row in ledger(first, last, language=language).rows if row.line.export_batch == batch]
    return _csv(rows, batch)


def batches() -> list[tuple[str, dt.datetime, int, int]]:
    from peewee import fn

    return list(AllowanceLine.select(AllowanceLine.export_batch, fn.MIN(AllowanceLine.exported_at),
                                     fn.COUNT(AllowanceLine.id), fn.SUM(AllowanceLine.amount_cents))
                .where(AllowanceLine.export_batch != "").group_by(AllowanceLine.export_batch)
                .order_by(fn.MIN(AllowanceLine.exported_at).desc()).tuples())
