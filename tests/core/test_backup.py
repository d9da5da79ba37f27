"""`portal backup FILE`: a consistent online copy of a live SQLite database, checked and restorable;
on PostgreSQL it points to pg_dump."""

from __future__ import annotations

import sqlite3

import pytest

from portal.core import backup as backups
from portal.core.db import database, is_sqlite, make_database
from tests.conftest import PG_URL
from tests.core.cli_runner import run_portal

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="the online backup is SQLite's; PostgreSQL uses pg_dump")


def sqlite_path(app) -> str:
    return app.config["DATABASE_URL"][len("sqlite:///"):]


@sqlite_only
def test_a_backup_of_a_live_database_restores_with_its_data(app, make_company, tmp_path):
    from portal.core import audit

    company = make_company("Acme", member=True)
    with database.atomic():
        audit.record("test.before_backup", company=company)
    database.close()

    # Another writer is busy: its committed rows sit in the WAL, its connection stays open.
    live = sqlite3.connect(sqlite_path(app))
    assert live.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    live.execute("UPDATE company SET city = 'Amersfoort' WHERE id = ?", (company.id,))
    live.commit()
    try:
        destination = tmp_path / "copies" / "portal-backup.db"
        result = run_portal(app, "backup", str(destination))
    finally:
        live.close()

    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output and str(destination) in result.output

    # Restore: open the copy as the portal's database and find the data.
    restored = sqlite3.connect(destination)
    assert restored.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert restored.execute("SELECT legal_name, city FROM company").fetchall() == [("Acme B.V.", "Amersfoort")]
    assert restored.execute("SELECT count(*) FROM user").fetchone()[0] == 2
    assert {r[0] for r in restored.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")} >= \
        {"audit_log_no_update", "audit_log_no_delete"}
    restored.close()

    copy = make_database(f"sqlite:///{destination}")
    database.initialize(copy)
    try:
        from portal.accounts.models import Company, User

        assert Company.get().city == "Amersfoort"
        assert User.select().where(User.email == company.member.email).count() == 1
        assert audit.verify().ok
    finally:
        copy.close()


@sqlite_only
def test_a_backup_never_overwrites_a_file(app, tmp_path):
    destination = tmp_path / "exists.db"
    destination.write_bytes(b"precious")

    result = run_portal(app, "backup", str(destination))

    assert result.exit_code == 1
    assert "already exists" in result.output
    assert destination.read_bytes() == b"precious"


def test_postgresql_is_backed_up_with_pg_dump(app):
    if is_sqlite():
        with pytest.raises(backups.BackupError, match=r"pg_dump -Fc"):
            backups.backup(make_database("postgresql://nobody@127.0.0.1:1/none"), "/tmp/never-written.db")
        return
    result = run_portal(app, "backup", "/tmp/never-written.db")
    assert result.exit_code == 1
    assert "pg_dump -Fc" in result.output and "pg_restore" in result.output
