"""Anchors of the audit chain, and pending invitations (issue 15, items 13 and 8).

`audit_anchor`: each period close and each issued statement writes the id and hash of the
chain's newest row, so `portal audit verify` notices newest rows removed behind the
application's back. Like `audit_log` (0001), the table refuses UPDATE and DELETE in the database
itself (SQL frozen as of this migration; 0001's refuse_change() is recreated as it was).

`invitation`: what a company's team page lists as invited, the same whether the address was new
or already had an account elsewhere. Invited users without a password from before this
migration keep showing as they did (as users).

Never edit a migration once it has landed: write a new one.
"""

from peewee import *


def append_only(db, table):
    if isinstance(db, SqliteDatabase):
        for verb in ('UPDATE', 'DELETE'):
            db.execute_sql(
                f'CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} '
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
    else:
        db.execute_sql(
            'CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ '
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$")
        db.execute_sql(
            f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} '
            'FOR EACH ROW EXECUTE FUNCTION refuse_change()')


def up(migrator, db):
    class AuditAnchor(Model):
        reason = CharField(max_length=120)
        head_id = IntegerField(null=True)
        head_hash = CharField(max_length=64)
        at = DateTimeField()
        class Meta:
            database = db
            table_name = 'audit_anchor'
    db.create_tables([AuditAnchor])
    append_only(db, 'audit_anchor')

    class Company(Model):
        class Meta:
            database = db
            table_name = 'company'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Invitation(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        email = CharField(max_length=254)
        name = CharField(max_length=200, default='')
        role = CharField(max_length=10, constraints=[Check("role IN ('admin', 'member')")])
        user = ForeignKeyField(User, null=True, on_delete='CASCADE')
        created_at = DateTimeField()
        withdrawn_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'invitation'
            indexes = ((('company', 'email'), True),)
    db.create_tables([Invitation])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('invitation'))
    migrator.migrate(migrator.drop_table('audit_anchor'))
