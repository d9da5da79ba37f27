"""The HR dashboard's card without a line per placement (issue 12).

`enrollment_hours_entry`: the covering index on (company_id, worked_on, status, minutes) also holds
the sponsored and volunteered minutes, so the school year's confirmed hours and its chart come
from one read of the index; a new index on (company_id, status, worked_on) finds a company's
sessions still to report (planned and past, or rejected) without walking its other hours.

Never edit a migration once it has landed: write a new one.
"""

from peewee import *


def up(migrator, db):
    db.execute_sql('DROP INDEX enrollment_hours_entry_company_id_worked_on_status_minutes')
    db.execute_sql('CREATE INDEX enrollment_hours_entry_company_id_worked_on_status_minut_ef1b15a '
                   'ON enrollment_hours_entry (company_id, worked_on, status, minutes, sponsored_minutes, '
                   'volunteered_minutes)')
    db.execute_sql('CREATE INDEX enrollment_hours_entry_company_id_status_worked_on '
                   'ON enrollment_hours_entry (company_id, status, worked_on)')


def down(migrator, db):
    db.execute_sql('DROP INDEX enrollment_hours_entry_company_id_status_worked_on')
    db.execute_sql('DROP INDEX enrollment_hours_entry_company_id_worked_on_status_minut_ef1b15a')
    db.execute_sql('CREATE INDEX enrollment_hours_entry_company_id_worked_on_status_minutes '
                   'ON enrollment_hours_entry (company_id, worked_on, status, minutes)')
