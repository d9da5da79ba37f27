"""Credit notes and VAT invoices of giving (issue 14).

`giving_credit_note`: a numbered credit note on a paid donation's receipt: money refunded (Stripe
or bank) or lost to a chargeback, or the reversal of such a note when the money came back. It
stores its PDF and the receipt as issued with a stamp naming the credit notes.

`giving_invoice`: the numbered VAT invoice of a sponsoring payment when the issuer is
VAT-registered.

`giving_number_counter`: the last number per series (credit_note, invoice) and year: the row is
the lock that keeps the numbers gapless.

Refunds recorded before this migration have no credit note. Never edit a migration once it has
landed: write a new one.
"""

from peewee import *


def up(migrator, db):
    class Donation(Model):
        class Meta:
            database = db
            table_name = 'giving_donation'

    class NumberCounter(Model):
        series = CharField(max_length=20, constraints=[Check("series IN ('credit_note', 'invoice')")])
        year = IntegerField(constraints=[Check('year BETWEEN 2000 AND 9999')])
        last_number = IntegerField(default=0, constraints=[Check('last_number >= 0')])

        class Meta:
            database = db
            table_name = 'giving_number_counter'
            indexes = ((('series', 'year'), True),)

    class Invoice(Model):
        donation = ForeignKeyField(Donation, unique=True, on_delete='RESTRICT')
        year = IntegerField(constraints=[Check('year BETWEEN 2000 AND 9999')])
        sequence = IntegerField(constraints=[Check('sequence > 0')])
        issued_on = DateField()
        vat_number = CharField(max_length=20)
        vat_rate_bp = IntegerField(constraints=[Check('vat_rate_bp >= 0 AND vat_rate_bp <= 10000')])
        gross_cents = BigIntegerField(constraints=[Check('gross_cents > 0')])
        vat_cents = BigIntegerField(constraints=[Check('vat_cents >= 0')])
        net_cents = BigIntegerField()
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'giving_invoice'
            indexes = ((('year', 'sequence'), True),)
            constraints = [SQL('CHECK (net_cents = gross_cents - vat_cents)')]

    class CreditNote(Model):
        donation = ForeignKeyField(Donation, on_delete='RESTRICT')
        source = CharField(max_length=255, unique=True)
        kind = CharField(max_length=12, constraints=[Check("kind IN ('refund', 'chargeback', 'reversal')")])
        year = IntegerField(constraints=[Check('year BETWEEN 2000 AND 9999')])
        sequence = IntegerField(constraints=[Check('sequence > 0')])
        amount_cents = BigIntegerField(constraints=[
            Check('amount_cents > 0 AND amount_cents <= 100000000000')])
        vat_cents = BigIntegerField(default=0, constraints=[Check('vat_cents >= 0')])
        happened_on = DateField()
        issued_on = DateField()
        reverses = ForeignKeyField('self', null=True, unique=True, on_delete='RESTRICT')
        language = CharField(max_length=2)
        pdf = BlobField(null=True)
        sha256 = CharField(max_length=64, default='')
        receipt_pdf = BlobField(null=True)
        claimed_at = DateTimeField(null=True)
        sent_at = DateTimeField(null=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'giving_credit_note'
            indexes = ((('year', 'sequence'), True),)
            constraints = [SQL("CHECK ((kind = 'reversal') = (reverses_id IS NOT NULL))")]

    db.create_tables([NumberCounter, Invoice, CreditNote])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('giving_credit_note'))
    migrator.migrate(migrator.drop_table('giving_invoice'))
    migrator.migrate(migrator.drop_table('giving_number_counter'))
