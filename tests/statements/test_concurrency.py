"""Two (or eight) issuers at once get consecutive numbers, on a SQLite file and on PostgreSQL.

Each thread has its own database connection (peewee keeps one per thread) and its own
application context; a barrier releases them together so they really contend for the
year's counter row. Run with PORTAL_TEST_DATABASE_URL=postgresql://... for PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from portal.core.db import database
from portal.statements import periods, records, service
from portal.statements.models import Statement, StatementCounter

D = dt.date
TODAY = D(2027, 1, 15)  # calendar year 2026 has ended: its statements can be issued
YEAR = periods.calendar_year(2026)


def run_together(app, jobs):
    """Run each job in its own thread, released at the same moment; return results or exceptions."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def worker(index, job):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results[index] = job()
            except Exception as error:  # noqa: BLE001 - the test inspects it
                results[index] = error
            finally:
                if not database.is_closed():
                    database.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.slow
def test_concurrent_issuers_get_consecutive_numbers(app, ledger, no_sroi, many_companies):
    companies = many_companies(8)
    for company in companies:
        ledger.money(company, D(2026, 3, 2), 1000)
    database.close()  # the threads open their own connections

    results = run_together(app, [lambda c=c: service.issue(c, YEAR, today=TODAY).number for c in companies])

    assert all(isinstance(r, str) for r in results), results
    assert sorted(results) == [f"OA-2027-{n:04d}" for n in range(1, 9)]
    assert StatementCounter.get(StatementCounter.year == 2027).last_number == 8
    (year,) = records.register(2027)
    assert year.missing == []


def test_failures_among_concurrent_issuers_leave_no_gap(app, ledger, no_sroi, many_companies):
    companies = many_companies(6)
    for company in companies:
        ledger.money(company, D(2026, 3, 2), 1000)
    database.close()

    def broken(snapshot, verification_code=None):
        raise RuntimeError("render failed")

    jobs = [lambda c=c, i=i: service.issue(c, YEAR, today=TODAY, renderer=broken if i % 2 else None).number
            for i, c in enumerate(companies)]
    results = run_together(app, jobs)

    numbers = sorted(r for r in results if isinstance(r, str))
    assert numbers == ["OA-2027-0001", "OA-2027-0002", "OA-2027-0003"]
    assert sum(isinstance(r, RuntimeError) for r in results) == 3
    assert StatementCounter.get(StatementCounter.year == 2027).last_number == 3


def test_same_period_twice_at_once_issues_one(app, ledger, no_sroi, many_companies):
    (company,) = many_companies(1)
    ledger.money(company, D(2026, 3, 2), 1000)
    database.close()

    results = run_together(app, [lambda: service.issue(company, YEAR, today=TODAY).number for _ in range(3)])

    assert [r for r in results if isinstance(r, str)] == ["OA-2027-0001"]
    assert all(isinstance(r, service.StatementError) for r in results if not isinstance(r, str))
    assert Statement.select().count() == 1
    assert StatementCounter.get(StatementCounter.year == 2027).last_number == 1
