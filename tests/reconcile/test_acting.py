"""Acting on behalf of a company user: tenant-safe, bannered on every page, audited, one click to end."""

from __future__ import annotations

import secrets

import pytest

from portal.accounts.models import LoginSession
from portal.core.audit import AuditLog


@pytest.fixture
def donation_of(app):
    from portal.giving import service as giving

    def make(company, cents=25000):
        with app.test_request_context():
            donation, _new = giving.create_donation(
                giving.DonationInput(amount_cents=cents, classification="gift", method="bank",
                                     form_token=secrets.token_urlsafe(24)), user=company.admin)
        return donation

    return make


def test_the_leader_acting_for_a_user_of_a_sees_only_a(leader_client, make_company, donation_of):
    a, b = make_company("Alfa", member=True), make_company("Bravo")
    own, other = donation_of(a), donation_of(b)
    home = leader_client.get("/leader")
    assert f"/leader/companies/{a.id}/users".encode() in home.data
    page = leader_client.get(f"/leader/companies/{a.id}/users")
    assert a.member.email.encode() in page.data
    response = leader_client.post(f"/leader/users/{a.member.id}/act")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")

    for path in ("/dashboard", "/giving", "/account"):
        page = leader_client.get(path)
        assert page.status_code == 200, path
        assert b"You are acting on behalf of" in page.data and b"Alfa B.V." in page.data, path
        assert b"Stop acting" in page.data and b"/acting/stop" in page.data, path
    overview = leader_client.get("/giving")
    assert own.number.encode() in overview.data and other.number.encode() not in overview.data
    assert leader_client.get(f"/giving/donations/{other.id}/payment-request.pdf").status_code == 404
    assert leader_client.get(f"/giving/donations/{own.id}/payment-request.pdf").status_code == 200
    # While acting, the leader's own pages are closed: the session is the company user's.
    assert leader_client.get("/leader/reconcile").status_code == 404
    assert leader_client.post(f"/leader/users/{b.admin.id}/act").status_code == 404

    response = leader_client.post("/acting/stop")
    assert response.status_code == 302
    back = leader_client.get("/leader/reconcile")
    assert back.status_code == 200 and b"You are acting on behalf of" not in back.data
    assert LoginSession.select().where(LoginSession.acting_for.is_null(False)).count() == 0
    rows = list(AuditLog.select().where(AuditLog.action.startswith("leader.acting")).order_by(AuditLog.id))
    assert [r.action for r in rows] == ["leader.acting_started", "leader.acting_stopped"]
    assert all(r.company_id == a.id and r.object_id == str(a.member.id) for r in rows)


def test_no_one_else_can_start_or_stop_acting(app, make_company, login, leader):
    a = make_company("Alfa", member=True)
    admin = login(app.test_client(), a.admin)
    assert admin.post(f"/leader/users/{a.member.id}/act").status_code == 404
    assert admin.post("/acting/stop").status_code == 404
    # The leader's password alone (second factor not passed) is not enough.
    half = login(app.test_client(), leader)
    response = half.post(f"/leader/users/{a.member.id}/act")
    assert response.status_code in (302, 404) and LoginSession.select().where(
        LoginSession.acting_for.is_null(False)).count() == 0


def test_acting_for_an_inactive_or_unknown_user_is_refused(leader_client, make_company):
    from portal.accounts.models import User

    a = make_company("Alfa", member=True)
    User.update(is_active=False).where(User.id == a.member.id).execute()
    page = leader_client.post(f"/leader/users/{a.member.id}/act", follow_redirects=True)
    assert b"does not exist or is not active" in page.data
    page = leader_client.post("/leader/users/999999/act", follow_redirects=True)
    assert b"does not exist or is not active" in page.data
