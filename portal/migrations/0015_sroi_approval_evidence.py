"""SROI approvals as a control (issue 14): the buyer's letter with every approval, the project
leader's confirmation, and a reason when the approvals come to more than the claim or the obligation.

`sroi_approval_evidence`: the buyer's letter of one approval (PDF, PNG or JPEG, its type read from
the bytes), in the database: any worker serves it, nothing lies under the web root.
`sroi_approval_review`: the project leader's decision on one approval, confirmed or rejected (with
a reason); one per approval. Only confirmed approvals count as approved.
`sroi_approval.exceeds` / `exceeds_reason`: set when the approvals, with this one, came to more than
the claim or the obligation; the company's reason.

Approvals recorded before this migration have no letter and no decision: they show as pending
until the company corrects them with the letter and the project leader confirms the correction.

Never edit a migration once it has landed: write a new one.
"""

from peewee import *


def up(migrator, db):
    class Company(Model):
        class Meta:
            database = db
            table_name = 'company'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Approval(Model):
        class Meta:
            database = db
            table_name = 'sroi_approval'

    migrator.migrate(
        migrator.add_column('sroi_approval', 'exceeds', CharField(
            max_length=20, null=True, constraints=[Check("exceeds IN ('claim', 'obligation', 'both')")])),
        migrator.add_column('sroi_approval', 'exceeds_reason', TextField(null=True)),
    )

    class ApprovalEvidence(Model):
        approval = ForeignKeyField(Approval, unique=True, on_delete='CASCADE')
        company = ForeignKeyField(Company, on_delete='RESTRICT')
        content_type = CharField(max_length=40, constraints=[
            Check("content_type IN ('application/pdf', 'image/png', 'image/jpeg')")])
        original_name = CharField(max_length=200)
        size_bytes = IntegerField(constraints=[Check('size_bytes > 0')])
        sha256 = CharField(max_length=64)
        data = BlobField()
        uploaded_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        uploaded_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'sroi_approval_evidence'
            legacy_table_names = False

    class ApprovalReview(Model):
        approval = ForeignKeyField(Approval, unique=True, on_delete='CASCADE')
        decision = CharField(max_length=10, constraints=[Check("decision IN ('confirmed', 'rejected')")])
        reason = TextField(default='')
        decided_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        decided_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'sroi_approval_review'
            legacy_table_names = False
            constraints = [SQL("CHECK (decision = 'confirmed' OR reason <> '')")]

    db.create_tables([ApprovalEvidence, ApprovalReview])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('sroi_approval_review'))
    migrator.migrate(migrator.drop_table('sroi_approval_evidence'))
    migrator.migrate(
        migrator.drop_column('sroi_approval', 'exceeds_reason'),
        migrator.drop_column('sroi_approval', 'exceeds'),
    )
