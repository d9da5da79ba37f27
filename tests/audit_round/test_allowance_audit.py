# ruff: noqa: F811  (pytest fixtures imported from enrollment are named again as test parameters)
"""A finance auditor's round on the volunteer allowance (issue 14): the hourly figure is rounded
half up, an allowance above the hourly limit is never let through unwarned, a reduction follows
reversed hours, a reversal in a closed month leaves that month's books as closed, and the payment
file's amounts add up to the books. A test marked xfail(strict=True) is a finding."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from tests.enrollment.conftest import (  # noqa: F401
    TODAY,
    enrol,
    hr,
    request_context,
    school,
    seeded,
    today,
)

SEPTEMBER = dt.date(2026, 9, 1)
OCTOBER = dt.date(2026, 10, 1)
NOVEMBER = dt.date(2026, 11, 1)


def volunteer(hr, enrol, leader, school, september_minutes: list[int], *, later_minutes: int = 360,
              email: str = "vera@acme.nl"):
    """A volunteer on Tuesdays with these confirmed minutes for September's five sessions and
    `later_minutes` for each later session up to 28 November."""
    from portal.enrollment import hours

    enrolment = enrol(hr, status="active", leader=leader, school=school, employee_email=email,
                      employee_name="Vera Visser", funding="volunteer", hours_per_week="6", hourly_cost="")
    sessions = [e for e in hours.register(enrolment) if e.worked_on <= TODAY]
    september = [e for e in sessions if e.worked_on.month == 9]
    assert len(september) == len(september_minutes) == 5
    minutes = dict(zip([e.id for e in september], september_minutes, strict=True))
    reports = [hours.SessionReport(e.id, True, minutes.get(e.id, later_minutes)) for e in sessions]
    hours.report_sessions(enrolment, reports, actor=hr.admin, via="hr")
    hours.decide_entries([e.id for e in sessions], leader, approve=True)
    return enrolment


def caps_2026(leader):
    from portal.enrollment import schools

    return schools.save_cap(leader, {"year": 2026, "per_month_cents": 21000, "per_year_cents": 210000,
                                     "per_hour_cents": 560, "per_hour_under_21_cents": 330,
                                     "source": "Belastingdienst 2025 figures, entered by the leader"})


def row_of(month):
    from portal.enrollment import allowance

    return allowance.ledger(month, month, language="en").rows[0]


def line_of(month):
    from portal.enrollment.models import AllowanceLine

    return AllowanceLine.get_or_none(AllowanceLine.month == month)


def allowance_books(start=None, end=None) -> int:
    from portal.core import ledger

    rows = ledger.totals(by=(), start=start, end=end, kinds=("allowance",))
    return int(rows[0]["value_cents"]) if rows else 0


def test_the_hourly_figure_rounds_exact_halves_up_and_stays_whole_cents():
    from portal.enrollment.allowance import fitting_cents, hourly_cents

    # EUR 160 over 85 h 20 min is 187.5 cents an hour exactly: half up is 188, never 187 (banker's or truncation).
    assert hourly_cents(16000, 5120) == 188
    assert hourly_cents(16000, 3072) == 313           # 312.5
    assert hourly_cents(16000, 1024) == 938           # 937.5
    assert hourly_cents(16000, 1713) == 560           # 560.42
    assert hourly_cents(16000, 1711) == 561           # 561.08
    for minutes in (1, 7, 59, 60, 61, 1560, 1713, 5120):
        assert type(hourly_cents(16000, minutes)) is int
        exact = Decimal(16000 * 60) / minutes
        assert hourly_cents(16000, minutes) == int(exact.quantize(Decimal(1), rounding="ROUND_HALF_UP"))
        # What fits the limit never passes it, and one cent more would.
        fits = fitting_cents(560, minutes)
        assert fits * 60 <= 560 * minutes < (fits + 1) * 60


def test_an_allowance_above_the_hourly_limit_by_less_than_half_a_cent_is_still_warned(hr, enrol, leader, school,
                                                                                       today):
    from portal.enrollment import allowance

    volunteer(hr, enrol, leader, school, [360, 360, 360, 360, 273])
    caps_2026(leader)
    allowance.build_ledger(leader, TODAY)
    september = row_of(SEPTEMBER)
    assert september.volunteered_minutes == 1713
    assert (september.payable_cents, september.fitting_cents) == (16000, 15988)
    assert september.payable_cents <= september.fitting_cents or september.needs_decision, september.warnings


def test_an_allowance_exactly_at_the_hourly_limit_needs_no_decision(hr, enrol, leader, school, today):
    """EUR 160.00 for 1,715 minutes (28 h 35 min) is EUR 5.5977 an hour: within the EUR 5.60 limit,
    so it is paid as it is (and fits: at most 16,006 cents would)."""
    from portal.enrollment import allowance

    volunteer(hr, enrol, leader, school, [360, 360, 360, 360, 275])
    caps_2026(leader)
    allowance.build_ledger(leader, TODAY)
    september = row_of(SEPTEMBER)
    assert september.volunteered_minutes == 1715
    assert september.payable_cents <= september.fitting_cents == 16006
    assert not any("hourly limit" in w for w in september.warnings)


def test_a_reduction_follows_a_reversal_booked_after_a_closed_month(hr, enrol, leader, school, today):
    """September: 26 h, reduced by the leader to 26 x 5.60 = EUR 145.60. September and October are
    closed. On 28 November a September session of 6 h turns out not to have happened: the line drops
    to 20 x 5.60 = EUR 112.00, and the difference is booked in November, not in closed September."""
    from portal.core import ledger
    from portal.enrollment import allowance, hours

    enrolment = volunteer(hr, enrol, leader, school, [360, 360, 360, 360, 120])
    caps_2026(leader)
    allowance.build_ledger(leader, TODAY)
    allowance.decide(line_of(SEPTEMBER).id, leader, "reduce", "Within the hourly limit: 26 h x 5.60", "145,60")
    assert row_of(SEPTEMBER).payable_cents == 14560
    ledger.ClosedMonth.create(month=SEPTEMBER)
    ledger.ClosedMonth.create(month=OCTOBER)
    september_before = allowance_books(SEPTEMBER, SEPTEMBER)
    october_before = allowance_books(OCTOBER, OCTOBER)
    total_before = allowance_books()

    first = [e for e in hours.register(enrolment)
             if e.status == "confirmed" and e.kind != "reversal" and e.worked_on.month == 9][0]
    hours.correct_entry(first.id, leader, "Class trip, the ambassador stayed home")
    september = row_of(SEPTEMBER)
    assert (september.volunteered_minutes, september.payable_cents) == (1200, 11200)
    assert allowance_books(SEPTEMBER, SEPTEMBER) == september_before          # closed: unchanged
    assert allowance_books(OCTOBER, OCTOBER) == october_before
    late = list(ledger.Posting.select().where((ledger.Posting.kind == "allowance")
                                              & (ledger.Posting.booked_on != ledger.Posting.dated_on)))
    assert [(p.dated_on, p.booked_on, p.value_cents) for p in late] == [(SEPTEMBER, NOVEMBER, 11200 - 14560)]
    assert allowance_books() == total_before - 3360
    # The books equal what the lines pay, line by line.
    assert allowance_books() == sum(row.payable_cents for row in allowance.ledger(SEPTEMBER, NOVEMBER).rows)
    assert ledger.check() == []


def test_the_payment_file_adds_up_to_the_books_and_to_its_batch(hr, enrol, leader, school, today):
    from portal.core import ledger
    from portal.enrollment import allowance, allowance_export

    volunteer(hr, enrol, leader, school, [360, 360, 360, 360, 120])
    caps_2026(leader)
    allowance.build_ledger(leader, TODAY)
    allowance.decide(line_of(SEPTEMBER).id, leader, "reduce", "Within the hourly limit: 26 h x 5.60", "145,60")
    allowance.decide(line_of(OCTOBER).id, leader, "do_not_pay", "Only 18 hours: EUR 8.89 an hour is too much")
    for row in allowance.ledger(NOVEMBER, NOVEMBER).rows:
        if row.needs_decision:
            allowance.decide(row.line.id, leader, "fixed_monthly", "Fixed fee, no hourly rate agreed")
    batch, data = allowance_export.export_open(leader, SEPTEMBER, NOVEMBER, language="en")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    amounts = {r["Month"]: int(Decimal(r["Amount (EUR)"]) * 100) for r in rows}
    assert amounts == {"2026-09": 14560, "2026-11": 16000}                    # October decided not to pay
    assert all(Decimal(r["Amount (EUR)"]) == Decimal(r["Amount (EUR)"]).quantize(Decimal("0.01")) for r in rows)
    [(found, _at, count, total)] = [b for b in allowance_export.batches() if b[0] == batch]
    assert (count, int(total)) == (2, 30560) == (len(rows), sum(amounts.values()))
    assert allowance_books() == 30560                                         # October's line is 0 in the books
    assert ledger.check() == []
