"""An index on a donation's company and status: every read of a company's contributions asks for
its paid donations, and without it SQLite's planner used the status index (all paid donations of
every company). Measured at --scale 100 (50,000 donations) with bench/bench_load.py.
"""
from peewee import *


def up(migrator, db):
    migrator.migrate(migrator.add_index('giving_donation', ('company_id', 'status'), False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index('giving_donation', 'giving_donation_company_id_status'))
