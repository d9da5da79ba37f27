"""Bank payments that are not exactly the request, companies' own accounts, statement balances
(issue 13).

`giving_bank_receipt`: money of a payment request that was not paid exactly in one transfer: a
part (of which `counted_cents` pays the request, the rest is a surplus), a refund of surplus, or
surplus kept with the company's consent. A request paid exactly in one transfer has none, as
every request before this migration.

`company_iban`: accounts a company registers in its profile; a transfer from one of them with
an amount that only one open request of that company has pays that request.

`reconcile_statement_balance`: each imported statement's opening and closing balance per account,
so a gap or an overlap between consecutive statements of an account is noticed on import.
Statements imported before this migration have none.

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

    class Donation(Model):
        class Meta:
            database = db
            table_name = 'giving_donation'

    class BankStatement(Model):
        class Meta:
            database = db
            table_name = 'reconcile_statement'

    class BankReceipt(Model):
        donation = ForeignKeyField(Donation, on_delete='RESTRICT')
        line_ref = CharField(max_length=200, unique=True)
        kind = CharField(max_length=10, constraints=[Check("kind IN ('part', 'refund', 'kept')")])
        amount_cents = BigIntegerField()
        counted_cents = BigIntegerField(constraints=[Check('counted_cents >= 0')])
        received_on = DateField()
        recorded_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'giving_bank_receipt'
            constraints = [SQL(
                "CHECK ((kind = 'part' AND amount_cents > 0 AND counted_cents <= amount_cents) "
                "OR (kind = 'refund' AND amount_cents < 0 AND counted_cents = 0) "
                "OR (kind = 'kept' AND amount_cents = 0 AND counted_cents > 0))")]

    class CompanyIban(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        iban = CharField(max_length=34, index=True)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'company_iban'
            indexes = ((('company', 'iban'), True),)

    class StatementBalance(Model):
        statement = ForeignKeyField(BankStatement, on_delete='CASCADE')
        account_iban = CharField(max_length=34)
        number = CharField(max_length=100, default='')
        opening_cents = BigIntegerField()
        closing_cents = BigIntegerField()
        opening_on = DateField(null=True)
        closing_on = DateField(null=True)

        class Meta:
            database = db
            table_name = 'reconcile_statement_balance'
            indexes = ((('account_iban', 'closing_on'), False),)

    db.create_tables([BankReceipt, CompanyIban, StatementBalance])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('reconcile_statement_balance'))
    migrator.migrate(migrator.drop_table('company_iban'))
    migrator.migrate(migrator.drop_table('giving_bank_receipt'))
