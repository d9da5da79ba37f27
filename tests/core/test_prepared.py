"""Prepared queries (portal.core.prepared): built once, run with each call's values, the same rows.

A prepared query must give exactly what the query built afresh gives, whatever the values and on
either database: the same models (with what they were joined to), the same tuples, dates as dates.
And a builder that lets a value slip into its SQL other than as a parameter is caught by the
suite's check, not served stale to the next company.
"""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import fn

from portal.accounts.models import Company, User
from portal.core import prepared
from portal.core.prepared import Prepared
from portal.enrollment.models import Closure, SchoolYear


def _users(company):
    return (User.select(User, Company).join(Company, on=(User.company == Company.id))
            .where(User.company == company).order_by(User.email))


USERS = Prepared(_users)
CLOSURES = Prepared(lambda year, after: Closure.select(Closure.name, Closure.starts_on)
                    .where((Closure.school_year == year) & (Closure.starts_on > after))
                    .order_by(Closure.starts_on).tuples())


def _year(name: str) -> SchoolYear:
    return SchoolYear.create(name=name, region="Midden", starts_on=dt.date(2026, 8, 31), ends_on=dt.date(2027, 7, 16),
                             half_starts_on=dt.date(2027, 2, 1), allowance_monthly_cents=0)


def test_a_prepared_query_gives_each_call_its_own_rows_as_the_query_itself_would(app, make_company):
    acme, other = make_company("Acme", member=True), make_company("Other")
    for company in (acme, other, acme):    # the second run of a shape reuses the kept SQL
        rows = list(USERS(company=company.id))
        expected = list(_users(company.id))
        assert [(u.id, u.email, u.company.legal_name) for u in rows] == \
               [(u.id, u.email, u.company.legal_name) for u in expected]
        assert {u.company.legal_name for u in rows} == {company.legal_name}
    year = _year("test-2026")
    Closure.create(school_year=year, kind="holiday", name="Kerstvakantie",
                   starts_on=dt.date(2026, 12, 19), ends_on=dt.date(2027, 1, 3))
    Closure.create(school_year=year, kind="holiday", name="Herfstvakantie",
                   starts_on=dt.date(2026, 10, 17), ends_on=dt.date(2026, 10, 25))
    assert list(CLOSURES(year=year.id, after=dt.date(2026, 9, 1))) == [
        ("Herfstvakantie", dt.date(2026, 10, 17)), ("Kerstvakantie", dt.date(2026, 12, 19))]
    assert list(CLOSURES(year=year.id, after=dt.date(2026, 11, 1))) == [("Kerstvakantie", dt.date(2026, 12, 19))]
    assert list(CLOSURES(year=year.id + 1, after=dt.date(2026, 9, 1))) == []
    assert USERS.first(company=0) is None


def test_each_shape_keeps_its_own_sql(app, make_company):
    company = make_company("Acme", member=True)
    by_role = Prepared(lambda roles, company: User.select(fn.COUNT(User.id))
                       .where((User.company == company) & User.role.in_(roles)).tuples())
    assert by_role.first(("admin",), company=company.id) == (1,)
    assert by_role.first(("admin", "member"), company=company.id) == (2,)
    assert by_role.first(("member",), company=company.id) == (1,)


def test_a_value_that_is_not_a_parameter_is_caught_under_the_suite_check(app, make_company, monkeypatch):
    company = make_company("Acme")
    chosen = {"email": company.admin.email}
    leaky = Prepared(lambda company: User.select(User.id)
                     .where((User.company == company) & (User.email == chosen["email"])).tuples())
    assert leaky.first(company=company.id) == (company.admin.id,)
    chosen["email"] = "someone@else.nl"
    with pytest.raises(AssertionError, match="changed between runs"):
        leaky(company=company.id)
    monkeypatch.setattr(prepared, "VERIFY", False)   # what production would do: the kept SQL, stale
    assert leaky.first(company=company.id) == (company.admin.id,)


def test_a_named_value_the_query_does_not_use_is_refused(app):
    unused = Prepared(lambda company, role: User.select(User.id).where(User.company == company).tuples())
    with pytest.raises(TypeError, match="do not match its parameters"):
        unused(company=1, role="admin")


def test_a_prepared_write_says_how_many_rows_it_wrote(app, make_company):
    company = make_company("Acme", member=True)
    rename = Prepared(lambda company, role, name: User.update(name=name)
                      .where((User.company == company) & (User.role == role)))
    assert rename.rowcount(company=company.id, role="member", name="Bea") == 1
    assert rename.rowcount(company=company.id, role="nobody", name="Cor") == 0
    assert User.get((User.company == company.id) & (User.role == "member")).name == "Bea"
    add = Prepared(lambda email, at: User.insert(company=company.id, email=email, role="member", created_at=at)
                   .on_conflict_ignore())
    assert add.rowcount(email="new@acme.nl", at=dt.datetime(2026, 12, 3, 9, 0)) == 1
    assert add.rowcount(email="new@acme.nl", at=dt.datetime(2026, 12, 3, 9, 1)) == 0   # UNIQUE email: ignored
    added = User.get(User.email == "new@acme.nl")
    assert (added.company_id, added.role, added.created_at) == (company.id, "member", dt.datetime(2026, 12, 3, 9, 0))


def test_an_insert_that_leaves_a_moving_default_to_peewee_is_caught(app, make_company):
    """peewee writes a field's default into the INSERT it builds: a default that moves (created_at's
    clock) would be kept from the first build, so it must be a parameter; the suite's check says so."""
    company = make_company("Acme")
    add = Prepared(lambda email: User.insert(company=company.id, email=email, role="member").on_conflict_ignore())
    assert add.rowcount(email="first@acme.nl") == 1
    with pytest.raises(AssertionError, match="changed between runs"):
        add.rowcount(email="second@acme.nl")
