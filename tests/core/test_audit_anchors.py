"""Issue 15 item 13: the audit chain is anchored at each period close and each issued statement,
so `portal audit verify` notices newest rows removed behind the application's back (what is left
of a chain cut at its end is still a valid chain)."""

from __future__ import annotations

import datetime as dt

import peewee
import pytest

from portal.core import audit, ledger
from portal.core.audit import GENESIS, AuditAnchor, AuditLog
from portal.core.db import database, is_sqlite
from portal.statements import periods
from portal.statements import service as statements
from tests.core.cli_runner import run_portal
from tests.core.test_audit import triggers_off, write
from tests.statements import conftest as statement_fixtures

D = dt.date
ledger_fixture = statement_fixtures.ledger
no_sroi = statement_fixtures.no_sroi


def anchor(reason: str = "test") -> AuditAnchor:
    with database.atomic():
        return audit.anchor(reason)


def delete_rows(*ids: int) -> None:
    """Remove audit rows as someone with database access could (see test_audit's triggers_off)."""
    if is_sqlite():
        database.execute_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")  # this test's own file
        with database.atomic():
            AuditLog.delete().where(AuditLog.id.in_(ids)).execute()
        return
    with triggers_off():
        with database.atomic():
            AuditLog.delete().where(AuditLog.id.in_(ids)).execute()


def test_an_anchor_holds_the_head_of_the_chain(app):
    assert anchor("before anything").head_id is None
    rows = write(3)
    mark = anchor("close 2026-01")
    assert (mark.head_id, mark.head_hash, mark.reason) == (rows[-1].id, rows[-1].row_hash, "close 2026-01")
    assert AuditAnchor.select().where(AuditAnchor.head_id.is_null()).get().head_hash == GENESIS
    report = audit.verify()
    assert report.ok and (report.rows, report.anchors) == (3, 2)
    result = run_portal(app, "audit", "verify")
    assert result.exit_code == 0 and "audit log intact: 3 rows, 2 anchors" in result.output


def test_anchor_refuses_to_run_outside_a_transaction(app):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.anchor("test")


def test_removing_the_newest_rows_before_an_anchor_is_reported(app):
    rows = write(4)
    anchor("statement OA-2026-0001")
    assert audit.verify().ok
    delete_rows(rows[2].id, rows[3].id)

    report = audit.verify()
    assert not report.ok and report.broken_at == rows[3].id
    assert f"rows {rows[2].id}-{rows[3].id} were removed" in report.reason
    assert "statement OA-2026-0001" in report.reason
    result = run_portal(app, "audit", "verify")
    assert result.exit_code == 1
    assert f"audit log BROKEN at row {rows[3].id}" in result.output


def test_removing_the_one_newest_row_is_reported_and_later_rows_do_not_hide_it(app):
    rows = write(2)
    anchor("close 2026-02")
    delete_rows(rows[1].id)
    report = audit.verify()
    assert not report.ok and report.broken_at == rows[1].id and f"row {rows[1].id} was removed" in report.reason


def test_rows_after_the_newest_anchor_are_not_covered_but_earlier_ones_are(app):
    rows = write(2)
    anchor("close 2026-03")
    later = write(2)
    delete_rows(later[-1].id)
    assert audit.verify().ok  # nothing anchored it yet
    anchor("statement OA-2026-0002")
    assert audit.verify().ok
    delete_rows(rows[1].id, later[0].id)
    assert not audit.verify().ok


def test_an_anchored_row_replaced_by_a_forged_one_is_reported(app):
    rows = write(2)
    anchor("close 2026-04")
    delete_rows(rows[1].id)
    with database.atomic():
        forged = audit.record("test.forged")
    report = audit.verify()
    assert not report.ok
    assert report.broken_at in (rows[1].id, forged.id)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_anchor SET head_hash = 'forged'",
    "DELETE FROM audit_anchor",
])
def test_the_database_refuses_to_change_or_delete_an_anchor(app, statement):
    write(1)
    mark = anchor()
    with pytest.raises((peewee.IntegrityError, peewee.InternalError, peewee.OperationalError,
                        peewee.ProgrammingError)) as refused, database.atomic():
        database.execute_sql(statement)
    assert "append-only" in str(refused.value)
    assert AuditAnchor.get_by_id(mark.id).head_hash == mark.head_hash


def test_the_anchor_table_has_its_triggers(app):
    if is_sqlite():
        triggers = {row[0] for row in database.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_anchor'")}
        assert triggers == {"audit_anchor_no_update", "audit_anchor_no_delete"}
    else:
        triggers = {row[0] for row in database.execute_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_anchor'::regclass AND NOT tgisinternal")}
        assert triggers == {"audit_anchor_append_only"}


def test_closing_months_anchors_the_chain_after_its_own_row(app):
    ledger.close_months(D(2026, 1, 1), D(2026, 2, 1), actor_id=None, today=D(2026, 3, 15))
    [mark] = AuditAnchor.select()
    head = AuditLog.select().order_by(AuditLog.id.desc()).get()
    assert head.action == "ledger.months_closed"
    assert (mark.head_id, mark.head_hash, mark.reason) == (head.id, head.row_hash, "close 2026-01..2026-02")

    delete_rows(head.id)
    assert not audit.verify().ok


def test_issuing_a_statement_anchors_the_chain_after_its_own_row(app, ledger_fixture, no_sroi, make_company):
    company = make_company("Domstad", language="nl")
    ledger_fixture.money(company, D(2026, 3, 2), 250_000)
    statement = statements.issue(company, periods.calendar_year(2026), company.admin, today=D(2027, 1, 4))
    [mark] = AuditAnchor.select()
    head = AuditLog.select().order_by(AuditLog.id.desc()).get()
    assert head.action == "statement.issued"
    assert (mark.head_id, mark.head_hash, mark.reason) == (head.id, head.row_hash, f"statement {statement.number}")

    delete_rows(head.id)
    report = audit.verify()
    assert not report.ok and statement.number in report.reason
