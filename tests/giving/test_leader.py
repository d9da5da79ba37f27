"""The project leader's desk: open requests with overdue markers, online payments stuck too long,
issues to close, offers to handle."""

from __future__ import annotations

import datetime as dt

from portal.core import clock
from portal.core.db import database
from portal.giving.models import Donation

from .conftest import donate_form


def test_the_desk_shows_what_needs_attention(app, stripe_env, company_client, leader_client):
    company, client = company_client("Wachter")
    client.post("/giving/donate", data=donate_form(amount="300", method="bank"))
    client.post("/giving/donate", data=donate_form(amount="40"))
    request, online = list(Donation.select().order_by(Donation.id))
    with database.atomic():
        Donation.update(due_on=clock.today() - dt.timedelta(days=1)).where(Donation.id == request.id).execute()
        Donation.update(created_at=dt.datetime.now() - dt.timedelta(days=30)).where(Donation.id == online.id).execute()
    page = leader_client.get("/giving/leader").get_data(as_text=True)
    assert request.number in page and "overdue" in page
    assert "not settled for a long time" in page and online.number in page
    detail = leader_client.get(f"/giving/leader/donations/{request.id}").get_data(as_text=True)
    assert "Withdraw this payment request" in detail
    assert leader_client.post(f"/giving/leader/donations/{request.id}/withdraw").status_code == 302
    assert Donation.get_by_id(request.id).status == "canceled"
    leader_home = leader_client.get("/leader").get_data(as_text=True)
    assert "Open the giving desk" in leader_home
