"""With CSRF protection on (as in production), every form on every enrolment page carries
the token, and a POST without it changes nothing."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def csrf_on(app):
    """Log in with CSRF off (the shared login fixtures post without a token), then switch it on."""

    def switch():
        app.config["WTF_CSRF_ENABLED"] = True

    return switch


def _forms_without_token(html: str) -> list[str]:
    forms = re.findall(r"<form\b[^>]*>.*?</form>", html, re.S | re.I)
    return [f[:120] for f in forms if re.search(r'method="post"', f, re.I) and 'name="csrf_token"' not in f]


def test_every_post_form_carries_the_token(app, hr, enrol, leader, leader_client, school, ambassador_client, today, csrf_on):
    enrolment = enrol(hr, status="active", leader=leader, school=school, funding="volunteer", hourly_cost="")
    employee = ambassador_client(enrolment)
    csrf_on()
    from portal.enrollment.models import SchoolYear

    year = SchoolYear.get()
    pages = [(hr.client, p) for p in ("/ambassadors", "/ambassadors/new", "/ambassadors/import",
                                      f"/ambassadors/{enrolment.id}", "/dashboard")]
    pages += [(leader_client, p) for p in (f"/leader/ambassadors/{enrolment.id}", "/leader/hours", "/leader/reminders",
                                           "/leader/schools/new", f"/leader/school-years/{year.id}",
                                           "/leader/allowances", "/leader/allowance-limits")]
    pages.append((employee, "/ambassador"))
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert _forms_without_token(response.get_data(as_text=True)) == [], path


def test_a_post_without_the_token_changes_nothing(app, hr, enrol, csrf_on):
    enrolment = enrol(hr)
    csrf_on()
    response = hr.client.post(f"/ambassadors/{enrolment.id}/withdraw", data={"reason": "Forged"})
    assert response.status_code == 400
    assert type(enrolment).get_by_id(enrolment.id).status == "submitted"
