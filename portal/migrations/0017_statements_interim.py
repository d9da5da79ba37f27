"""Statements issued for every company on the task queue (issue 20); interim overviews (issue 14).

`statement_run`: the project leader's request to issue a period's statements for every company,
done by a background task: queued, running, then done with its counts (or failed with the error
that stopped it). A partial unique index lets one run per period wait or run at a time.

An interim overview of a calendar or school year that is still running is never stored (it has no
number and no verification code), so it needs no table; neither does the person key that snapshot
version 3 keeps (it lives in the snapshot's JSON).

Never edit a migration once it has landed: write a new one.
"""

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class StatementRun(Model):
        period_kind = CharField(max_length=16, constraints=[
            Check("period_kind IN ('calendar_year', 'school_year', 'custom')")])
        period_start = DateField()
        period_end = DateField()
        status = CharField(max_length=10, default='queued', constraints=[
            Check("status IN ('queued', 'running', 'done', 'failed')")])
        requested_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        requested_at = DateTimeField()
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        issued = IntegerField(default=0, constraints=[Check('issued >= 0')])
        skipped = IntegerField(default=0, constraints=[Check('skipped >= 0')])
        failed = IntegerField(default=0, constraints=[Check('failed >= 0')])
        outcome = TextField(default='')
        error = TextField(default='')

        class Meta:
            database = db
            table_name = 'statement_run'
            constraints = [SQL('CHECK (period_end >= period_start)')]

    db.create_tables([StatementRun])
    db.execute_sql(
        'CREATE UNIQUE INDEX statement_run_one_active_per_period ON statement_run '
        "(period_start, period_end) WHERE status IN ('queued', 'running')")


def down(migrator, db):
    migrator.migrate(migrator.drop_table('statement_run'))
