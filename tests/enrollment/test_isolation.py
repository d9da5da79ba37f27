"""Tenant isolation for every enrolment route, generated from the URL map: HR of company B
gets 404 on anything of company A, company users get 404 on the leader's pages, and
nothing of A leaks into B's pages."""

from __future__ import annotations

import re

import pytest

from tests.enrollment.conftest import pdf_bytes


@pytest.fixture
def world(app, make_company, login, enrol, leader, school, today, ambassador_client):
    """Company A with an active placement, a document, a confirmed hour; company B's HR."""
    import io

    from portal.enrollment import hours
    from portal.enrollment.models import Closure, SchoolYear

    a = make_company("Alpha")
    enrolment = enrol(a, status="active", leader=leader, school=school, employee_email="secret@alpha.nl",
                      employee_name="Alpha Secret")
    client = ambassador_client(enrolment)
    client.post("/ambassador/documents", data={"kind": "cv", "file": (io.BytesIO(pdf_bytes()), "cv.pdf")},
                content_type="multipart/form-data")
    entry = [e for e in hours.register(enrolment) if e.worked_on <= today][0]
    hours.report_sessions(enrolment, [hours.SessionReport(entry.id, True, 480)], actor=a.admin, via="hr")
    hours.decide_entries([entry.id], leader, approve=True)
    b = make_company("Bravo", member=True)
    year = SchoolYear.get()
    values = {"enrolment_id": enrolment.id, "entry_id": entry.id, "school_id": school.id, "year_id": year.id,
              "closure_id": Closure.select().first().id, "kind": "cv", "batch": "A20261128000000abcd"}
    return {"a": a, "b": b, "enrolment": enrolment, "values": values,
            "b_admin": login(app.test_client(), b.admin), "b_member": login(app.test_client(), b.member)}


def _enrollment_rules(app):
    """Every enrolment route but the stylesheet (enrollment.static, the same for everyone)."""
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("enrollment.") and rule.endpoint != "enrollment.static"]


def _url(rule, values) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(r"<(?:\w+:)?" + name + ">", str(values[name]), path)
    return path


COMPANY_ENDPOINTS = {
    "enrollment.overview", "enrollment.new", "enrollment.edit", "enrollment.detail", "enrollment.withdraw",
    "enrollment.vog", "enrollment.send_link", "enrollment.report_hours", "enrollment.extra_hours",
    "enrollment.hours_export", "enrollment.import_csv", "enrollment.import_template",
}
EMPLOYEE_ENDPOINTS = {
    "enrollment.ambassador_welcome", "enrollment.ambassador_link", "enrollment.ambassador_home",
    "enrollment.ambassador_upload", "enrollment.ambassador_document", "enrollment.ambassador_hours",
    "enrollment.ambassador_extra", "enrollment.ambassador_iban", "enrollment.ambassador_logout",
}


def test_every_route_is_classified_before_it_ships(app):
    """A new route must be added to one of the lists here, so the checks below cover it."""
    company, leader, employee = _classes(app)
    assert company == COMPANY_ENDPOINTS
    assert employee == EMPLOYEE_ENDPOINTS
    assert all(e.startswith("enrollment.leader_") for e in leader) and len(leader) == 20


def _classes(app):
    endpoints = {r.endpoint for r in _enrollment_rules(app)}
    leader = {e for e in endpoints if e.startswith("enrollment.leader_")}
    employee = {e for e in endpoints if e.startswith("enrollment.ambassador_")}
    return endpoints - leader - employee, leader, employee


def test_hr_of_another_company_gets_404_on_every_object_route(app, world):
    company, _leader, _employee = _classes(app)
    checked = 0
    for rule in _enrollment_rules(app):
        if rule.endpoint not in company or not rule.arguments:
            continue
        url = _url(rule, world["values"])
        for client in (world["b_admin"], world["b_member"]):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, data={"reason": "x", "vog_status": "refused"})
                assert response.status_code == 404, (method, url, response.status_code)
                assert b"Alpha Secret" not in response.data
                checked += 1
    assert checked >= 14
    # And A's objects did not change.
    from portal.enrollment.models import Enrolment

    assert Enrolment.get_by_id(world["enrolment"].id).status == "active"
    assert Enrolment.get_by_id(world["enrolment"].id).vog_status == "received"


def test_company_users_get_404_on_every_leader_route(app, world):
    _company, leader, _employee = _classes(app)
    for rule in _enrollment_rules(app):
        if rule.endpoint not in leader:
            continue
        url = _url(rule, world["values"])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = world["b_admin"].open(url, method=method)
            assert response.status_code == 404, (method, url, response.status_code)


def test_without_a_login_company_and_leader_routes_send_to_login(app, world):
    company, leader, _employee = _classes(app)
    anonymous = app.test_client()
    for rule in _enrollment_rules(app):
        if rule.endpoint in company | leader and "GET" in rule.methods:
            response = anonymous.get(_url(rule, world["values"]))
            assert response.status_code == 302 and "/login" in response.headers["Location"], rule.rule


def test_employee_routes_need_the_employees_own_session(app, world):
    anonymous = app.test_client()
    for path in ("/ambassador", "/ambassador/documents/cv"):
        assert anonymous.get(path).status_code in (302, 404)
    for path in ("/ambassador/hours", "/ambassador/hours/extra", "/ambassador/iban", "/ambassador/documents"):
        response = anonymous.post(path, data={"iban": "NL91ABNA0417164300"})
        assert response.status_code == 302 and "/ambassador/link" in response.headers["Location"]
    # B's HR login is no employee session either.
    assert world["b_admin"].get("/ambassador/documents/cv").status_code == 404


def test_b_lists_and_exports_show_nothing_of_a(world):
    client = world["b_admin"]
    for path in ("/ambassadors", "/dashboard", "/ambassadors/hours.csv"):
        response = client.get(path)
        assert response.status_code == 200
        assert b"Alpha Secret" not in response.data and b"secret@alpha.nl" not in response.data


def test_contributions_are_per_company(world):
    from portal.core.contributions import contributions

    assert contributions(world["b"].id) == []
    assert {c.company_id for c in contributions(world["a"].id)} == {world["a"].id}
