"""Figures kept for the pages that sum history (issue 12): the ledger's totals per company, school
year and kind, and SROI figures per company (the pages that list commitments no longer evaluate
every allocation against every contribution on each view).

`ledger_year_total`: the ledger's totals per company, school year (its first day, 1 August; by
booking month) and kind, filled here from `ledger_total`; the reconciliation desk reads them.
`ledger_posting` gains an index on (company_id, id): a statement's correction flag looks for its
company's postings newer than its mark.
`enrollment_hours_entry`'s indexes on (company_id, worked_on) and (enrolment_id, worked_on) grow into
covering ones: the HR overview sums a school year's hours without reading the rows.
`ledger_company`: each company's count of postings in the ledger, one more with each posting
(filled here from the postings); a page that keeps figures derived from the books compares it.
`sroi_figures`: per company, the totals per commitment and kind as last evaluated, the mark they
were evaluated at, and the company's SROI revision (raised by every change of a commitment or an
allocation). Empty here: each company's figures are evaluated the first time a page needs them.

Never edit a migration once it has landed: write a new one.
"""

from peewee import *


def up(migrator, db):
    class Company(Model):
        class Meta:
            database = db
            table_name = 'company'

    class CompanyMark(Model):
        company_id = IntegerField(primary_key=True)
        postings = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = 'ledger_company'

    class Figures(Model):
        company = ForeignKeyField(Company, primary_key=True, on_delete='CASCADE')
        revision = BigIntegerField(default=0)
        computed = CharField(max_length=60, default='')
        figures = TextField(default='{}')

        class Meta:
            database = db
            table_name = 'sroi_figures'
            legacy_table_names = False

    class YearTotal(Model):
        company_id = IntegerField()
        year = DateField()
        kind = CharField(max_length=20)
        lines = BigIntegerField(default=0)
        minutes = BigIntegerField(default=0)
        value_cents = BigIntegerField(default=0)
        gross_cents = BigIntegerField(default=0)
        fee_cents = BigIntegerField(default=0)
        net_cents = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = 'ledger_year_total'
            constraints = [SQL("CHECK (kind IN ('hours_sponsored', 'hours_volunteered', 'money', 'material', "
                               "'allowance'))")]
            indexes = ((('company_id', 'year', 'kind'), True),)

    db.create_tables([CompanyMark, YearTotal, Figures])
    # A company's postings newer than a statement's mark, found without walking its period.
    db.execute_sql('CREATE INDEX posting_company_id_id ON ledger_posting (company_id, id)')
    # The HR overview's sums of hours read from the indexes alone (the old ones are their prefixes).
    db.execute_sql('DROP INDEX enrollment_hours_entry_company_id_worked_on')
    db.execute_sql('DROP INDEX enrollment_hours_entry_enrolment_id_worked_on')
    db.execute_sql('CREATE INDEX enrollment_hours_entry_company_id_worked_on_status_minutes '
                   'ON enrollment_hours_entry (company_id, worked_on, status, minutes)')
    db.execute_sql('CREATE INDEX hours_entry_enrolment_sums ON enrollment_hours_entry '
                   '(enrolment_id, worked_on, status, minutes, sponsored_minutes, volunteered_minutes, value_cents)')
    amounts = ('lines', 'minutes', 'value_cents', 'gross_cents', 'fee_cents', 'net_cents')
    years = {}
    cursor = db.execute_sql('SELECT company_id, month, kind, ' + ', '.join(f'SUM({a})' for a in amounts)
                            + ' FROM ledger_total GROUP BY company_id, month, kind')
    for company, month, kind, *sums in cursor.fetchall():
        month = str(month)[:10]
        first = int(month[:4]) if int(month[5:7]) >= 8 else int(month[:4]) - 1
        key = (company, f'{first}-08-01', kind)
        years[key] = [a + int(b or 0) for a, b in zip(years.get(key, [0] * len(amounts)), sums)]
    rows = [dict(zip(('company_id', 'year', 'kind'), key), **dict(zip(amounts, sums))) for key, sums in years.items()]
    for batch in chunked(rows, 1000):
        YearTotal.insert_many(batch).execute()
    db.execute_sql('INSERT INTO ledger_company (company_id, postings) '
                   'SELECT company_id, COUNT(*) FROM ledger_posting GROUP BY company_id')


def down(migrator, db):
    db.execute_sql('DROP INDEX posting_company_id_id')
    db.execute_sql('DROP INDEX enrollment_hours_entry_company_id_worked_on_status_minutes')
    db.execute_sql('DROP INDEX hours_entry_enrolment_sums')
    db.execute_sql('CREATE INDEX enrollment_hours_entry_company_id_worked_on '
                   'ON enrollment_hours_entry (company_id, worked_on)')
    db.execute_sql('CREATE INDEX enrollment_hours_entry_enrolment_id_worked_on '
                   'ON enrollment_hours_entry (enrolment_id, worked_on)')
    migrator.migrate(migrator.drop_table('sroi_figures'), migrator.drop_table('ledger_year_total'),
                     migrator.drop_table('ledger_company'))
