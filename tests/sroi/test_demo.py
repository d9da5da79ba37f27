"""`portal demo` records commitments and lets the suggestion allocate the demo contributions."""

from __future__ import annotations

import datetime as dt
import sys
import types

from portal import demo
from portal.core import clock
from portal.core import ledger as ledger_module
from portal.sroi import pool, service
from portal.sroi.models import Allocation, Approval, Commitment


def test_demo_fills_commitments_allocations_and_an_approval(app, ledger, monkeypatch, request_context):
    today = clock.today()
    contributions_step = types.ModuleType("sroi_test_contributions_step")

    def fill(context):
        for company in context.companies:
            ledger.hours(company, 40 * 60, person="Demo Ambassador", on=today - dt.timedelta(days=30))
            ledger.money(company, 250_000, on=today - dt.timedelta(days=20))

    contributions_step.fill = fill
    monkeypatch.setitem(sys.modules, contributions_step.__name__, contributions_step)
    monkeypatch.setattr(demo, "DEMO_STEPS", (contributions_step.__name__, "portal.sroi.demo"))
    # These contributions live only in the books (no capability's rows under them): rebuilding the
    # books from the capabilities' rows, as the real demo does around its SROI step, would drop them.
    monkeypatch.setattr(ledger_module, "rebuild", lambda: 0)
    demo.fill(scale=1)
    assert Commitment.select().count() == 4
    assert Allocation.select().count() >= 3
    assert Approval.select().count() == 1
    for summary in service.summaries(list(Commitment.select())):
        assert all(line.status in ("ok", "capped") for line in summary.lines)
    first = Commitment.get(Commitment.contract_reference == "UTR-2026-0412")
    warned = service.deadline_warnings(first.company_id)
    assert [s.commitment.contract_reference for s in warned] == ["UTR-2026-0412"]   # due in 45 days, not approved
    # Every contribution is allocated at most once in full.
    used: dict[str, int] = {}
    for allocation in Allocation.select():
        used[allocation.contribution_key] = used.get(allocation.contribution_key, 0) + pool.allocated_amount(allocation)
    whole = {c.key: pool.whole_of(c) for c in ledger.items}
    assert all(used[key] <= whole[key] for key in used)
