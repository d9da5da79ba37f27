"""The volunteer allowance ledger: a fixed amount per active month for volunteer and mixed
placements, checked against the tax-free limits of that calendar year, exported for payout.

A month is "active" when the ambassador has confirmed volunteered hours in it (net of
reversals), so the foundation pays only for time the project leader has confirmed.
Limits are data per year (`AllowanceCap`); a year without limits is never treated as fine: its
lines say so and are not exported until the leader enters them.

Each line shows what the monthly amount works out at per confirmed hour (rounded half-up to
the cent) beside the year's hourly limit. The Belastingdienst has two regimes: with an hourly
rate agreed, the hourly, monthly and yearly limits apply; without one, the allowance must be
out of proportion to the work, and the monthly and yearly limits apply. Whether a fixed EUR 160
is out of proportion is the programme's call, so a line with any warning is paid only after the
project leader recorded a decision on it (pay as a fixed monthly allowance, reduce, do not pay),
with a reason. A line follows its hours: a reversal recomputes an open line (or removes it when
no confirmed hours remain) and blocks an exported one from any further payment.

The export for payment lives in `allowance_export.py`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import peewee
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company, User
from portal.core import audit, money
from portal.core import ledger as books
from portal.core.db import atomic_write, database, utcnow
from portal.enrollment.base import EnrollmentError
from portal.enrollment.calendar import month_start, months_between
from portal.enrollment.models import (
    ALLOWANCE_DECISIONS,
    AllowanceCap,
    AllowanceLine,
    Enrolment,
    HoursEntry,
    SchoolYear,
)

ALLOWANCE_FUNDING = ("volunteer", "mixed")
MAX_REASON = 500
DECISION_LABELS = {
    "fixed_monthly": _l("Pay as a fixed monthly allowance (no hourly rate agreed)"),
    "reduce": _l("Pay a reduced amount"),
    "do_not_pay": _l("Do not pay"),
}


def _month_end(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def hourly_cents(amount_cents: int, minutes: int) -> int | None:
    """What an amount works out at per hour of `minutes`, rounded half-up to the cent (None without hours)."""
    if minutes <= 0:
        return None
    return (amount_cents * 60 * 2 + minutes) // (2 * minutes)


def fitting_cents(hourly_cap_cents: int, minutes: int) -> int:
    """The most that stays within an hourly limit for `minutes`: rounded down, so it never passes it."""
    return hourly_cap_cents * minutes // 60


def payable(line: AllowanceLine) -> int:
    """What a line pays: the monthly amount, unless the leader reduced it (or decided not to pay)."""
    return line.amount_cents if line.payable_cents is None else line.payable_cents


def volunteered_by_month(enrolment_ids=None, until: dt.date | None = None,
                         since: dt.date | None = None) -> dict[tuple[int, dt.date], int]:
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
    if since is not None:
        query = query.where(HoursEntry.worked_on >= since)
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
                 "minutes": minutes[(e, month)], "created_at": now}
                for e, month in sorted(wanted) if rates[e][1] > 0]
        for start in range(0, len(rows), 500):
            AllowanceLine.insert_many(rows[start:start + 500]).on_conflict_ignore().execute()
        for line in AllowanceLine.select().where(AllowanceLine.created_at == now).order_by(AllowanceLine.id):
            _post(line, value_cents=line.amount_cents, lines=1)
        audit.record("enrollment.allowance_built", actor=actor, upto=last_day, lines=len(rows))
    return len(rows)


def _post(line: AllowanceLine, *, value_cents: int, lines: int = 0) -> None:
    """Post a change of a line's value to the books (in the caller's transaction)."""
    if value_cents or lines:
        books.post(company_id=line.company_id, dated_on=line.month, kind="allowance", key=f"allowance:{line.id}",
                   source="allowance.line", basis="at_cost", value_cents=value_cents, lines=lines,
                   subject_id=line.enrolment_id)


@books.sources.connect
def ledger_sources(_sender) -> list[peewee.Select]:
    """Allowance lines as the ledger should hold them (`portal ledger check`)."""
    text = peewee.SQL
    return [AllowanceLine.select(
        AllowanceLine.company.alias("company_id"), AllowanceLine.month.alias("dated_on"),
        text("'allowance'").alias("kind"), text("'allowance:'").concat(AllowanceLine.id.cast("text")).alias("key"),
        text("'allowance.line'").alias("source"), text("'at_cost'").alias("basis"), text("''").alias("classification"),
        text("''").alias("method"), text("1").alias("lines"), text("0").alias("minutes"),
        peewee.fn.COALESCE(AllowanceLine.payable_cents, AllowanceLine.amount_cents).alias("value_cents"),
        text("0").alias("gross_cents"), text("0").alias("fee_cents"),
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
    caps_missing: bool = False
    implied_hourly_cents: int | None = None  # what the amount paid works out at per confirmed hour
    hourly_cap_cents: int | None = None  # the year's limit for this person's age group
    fitting_cents: int | None = None  # the most that stays within the hourly limit: a reduction to suggest
    decided_by: str = ""

    @property
    def payable_cents(self) -> int:
        return payable(self.line)

    @property
    def is_open(self) -> bool:
        return self.line.status == "open" and self.line.blocked_at is None

    @property
    def decision_stale(self) -> bool:
        """A decision taken on more confirmed hours than the month now has (hours were reversed)."""
        line = self.line
        return (line.decision is not None and line.decision != "do_not_pay" and line.decided_minutes is not None
                and self.volunteered_minutes < line.decided_minutes)

    @property
    def needs_decision(self) -> bool:
        """Open, with a warning, and no (current) decision of the leader: it cannot be exported."""
        return (self.is_open and not self.caps_missing and bool(self.warnings)
                and (self.line.decision is None or self.decision_stale))

    @property
    def can_decide(self) -> bool:
        return self.is_open and not self.caps_missing and (bool(self.warnings) or self.line.decision is not None)


@dataclass
class Ledger:
    rows: list[LedgerRow]
    warnings: list[str]
    total_cents: int
    open_cents: int
    years_without_caps: list[int] = field(default_factory=list)

    @property
    def undecided(self) -> list[LedgerRow]:
        return [row for row in self.rows if row.needs_decision]

    @property
    def blocked(self) -> list[LedgerRow]:
        return [row for row in self.rows if row.line.blocked_at is not None]


def _caps() -> dict[int, AllowanceCap]:
    return {cap.year: cap for cap in AllowanceCap.select()}


def _no_caps_text(year: int) -> str:
    return str(_l("No allowance limits entered for %(year)s: enter them before paying.", year=year))


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
    # Limits apply per person and calendar year, across placements: total what every line of those years pays.
    per_person_month: dict[tuple[str, dt.date], int] = defaultdict(int)
    per_person_year: dict[tuple[str, int], int] = defaultdict(int)
    projected_year: dict[tuple[str, int], int] = defaultdict(int)
    if years:
        paid = peewee.fn.COALESCE(AllowanceLine.payable_cents, AllowanceLine.amount_cents)
        all_lines = (AllowanceLine.select(AllowanceLine.month, paid, Enrolment.employee_email)
                     .join(Enrolment).where((AllowanceLine.month >= dt.date(years[0], 1, 1))
                                            & (AllowanceLine.month <= dt.date(years[-1], 12, 1))).tuples())
        last_month: dict[tuple[str, int], dt.date] = {}
        for month, amount, email in all_lines:
            per_person_month[(email, month)] += int(amount)
            per_person_year[(email, month.year)] += int(amount)
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
    minutes = (volunteered_by_month({line.enrolment_id for line in lines}, since=month_from,
                                    until=_month_end(month_to)) if lines else {})
    deciders = {user.id: user.name or user.email for user in User.select(User.id, User.name, User.email).where(
        User.id.in_(sorted({line.decided_by_id for line in lines if line.decided_by_id})))} if lines else {}
    rows: list[LedgerRow] = []
    general: list[str] = []
    missing_years = [year for year in years if year not in caps]
    for year in missing_years:
        general.append(_no_caps_text(year))
    for line in lines:
        enrolment = line.enrolment
        email = enrolment.employee_email
        row = LedgerRow(line, enrolment, line.enrolment.company.legal_name,
                        minutes.get((enrolment.id, line.month), 0),
                        decided_by=deciders.get(line.decided_by_id, "") if line.decided_by_id else "")
        row.implied_hourly_cents = hourly_cents(row.payable_cents, row.volunteered_minutes)
        cap = caps.get(line.month.year)
        if cap is None:
            row.caps_missing = True
            row.warnings.append(_no_caps_text(line.month.year))
        elif row.payable_cents > 0:
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
        if cap is not None:
            row.hourly_cap_cents = cap.per_hour_under_21_cents if enrolment.under_21 else cap.per_hour_cents
            row.fitting_cents = fitting_cents(row.hourly_cap_cents, row.volunteered_minutes)
            # Compared exactly (amount x 60 against limit x minutes), not as the rounded figure shows:
            # EUR 160 for 1,713 minutes is EUR 5.6042 an hour, over a EUR 5.60 limit though shown as 5.60.
            if row.implied_hourly_cents is not None and row.payable_cents > 0 \
                    and row.payable_cents * 60 > row.hourly_cap_cents * row.volunteered_minutes:
                if row.implied_hourly_cents > row.hourly_cap_cents:
                    row.warnings.append(str(_l("Works out at %(rate)s an hour, above the hourly limit of %(cap)s.",
                                               rate=eur(row.implied_hourly_cents), cap=eur(row.hourly_cap_cents))))
                else:
                    row.warnings.append(str(_l("Works out at just over %(cap)s an hour, above the hourly limit.",
                                               cap=eur(row.hourly_cap_cents))))
        if row.decision_stale and row.is_open:
            row.notes.append(str(_l("Hours were reversed after this decision: decide again.")))
        rows.append(row)
    total = sum(r.payable_cents for r in rows)
    open_total = sum(r.payable_cents for r in rows if r.is_open)
    if rows:
        general.append(str(_l("Limits count every organisation's allowances together; ask ambassadors whether they receive others.")))
    return Ledger(rows, general, total, open_total, missing_years)


def _ledger_row(line: AllowanceLine, language: str) -> LedgerRow:
    found = [row for row in ledger(line.month, line.month, company_id=line.company_id, language=language).rows
             if row.line.id == line.id]
    return found[0]


# --- the leader's decision on a warned line ---------------------------------------------------

def decide(line_id: int, actor: User, decision: str, reason: str, amount_text: str | None = None,
           language: str = "nl") -> AllowanceLine:
    """Record the project leader's decision on an open line with a warning, with its reason."""
    reason = (reason or "").strip()
    if not actor.is_leader:
        raise EnrollmentError(_l("Only the project leader decides on volunteer allowances."))
    if decision not in ALLOWANCE_DECISIONS:
        raise EnrollmentError(_l("Choose what to do with this allowance."), "decision")
    if not reason:
        raise EnrollmentError(_l("Give a reason for the decision."), "reason")
    if len(reason) > MAX_REASON:
        raise EnrollmentError(_l("Use at most %(count)d characters.", count=MAX_REASON), "reason")
    now = utcnow()
    with atomic_write():
        line = AllowanceLine.get_or_none(AllowanceLine.id == line_id)
        if line is None:
            raise EnrollmentError(_l("That allowance line does not exist (any more)."))
        row = _ledger_row(line, language)
        if line.blocked_at is not None or line.status != "open":
            raise EnrollmentError(_l("This allowance was already exported for payment; it cannot be changed."))
        if row.caps_missing:
            raise EnrollmentError(_no_caps_text(line.month.year))
        if not row.can_decide:
            raise EnrollmentError(_l("This allowance has no warning: it is paid as it is."))
        new_payable: int | None = None
        if decision == "reduce":
            try:
                new_payable = money.parse_cents(amount_text)
            except money.AmountError as error:
                raise EnrollmentError(error.message, "amount") from error
            if new_payable >= line.amount_cents:
                raise EnrollmentError(_l("A reduced amount is less than %(amount)s.",
                                         amount=money.format_eur(line.amount_cents, language)), "amount")
        elif decision == "do_not_pay":
            new_payable = 0
        before = payable(line)
        updated = (AllowanceLine.update(decision=decision, decision_reason=reason, decided_by_id=actor.id,
                                        decided_at=now, decided_minutes=row.volunteered_minutes,
                                        payable_cents=new_payable)
                   .where((AllowanceLine.id == line.id) & (AllowanceLine.status == "open")
                          & AllowanceLine.blocked_at.is_null()).execute())
        if not updated:
            raise EnrollmentError(_l("This allowance was already exported for payment; it cannot be changed."))
        line = AllowanceLine.get_by_id(line.id)
        _post(line, value_cents=payable(line) - before)
        audit.record("enrollment.allowance_decided", actor=actor, company=line.company_id, obj=line,
                     decision=decision, reason=reason, minutes=row.volunteered_minutes,
                     amount_cents=line.amount_cents, payable_cents=payable(line), before_cents=before,
                     warnings=row.warnings)
    return line


