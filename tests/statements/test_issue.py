"""Issuing: gapless numbers, frozen snapshot and bytes, corrections, withdrawal, the register."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import peewee
import pytest

from portal.core.audit import AuditLog
from portal.core.db import database
from portal.statements import after_issue, periods, records, service, snapshots
from portal.statements.models import Statement, StatementCounter
from tests.pdftext import assert_in_pdf, pdf_text

D = dt.date
TODAY = D(2027, 1, 15)  # calendar year 2026 has ended: its statements can be issued
YEAR = periods.calendar_year(2026)


@pytest.fixture
def company(make_company):
    return make_company("Domstad", language="nl")


def test_issue_numbers_renders_and_stores_in_one_go(app, ledger, no_sroi, company):
    ledger.hours(company, D(2026, 1, 5), 420, "Anna de Vries")
    ledger.money(company, D(2026, 3, 2), 250_000)
    statement = service.issue(company, YEAR, company.admin, today=TODAY)

    stored = Statement.get_by_id(statement.id)
    assert stored.number == "OA-2027-0001"
    assert (stored.year, stored.sequence, stored.status) == (2027, 1, "issued")
    assert stored.issued_on == TODAY
    data = stored.pdf_bytes
    assert data.startswith(b"%PDF-")
    assert hashlib.sha256(data).hexdigest() == stored.pdf_sha256
    assert stored.pdf_size == len(data)
    snapshot = json.loads(stored.snapshot)
    assert snapshot["number"] == "OA-2027-0001"
    assert snapshot["totals"]["money"]["gross_cents"] == 250_000
    text = pdf_text(data)
    assert_in_pdf("OA-2027-0001", text)
    assert_in_pdf(service.display_code(stored.verification_code), text)
    row = AuditLog.get(AuditLog.action == "statement.issued")
    assert json.loads(row.details)["sha256"] == stored.pdf_sha256
    assert StatementCounter.get(StatementCounter.year == 2027).last_number == 1


def test_numbers_are_consecutive_per_year(app, ledger, no_sroi, many_companies):
    companies = many_companies(3)
    for company in companies:
        ledger.money(company, D(2026, 3, 2), 1000)
    numbers = [service.issue(c, YEAR, today=TODAY).number for c in companies]
    assert numbers == ["OA-2027-0001", "OA-2027-0002", "OA-2027-0003"]
    # The number's year is the year of issue, and each year starts again at 1.
    ledger.money(companies[0], D(2026, 12, 30), 500)
    later = service.issue(companies[0], periods.school_year(2026), today=D(2028, 1, 4))
    assert later.number == "OA-2028-0001"


def test_a_period_has_one_current_statement(app, ledger, no_sroi, company):
    ledger.money(company, D(2026, 3, 2), 1000)
    first = service.issue(company, YEAR, today=TODAY)
    with pytest.raises(service.StatementError) as error:
        service.issue(company, YEAR, today=TODAY)
    assert error.value.statement.id == first.id
    assert StatementCounter.get(StatementCounter.year == 2027).last_number == 1
    # Another period of the same company is another statement.
    assert service.issue(company, periods.school_year(2025), today=TODAY).number == "OA-2027-0002"


def test_nothing_to_issue_uses_no_number(app, ledger, no_sroi, company):
    with pytest.raises(service.NothingToIssue):
        service.issue(company, YEAR, today=TODAY)
    assert not StatementCounter.select().where(StatementCounter.last_number > 0).exists()


def test_failed_render_uses_no_number(app, ledger, no_sroi, company, make_company):
    ledger.money(company, D(2026, 3, 2), 1000)

    def broken(snapshot, verification_code=None):
        assert snapshot["number"] == "OA-2027-0001"  # the number is on the document being rendered
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        service.issue(company, YEAR, today=TODAY, renderer=broken)
    assert Statement.select().count() == 0
    assert not AuditLog.select().where(AuditLog.action == "statement.issued").exists()
    assert service.issue(company, YEAR, today=TODAY).number == "OA-2027-0001"


def test_issued_statement_never_changes(app, ledger, no_sroi, company):
    hours = ledger.hours(company, D(2026, 1, 5), 420, "Anna de Vries")
    refund_later = ledger.money(company, D(2026, 3, 2), 250_000)
    statement = service.issue(company, YEAR, today=TODAY)
    before = statement.pdf_bytes
    assert not after_issue.needs_correction(statement)

    # The sources change: an hour correction, a refund, a new contribution, a description.
    ledger.replace(hours, minutes=390, value_cents=32_500)
    ledger.money(company, D(2026, 3, 20), -250_000, description="Refund")
    ledger.remove(refund_later)
    ledger.material(company, D(2026, 6, 1), 10_000)

    stored = Statement.get_by_id(statement.id)
    assert stored.pdf_bytes == before
    assert hashlib.sha256(stored.pdf_bytes).hexdigest() == stored.pdf_sha256
    assert json.loads(stored.snapshot)["totals"]["money"]["gross_cents"] == 250_000
    assert after_issue.needs_correction(stored)
    found = {(c.change, c.kind) for c in after_issue.changes(stored)}
    assert found == {("changed", "hours_sponsored"), ("removed", "money"), ("added", "money"), ("added", "material")}
    changed = next(c for c in after_issue.changes(stored) if c.change == "changed")
    assert set(changed.fields) == {"minutes", "value_cents"}


def test_the_database_refuses_to_change_or_delete_a_statement(app, ledger, no_sroi, company):
    ledger.money(company, D(2026, 3, 2), 1000)
    statement = service.issue(company, YEAR, today=TODAY)
    for change in ({"pdf": b"%PDF-forged"}, {"pdf_sha256": "0" * 64}, {"snapshot": "{}"}, {"number": "OA-2027-0099"}):
        with pytest.raises(peewee.DatabaseError):
            with database.atomic():
                Statement.update(**change).where(Statement.id == statement.id).execute()
    with pytest.raises(peewee.DatabaseError):
        with database.atomic():
            Statement.delete().where(Statement.id == statement.id).execute()
    with pytest.raises(peewee.DatabaseError):
        with database.atomic():
            StatementCounter.update(last_number=7).where(StatementCounter.year == 2027).execute()
    assert Statement.get_by_id(statement.id).pdf_sha256 == statement.pdf_sha256


def test_correction_names_the_statement_it_replaces(app, ledger, no_sroi, company):
    hours = ledger.hours(company, D(2026, 1, 5), 420, "Anna de Vries")
    original = service.issue(company, YEAR, today=TODAY)
    ledger.replace(hours, minutes=360, value_cents=30_000)

    correction = service.issue_correction(original, company.admin, today=D(2027, 1, 20))
    assert correction.number == "OA-2027-0002"
    assert correction.replaces_id == original.id
    assert Statement.get_by_id(original.id).status == "superseded"
    assert not after_issue.needs_correction(correction)
    assert not after_issue.needs_correction(Statement.get_by_id(original.id))
    assert records.replaced_by(original).id == correction.id
    snapshot = snapshots.snapshot_of(correction)
    assert snapshot["replaces"] == {"number": "OA-2027-0001", "issued_on": "2027-01-15"}
    assert snapshot["totals"]["hours_sponsored"]["minutes"] == 360
    text = pdf_text(correction.pdf_bytes)
    assert_in_pdf("OA-2027-0001", text)
    assert_in_pdf("OA-2027-0002", text)
    # A replaced statement is not corrected twice.
    with pytest.raises(service.StatementError):
        service.issue_correction(Statement.get_by_id(original.id), today=D(2027, 1, 21))
    assert StatementCounter.get(StatementCounter.year == 2027).last_number == 2


def test_void_keeps_the_number_with_a_reason(app, ledger, no_sroi, company, leader):
    ledger.money(company, D(2026, 3, 2), 1000)
    statement = service.issue(company, YEAR, today=TODAY)
    with pytest.raises(service.StatementError):
        service.void(statement, leader, "  ")
    voided = service.void(statement, leader, "Issued to the wrong company")
    assert (voided.status, voided.void_reason, voided.voided_by_id) == ("void", "Issued to the wrong company", leader.id)
    with pytest.raises(service.StatementError):
        service.void(voided, leader, "again")
    # The period is free again, and the register still lists the withdrawn number.
    again = service.issue(company, YEAR, today=TODAY)
    assert again.number == "OA-2027-0002"
    (year,) = records.register(2027)
    assert [(s.number, s.status) for s in year.statements] == [("OA-2027-0001", "void"), ("OA-2027-0002", "issued")]
    assert year.missing == []


def test_bulk_issue_is_idempotent(app, ledger, no_sroi, make_company):
    a, b, c = make_company("A"), make_company("B"), make_company("C")
    ledger.money(a, D(2026, 3, 2), 1000)
    ledger.hours(b, D(2026, 3, 2), 60, "Bo")
    ledger.money(c, D(2025, 3, 2), 1000)  # not in 2026
    first = service.issue_bulk(YEAR, today=TODAY)
    assert sorted(s.company_id for s in first.issued) == sorted([a.id, b.id])
    second = service.issue_bulk(YEAR, today=TODAY)
    assert second.issued == []
    assert sorted(company.id for company, reason in second.skipped if reason == "exists") == sorted([a.id, b.id])
    assert Statement.select().count() == 2


def test_one_source_row_with_two_parts_is_compared_part_by_part(app, ledger, no_sroi, company):
    """Enrolment gives a mixed session as a sponsored and a volunteered line under one key."""
    from portal.core.contributions import Contribution

    sponsored = ledger.add(Contribution(kind="hours_sponsored", key="hours:7", company_id=company.id, on=D(2026, 2, 2),
                                        description="Sponsored hours", value_cents=20_000, basis="employer_cost",
                                        minutes=240, person="Anna"))
    ledger.add(Contribution(kind="hours_volunteered", key="hours:7", company_id=company.id, on=D(2026, 2, 2),
                            description="Volunteered hours", value_cents=0, basis="none", minutes=180, person="Anna"))
    statement = service.issue(company, YEAR, today=TODAY)
    totals = snapshots.snapshot_of(statement)["totals"]
    assert (totals["hours_sponsored"]["minutes"], totals["hours_volunteered"]["minutes"]) == (240, 180)
    assert after_issue.changes(statement) == []
    ledger.replace(sponsored, minutes=120, value_cents=10_000)
    assert [(c.change, c.kind, c.key) for c in after_issue.changes(statement)] == [("changed", "hours_sponsored", "hours:7")]
