"""Invitations (single use, expiring), roles (a company always keeps an administrator) and
deactivation, as the company's administrator does them on /team."""

from __future__ import annotations

import datetime as dt
import html

import pytest

from portal.accounts.models import Token, User
from portal.core.audit import AuditLog
from portal.core.db import utcnow
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
INVITEE_PASSWORD = "schoolbord-tulpenveld-kraan-19"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def flashed(client) -> str:
    """The team page, with the messages flashed by the previous request."""
    return text(client.get("/team", headers=EN))


@pytest.fixture
def acme(make_company):
    return make_company("Acme", member=True)


@pytest.fixture
def admin(app, acme, login):
    return login(app.test_client(), acme.admin)


def invite(admin_client, email="nieuw@acme.nl", role="member", name="Nina Nieuw"):
    response = admin_client.post("/team", data={"email": email, "role": role, "name": name}, headers=EN)
    assert response.status_code == 302, text(response)[:500]
    return response


# --- invitations ---------------------------------------------------------------------------

def test_an_invitation_creates_a_colleague_who_sets_a_password(app, acme, admin, outbox):
    invite(admin)
    invited = User.get(User.email == "nieuw@acme.nl")
    assert (invited.company_id, invited.role, invited.password_hash) == (acme.id, "member", "")
    assert AuditLog.select().where(AuditLog.action == "user.invited").count() == 1
    mail = outbox.last("nieuw@acme.nl")
    assert mail.subject == "You are invited to the OnderwijsAmbassadeurs portal"
    assert "Acme B.V." in mail.text and "Acme B.V." in mail.html

    browser = app.test_client()
    page = browser.get(mail.link(), headers=EN)
    assert page.status_code == 200 and "Acme B.V." in text(page) and "nieuw@acme.nl" in text(page)
    accepted = browser.post(mail.link(), data={"name": "Nina de Nieuwe", "password": INVITEE_PASSWORD})

    assert accepted.status_code == 302 and accepted.headers["Location"] == "/dashboard"
    assert browser.get("/dashboard").status_code == 200
    user = User.get_by_id(invited.id)
    assert user.name == "Nina de Nieuwe" and user.password_hash.startswith("$argon2id$")
    assert user.email_confirmed_at is not None
    assert app.test_client().post("/login", data={"email": "nieuw@acme.nl", "password": INVITEE_PASSWORD}).status_code == 302


