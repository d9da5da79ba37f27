"""Two people allocating the same contribution at the same moment: it never counts for more than its value.

Runs on the file SQLite database of the test (IMMEDIATE transactions) and, with
PORTAL_TEST_DATABASE_URL set, on PostgreSQL (advisory lock per contribution key). The
check is slowed down on purpose so that, without the lock, both would pass it.
"""

from __future__ import annotations

import threading
import time

import pytest

from portal.core.db import database, is_sqlite
from portal.sroi import allocation, service
from portal.sroi.models import Allocation

PAUSE_SECONDS = 0.3


@pytest.fixture
def slow_check(monkeypatch):
    """Pause after reading what is already allocated: the window in which a race would happen."""
    original = allocation._room

    def slow(*args, **kwargs):
        found = original(*args, **kwargs)
        time.sleep(PAUSE_SECONDS)
        return found

    monkeypatch.setattr(allocation, "_room", slow)


def race(app, attempts):
    """Run each (user, commitment_id, key, amount) in its own thread, released together."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str | None] = [None] * len(attempts)

    def worker(index, user, commitment_id, key, amount):
        with app.app_context(), app.test_request_context():
            database.connect(reuse_if_open=True)
            try:
                barrier.wait(timeout=10)
                service.set_allocation(user, commitment_id, key, amount)
                outcomes[index] = "saved"
            except service.SroiError as error:
                outcomes[index] = "refused: " + str(error)
            finally:
                database.close()

    threads = [threading.Thread(target=worker, args=(i, *attempt)) for i, attempt in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def test_two_users_allocating_one_donation_at_once(app, make_company, ledger, make_commitment, slow_check):
    company = make_company("Bouw", member=True)
    donation = ledger.money(company, 100_000)
    first = make_commitment(company.admin, contract_reference="A")
    second = make_commitment(company.member, contract_reference="B")
    outcomes = race(app, [(company.admin, first.id, donation.key, 60_000),
                          (company.member, second.id, donation.key, 60_000)])
    assert sorted(o.split(":")[0] for o in outcomes) == ["refused", "saved"], outcomes
    assert "still free" in next(o for o in outcomes if o.startswith("refused"))
    assert sum(a.cents for a in Allocation.select()) == 60_000


@pytest.mark.slow
def test_many_allocators_fill_a_contribution_exactly(app, make_company, ledger, make_commitment, slow_check):
    company = make_company("Bouw")
    hours = ledger.hours(company, 600)                       # 10 hours
    commitments = [make_commitment(company.admin, contract_reference=f"C{n}") for n in range(6)]
    outcomes = race(app, [(company.admin, c.id, hours.key, 120) for c in commitments])   # 6 x 2 h
    assert sum(1 for o in outcomes if o == "saved") == 5, outcomes
    assert sum(a.minutes for a in Allocation.select()) == 600


@pytest.mark.skipif(not __import__("os").environ.get("PORTAL_TEST_DATABASE_URL"),
                    reason="shows on PostgreSQL that the advisory lock is what prevents the race")
def test_without_the_lock_postgresql_would_count_a_donation_twice(app, make_company, ledger, make_commitment,
                                                                  slow_check, monkeypatch):
    """The control experiment: the same race with the lock taken away over-allocates."""
    assert not is_sqlite()
    monkeypatch.setattr(allocation, "lock_groups", lambda groups: None)
    company = make_company("Bouw")
    donation = ledger.money(company, 100_000)
    first = make_commitment(company.admin, contract_reference="A")
    second = make_commitment(company.admin, contract_reference="B")
    outcomes = race(app, [(company.admin, first.id, donation.key, 60_000),
                          (company.admin, second.id, donation.key, 60_000)])
    assert outcomes == ["saved", "saved"]
    assert sum(a.cents for a in Allocation.select()) == 120_000
