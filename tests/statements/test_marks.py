"""Correction flags from change marks: a statement remembers the company's last posting in the books
and what the SROI allocations of its period were; a later posting dated in its period, or a change
of those allocations, flags it. Statements issued before marks existed are compared line by line."""

from __future__ import annotations

import dataclasses
import datetime as dt

import peewee
import pytest

from portal.core import ledger as books
from portal.core.db import database
from portal.sroi import service as sroi
from portal.statements import after_issue, periods, service, snapshots
from portal.statements import sroi as statement_sroi
from portal.statements.models import Statement
from tests.conftest import PG_URL

D = dt.date
TODAY = D(2026, 11, 28)
Q1, Q2 = periods.custom(D(2026, 1, 1), D(2026, 3, 31)), periods.custom(D(2026, 4, 1), D(2026, 6, 30))


@pytest.fixture
def company(make_company):
    return make_company("Domstad", member=True)


def flagged(*statements) -> dict:
    return after_issue.correction_flags([Statement.get_by_id(s.id) for s in statements])


def test_a_change_dated_in_the_period_flags_the_statement_and_one_outside_it_does_not(app, ledger, no_sroi, company):
    hours = ledger.hours(company, D(2026, 2, 3), 420, "Anna de Vries")
    ledger.money(company, D(2026, 5, 4), 10_000)
    first, second = service.issue(company, Q1, today=TODAY), service.issue(company, Q2, today=TODAY)
    assert first.ledger_mark == second.ledger_mark == books.last_posting_id(company.id) > 0
    assert flagged(first, second) == {}

    ledger.money(company, D(2026, 7, 1), 5_000)           # after both periods
    ledger.money(company, D(2025, 12, 31), 5_000)         # before both
    assert flagged(first, second) == {}
    assert not after_issue.needs_correction(first) and not after_issue.needs_correction(second)

    ledger.replace(hours, minutes=390, value_cents=32_500)  # dated in the first quarter only
    assert flagged(first, second) == {first.id: after_issue.Flag(contributions=True)}
    assert after_issue.needs_correction(first) and not after_issue.needs_correction(second)
    assert [(c.change, c.kind) for c in after_issue.changes(first)] == [("changed", "hours_sponsored")]


def test_a_change_booked_after_a_closed_month_counts_by_its_business_date(app, ledger, no_sroi, company):
    ledger.money(company, D(2026, 2, 2), 10_000)
    ledger.money(company, D(2026, 5, 2), 10_000)
    first, second = service.issue(company, Q1, today=TODAY), service.issue(company, Q2, today=TODAY)
    books.close_months(D(2026, 1, 1), D(2026, 3, 31), actor_id=None, today=TODAY)
    ledger.money(company, D(2026, 3, 9), -2_500, description="Refund")  # booked in April, dated in March
    late = books.Posting.get(books.Posting.id == books.last_posting_id(company.id))
    assert (late.dated_on, late.booked_on) == (D(2026, 3, 9), D(2026, 4, 1))
    assert set(flagged(first, second)) == {first.id}


def test_other_companies_and_allowances_do_not_flag_a_statement(app, ledger, no_sroi, company, make_company):
    ledger.money(company, D(2026, 2, 2), 10_000)
    statement = service.issue(company, Q1, today=TODAY)
    ledger.money(make_company("Other"), D(2026, 2, 3), 10_000)
    from portal.core.db import atomic_write

    with atomic_write():  # paid to a volunteer, not contributed by the company: not on a statement
        books.post(company_id=company.id, dated_on=D(2026, 2, 28), kind="allowance", key="allowance:1",
                   source="test", basis="at_cost", value_cents=4_000)
    assert flagged(statement) == {}


def test_a_corrected_or_withdrawn_statement_is_not_flagged(app, ledger, no_sroi, company, leader):
    ledger.money(company, D(2026, 2, 2), 10_000)
    original = service.issue(company, Q1, today=TODAY)
    ledger.money(company, D(2026, 2, 9), 1_000)
    correction = service.issue_correction(original, today=TODAY)
    assert correction.ledger_mark > original.ledger_mark
    assert flagged(original, correction) == {}
    ledger.money(company, D(2026, 2, 10), 1_000)
    assert set(flagged(original, correction)) == {correction.id}
    service.void(correction, leader, "Issued by mistake")
    assert flagged(original, correction) == {}