def test_an_invitation_link_works_once(app, admin, outbox):
    invite(admin)
    link = outbox.last("nieuw@acme.nl").link()
    app.test_client().post(link, data={"name": "Nina", "password": INVITEE_PASSWORD})

    second = app.test_client()
    assert second.get(link).headers["Location"] == "/login"
    response = second.post(link, data={"name": "Mallory", "password": "andere-sterke-zin-met-woorden"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "This invitation is no longer valid." in text(second.get("/login", headers=EN))
    assert User.get(User.email == "nieuw@acme.nl").name == "Nina"


def test_an_invitation_expires(app, admin, outbox, clock):
    invite(admin)
    link = outbox.last("nieuw@acme.nl").link()
    token = Token.get(Token.purpose == "invite")
    assert dt.timedelta(hours=71) < token.expires_at - utcnow() <= dt.timedelta(hours=72)

    clock.advance(hours=72, minutes=1)
    browser = app.test_client()
    assert browser.post(link, data={"name": "Nina", "password": INVITEE_PASSWORD}).headers["Location"] == "/login"
    assert User.get(User.email == "nieuw@acme.nl").password_hash == ""


def test_inviting_again_replaces_the_old_link(app, admin, outbox):
    invite(admin)
    old = outbox.last("nieuw@acme.nl").link()
    invite(admin)
    new = outbox.last("nieuw@acme.nl").link()

    assert old != new
    assert app.test_client().post(old, data={"name": "N", "password": INVITEE_PASSWORD}).headers["Location"] == "/login"
    assert app.test_client().post(new, data={"name": "N", "password": INVITEE_PASSWORD}).headers["Location"] == "/dashboard"
    assert User.select().where(User.email == "nieuw@acme.nl").count() == 1


def test_inviting_someone_who_has_an_account_elsewhere_only_tells_them(app, admin, make_company, outbox):
    other = make_company("Bolt")
    response = invite(admin, email=other.admin.email.upper())

    assert response.headers["Location"] == "/team"
    assert f"The invitation to {other.admin.email} is on its way." in flashed(admin)  # same answer as a new address
    assert User.get_by_id(other.admin.id).company_id == other.id
    assert User.select().where(User.email == other.admin.email).count() == 1
    notice = outbox.last(other.admin.email)
    assert notice.subject == "Someone tried to invite you"
    assert "/invite/" not in notice.text
    assert Token.select().where(Token.purpose == "invite").count() == 0


def test_a_weak_password_is_refused_at_acceptance_and_the_link_still_works(app, admin, outbox):
    invite(admin)
    link = outbox.last("nieuw@acme.nl").link()
    browser = app.test_client()

    refused = browser.post(link, data={"name": "Nina", "password": "acmeacme1234"}, headers=EN)
    assert refused.status_code == 200 and "too easy to guess" in text(refused)
    assert 'value="Nina"' in text(refused)  # the name comes back filled in
    assert browser.post(link, data={"name": "Nina", "password": INVITEE_PASSWORD}).status_code == 302


def test_a_deactivated_invitee_cannot_accept(app, acme, admin, outbox):
    invite(admin)
    link = outbox.last("nieuw@acme.nl").link()
    invited = User.get(User.email == "nieuw@acme.nl")
    admin.post(f"/team/{invited.id}/deactivate")

    response = app.test_client().post(link, data={"name": "Nina", "password": INVITEE_PASSWORD})
    assert response.headers["Location"] == "/login"
    assert User.get_by_id(invited.id).password_hash == ""


def test_an_invitation_link_is_not_a_reset_link_and_the_other_way_round(app, admin, acme, outbox):
    invite(admin)
    invitation = outbox.last("nieuw@acme.nl").link()
    app.test_client().post("/password/forgot", data={"email": acme.member.email}).close()
    reset = outbox.last(acme.member.email).link()

    assert app.test_client().get(invitation.replace("/invite/", "/password/reset/")).headers["Location"].endswith("/password/forgot")
    assert app.test_client().get(reset.replace("/password/reset/", "/invite/")).headers["Location"] == "/login"


def test_members_cannot_invite_or_manage_the_team(app, acme, login):
    member = login(app.test_client(), acme.member)

    assert member.get("/team").status_code == 403
    assert member.post("/team", data={"email": "x@acme.nl", "role": "admin"}).status_code == 403
    assert member.post(f"/team/{acme.admin.id}/role", data={"role": "member"}).status_code == 403
    assert member.post(f"/team/{acme.admin.id}/deactivate").status_code == 403
    assert User.select().where(User.email == "x@acme.nl").count() == 0
    assert User.get_by_id(acme.admin.id).role == "admin" and User.get_by_id(acme.admin.id).is_active


def test_an_invitation_cannot_make_a_project_leader(app, admin):
    response = admin.post("/team", data={"email": "boss@acme.nl", "role": "leader"}, headers=EN)
    assert response.status_code == 200
    assert User.select().where(User.email == "boss@acme.nl").count() == 0


# --- roles and deactivation -----------------------------------------------------------------

def test_an_administrator_changes_a_members_role(app, acme, admin):
    assert admin.post(f"/team/{acme.member.id}/role", data={"role": "admin"}).status_code == 302
    assert User.get_by_id(acme.member.id).role == "admin"
    row = AuditLog.select().where(AuditLog.action == "user.role_changed").get()
    assert '"after": "admin"' in row.details and '"before": "member"' in row.details

    admin.post(f"/team/{acme.member.id}/role", data={"role": "member"})
    assert User.get_by_id(acme.member.id).role == "member"


def test_a_company_always_keeps_an_administrator(app, acme, admin):
    response = admin.post(f"/team/{acme.admin.id}/role", data={"role": "member"})

    assert response.status_code == 302
    assert "A company needs at least one active administrator." in flashed(admin)
    assert User.get_by_id(acme.admin.id).role == "admin"


def test_with_a_second_administrator_the_first_may_step_down(app, acme, admin):
    admin.post(f"/team/{acme.member.id}/role", data={"role": "admin"})
    admin.post(f"/team/{acme.admin.id}/role", data={"role": "member"})

    assert User.get_by_id(acme.admin.id).role == "member"
    assert admin.get("/team").status_code == 403  # the role applies at once


def test_a_deactivated_administrator_does_not_count(app, acme, admin, login):
    admin.post(f"/team/{acme.member.id}/role", data={"role": "admin"})
    admin.post(f"/team/{acme.member.id}/deactivate")
    admin.post(f"/team/{acme.admin.id}/role", data={"role": "member"})

    assert User.get_by_id(acme.admin.id).role == "admin"


def test_nobody_deactivates_themselves_or_the_last_administrator(app, acme, admin, login):
    admin.post(f"/team/{acme.admin.id}/deactivate")
    assert "You cannot deactivate yourself." in flashed(admin)
    assert User.get_by_id(acme.admin.id).is_active

    admin.post(f"/team/{acme.member.id}/role", data={"role": "admin"})
    second_admin = login(app.test_client(), acme.member)
    second_admin.post(f"/team/{acme.admin.id}/deactivate")
    assert not User.get_by_id(acme.admin.id).is_active  # allowed: another active administrator remains

    second_admin.post(f"/team/{acme.member.id}/deactivate")
    assert User.get_by_id(acme.member.id).is_active  # the last active administrator stays


def test_an_unknown_role_is_refused(app, acme, admin):
    admin.post(f"/team/{acme.member.id}/role", data={"role": "leader"})
    assert User.get_by_id(acme.member.id).role == "member"
    assert "Choose a role." in flashed(admin)


def test_the_team_page_lists_the_company_and_nobody_else(app, acme, admin, make_company):
    other = make_company("Bolt")
    page = text(admin.get("/team", headers=EN))

    assert acme.admin.email in page and acme.member.email in page
    assert other.admin.email not in page and "Bolt" not in page


def test_an_invitation_is_written_in_the_companys_language(app, make_company, login, outbox):
    dutch = make_company("Gracht", language="nl")
    invite(login(app.test_client(), dutch.admin), email="nieuw@gracht.nl")

    assert User.get(User.email == "nieuw@gracht.nl").language == "nl"
    assert 'lang="nl"' in outbox.last("nieuw@gracht.nl").html


def test_the_invitation_mail_names_the_password_site_only(app, admin, outbox):
    invite(admin)
    mail = outbox.last("nieuw@acme.nl")
    assert PASSWORD not in mail.text
    assert mail.text.count("http://portal.test/invite/") == 1
