"""Materials: needs published by the project leader, pledges by companies, the leader's moves."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core import clock
from portal.core.audit import AuditLog
from portal.giving import contributions, materials
from portal.giving.models import MaterialNeed, MaterialPledge

TODAY = clock.today()


@pytest.fixture
def need(leader, request_context):
    return materials.publish_need(leader, item="Leesboeken groep 3", description="AVI-start tot E3", quantity=30,
                                school_id=None, needed_by=TODAY + dt.timedelta(days=30))


def pledge_form(**overrides) -> dict:
    values = {"need": "", "description": "Laptops, refurbished", "quantity": "12", "declared_value": "3.600,00",
              "classification": "gift", "form_token": "pledge-token-0123456789"}
    values.update(overrides)
    return values


def test_a_company_pledges_against_a_need_and_the_leader_takes_it_to_confirmed(
        app, need, company_client, leader_client, leader, outbox):
    company, client = company_client("Gever")
    page = client.get("/giving/materials")
    assert b"Leesboeken groep 3" in page.data
    response = client.post("/giving/materials/pledge", data=pledge_form(need=str(need.id), description="",
                                                                        quantity="30", declared_value="450"))
    assert response.status_code == 302, response.data[:500]
    pledge = MaterialPledge.get()
    assert (pledge.status, pledge.need_id, pledge.description, pledge.quantity, pledge.declared_value_cents) == (
        "pledged", need.id, "Leesboeken groep 3", 30, 45_000)
    assert "New offer" in outbox.last(leader.email).subject
    assert materials.needs()[0].pledged == 30

    assert leader_client.post(f"/giving/leader/pledges/{pledge.id}/accept").status_code == 302
    assert "accepted" in outbox.last(company.admin.email).subject
    response = leader_client.post(f"/giving/leader/pledges/{pledge.id}/deliver",
                                  data={"on": (TODAY + dt.timedelta(days=1)).isoformat()})
    assert response.status_code == 422 and b"future" in response.data
    assert leader_client.post(f"/giving/leader/pledges/{pledge.id}/deliver",
                              data={"on": TODAY.isoformat()}).status_code == 302
    assert MaterialPledge.get().status == "delivered"
    for bad in ("0", "-1", "0.499", "abc", ""):
        response = leader_client.post(f"/giving/leader/pledges/{pledge.id}/confirm",
                                      data={"value": bad, "on": TODAY.isoformat()})
        assert response.status_code == 422, bad
    assert leader_client.post(f"/giving/leader/pledges/{pledge.id}/confirm",
                              data={"value": "412,50", "on": TODAY.isoformat()}).status_code == 302
    pledge = MaterialPledge.get()
    assert (pledge.status, pledge.confirmed_value_cents, pledge.confirmed_on) == ("confirmed", 41_250, TODAY)
    assert "received and valued" in outbox.last(company.admin.email).subject
    actions = [a.action for a in AuditLog.select().where(AuditLog.action.startswith("material.")).order_by(AuditLog.id)]
    assert actions == ["material.need_published", "material.pledged", "material.accepted", "material.delivered",
                       "material.confirmed"]
    line = contributions.contributions(company.id, None, None)[0]
    assert (line.kind, line.key, line.value_cents, line.basis, line.method, line.on) == (
        "material", f"material:{pledge.id}", 41_250, "market_value", "in_kind", TODAY)
    assert materials.needs()[0].received == 30


def test_a_free_offer_needs_a_description_and_a_valid_value(company_client):
    _company, client = company_client()
    response = client.post("/giving/materials/pledge", data=pledge_form(description=""))
    assert response.status_code == 422 and b"required" in response.data
    for bad in ("0", "-5", "0.499", "1,2,3", "1000000000000", "NaN", ""):
        response = client.post("/giving/materials/pledge", data=pledge_form(declared_value=bad))
        assert response.status_code == 422, bad
    for bad in ("0", "-1", "1.5", "100001", "x"):
        response = client.post("/giving/materials/pledge", data=pledge_form(quantity=bad))
        assert response.status_code == 422, bad
    assert MaterialPledge.select().count() == 0
    assert client.post("/giving/materials/pledge", data=pledge_form()).status_code == 302
    assert client.post("/giving/materials/pledge", data=pledge_form()).status_code == 302   # double click
    assert MaterialPledge.select().count() == 1


def test_decline_needs_a_reason_and_ends_the_pledge(app, company_client, leader_client, outbox):
    company, client = company_client()
    client.post("/giving/materials/pledge", data=pledge_form())
    pledge = MaterialPledge.get()
    assert leader_client.post(f"/giving/leader/pledges/{pledge.id}/decline", data={"reason": ""}).status_code == 422
    assert leader_client.post(f"/giving/leader/pledges/{pledge.id}/decline",
                              data={"reason": "We have enough laptops"}).status_code == 302
    assert MaterialPledge.get().status == "declined"
    assert "We have enough laptops" in outbox.last(company.admin.email).text
    # No step after a decline.
    for action, data in (("accept", {}), ("deliver", {"on": TODAY.isoformat()}),
                         ("confirm", {"value": "10", "on": TODAY.isoformat()})):
        assert leader_client.post(f"/giving/leader/pledges/{pledge.id}/{action}", data=data).status_code == 422
    assert MaterialPledge.get().status == "declined"
    assert contributions.contributions(company.id, None, None) == []


def test_steps_cannot_be_skipped(company_client, leader_client):
    _company, client = company_client()
    client.post("/giving/materials/pledge", data=pledge_form())
    pledge = MaterialPledge.get()
    assert leader_client.post(f"/giving/leader/pledges/{pledge.id}/confirm",
                              data={"value": "10", "on": TODAY.isoformat()}).status_code == 422
    assert leader_client.post(f"/giving/leader/pledges/{pledge.id}/deliver",
                              data={"on": TODAY.isoformat()}).status_code == 422
    assert MaterialPledge.get().status == "pledged"


def test_a_closed_need_takes_no_pledges(need, company_client, leader_client):
    assert leader_client.post(f"/giving/leader/needs/{need.id}/close").status_code == 302
    assert MaterialNeed.get_by_id(need.id).status == "closed"
    _company, client = company_client()
    response = client.post("/giving/materials/pledge", data=pledge_form(need=str(need.id)))
    assert response.status_code == 422
    assert MaterialPledge.select().count() == 0


def test_the_leader_publishes_a_need_with_checks(leader_client):
    bad = leader_client.post("/giving/leader/needs", data={"item": "Scharen", "quantity": "0"})
    assert bad.status_code == 422
    past = leader_client.post("/giving/leader/needs", data={"item": "Scharen", "quantity": "10",
                                                            "needed_by": "2000-01-01"})
    assert past.status_code == 422
    ok = leader_client.post("/giving/leader/needs", data={"item": "Scharen", "quantity": "10"})
    assert ok.status_code == 302 and MaterialNeed.get().item == "Scharen"


def test_delivery_and_value_are_not_dated_in_a_closed_period(need, company_client, leader_client, leader):
    from portal.core.ledger import ClosedMonth

    _company, client = company_client("Gever")
    client.post("/giving/materials/pledge", data=pledge_form(need=str(need.id), description="", quantity="30",
                                                             declared_value="450"))
    pledge = MaterialPledge.get()
    leader_client.post(f"/giving/leader/pledges/{pledge.id}/accept")
    last_month_end = TODAY.replace(day=1) - dt.timedelta(days=1)
    ClosedMonth.create(month=last_month_end.replace(day=1), closed_by_id=leader.id)
    response = leader_client.post(f"/giving/leader/pledges/{pledge.id}/deliver", data={"on": last_month_end.isoformat()})
    assert response.status_code == 422 and b"closed period" in response.data
    assert (MaterialPledge.get().status, MaterialPledge.get().delivered_on) == ("accepted", None)
    assert leader_client.post(f"/giving/leader/pledges/{pledge.id}/deliver",
                              data={"on": TODAY.isoformat()}).status_code == 302
