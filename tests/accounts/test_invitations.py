"""Issue 15 item 8 (invitations): the team page shows an invitation the same way whether the
address was new or already has an account elsewhere, so an administrator cannot learn who has
an account by inviting them."""

from __future__ import annotations

import html
import re

import pytest

from portal.accounts.models import Invitation, Token, User
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
INVITEE_PASSWORD = "schoolbord-tulpenveld-kraan-19"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def acme(make_company):
    return make_company("Acme")


@pytest.fixture
def admin(app, acme, login):
    return login(app.test_client(), acme.admin)


def invite(client, email: str, name: str = "Nina Nieuw", role: str = "member") -> None:
    response = client.post("/team", data={"email": email, "role": role, "name": name}, headers=EN)
    assert response.status_code == 302, text(response)[:500]


def row_of(page: str, email: str) -> str | None:
    """The team table's row that holds `email`, with the address, the name and ids blanked."""
    for row in re.findall(r"<tr>.*?</tr>", page, flags=re.DOTALL):
        if f"<td>{email}</td>" in row:
            return re.sub(r"\d+", "N", row.replace(email, "EMAIL").replace("Nina Nieuw", "NAME"))
    return None


def test_a_known_and_an_unknown_address_look_the_same_on_the_team_page(app, admin, make_company, outbox):
    elsewhere = make_company("Bolt")
    invite(admin, "nieuw@acme.nl")
    invite(admin, elsewhere.admin.email)

    page = text(admin.get("/team", headers=EN))
    new_row, known_row = row_of(page, "nieuw@acme.nl"), row_of(page, elsewhere.admin.email)
    assert new_row is not None and known_row is not None
    assert new_row == known_row and "Invited" in new_row and "Withdraw invitation" in new_row
    assert "Bolt" not in page
    # What each address receives is unchanged: a link for the new one, a notice for the known one.
    assert "/invite/" in outbox.last("nieuw@acme.nl").text
    assert outbox.last(elsewhere.admin.email).subject == "Someone tried to invite you"
    assert User.get_by_id(elsewhere.admin.id).company_id == elsewhere.id


def test_inviting_again_keeps_one_row_for_either_kind(app, admin, make_company, outbox):
    elsewhere = make_company("Bolt")
    for _ in range(2):
        invite(admin, "nieuw@acme.nl")
        invite(admin, elsewhere.admin.email)
    page = text(admin.get("/team", headers=EN))
    assert page.count("<td>nieuw@acme.nl</td>") == 1 and page.count(f"<td>{elsewhere.admin.email}</td>") == 1
    assert Invitation.select().count() == 2


def test_withdrawing_removes_either_kind_and_ends_the_link(app, admin, make_company, outbox):
    elsewhere = make_company("Bolt")
    invite(admin, "nieuw@acme.nl")
    invite(admin, elsewhere.admin.email)
    link = outbox.last("nieuw@acme.nl").link()

    for invitation in list(Invitation.select()):
        response = admin.post("/team", data={"withdraw": invitation.id}, headers=EN)
        assert response.status_code == 302
    page = text(admin.get("/team", headers=EN))
    assert row_of(page, "nieuw@acme.nl") is None and row_of(page, elsewhere.admin.email) is None
    assert f"The invitation to {elsewhere.admin.email} was withdrawn." in page
    assert app.test_client().post(link, data={"name": "N", "password": INVITEE_PASSWORD}).headers["Location"] == "/login"
    assert Token.select().where(Token.purpose == "invite").count() == 0
    assert User.get_by_id(elsewhere.admin.id).is_active  # the other company's user is untouched

    invite(admin, "nieuw@acme.nl")  # invited again: a new link that works
    again = outbox.last("nieuw@acme.nl").link()
    assert app.test_client().post(again, data={"name": "N", "password": INVITEE_PASSWORD}).headers["Location"] == "/dashboard"


def test_an_accepted_invitation_becomes_an_active_colleague(app, admin, outbox):
    invite(admin, "nieuw@acme.nl")
    app.test_client().post(outbox.last("nieuw@acme.nl").link(), data={"name": "Nina", "password": INVITEE_PASSWORD})
    page = text(admin.get("/team", headers=EN))
    row = row_of(page, "nieuw@acme.nl")
    assert row is not None and "Active" in row and "Withdraw invitation" not in row
    assert Invitation.select().count() == 0


def test_another_company_cannot_withdraw_an_invitation(app, admin, make_company, login):
    invite(admin, "nieuw@acme.nl")
    invitation = Invitation.get()
    other = login(app.test_client(), make_company("Bolt").admin)
    assert other.post("/team", data={"withdraw": invitation.id}).status_code == 404
    assert Invitation.get_by_id(invitation.id).withdrawn_at is None


def test_a_withdrawal_that_is_not_an_id_is_a_404(app, admin):
    for value in ("", "x", "١", "1" * 13):
        assert admin.post("/team", data={"withdraw": value}).status_code == 404


def test_a_member_cannot_withdraw_an_invitation(app, make_company, login):
    company = make_company("Acme", member=True)
    invite(login(app.test_client(), company.admin), "nieuw@acme.nl")
    member = login(app.test_client(), company.member, PASSWORD)
    assert member.post("/team", data={"withdraw": Invitation.get().id}).status_code == 403