def test_an_allocation_changed_after_issue_flags_the_statement_of_its_period(app, ledger, company):
    with app.test_request_context():
        commitment = sroi.create_commitment(company.admin, sroi.CommitmentInput(
            authority="Gemeente Utrecht", contract_reference="UTR-2026-001", description="",
            base_type="contract_value_excl_vat", base_cents=100_000_000, percentage_bp=500, cap_cents=None,
            period_start_on=D(2026, 1, 1), period_end_on=D(2026, 12, 31), deadline_on=D(2027, 3, 31)),
            "utrecht-bouwblokken")
    early = ledger.money(company, D(2026, 2, 2), 50_000)
    late = ledger.money(company, D(2026, 5, 2), 50_000)
    hours = ledger.hours(company, D(2026, 3, 3), 480, "Anna de Vries")
    with app.test_request_context():
        sroi.set_allocation(company.admin, commitment.id, early.key, 20_000)
    first, second = service.issue(company, Q1, today=TODAY), service.issue(company, Q2, today=TODAY)
    assert first.sroi_mark and second.sroi_mark == ""  # the second quarter has no allocation
    assert flagged(first, second) == {}

    with app.test_request_context():  # an allocation in the second quarter: only its statement changes
        sroi.set_allocation(company.admin, commitment.id, late.key, 10_000)
    assert flagged(first, second) == {second.id: after_issue.Flag(sroi=True)}
    assert [(c.change, c.key) for c in after_issue.changes(Statement.get_by_id(second.id))] == [
        ("added", f"Gemeente Utrecht · UTR-2026-001|{late.key}")]

    corrected = service.issue_correction(Statement.get_by_id(second.id), today=TODAY)
    assert flagged(first, corrected) == {}
    with app.test_request_context():  # changed, added and removed in the first quarter
        sroi.set_allocation(company.admin, commitment.id, early.key, 30_000)
    assert flagged(first) == {first.id: after_issue.Flag(sroi=True)}
    first = service.issue_correction(Statement.get_by_id(first.id), today=TODAY)
    with app.test_request_context():
        sroi.set_allocation(company.admin, commitment.id, hours.key, 240)
    assert set(flagged(first)) == {first.id}
    first = service.issue_correction(Statement.get_by_id(first.id), today=TODAY)
    with app.test_request_context():
        sroi.set_allocation(company.admin, commitment.id, hours.key, 0)  # removes the allocation
    assert set(flagged(first)) == {first.id}
    assert flagged(corrected) == {}


def test_the_commitment_s_rules_are_part_of_the_sroi_mark(app, ledger, company):
    with app.test_request_context():
        commitment = sroi.create_commitment(company.admin, sroi.CommitmentInput(
            authority="Gemeente Utrecht", contract_reference="UTR-2026-001", description="",
            base_type="contract_value_excl_vat", base_cents=100_000_000, percentage_bp=500, cap_cents=None,
            period_start_on=D(2026, 1, 1), period_end_on=D(2026, 12, 31), deadline_on=D(2027, 3, 31)),
            "utrecht-bouwblokken")
        hours = ledger.hours(company, D(2026, 2, 2), 480, "Anna de Vries")
        sroi.set_allocation(company.admin, commitment.id, hours.key, 480)
    statement = service.issue(company, Q1, today=TODAY)
    assert flagged(statement) == {}
    with app.test_request_context():
        rules = sroi.rules_of(commitment)
        sroi.update_rules(company.admin, commitment.id, dataclasses.replace(
            rules, counts_hours_volunteered=not rules.counts_hours_volunteered), "the buyer's new table")
    assert flagged(statement) == {statement.id: after_issue.Flag(sroi=True)}


def test_statements_issued_before_marks_are_compared_line_by_line(app, ledger, no_sroi, company, monkeypatch, login):
    hours = ledger.hours(company, D(2026, 2, 3), 420, "Anna de Vries")
    ledger.money(company, D(2026, 5, 4), 10_000)
    with monkeypatch.context() as patch:  # as a statement issued before migration 0009
        patch.setattr(after_issue, "ledger_mark", lambda company_id: None)
        patch.setattr(statement_sroi, "allocations_mark", lambda company_id, start, end: None)
        old = service.issue(company, Q1, today=TODAY)
    new = service.issue(company, Q2, today=TODAY)
    assert (old.ledger_mark, old.sroi_mark, new.ledger_mark is not None) == (None, None, True)
    assert flagged(old, new) == {}

    ledger.money(company, D(2026, 7, 2), 1_000)  # outside its period: its lines are the same
    assert flagged(old, new) == {}
    ledger.replace(hours, minutes=360, value_cents=30_000)
    flags = flagged(old, new)
    assert list(flags) == [old.id] and not flags[old.id].contributions
    assert [(c.change, c.kind, set(c.fields)) for c in flags[old.id].lines] == [
        ("changed", "hours_sponsored", {"minutes", "value_cents"})]
    assert after_issue.needs_correction(old) and after_issue.count_needing_correction() == 1

    client = login(app.test_client(), company.admin)
    assert b"needs correction" in client.get("/statements").data
    page = client.get(f"/statements/{old.id}").get_data(as_text=True)
    assert "Issue a correction" in page and "Lessons in group 6" in page
    correction = service.issue_correction(Statement.get_by_id(old.id), today=TODAY)
    assert correction.ledger_mark is not None and flagged(correction) == {}


