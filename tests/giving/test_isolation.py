"""Tenant isolation for every giving route, generated from the url_map: another company's objects
are 404, key-guarded donor pages need the donation's own key, leader pages are not for companies."""

from __future__ import annotations

import itertools

import pytest

from portal.core import clock
from portal.giving import service
from portal.giving.models import (
    Document,
    Donation,
    MaterialNeed,
    MaterialPledge,
    PaymentIssue,
    Refund,
)

from .conftest import donate_form

PUBLIC = {"giving.public_donate", "giving.stripe_webhook"}
KEY_GUARDED = {"giving.donation_status", "giving.cancel", "giving.document"}
VALUES = {"kind": ["receipt", "payment-request"], "action": ["accept", "decline", "deliver", "confirm"]}


@pytest.fixture
def victim(stripe_env, company_client, leader, request_context):
    company, client = company_client("Victim")
    client.post("/giving/donate", data=donate_form(amount="123,45", earmark_purpose="SECRET-PURPOSE"))
    paid = Donation.get()
    session = stripe_env.transport.session_for(paid.id)
    stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    client.post("/giving/donate", data=donate_form(amount="77", method="bank", earmark_purpose="SECRET-BANK"))
    requested = Donation.select().order_by(Donation.id.desc()).get()
    client.post("/giving/materials/pledge", data={"description": "SECRET-LAPTOPS", "quantity": "2",
                                                  "declared_value": "500", "classification": "gift",
                                                  "form_token": "victim-pledge-token-0123"})
    need = service.publish_need(leader, item="Scharen", description="", quantity=5, school_id=None, needed_by=None)
    service.mark_paid_by_bank(requested.reference, 1, clock.today(), leader, "SECRET-LINE")
    assert service.document(paid, "receipt") and service.document(requested, "payment_request")
    return {"company": company, "donation_id": paid.id, "bank_id": requested.id, "need_id": need.id,
            "pledge_id": MaterialPledge.get().id, "issue_id": PaymentIssue.get().id}


def giving_rules(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("giving.")]
    assert len(rules) >= 20
    return rules


def urls(rule, victim) -> list[str]:
    ids = {"donation_id": [victim["donation_id"], victim["bank_id"]], "need_id": [victim["need_id"]],
           "pledge_id": [victim["pledge_id"]], "issue_id": [victim["issue_id"]], **VALUES}
    unknown = rule.arguments - set(ids)
    assert not unknown, f"new URL parameter {unknown} in {rule.rule}: extend this test"
    names = sorted(rule.arguments)
    return [rule.build(dict(zip(names, combo, strict=True)))[1]
            for combo in itertools.product(*(ids[name] for name in names))]


def snapshot():
    return (list(Donation.select().dicts()), list(MaterialPledge.select().dicts()), list(MaterialNeed.select().dicts()),
            list(PaymentIssue.select().dicts()), Document.select().count(), Refund.select().count())


FORM = {"reason": "x", "on": "2026-01-01", "value": "10", "resolution": "x", "item": "x", "quantity": "1",
        "reference": "RF18539007547034", "amount": "1", "paid_on": "2026-01-01", "bank_line_ref": "x"}


def test_every_route_with_an_id_is_404_for_another_company(app, victim, company_client, make_company, login):
    intruder = make_company("Intruder", member=True)
    before = snapshot()
    checked = 0
    for user in (intruder.admin, intruder.member):
        client = app.test_client()
        login(client, user)
        for rule in giving_rules(app):
            if not rule.arguments:
                continue
            for url in urls(rule, victim):
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    response = client.open(url, method=method, data=FORM if method == "POST" else None)
                    assert response.status_code == 404, (user.role, method, url, response.status_code)
                    assert b"SECRET" not in response.data and b"Victim" not in response.data
                    checked += 1
    assert checked >= 40
    assert snapshot() == before


def test_donor_pages_need_the_donations_own_key(app, victim):
    anonymous = app.test_client()
    paid = Donation.get_by_id(victim["donation_id"])
    other = Donation.get_by_id(victim["bank_id"])
    for rule in giving_rules(app):
        if rule.endpoint not in KEY_GUARDED:
            continue
        for url in urls(rule, victim):
            donation = paid if f"/{paid.id}" in url else other
            wrong = service.access_key(other if donation is paid else paid)
            for query in ("", "?key=", f"?key={wrong}", "?key=" + "0" * 32):
                assert anonymous.get(url + query).status_code == 404, url + query
    assert anonymous.get(f"/give/donations/{paid.id}?key={service.access_key(paid)}").status_code == 200
    assert Donation.get_by_id(paid.id).status == "paid"


def test_pages_without_ids_show_only_the_own_company(app, victim, company_client):
    intruder, client = company_client("Intruder")
    for url in ("/giving", "/giving/export.csv", "/giving/materials", "/giving/donate", "/dashboard",
                "/giving?kind=money", "/giving/export.csv?kind=material", "/giving/materials/pledge"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"SECRET" not in response.data and b"Victim" not in response.data, url
    assert service.company_rows(intruder.id) == []
    assert service.contributions(intruder.id, None, None) == []


def test_leader_routes_are_404_for_companies_and_ask_anonymous_visitors_to_log_in(app, victim, company_client):
    _company, client = company_client("Other")
    anonymous = app.test_client()
    before = snapshot()
    checked = 0
    for rule in giving_rules(app):
        if not rule.endpoint.startswith("giving.leader"):
            continue
        for url in urls(rule, victim) if rule.arguments else [rule.rule]:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                assert client.open(url, method=method, data=FORM).status_code == 404, (method, url)
                response = anonymous.open(url, method=method, data=FORM)
                assert response.status_code == 302 and "/login" in response.headers["Location"], (method, url)
                checked += 1
    assert checked >= 14
    assert snapshot() == before


def test_company_routes_ask_anonymous_visitors_to_log_in(app, victim):
    anonymous = app.test_client()
    for rule in giving_rules(app):
        if rule.endpoint in PUBLIC | KEY_GUARDED or rule.endpoint.startswith("giving.leader"):
            continue
        for url in urls(rule, victim) if rule.arguments else [rule.rule]:
            method = "GET" if "GET" in rule.methods else "POST"
            response = anonymous.open(url, method=method, data=FORM)
            assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_the_leader_reaches_every_leader_page(app, victim, leader_client):
    for url in ("/giving/leader", f"/giving/leader/donations/{victim['donation_id']}",
                f"/giving/leader/pledges/{victim['pledge_id']}", "/giving/leader/bank",
                f"/giving/leader/donations/{victim['donation_id']}/receipt.pdf",
                f"/giving/leader/donations/{victim['bank_id']}/payment-request.pdf"):
        assert leader_client.get(url).status_code == 200, url
    assert leader_client.get("/giving").status_code == 404       # a company page, and the leader has no company
