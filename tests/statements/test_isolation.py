"""Tenant isolation for every statements route, generated from the url_map."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.statements import periods, service
from portal.statements.models import Statement

PUBLIC = {"statements.verify", "statements.verify_start"}
LEADER_PREFIX = "statements.leader_"
LEADER_ENDPOINTS = {"statements.register"}


@pytest.fixture
def victim(app, placement, leader, ledger, no_sroi):
    """A company with an issued statement that needs correction and a completed placement."""
    from portal.enrollment import service as enrollment

    company, enrolment, _planned = placement
    company.legal_name = "Victim B.V."
    company.save()
    ledger.money(company, dt.date(2026, 9, 2), 250_000, description="SECRET-DONATION")
    statement = service.issue(company, periods.school_year(2026), today=dt.date(2026, 11, 28))
    ledger.money(company, dt.date(2026, 10, 2), 100, description="SECRET-CHANGE")  # needs correction
    enrollment.move(enrolment, "completed", leader)
    return {"company": company, "statement_id": statement.id, "statement": statement, "enrolment_id": enrolment.id}


def rules(app):
    found = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("statements.")]
    assert found
    return found


def state():
    return list(Statement.select(Statement.id, Statement.status, Statement.pdf_sha256).tuples())


def is_leader_route(rule) -> bool:
    return rule.endpoint.startswith(LEADER_PREFIX) or rule.endpoint in LEADER_ENDPOINTS


def test_every_route_with_an_id_is_404_for_another_company(app, victim, make_company, login):
    intruder = make_company("Intruder", member=True)
    before = state()
    checked = 0
    for user in (intruder.admin, intruder.member):
        client = app.test_client()
        login(client, user)
        for rule in rules(app):
            if not rule.arguments or rule.endpoint in PUBLIC:
                continue
            assert rule.arguments <= {"statement_id", "enrolment_id"}, f"new URL parameter in {rule.rule}: extend this test"
            url = rule.build({name: victim[name] for name in rule.arguments})[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, data={"reason": "x"} if method == "POST" else None)
                assert response.status_code == 404, (method, url, response.status_code)
                assert b"SECRET" not in response.data and b"Victim" not in response.data
                checked += 1
    assert checked == 20  # 10 routes with an id, for an administrator and a member
    assert state() == before


def test_pages_without_ids_show_only_the_own_company(app, victim, make_company, login, ledger):
    intruder = make_company("Intruder")
    ledger.money(intruder, dt.date(2026, 9, 5), 100)
    client = app.test_client()
    login(client, intruder.admin)
    number = victim["statement"].number.encode()
    for url in ("/statements", "/statements/preview?kind=school_year&school_year=2026", "/statements/certificates",
                "/dashboard"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert number not in response.data and b"SECRET" not in response.data and b"Victim" not in response.data
        assert b"Sanne" not in response.data
    concept = client.get("/statements/preview.pdf?kind=school_year&school_year=2026")
    from .conftest import pdf_text

    assert "Victim" not in pdf_text(concept.data) and "Intruder" in pdf_text(concept.data)


def test_leader_routes_are_404_for_companies(app, victim, login):
    client = app.test_client()
    login(client, victim["company"].admin)
    for rule in rules(app):
        if not is_leader_route(rule):
            continue
        url = rule.build({name: victim[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert client.open(url, method=method, data={"reason": "x"}).status_code == 404, (method, url)
    assert Statement.get_by_id(victim["statement_id"]).status == "issued"


def test_anonymous_visitors_are_sent_to_login(app, victim):
    client = app.test_client()
    for rule in rules(app):
        if rule.endpoint in PUBLIC:
            continue
        url = rule.build({name: victim[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code in (302, 401), (method, url)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"]


def test_company_user_cannot_issue_for_another_company(app, victim, make_company, login):
    intruder = make_company("Intruder")
    client = app.test_client()
    login(client, intruder.admin)
    # The company comes from the session, never from the form.
    client.post("/statements/issue", data={"kind": "school_year", "school_year": "2026", "company": victim["company"].id,
                                           "company_id": victim["company"].id})
    assert Statement.select().where(Statement.company == victim["company"].id).count() == 1
