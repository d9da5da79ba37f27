"""Change marks on a statement, so that "does it still match?" is one query for many statements.

`ledger_mark`: the company's last posting in the ledger (0008) when the statement was issued.
A later posting of that company dated inside the statement's period means its figures changed.
`sroi_mark`: what the SROI allocations of the statement's period were at issue (their count,
ids, amounts and last changes), compared with what they are now. Statements issued before this
migration keep NULL in both and are compared line by line, as before.

Columns, not keys in the snapshot: the comparison runs inside SQL for all statements at once,
without loading each snapshot (which holds every line). Both columns are frozen like the
document columns: the guard of 0005 is replaced by one that names them too (SQL frozen as of
this migration). Never edit a migration once it has landed: write a new one.
"""

from peewee import *

FROZEN_0005 = ('number', 'year', 'sequence', 'company_id', 'period_kind', 'period_start', 'period_end',
               'language', 'issued_on', 'issued_at', 'replaces_id', 'snapshot', 'pdf', 'pdf_sha256',
               'pdf_size', 'verification_code')
FROZEN = FROZEN_0005 + ('ledger_mark', 'sroi_mark')


def guard_sqlite(db, columns):
    changed = ' OR '.join(f'NEW.{column} IS NOT OLD.{column}' for column in columns)
    db.execute_sql('DROP TRIGGER IF EXISTS statement_frozen')
    db.execute_sql(
        'CREATE TRIGGER statement_frozen BEFORE UPDATE ON statement '
        f"WHEN {changed} BEGIN SELECT RAISE(ABORT, 'an issued statement cannot be changed'); END")


def guard_postgres(db, columns):
    old = ', '.join(f'OLD.{column}' for column in columns)
    new = ', '.join(f'NEW.{column}' for column in columns)
    db.execute_sql(
        'CREATE OR REPLACE FUNCTION statement_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
        "IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'statements are never deleted'; END IF; "
        f"IF ROW({new}) IS DISTINCT FROM ROW({old}) THEN "
        "RAISE EXCEPTION 'an issued statement cannot be changed'; END IF; "
        "IF OLD.status <> 'issued' AND NEW.status IS DISTINCT FROM OLD.status THEN "
        "RAISE EXCEPTION 'a superseded or void statement keeps its status'; END IF; "
        'RETURN NEW; END $$')


def guard(db, columns):
    if isinstance(db, SqliteDatabase):
        guard_sqlite(db, columns)
    else:
        guard_postgres(db, columns)


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('statement', 'ledger_mark', BigIntegerField(null=True)),
        migrator.add_column('statement', 'sroi_mark', CharField(max_length=255, null=True)),
    )
    guard(db, FROZEN)


def down(migrator, db):
    guard(db, FROZEN_0005)
    migrator.migrate(
        migrator.drop_column('statement', 'sroi_mark'),
        migrator.drop_column('statement', 'ledger_mark'),
    )