def test_changes_that_cancel_out_still_flag_and_the_page_says_so(app, ledger, no_sroi, company, login):
    gift = ledger.money(company, D(2026, 2, 2), 10_000)
    statement = service.issue(company, Q1, today=TODAY)
    changed = ledger.replace(gift, gross_cents=9_000, value_cents=9_000, net_cents=9_000)
    ledger.replace(changed, gross_cents=10_000, value_cents=10_000, net_cents=10_000)
    assert after_issue.changes(statement) == [] and after_issue.needs_correction(statement)
    client = login(app.test_client(), company.admin)
    page = client.get(f"/statements/{statement.id}").get_data(as_text=True)
    assert "the changes cancel out" in page and "Issue a correction" in page and "needs correction" in page


def test_the_marks_cannot_be_changed_after_issue(app, ledger, no_sroi, company):
    ledger.money(company, D(2026, 2, 2), 10_000)
    statement = service.issue(company, Q1, today=TODAY)
    for change in ({"ledger_mark": 10**9}, {"ledger_mark": None}, {"sroi_mark": "x"}):
        with pytest.raises(peewee.DatabaseError):
            with database.atomic():
                Statement.update(**change).where(Statement.id == statement.id).execute()
    assert Statement.get_by_id(statement.id).ledger_mark == statement.ledger_mark


def test_the_concept_s_summary_reads_the_books_and_matches_the_statement(app, ledger, no_sroi, company, login):
    anna = ledger.hours(company, D(2026, 1, 5), 420, "Anna de Vries")
    ledger.hours(company, D(2026, 1, 12), 300, "bram", rate_cents=6000)
    ledger.hours(company, D(2026, 1, 19), 120, "Anna de Vries", sponsored=False)
    ledger.money(company, D(2026, 3, 2), 250_000, fee=300, method="stripe")
    ledger.money(company, D(2026, 3, 3), 40_000, classification="sponsoring")
    ledger.money(company, D(2026, 3, 9), -5_000, description="Refund")
    ledger.material(company, D(2026, 6, 1), 10_000)
    withdrawn = ledger.material(company, D(2026, 6, 2), 7_000, classification="")
    ledger.remove(withdrawn)
    ledger.replace(anna, minutes=400, value_cents=33_333)
    ledger.money(company, D(2027, 1, 2), 99_900)  # another year
    period = periods.calendar_year(2026)
    summary = snapshots.summary_of(company, period)
    snapshot = snapshots.build_snapshot(company, period, issued_on=TODAY)
    expected = snapshot["totals"]
    del expected["money"]["refunds_cents"]
    assert summary["totals"] == expected
    assert summary["lines"] == len(snapshot["lines"]) == 7
    page = login(app.test_client(), company.admin).get("/statements/preview?kind=calendar_year&year=2026")
    assert "€2,850.00" in page.get_data(as_text=True)  # gross money
    assert [c.id for c in service.companies_with_contributions(period)] == [company.id]
    assert service.companies_with_contributions(periods.calendar_year(2025)) == []


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL: SQLite's writers run one at a time")
def test_a_mark_is_read_only_after_every_posting_begun_before_it_committed(app, ledger, no_sroi, company):
    """Ids are taken when a posting starts: a mark read while a lower id is still uncommitted (and a
    higher one is not) would hide that posting for ever. The mark waits for it instead."""
    import threading
    import time

    from portal.core.db import atomic_write
    from tests.statements.test_concurrency import run_together

    ledger.money(company, D(2026, 2, 2), 10_000)
    database.close()
    posted, committed = threading.Event(), []

    def post(on):
        books.post(company_id=company.id, dated_on=on, kind="money", key=f"late:{on}", source="test",
                   basis="at_cost", value_cents=100, gross_cents=100, net_cents=100)

    def slow_writer():
        with atomic_write():
            post(D(2026, 2, 3))  # takes the lower id, and keeps it uncommitted for a while
            posted.set()
            time.sleep(1.0)
            committed.append(time.monotonic())  # still uncommitted here: the mark must come after

    def quick_writer_then_mark():
        posted.wait(10)
        with atomic_write():
            post(D(2026, 3, 4))  # a higher id (another month's total row), committed at once
        mark = after_issue.ledger_mark(company.id)
        return mark, time.monotonic()

    _none, (mark, marked_at) = run_together(app, [slow_writer, quick_writer_then_mark])
    assert committed and marked_at >= committed[0]  # the mark waited for the slower posting
    assert mark == books.last_posting_id(company.id)


def test_many_statements_are_asked_about_by_their_id_range(app, ledger, no_sroi, many_companies, monkeypatch):
    companies = many_companies(3)
    for company in companies:
        ledger.money(company, D(2026, 2, 2), 10_000)
    first, middle, last = (service.issue(company, Q1, today=TODAY) for company in companies)
    for company in companies[:2]:
        ledger.money(company, D(2026, 2, 3), 1_000)
    monkeypatch.setattr(after_issue, "MAX_NAMED", 1)
    assert set(flagged(first, last)) == {first.id}  # the middle one needs a correction too, unasked
    assert set(flagged(first, middle, last)) == {first.id, middle.id}
