"""The HR dashboard's year of hours from the entries it counts (issue 12).

`enrollment_hours_entry`: the index on (company_id, status, worked_on) also holds the placement and
the minutes (all, sponsored, volunteered). The card's confirmed and awaiting hours of a school year
are then read from the entries with those statuses alone, not from every entry of the year (at
`portal demo --scale 100` the largest company's year holds 23,000 entries, two in three of them
sessions still planned), and the sessions still to report (planned and past, or rejected) name
their placement from the index too.

Never edit a migration once it has landed: write a new one.
"""

from peewee import *


def up(migrator, db):
    db.execute_sql('DROP INDEX enrollment_hours_entry_company_id_status_worked_on')
    db.execute_sql('CREATE INDEX enrollment_hours_entry_company_id_status_worked_on_enrol_3c1f0de '
                   'ON enrollment_hours_entry (company_id, status, worked_on, enrolment_id, minutes, '
                   'sponsored_minutes, volunteered_minutes)')


def down(migrator, db):
    db.execute_sql('DROP INDEX enrollment_hours_entry_company_id_status_worked_on_enrol_3c1f0de')
    db.execute_sql('CREATE INDEX enrollment_hours_entry_company_id_status_worked_on '
                   'ON enrollment_hours_entry (company_id, status, worked_on)')
