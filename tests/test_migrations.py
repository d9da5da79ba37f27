"""The migrations apply to an empty database, and they and the models describe the same schema:
the same tables, columns, types, NULLs, CHECK and foreign-key constraints and indexes.

Two empty databases are built: one by running every migration, one by `create_tables()` from
the models. playhouse's diff_models compares columns and indexes only, so the schemas are also
compared in the database's own words (sqlite_master on SQLite; information_schema and
pg_constraint on PostgreSQL), which is what catches a CHECK constraint the generator dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
from playhouse.migrations import Runner
from playhouse.schema_diff import diff_models

from portal import all_models
from portal.cli import MIGRATIONS_DIR
from portal.core.db import database, make_database
from tests.conftest import PG_URL
from tests.core.cli_runner import run_portal

MIGRATION_NAMES = sorted(path.stem for path in Path(MIGRATIONS_DIR).glob("[0-9]*.py"))


# --- two empty databases ---------------------------------------------------------------------

@pytest.fixture
def empty_urls(tmp_path):
    """URLs of two new, empty databases (files on SQLite, scratch databases on PostgreSQL)."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'migrated.db'}", f"sqlite:///{tmp_path / 'modelled.db'}"
        return
    import psycopg

    base = urlparse(PG_URL)
    names = [f"{base.path.lstrip('/')}_mig_{suffix}" for suffix in ("a", "b")]
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield tuple(urlunparse(base._replace(path="/" + name)) for name in names)
    finally:
        database.close()
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str):
    db = make_database(url)
    database.initialize(db)
    db.connect()
    applied = Runner(db, MIGRATIONS_DIR).up()
    return db, applied


def create_from_models(url: str):
    db = make_database(url)
    database.initialize(db)
    db.connect()
    db.create_tables(all_models())
    return db


# --- the schema in the database's own words ---------------------------------------------------

def normalise_index(sql: str) -> str:
    """An index without its name and quoting: migrations name indexes after the model class
    (auditlog_action), create_tables after the table (audit_log_action); the name is not behaviour."""
    sql = sql.replace('"', "")
    sql = re.sub(r"^CREATE (UNIQUE )?INDEX (IF NOT EXISTS )?\S+ ON ", r"CREATE \1INDEX ON ", sql)
    head, _, where = sql.partition(" WHERE ")
    if where:
        head += " WHERE " + re.sub(r"[()\s]", "", where)
    return re.sub(r"\s+", " ", head).strip()


def sqlite_schema(db) -> dict[str, object]:
    rows = db.execute_sql("SELECT type, name, tbl_name, sql FROM sqlite_master "
                          "WHERE sql IS NOT NULL AND tbl_name != 'schema_migration'").fetchall()
    tables = {name: sql for kind, name, _table, sql in rows if kind == "table"}
    indexes = Counter(normalise_index(sql) for kind, _name, _table, sql in rows if kind == "index")
    return {"tables": tables, "indexes": indexes}


def postgres_schema(db) -> dict[str, object]:
    columns = db.execute_sql(
        "SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, "
        "is_nullable, column_default FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name != 'schema_migration' "
        "ORDER BY table_name, ordinal_position").fetchall()
    constraints = db.execute_sql(
        "SELECT c.conrelid::regclass::text, c.contype, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE n.nspname = 'public' AND c.conrelid::regclass::text != 'schema_migration'").fetchall()
    indexes = db.execute_sql(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename != 'schema_migration'").fetchall()
    return {
        "columns": [tuple(row) for row in columns],
        "constraints": Counter(tuple(row) for row in constraints),
        "indexes": Counter(normalise_index(re.sub(r" USING btree", "", re.sub(r"public\.", "", row[0])))
                           for row in indexes),
    }


def schema(db) -> dict[str, object]:
    return postgres_schema(db) if PG_URL else sqlite_schema(db)


# --- tests ----------------------------------------------------------------------------------

def test_every_migration_applies_to_an_empty_database(app, empty_urls):
    db, applied = migrate(empty_urls[0])
    try:
        assert applied == MIGRATION_NAMES
        assert MIGRATION_NAMES[0] == "0001_initial"
        tables = set(db.get_tables())
        assert {m._meta.table_name for m in all_models()} <= tables
        assert Runner(db, MIGRATIONS_DIR).up() == []  # a second run has nothing to do
    finally:
        db.close()


def test_models_and_migrations_describe_the_same_schema(app, empty_urls):
    migrated, _ = migrate(empty_urls[0])
    try:
        difference = diff_models(migrated, all_models())
        assert not difference, f"models and migrations differ:\n{difference}"
        from_migrations = schema(migrated)
    finally:
        migrated.close()

    modelled = create_from_models(empty_urls[1])
    try:
        from_models = schema(modelled)
    finally:
        modelled.close()

    for part in from_models:
        assert from_migrations[part] == from_models[part], (
            f"{part} differ between the migrations (left) and the models (right); "
            "did a migration lose a CHECK constraint or an index?")


def test_every_check_constraint_of_the_models_is_in_the_database(app, empty_urls):
    """The comparison above is only as good as the constraints the models declare: spot-check the
    money and role CHECKs so that a model losing them fails too."""
    migrated, _ = migrate(empty_urls[0])
    try:
        if PG_URL:
            checks = " ".join(row[0] for row in migrated.execute_sql(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c'").fetchall())
        else:
            checks = " ".join(row[0] for row in migrated.execute_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table'").fetchall())
    finally:
        migrated.close()
    assert "hourly_cost_cents" in checks and "'leader'" in checks and "'invite'" in checks


def test_the_audit_log_is_append_only_in_a_freshly_migrated_database(app, empty_urls):
    migrated, _ = migrate(empty_urls[0])
    try:
        if PG_URL:
            triggers = {row[0] for row in migrated.execute_sql(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal")}
            assert triggers == {"audit_log_append_only"}
        else:
            triggers = {row[0] for row in migrated.execute_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")}
            assert triggers == {"audit_log_no_update", "audit_log_no_delete"}
    finally:
        migrated.close()


def test_portal_db_status_and_upgrade(app, empty_urls):
    url = empty_urls[0]
    before = run_portal(app, "db", "status", PORTAL_DATABASE_URL=url)
    assert before.exit_code == 0, before.output
    lines = before.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == MIGRATION_NAMES
    assert all(line.split()[1] == "pending" for line in lines)

    upgraded = run_portal(app, "db", "upgrade", PORTAL_DATABASE_URL=url)
    assert upgraded.exit_code == 0
    assert upgraded.output.strip() == "applied: " + ", ".join(MIGRATION_NAMES)

    after = run_portal(app, "db", "status", PORTAL_DATABASE_URL=url)
    lines = after.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == MIGRATION_NAMES
    assert all(re.fullmatch(r"\S+\s+applied \d{4}-\d\d-\d\d \d\d:\d\d", line) for line in lines), after.output

    again = run_portal(app, "db", "upgrade", PORTAL_DATABASE_URL=url)
    assert again.output.strip() == "database is up to date"
    database.close()


def test_makemigration_finds_nothing_to_write(app, empty_urls):
    result = run_portal(app, "db", "makemigration", "nothing", PORTAL_DATABASE_URL=empty_urls[0])
    assert result.exit_code == 0
    assert "nothing to write" in result.output
    database.close()
