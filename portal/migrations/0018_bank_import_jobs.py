"""Bank statements imported in the background (issue 20).

`reconcile_import_job`: one uploaded bank file that the task queue imports. The upload's bytes are
kept in `data` until the import is done or has failed for good (then NULL), so a worker on any host
can read it. `active_sha256` is the file's hash while the job waits or runs (NULL afterwards): the
same file is queued once. What the import found is kept as facts: `error` (a message's id and
parameters, JSON) and `continuity` (gaps and overlaps, JSON), rendered in the reader's language.

Never edit a migration once it has landed: write a new one.
"""

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class BankStatement(Model):
        class Meta:
            database = db
            table_name = 'reconcile_statement'

    class BankImportJob(Model):
        status = CharField(default='queued', index=True, max_length=10,
                           constraints=[Check("status IN ('queued', 'running', 'done', 'failed')")])
        filename = CharField(default='', max_length=255)
        format = CharField(default='auto', max_length=10)
        encoding = CharField(default='utf-8', max_length=10)
        size = IntegerField(default=0, constraints=[Check('size >= 0')])
        sha256 = CharField(max_length=64)
        active_sha256 = CharField(max_length=64, null=True, unique=True)
        data = BlobField(null=True)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        attempts = IntegerField(default=0)
        statement = ForeignKeyField(BankStatement, null=True, on_delete='SET NULL')
        lines_total = IntegerField(default=0)
        lines_new = IntegerField(default=0)
        matched = IntegerField(default=0)
        error = TextField(default='')
        continuity = TextField(default='[]')

        class Meta:
            database = db
            table_name = 'reconcile_import_job'

    db.create_tables([BankImportJob])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('reconcile_import_job'))
