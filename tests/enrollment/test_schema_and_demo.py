"""The migration matches the models (CHECKs included), and the demo step fills fast and right."""

from __future__ import annotations

import peewee
import pytest


def test_models_and_migration_agree(app):
    from playhouse.schema_diff import diff_models

    from portal.core.db import database
    from portal.enrollment.models import MODELS

    diff = diff_models(database.obj, list(MODELS))
    assert not diff, diff


@pytest.mark.parametrize("values", [
    {"minutes_per_week": 300},
    {"weekday": 5},
    {"funding": "sponsored", "sponsored_minutes_per_week": 100},
    {"status": "withdrawn", "withdrawn_reason": ""},
    {"vog_status": "received", "vog_received_on": None},
    {"hourly_cost_cents": -1},
])
def test_the_database_refuses_what_the_code_should_never_write(hr, enrol, values):
    from portal.core.db import database
    from portal.enrollment.models import Enrolment

    enrolment = enrol(hr)
    with pytest.raises(peewee.IntegrityError), database.atomic():
        Enrolment.update(**values).where(Enrolment.id == enrolment.id).execute()


def test_the_register_refuses_inconsistent_rows(hr, enrol, leader, school, today):
    from portal.core.db import database
    from portal.enrollment import hours
    from portal.enrollment.models import HoursEntry

    enrolment = enrol(hr, status="matched", leader=leader, school=school)
    entry = hours.register(enrolment)[0]
    for values in ({"sponsored_minutes": 1}, {"kind": "reversal"}, {"status": "rejected"}, {"minutes": 900}):
        with pytest.raises(peewee.IntegrityError), database.atomic():
            HoursEntry.update(**values).where(HoursEntry.id == entry.id).execute()


def test_the_demo_step_fills_schools_enrolments_and_hours(app, leader):
    import random

    from portal.accounts.models import Company
    from portal.demo import DemoContext
    from portal.enrollment import demo
    from portal.enrollment.models import AllowanceLine, Enrolment, HoursEntry, School

    companies = []
    admins = {}
    for n in range(3):
        company = Company.create(legal_name=f"Demo {n} B.V.", kvk=f"9000000{n}", street="x", postcode="3511 AB",
                                 city="Utrecht", billing_email=f"finance@demo{n}.nl", language="nl", hourly_cost_cents=5200)
        from portal.accounts.models import User

        admins[company.id] = User.create(company=company, email=f"hr@demo{n}.nl", role="admin")
        companies.append(company)
    context = DemoContext(scale=2, rng=random.Random(1), leader=leader, companies=companies, admins=admins)
    demo.fill(context)
    assert School.select().count() == 8
    current = Enrolment.select().where(Enrolment.status != "completed")
    assert current.where(Enrolment.company == companies[0].id).count() == 20
    # Above scale 1 the demo has history for benchmarks: four past school years, each ambassador
    # placed for the whole year, every session confirmed and valued.
    past = Enrolment.select().where(Enrolment.status == "completed")
    assert past.count() == 4 * current.count()
    assert {e.school_year.name for e in past} == {"2022-2023", "2023-2024", "2024-2025", "2025-2026"}
    first_past = past.where(Enrolment.role_type == "class").order_by(Enrolment.id).first()
    sessions = HoursEntry.select().where(HoursEntry.enrolment == first_past.id)
    assert 30 <= sessions.count() <= 40 and {h.status for h in sessions} == {"confirmed"}
    assert all(first_past.starts_on <= h.worked_on <= first_past.ends_on for h in sessions)
    assert HoursEntry.select().where(HoursEntry.status == "confirmed").count() > 0
    assert {e.status for e in Enrolment.select()} >= {"active"}
    assert AllowanceLine.select().count() > 0
