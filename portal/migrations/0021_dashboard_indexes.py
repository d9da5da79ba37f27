"""The HR dashboard's card without a line per placement (issue 12).

`enrollment_hours_entry`: the covering index on (company_id, worked_on, status, minutes) also holds
the sponsored and volunteered minutes, so the school year's confirmed hours and its chart come
from one read of the index; a new index on (company_id, status, worked_on) finds a company's
sessions still to report (planned and past, or rejected) without walking its other hours.
`enrollment_enrolment`: the index on (company_id, status) also holds the sponsored minutes and the
hourly cost (the counts per status, those without a cost apart, from the index alone), and a new
one on (company_id, school_year_id, status, ...) holds what placements with the same sessions
share, so that a school year's planned hours are summed without reading its placements.

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
    db.execute_sql('DROP INDEX enrollment_enrolment_company_id_status')
    db.execute_sql('CREATE INDEX enrollment_enrolment_company_id_status_sponsored_minutes_d05a806 '
                   'ON enrollment_enrolment (company_id, status, sponsored_minutes_per_week, hourly_cost_cents)')
    db.execute_sql('CREATE INDEX enrollment_enrolment_company_id_school_year_id_status_sc_8ec8950 '
                   'ON enrollment_enrolment (company_id, school_year_id, status, school_id, weekday, starts_on, '
                   'ends_on, role_type, minutes_per_week)')


def down(migrator, db):
    db.execute_sql('DROP INDEX enrollment_enrolment_company_id_school_year_id_status_sc_8ec8950')
    db.execute_sql('DROP INDEX enrollment_enrolment_company_id_status_sponsored_minutes_d05a806')
    db.execute_sql('CREATE INDEX enrollment_enrolment_company_id_status ON enrollment_enrolment (company_id, status)')
    db.execute_sql('DROP INDEX enrollment_hours_entry_company_id_status_worked_on')
    db.execute_sql('DROP INDEX enrollment_hours_entry_company_id_worked_on_status_minut_ef1b15a')
    db.execute_sql('CREATE INDEX enrollment_hours_entry_company_id_worked_on_status_minutes '
                   'ON enrollment_hours_entry (company_id, worked_on, status, minutes)')
