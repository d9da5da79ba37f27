"""The audit log is append-only in the database itself and hash-chained, so `portal audit verify`
notices a row changed or removed behind the application's back."""

from __future__ import annotations

import contextlib
import json

import peewee
import pytest

from portal.core import audit
from portal.core.audit import GENESIS, AuditLog
from portal.core.db import database, is_sqlite
from tests.core.cli_runner import run_portal


def write(n: int = 3) -> list[AuditLog]:
    rows = []
    for i in range(n):
        with database.atomic():
            rows.append(audit.record("test.event", actor=7, company=3, object_type="thing", object_id=i,
                                     amount_cents=100 * i, note=f"row {i}"))
    return rows


@contextlib.contextmanager
def triggers_off():
    """Tamper as someone with database access could: without the append-only triggers."""
    database.close()  # the test's open connection must not hold anything the DDL waits for
    database.connect()
    if is_sqlite():
        database.execute_sql("DROP TRIGGER audit_log_no_update")
        database.execute_sql("DROP TRIGGER audit_log_no_delete")
        yield  # the SQLite file is this test's own copy
    else:
        database.execute_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        try:
            yield
        finally:
            database.execute_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def test_rows_are_chained_from_the_genesis_hash(app):
    first, second, third = write()
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.row_hash and third.prev_hash == second.row_hash
    assert len({first.row_hash, second.row_hash, third.row_hash}) == 3
    stored = AuditLog.get_by_id(second.id)
    assert (stored.actor_id, stored.company_id, stored.action, stored.object_type, stored.object_id) == \
        (7, 3, "test.event", "thing", "1")
    assert json.loads(stored.details) == {"amount_cents": 100, "note": "row 1"}


def test_record_refuses_to_run_outside_a_transaction(app):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.record("test.event")


def test_an_audit_row_rolls_back_with_its_change(app):
    with pytest.raises(ZeroDivisionError), database.atomic():
        audit.record("test.event")
        1 / 0  # noqa: B018
    assert AuditLog.select().count() == 0


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET action = 'forged'",
    "UPDATE audit_log SET details = '{}' WHERE id = {id}",
    "DELETE FROM audit_log WHERE id = {id}",
    "DELETE FROM audit_log",
])
def test_the_database_refuses_update_and_delete(app, statement):
    rows = write(2)
    with pytest.raises((peewee.IntegrityError, peewee.InternalError, peewee.OperationalError,
                        peewee.ProgrammingError)) as refused, database.atomic():
        database.execute_sql(statement.replace("{id}", str(rows[0].id)))
    assert "append-only" in str(refused.value)
    assert [(r.id, r.action, r.row_hash) for r in AuditLog.select().order_by(AuditLog.id)] == \
        [(r.id, r.action, r.row_hash) for r in rows]


def test_the_orm_cannot_change_or_delete_a_row_either(app):
    [row] = write(1)
    with pytest.raises(peewee.DatabaseError):
        with database.atomic():
            AuditLog.update(action="forged").where(AuditLog.id == row.id).execute()
    with pytest.raises(peewee.DatabaseError):
        with database.atomic():
            AuditLog.delete_by_id(row.id)
    assert AuditLog.get_by_id(row.id).action == "test.event"


def test_verify_reports_an_intact_chain(app):
    write(4)
    report = audit.verify()
    assert report.ok and report.rows == 4

    result = run_portal(app, "audit", "verify")
    assert result.exit_code == 0
    assert "audit log intact: 4 rows" in result.output


def test_an_empty_log_is_intact(app):
    assert audit.verify().ok
    assert run_portal(app, "audit", "verify").exit_code == 0


@pytest.mark.parametrize("column, value", [
    ("details", '{"amount_cents": 1, "note": "row 1"}'),
    ("action", "test.innocent"),
    ("company_id", "4"),
    ("actor_id", "NULL"),
])
def test_verify_names_a_row_changed_behind_its_back(app, column, value):
    rows = write(3)
    with triggers_off():
        quoted = value if value in ("NULL",) or value.isdigit() else "'" + value.replace("'", "''") + "'"
        database.execute_sql(f"UPDATE audit_log SET {column} = {quoted} WHERE id = {rows[1].id}")

    report = audit.verify()
    assert not report.ok and report.broken_at == rows[1].id
    assert "changed" in report.reason

    result = run_portal(app, "audit", "verify")
    assert result.exit_code == 1
    assert f"BROKEN at row {rows[1].id}" in result.output


def test_verify_notices_a_row_whose_hash_was_recomputed(app):
    """Changing a row and its own hash still breaks the next row's link."""
    rows = write(3)
    forged = {"at": rows[1].at, "actor_id": 7, "company_id": 3, "action": "test.event", "object_type": "thing",
              "object_id": "1", "details": '{"amount_cents": 1}', "prev_hash": rows[1].prev_hash}
    new_hash = audit._digest(forged)
    with triggers_off():
        database.execute_sql(f"UPDATE audit_log SET details = '{forged['details']}', row_hash = '{new_hash}' "
                             f"WHERE id = {rows[1].id}")

    report = audit.verify()
    assert not report.ok and report.broken_at == rows[2].id


def test_verify_names_a_deleted_row(app):
    rows = write(4)
    with triggers_off():
        database.execute_sql(f"DELETE FROM audit_log WHERE id = {rows[1].id}")

    report = audit.verify()
    assert not report.ok and report.broken_at == rows[2].id
    assert f"row {rows[1].id}" in report.reason and "removed" in report.reason

    result = run_portal(app, "audit", "verify")
    assert result.exit_code == 1
    assert f"BROKEN at row {rows[2].id}" in result.output and f"row {rows[1].id}" in result.output


def test_verify_notices_the_first_row_deleted(app):
    rows = write(3)
    with triggers_off():
        database.execute_sql(f"DELETE FROM audit_log WHERE id = {rows[0].id}")
    report = audit.verify()
    assert not report.ok and report.broken_at == rows[1].id


def test_the_chain_survives_concurrent_writers(app):
    """Four threads, each with its own connection (peewee's are per thread), extend one chain."""
    import threading

    from portal.core.db import atomic_write

    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(5):
                with atomic_write():
                    audit.record(f"thread{n}.{i}")
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    report = audit.verify()
    assert report.ok and report.rows == 20
