"""The statements' register read without its documents (issue 12).

A statement's `snapshot` and `pdf` (megabytes for a large company) come before `status`,
`ledger_mark` and `sroi_mark` in its row; on SQLite a read of those walks the documents' overflow
pages, once per statement. Two indexes hold what the counts and the correction flags read:
`statement_year_status` (the register's count per year and status) and `statement_marks` (status,
company, change marks and period).

Never edit a migration once it has landed: write a new one.
"""

from peewee import *


def up(migrator, db):
    db.execute_sql('CREATE INDEX statement_year_status ON statement (year, status)')
    db.execute_sql('CREATE INDEX statement_marks ON statement '
                   '(status, company_id, ledger_mark, period_start, period_end, sroi_mark)')


def down(migrator, db):
    db.execute_sql('DROP INDEX statement_marks')
    db.execute_sql('DROP INDEX statement_year_status')
