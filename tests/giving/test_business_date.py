"""Business dates are Utrecht's (Europe/Amsterdam), also on a server that runs in UTC.

At 23:57 UTC on 28 November it is already 29 November in Utrecht. CI once ran at that moment and
two giving tests failed because they expected the server's date where the portal (rightly) used
Utrecht's. These tests run in that hour on purpose, so the day boundary is always exercised.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from portal.giving import contributions
from portal.giving.models import Donation, MaterialPledge

from .conftest import donate_form

LATE_EVENING_UTC = dt.datetime(2026, 11, 28, 23, 57, tzinfo=dt.UTC)
UTRECHT_DAY = dt.date(2026, 11, 29)


@pytest.fixture
def utrecht_past_midnight():
    with time_machine.travel(LATE_EVENING_UTC, tick=True):
        assert dt.datetime.now(dt.UTC).date() == dt.date(2026, 11, 28)
        yield


def test_a_payment_request_is_due_thirty_days_after_the_day_in_utrecht(
        utrecht_past_midnight, stripe_env, company_client):
    _company, client = company_client("Nachtwerk")
    response = client.post("/giving/donate", data=donate_form(amount="250,00", method="bank"))
    assert response.status_code == 302, response.data[:300]
    donation = Donation.get()
    assert donation.due_on == dt.date(2026, 12, 29)


def test_materials_delivered_today_in_utrecht_are_not_in_the_future(
        utrecht_past_midnight, company_client, leader_client):
    _company, client = company_client("Nachtlevering")
    client.post("/giving/materials/pledge", data={
        "need": "", "description": "Tekenpapier", "quantity": "10", "declared_value": "40,00",
        "classification": "gift", "form_token": "night-pledge-0123456789"})
    pledge = MaterialPledge.get()
    assert leader_client.post(f"/giving/leader/pledges/{pledge.id}/accept").status_code == 302
    page = leader_client.get(f"/giving/leader/pledges/{pledge.id}")
    assert UTRECHT_DAY.isoformat().encode() in page.data  # the form offers Utrecht's today
    response = leader_client.post(f"/giving/leader/pledges/{pledge.id}/deliver", data={"on": UTRECHT_DAY.isoformat()})
    assert response.status_code == 302, response.data[:500]
    assert MaterialPledge.get().delivered_on == UTRECHT_DAY
    tomorrow = UTRECHT_DAY + dt.timedelta(days=1)
    assert contributions.contributions(pledge.company_id, None, None) == []
    response = leader_client.post(f"/giving/leader/pledges/{pledge.id}/confirm",
                                  data={"value": "40,00", "on": tomorrow.isoformat()})
    assert response.status_code == 422
