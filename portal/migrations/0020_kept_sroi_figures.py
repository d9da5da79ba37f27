"""SROI figures kept per company (issue 12): the pages that list commitments no longer evaluate
every allocation against every contribution on each view.

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

    db.create_tables([CompanyMark, Figures])
    db.execute_sql('INSERT INTO ledger_company (company_id, postings) '
                   'SELECT company_id, COUNT(*) FROM ledger_posting GROUP BY company_id')


def down(migrator, db):
    migrator.migrate(migrator.drop_table('sroi_figures'), migrator.drop_table('ledger_company'))
