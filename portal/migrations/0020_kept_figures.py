"""Figures kept for the pages that sum history (issue 12): the ledger's totals per company and per
month, and SROI figures per company (the pages that list commitments no longer evaluate every
allocation against every contribution on each view).

`ledger_company_total`: each company's totals per kind for all time and how many postings made
them; `ledger_month_total`: the programme's totals per booked month and kind. Both filled here
from the postings and `ledger_total`; the reconciliation desk reads them, and SROI compares a
company's count of postings to know whether its kept figures still hold.
`enrollment_enrolment` gains an index on (status, vog_status, starts_on): the leader's counts of
placements per status, without a VOG and past their start read only those.
`ledger_posting` gains an index on (company_id, id): a statement's correction flag looks for its
company's postings newer than its mark.
`enrollment_hours_entry`'s indexes on (company_id, worked_on) and (enrolment_id, worked_on) grow into
covering ones: the HR overview sums a school year's hours without reading the rows.
`sroi_figures`: per company, the totals per commitment and kind as last evaluated, the mark they
were evaluated at, and the company's SROI revision (raised by every change of a commitment or an
allocation). Empty here: each company's figures are evaluated the first time a page needs them.

Never edit a migration once it has landed: write a new one.
"""

from peewee import *

KINDS = "CHECK (kind IN ('hours_sponsored', 'hours_volunteered', 'money', 'material', 'allowance'))"
AMOUNTS = ('lines', 'minutes', 'value_cents', 'gross_cents', 'fee_cents', 'net_cents')


def up(migrator, db):
    class Company(Model):
        class Meta:
            database = db
            table_name = 'company'

    class CompanyTotal(Model):
        company_id = IntegerField()
        kind = CharField(max_length=20)
        postings = BigIntegerField(default=0)
        lines = BigIntegerField(default=0)
        minutes = BigIntegerField(default=0)
        value_cents = BigIntegerField(default=0)
        gross_cents = BigIntegerField(default=0)
        fee_cents = BigIntegerField(default=0)
        net_cents = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = 'ledger_company_total'
            constraints = [SQL(KINDS)]
            indexes = ((('company_id', 'kind'), True),)

    class MonthTotal(Model):
        month = DateField()
        kind = CharField(max_length=20)
        lines = BigIntegerField(default=0)
        minutes = BigIntegerField(default=0)
        value_cents = BigIntegerField(default=0)
        gross_cents = BigIntegerField(default=0)
        fee_cents = BigIntegerField(default=0)
        net_cents = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = 'ledger_month_total'
            constraints = [SQL(KINDS)]
            indexes = ((('month', 'kind'), True),)

    class Figures(Model):
        company = ForeignKeyField(Company, primary_key=True, on_delete='CASCADE')
        revision = BigIntegerField(default=0)
        computed = CharField(max_length=60, default='')
        figures = TextField(default='{}')

        class Meta:
            database = db
            table_name = 'sroi_figures'
            legacy_table_names = False

    db.create_tables([CompanyTotal, MonthTotal, Figures])
    names, sums = ', '.join(AMOUNTS), ', '.join(f'SUM({name})' for name in AMOUNTS)
    db.execute_sql(f'INSERT INTO ledger_company_total (company_id, kind, postings, {names}) '
                   f'SELECT company_id, kind, COUNT(*), {sums} FROM ledger_posting GROUP BY company_id, kind')
    db.execute_sql(f'INSERT INTO ledger_month_total (month, kind, {names}) '
                   f'SELECT month, kind, {sums} FROM ledger_total GROUP BY month, kind')
    # The leader's counts of placements read only the statuses they ask for.
    db.execute_sql('CREATE INDEX enrollment_enrolment_status_vog_status_starts_on '
                   'ON enrollment_enrolment (status, vog_status, starts_on)')
    # A company's postings newer than a statement's mark, found without walking its period.
    db.execute_sql('CREATE INDEX posting_company_id_id ON ledger_posting (company_id, id)')
    # The HR overview's sums of hours read from the indexes alone (the old ones are their prefixes).
    db.execute_sql('DROP INDEX enrollment_hours_entry_company_id_worked_on')
    db.execute_sql('DROP INDEX enrollment_hours_entry_enrolment_id_worked_on')
    db.execute_sql('CREATE INDEX enrollment_hours_entry_company_id_worked_on_status_minutes '
                   'ON enrollment_hours_entry (company_id, worked_on, status, minutes)')
    db.execute_sql('CREATE INDEX hours_entry_enrolment_sums ON enrollment_hours_entry '
                   '(enrolment_id, worked_on, status, minutes, sponsored_minutes, volunteered_minutes, value_cents)')


def down(migrator, db):
    db.execute_sql('DROP INDEX posting_company_id_id')
    db.execute_sql('DROP INDEX enrollment_enrolment_status_vog_status_starts_on')
    db.execute_sql('DROP INDEX enrollment_hours_entry_company_id_worked_on_status_minutes')
    db.execute_sql('DROP INDEX hours_entry_enrolment_sums')
    db.execute_sql('CREATE INDEX enrollment_hours_entry_company_id_worked_on '
                   'ON enrollment_hours_entry (company_id, worked_on)')
    db.execute_sql('CREATE INDEX enrollment_hours_entry_enrolment_id_worked_on '
                   'ON enrollment_hours_entry (enrolment_id, worked_on)')
    migrator.migrate(migrator.drop_table('sroi_figures'), migrator.drop_table('ledger_month_total'),
                     migrator.drop_table('ledger_company_total'))
