"""Walks of the audit chain, kept (issue 12): the audit page shows the newest walk instead of
walking the whole chain, which grows with every change, on every view. A walk runs nightly on
the task queue and when the project leader asks for one.

`audit_check`: when, how many rows and anchors, the newest row walked, and where and why the
chain broke (a code and its facts as JSON; the page words them in the reader's language).

Never edit a migration once it has landed: write a new one.
"""

from peewee import *


def up(migrator, db):
    class AuditCheck(Model):
        checked_at = DateTimeField(index=True)
        rows = IntegerField()
        anchors = IntegerField(default=0)
        last_id = IntegerField(null=True)
        broken_at = IntegerField(null=True)
        problem = CharField(max_length=20, default='')
        params = TextField(default='{}')
        requested_by = IntegerField(null=True)
        class Meta:
            database = db
            table_name = 'audit_check'
            legacy_table_names = False
    db.create_tables([AuditCheck])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('audit_check'))