# --- a line follows its hours -----------------------------------------------------------------

def follow_hours(enrolment_id: int, day: dt.date, *, actor: User | None, reason: str) -> str | None:
    """After hours of `day` were reversed: bring that month's line in step with its confirmed hours.

    An open line is recomputed (its hours; a reduced amount lowered to what fits the new hours) or
    removed when no confirmed hours remain; an exported line is blocked from any further payment.
    Runs inside the caller's transaction. Returns what happened ("recomputed", "removed",
    "blocked") or None when the month has no line.
    """
    if database.transaction_depth() == 0:
        raise RuntimeError("follow_hours() must run inside the transaction of the reversal")
    month = month_start(day)
    line = AllowanceLine.get_or_none((AllowanceLine.enrolment == enrolment_id) & (AllowanceLine.month == month))
    if line is None:
        return None
    minutes = volunteered_by_month([enrolment_id], since=month, until=_month_end(month)).get((enrolment_id, month), 0)
    minutes = max(minutes, 0)
    before = line.minutes
    common = {"actor": actor, "company": line.company_id, "obj": line, "reason": reason,
              "minutes_before": before, "minutes_after": minutes}
    if line.status == "exported" or line.blocked_at is not None:
        if before is not None and minutes >= before:
            return None  # hours went up or stayed: nothing was paid for time that did not happen
        (AllowanceLine.update(blocked_at=peewee.fn.COALESCE(AllowanceLine.blocked_at, utcnow()),
                              blocked_reason=reason)
         .where(AllowanceLine.id == line.id).execute())
        audit.record("enrollment.allowance_blocked", batch=line.export_batch, paid_cents=payable(line), **common)
        return "blocked"
    if minutes == 0:
        _post(line, value_cents=-payable(line), lines=-1)
        AllowanceLine.delete().where((AllowanceLine.id == line.id) & (AllowanceLine.status == "open")).execute()
        audit.record("enrollment.allowance_removed", month=month, amount_cents=payable(line), **common)
        return "removed"
    changes: dict = {"minutes": minutes}
    old_payable = payable(line)
    if line.decision == "reduce":
        cap = AllowanceCap.get_or_none(AllowanceCap.year == month.year)
        if cap is not None:
            enrolment = Enrolment.get_by_id(enrolment_id)
            limit = cap.per_hour_under_21_cents if enrolment.under_21 else cap.per_hour_cents
            changes["payable_cents"] = min(old_payable, fitting_cents(limit, minutes))
            changes["decided_minutes"] = minutes
    AllowanceLine.update(**changes).where(AllowanceLine.id == line.id).execute()
    new_payable = changes.get("payable_cents", old_payable)
    _post(line, value_cents=new_payable - old_payable)
    audit.record("enrollment.allowance_recomputed", before_cents=old_payable, after_cents=new_payable, **common)
    return "recomputed"


def years_without_caps() -> list[int]:
    """Calendar years that have allowance lines but no limits entered yet."""
    known = {year for (year,) in AllowanceCap.select(AllowanceCap.year).tuples()}
    months = AllowanceLine.select(peewee.fn.MIN(AllowanceLine.month), peewee.fn.MAX(AllowanceLine.month)).tuples()
    first, last = next(iter(months), (None, None))
    if first is None:
        return []
    first, last = (dt.date.fromisoformat(str(v)[:10]) if not isinstance(v, dt.date) else v for v in (first, last))
    return [year for year in range(first.year, last.year + 1)
            if year not in known and AllowanceLine.select().where(
                (AllowanceLine.month >= dt.date(year, 1, 1)) & (AllowanceLine.month <= dt.date(year, 12, 1))).exists()]
