"""The project leader's decision on a warned volunteer-allowance line, and lines that follow their
hours (issue 14).

On `enrollment_allowance_line`:
- `minutes`: the confirmed volunteered minutes the line stands on (set when it is built, kept in
  step while it is open, frozen at export). NULL for lines built before this migration.
- `payable_cents`: what is paid when the leader reduced the line (or 0: not paid); NULL pays the
  monthly amount, as every line before this migration.
- `decision`, `decision_reason`, `decided_by_id`, `decided_at`, `decided_minutes`: the leader's
  decision on a line with a warning (pay as a fixed monthly allowance, reduce, do not pay), who
  made it, when, and on how many confirmed minutes. A line with a warning is exported only with one.
- `blocked_at`, `blocked_reason`: hours of an exported line were reversed later; it is never paid
  again and the leader sees why.

Only nullable columns: SQLite adds them without rebuilding the table.
Never edit a migration once it has landed: write a new one.
"""

from peewee import *

DECISIONS = ('fixed_monthly', 'reduce', 'do_not_pay')
TABLE = 'enrollment_allowance_line'


def up(migrator, db):
    migrator.migrate(
        migrator.add_column(TABLE, 'minutes', IntegerField(
            null=True, constraints=[Check('minutes IS NULL OR minutes >= 0')])),
        migrator.add_column(TABLE, 'payable_cents', BigIntegerField(
            null=True, constraints=[Check('payable_cents IS NULL OR payable_cents >= 0')])),
        migrator.add_column(TABLE, 'decision', CharField(max_length=16, null=True, constraints=[
            Check(f"decision IS NULL OR decision IN ({', '.join(repr(v) for v in DECISIONS)})")])),
        migrator.add_column(TABLE, 'decision_reason', TextField(null=True)),
        migrator.add_column(TABLE, 'decided_by_id', IntegerField(null=True)),
        migrator.add_column(TABLE, 'decided_at', DateTimeField(null=True)),
        migrator.add_column(TABLE, 'decided_minutes', IntegerField(null=True)),
        migrator.add_column(TABLE, 'blocked_at', DateTimeField(null=True)),
        migrator.add_column(TABLE, 'blocked_reason', TextField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(*[migrator.drop_column(TABLE, name) for name in (
        'blocked_reason', 'blocked_at', 'decided_minutes', 'decided_at', 'decided_by_id', 'decision_reason',
        'decision', 'payable_cents', 'minutes')])
