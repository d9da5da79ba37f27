"""A forgotten password is reset by e-mail: single-use links that expire, die with a password
change, end every session, and answer the same for unknown addresses."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from portal.accounts.models import LoginSession, Token, User
from portal.core.db import utcnow
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
NEW_PASSWORD = "vuurtoren-hagelslag-fiets-77"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def acme(make_company):
    return make_company("Acme")


def request_link(app, outbox, email: str) -> str:
    response = app.test_client().post("/password/forgot", data={"email": email})
    assert response.status_code == 302
    response.close()  # the mail goes out once the answer has been sent
    return outbox.last(email).link()


def test_a_reset_link_sets_a_new_password_and_ends_every_session(app, acme, outbox, login):
    logged_in = login(app.test_client(), acme.admin)
    link = request_link(app, outbox, acme.admin.email)
    mail = outbox.last(acme.admin.email)
    assert mail.subject == "Reset your password" and "/password/reset/" in link

    browser = app.test_client()
    assert browser.get(link).status_code == 200
    response = browser.post(link, data={"password": NEW_PASSWORD})

    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert logged_in.get("/dashboard").status_code == 302
    assert LoginSession.select().count() == 0
    assert app.test_client().post("/login", data={"email": acme.admin.email, "password": PASSWORD}).status_code == 401
    login(app.test_client(), acme.admin, NEW_PASSWORD)


def test_a_reset_link_works_once(app, acme, outbox):
    link = request_link(app, outbox, acme.admin.email)
    app.test_client().post(link, data={"password": NEW_PASSWORD})

    again = app.test_client()
    response = again.post(link, data={"password": "een-andere-sterke-zin-hier"})
    assert response.status_code == 302 and response.headers["Location"] == "/password/forgot"
    assert "This link is no longer valid." in text(again.get("/password/forgot", headers=EN))
    assert app.test_client().post("/login", data={"email": acme.admin.email, "password": NEW_PASSWORD}).status_code == 302


def test_a_reset_link_expires_after_an_hour(app, acme, outbox, clock):
    link = request_link(app, outbox, acme.admin.email)
    token = Token.get(Token.purpose == "reset")
    assert dt.timedelta(minutes=59) < token.expires_at - utcnow() <= dt.timedelta(minutes=60)

    clock.advance(minutes=61)
    response = app.test_client().post(link, data={"password": NEW_PASSWORD})
    assert response.headers["Location"] == "/password/forgot"
    assert User.get_by_id(acme.admin.id).password_hash == acme.admin.password_hash


def test_a_reset_link_dies_when_the_password_changes(app, acme, outbox, login, clock):
    link = request_link(app, outbox, acme.admin.email)
    clock.advance(seconds=1)
    client = login(app.test_client(), acme.admin)
    client.post("/account", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    response = app.test_client().post(link, data={"password": "een-andere-sterke-zin-hier"})
    assert response.headers["Location"] == "/password/forgot"
    login(app.test_client(), acme.admin, NEW_PASSWORD)


def test_using_one_reset_link_kills_the_older_ones(app, acme, outbox, clock):
    older = request_link(app, outbox, acme.admin.email)
    clock.advance(seconds=1)
    newer = request_link(app, outbox, acme.admin.email)
    clock.advance(seconds=1)
    app.test_client().post(newer, data={"password": NEW_PASSWORD})

    response = app.test_client().post(older, data={"password": "een-andere-sterke-zin-hier"})
    assert response.headers["Location"] == "/password/forgot"


def test_a_weak_new_password_is_refused_and_the_link_stays_usable(app, acme, outbox):
    link = request_link(app, outbox, acme.admin.email)
    browser = app.test_client()

    weak = browser.post(link, data={"password": "acme12345678"}, headers=EN)
    assert weak.status_code == 200 and "too easy to guess" in text(weak)
    assert browser.post(link, data={"password": NEW_PASSWORD}).status_code == 302


def test_unknown_and_known_addresses_get_identical_answers(app, acme, outbox):
    known, unknown = app.test_client(), app.test_client()
    a = known.post("/password/forgot", data={"email": acme.admin.email}, headers=EN)
    b = unknown.post("/password/forgot", data={"email": "nobody@acme.nl"}, headers=EN)
    a.close(), b.close()  # the mail goes out once the answer has been sent

    assert (a.status_code, a.headers["Location"]) == (b.status_code, b.headers["Location"]) == (302, "/login")
    page_a, page_b = (re.sub(r'value="[^"]*"', "", text(c.get("/login", headers=EN))) for c in (known, unknown))
    assert page_a == page_b
    assert "If an account exists for that address" in page_a
    assert outbox.to("nobody@acme.nl") == []
    assert len(outbox.to(acme.admin.email)) == 1


def test_a_deactivated_or_invited_user_gets_no_reset_link(app, acme, outbox):
    User.update(is_active=False).where(User.id == acme.admin.id).execute()
    User.create(company=acme, email="invited@acme.nl", role="member", language="en")
    for email in (acme.admin.email, "invited@acme.nl"):
        response = app.test_client().post("/password/forgot", data={"email": email})
        response.close()
        assert response.status_code == 302
    assert outbox.messages == []


def test_a_made_up_or_tampered_link_is_refused(app, acme, outbox):
    link = request_link(app, outbox, acme.admin.email)
    for path in ("/password/reset/" + "A" * 43, link[:-1] + ("A" if not link.endswith("A") else "B")):
        response = app.test_client().post(path, data={"password": NEW_PASSWORD})
        assert response.headers["Location"] == "/password/forgot"
    assert User.get_by_id(acme.admin.id).password_hash == acme.admin.password_hash


def test_reset_tokens_are_random_and_stored_only_as_hashes(app, acme, outbox):
    first = request_link(app, outbox, acme.admin.email).rsplit("/", 1)[1]
    second = request_link(app, outbox, acme.admin.email).rsplit("/", 1)[1]

    assert first != second and len(first) >= 43  # 32 random bytes
    stored = [t.token_hash for t in Token.select()]
    assert first not in stored and second not in stored


def test_the_reset_mail_goes_out_after_the_answer_for_known_and_unknown_alike(app, acme, outbox):
    """Nothing about the address is looked up or sent while the answer is made, so a known address
    answers as fast as an unknown one: the mail follows once the response has gone out."""
    known = app.test_client().post("/password/forgot", data={"email": acme.admin.email}, headers=EN)
    unknown = app.test_client().post("/password/forgot", data={"email": "nobody@acme.nl"}, headers=EN)

    assert outbox.messages == []  # the answers are complete, no mail yet
    assert Token.select().count() == 0
    assert (known.status_code, known.headers["Location"], known.get_data()) == \
        (unknown.status_code, unknown.headers["Location"], unknown.get_data())

    known.close(), unknown.close()
    assert len(outbox.to(acme.admin.email)) == 1 and outbox.to("nobody@acme.nl") == []
