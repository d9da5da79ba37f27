"""A worker killed while it issues a statement uses no number: the next issue gets it, no gap, no twin.

The worker is a separate process with its own database connection (tests/killed_worker.py). It
draws the year's next number and is SIGKILLed while the PDF is being rendered, inside the
numbering transaction. The database rolls that transaction back (PostgreSQL when the connection
drops, SQLite when the process that held the write lock is gone).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from portal.core import clock
from portal.giving import service as giving
from portal.statements import periods, service
from portal.statements.models import Statement, StatementCounter


@pytest.fixture
def paid_by_bank(request_context, leader):
    """A company whose payment request was paid by bank transfer: a real money contribution (in the
    last calendar year, which has ended: a running year gets no statement)."""

    def pay(company, euros: int):
        donation, _new = giving.create_donation(
            giving.DonationInput(euros * 100, "gift", "bank", f"killed-{company.id:04d}-0123456789"), user=company.admin)
        paid_on = dt.date(clock.today().year - 1, 12, 15)
        result = giving.mark_paid_by_bank(donation.reference, euros * 100, paid_on, leader, f"line {company.id}")
        assert result.status == "paid"
        return donation

    return pay


@pytest.mark.slow
def test_a_statement_issue_killed_midway_leaves_no_gap_and_no_duplicate(
        app, make_company, paid_by_bank, kill_worker_midway):
    year = clock.today().year          # the numbers' year: the year of issue
    first, second = make_company("Eerste"), make_company("Tweede")
    paid_by_bank(first, 400)
    paid_by_bank(second, 250)

    kill_worker_midway("statement", company_id=first.id, year=year - 1)

    assert Statement.select().count() == 0
    assert StatementCounter.select().where(StatementCounter.year == year).count() in (0, 1)
    period = periods.calendar_year(year - 1)
    again = service.issue(first, period, first.admin, via="web")
    other = service.issue(second, period, second.admin, via="web")
    assert [again.number, other.number] == [f"OA-{year}-0001", f"OA-{year}-0002"]
    assert [s.company_id for s in Statement.select().order_by(Statement.sequence)] == [first.id, second.id]
    # The statement the killed worker began is the one issued now, whole.
    snapshot = json.loads(again.snapshot)
    assert snapshot["number"] == again.number
    assert [line["gross_cents"] for line in snapshot["lines"]] == [40_000]
    assert again.pdf.startswith(b"%PDF-") and again.pdf_sha256 == hashlib.sha256(again.pdf).hexdigest()
