"""contributions() is read once per request and forgotten by every write transaction."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core import hooks
from portal.core.contributions import Contribution, contributions
from portal.core.db import atomic_write

D = dt.date


@pytest.fixture
def source(app):
    class Source:
        def __init__(self) -> None:
            self.calls: list[tuple] = []
            self.items = [Contribution(kind="money", key=f"donation:{n}", company_id=1, on=D(2026, n, 1),
                                       description="Gift", value_cents=100 * n, basis="at_cost") for n in (1, 5, 9)]

        def __call__(self, company_id, start, end):
            self.calls.append((company_id, start, end))
            return [c for c in self.items if (start is None or c.on >= start) and (end is None or c.on <= end)]

    found = Source()
    hooks.connect(app, hooks.CONTRIBUTIONS, found)
    return found


def test_a_request_reads_once_and_cuts_periods_from_the_whole_history(app, source):
    with app.test_request_context():
        assert [c.value_cents for c in contributions(1)] == [100, 500, 900]
        assert [c.value_cents for c in contributions(1, D(2026, 4, 1), D(2026, 12, 31))] == [500, 900]
        assert [c.value_cents for c in contributions(1)] == [100, 500, 900]
        assert len(source.calls) == 1


def test_a_write_transaction_forgets_what_was_read(app, source):
    with app.test_request_context():
        contributions(1)
        source.items = source.items[:1]       # e.g. a refund recorded in this request
        with atomic_write():
            pass
        assert [c.value_cents for c in contributions(1)] == [100]
        with pytest.raises(RuntimeError), atomic_write():  # a write that rolls back forgets as well
            contributions(1)
            source.items = []
            raise RuntimeError("rolled back")
        assert contributions(1) == []
        assert len(source.calls) == 4


def test_outside_a_request_and_in_a_form_post_every_call_reads(app, source):
    contributions(1)
    contributions(1)
    with app.test_request_context(method="POST"):
        contributions(1)
        contributions(1)
    assert len(source.calls) == 4


def test_the_sroi_pool_is_built_once_per_page_and_forgotten_with_the_reads(app):
    from portal.sroi.service import pool_for

    with app.test_request_context():
        first = pool_for(1)
        assert pool_for(1) is first and pool_for({1}) is not first   # one company, or a set of companies
        with atomic_write():
            pass
        assert pool_for(1) is not first
