"""Tenant isolation for every SROI route, generated from the url_map: another company's objects are 404."""

from __future__ import annotations

import datetime as dt
import html

import pytest

from portal.sroi import service
from portal.sroi.models import Allocation, Approval, Commitment

ALL_PARAMETERS = {"commitment_id", "allocation_id", "approval_id"}


@pytest.fixture
def victim(app, make_company, ledger, make_commitment, request_context):
    company = make_company("Victim")
    commitment = make_commitment(company.admin, contract_reference="SECRET-REF-4711")
    donation = ledger.money(company, 10_000)
    allocation = service.set_allocation(company.admin, commitment.id, donation.key, 10_000)
    approval = service.record_approval(company.admin, commitment.id, 5_000, dt.date(2026, 10, 1), "SR-SECRET")
    return {"company": company, "commitment_id": commitment.id, "allocation_id": allocation.id,
            "approval_id": approval.id}


def sroi_rules(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("sroi.")]
    assert rules
    return rules


def snapshot():
    return (list(Commitment.select().dicts()), list(Allocation.select().dicts()), list(Approval.select().dicts()))


def test_every_route_with_an_object_is_404_for_another_company(app, victim, company_client):
    _intruder, client = company_client("Intruder")
    before = snapshot()
    checked = 0
    for rule in sroi_rules(app):
        if not rule.arguments:
            continue
        assert rule.arguments <= ALL_PARAMETERS, f"new URL parameter in {rule.rule}: extend this test"
        url = rule.build({name: victim[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"key": "donation:1", "amount": "1", "fingerprint": "delete", "reference": "x", "reason": "x",
                    "approved_on": "2026-10-01", "authority": "x"}
            response = client.open(url, method=method, data=data if method == "POST" else None)
            assert response.status_code == 404, (method, url, response.status_code)
            assert "SECRET" not in response.get_data(as_text=True)
            checked += 1
    assert checked >= 12
    assert snapshot() == before


def test_pages_without_ids_show_only_the_own_company(app, victim, company_client, ledger):
    intruder, client = company_client("Intruder")
    for url in ("/sroi/", "/sroi/new", "/sroi/suggest", "/dashboard"):
        page = html.unescape(client.get(url).get_data(as_text=True))
        assert "SECRET" not in page, url
    assert service.suggest(intruder.id) == []


def test_anonymous_visitors_are_sent_to_login(app, victim):
    client = app.test_client()
    for rule in sroi_rules(app):
        url = rule.build({name: victim[name] for name in rule.arguments})[1]
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(url, method=method)
        assert response.status_code in (302, 404), url
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]
        else:
            assert rule.endpoint.startswith("sroi.leader"), url


def test_the_leader_routes_are_not_for_companies(app, victim, company_client):
    _company, client = company_client("Other")
    victim_client = app.test_client()
    for rule in sroi_rules(app):
        if not rule.endpoint.startswith("sroi.leader"):
            continue
        url = rule.build({name: victim[name] for name in rule.arguments})[1]
        assert client.get(url).status_code == 404
        assert victim_client.get(url).status_code in (302, 404)


def test_a_users_own_objects_of_another_commitment_are_404(app, victim, company_client, make_commitment, ledger,
                                                          request_context):
    """An allocation or approval id of one commitment under another commitment's URL of the same company."""
    company = victim["company"]
    other = make_commitment(company.admin, contract_reference="OTHER")
    client = app.test_client()
    client.post("/login", data={"email": company.admin.email, "password": "zeilboot-kaasmarkt-regen-42"})
    response = client.post(f"/sroi/{other.id}/allocations/{victim['allocation_id']}/remove",
                           data={"fingerprint": "remove"})
    assert response.status_code == 404
    assert client.get(f"/sroi/{other.id}/approvals/{victim['approval_id']}/correct").status_code == 404
    assert Allocation.select().count() == 1
