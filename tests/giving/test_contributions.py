"""The contribution source giving registers: money (refunds negative, under the payment's reference)
and confirmed materials, by company and date, read by SROI and statements through core."""

from __future__ import annotations

import datetime as dt

from portal.core.contributions import contributions
from portal.giving import service
from portal.giving.models import Donation

from .conftest import donate_form

D = dt.date


def test_lines_by_company_and_date(app, stripe_env, company_client, leader, request_context):
    first, client = company_client("Eerste")
    client.post("/giving/donate", data=donate_form(amount="200", method="bank"))
    request = Donation.get()
    service.mark_paid_by_bank(request.reference, 20_000, D(2026, 3, 2), leader, "line 1")
    client.post("/giving/donate", data=donate_form(amount="50"))
    online = Donation.select().order_by(Donation.id.desc()).get()
    session = stripe_env.transport.session_for(online.id)
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    stripe_env.refund(intent, 1_000)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    second, other = company_client("Tweede")
    other.post("/giving/donate", data=donate_form(amount="70", method="bank"))
    service.mark_paid_by_bank(Donation.select().order_by(Donation.id.desc()).get().reference, 7_000,
                              D(2026, 5, 1), leader, "line 2")
    # A pending request, a cancelled one: no lines.
    client.post("/giving/donate", data=donate_form(amount="999", method="bank"))

    mine = contributions(first.id)
    assert {(c.key, c.gross_cents) for c in mine} == {
        (f"donation:{request.id}", 20_000), (f"donation:{online.id}", 5_000),
        (f"donation:{online.id}:refund:1", -1_000)}
    assert all(c.kind == "money" and c.basis == "at_cost" and c.company_id == first.id for c in mine)
    refund = [c for c in mine if ":refund:" in c.key][0]
    assert refund.reference == intent and refund.value_cents == -1_000 and refund.net_cents == -1_000
    assert [c.key for c in contributions(first.id, D(2026, 1, 1), D(2026, 3, 2))] == [f"donation:{request.id}"]
    assert contributions(first.id, D(2026, 3, 3), D(2026, 3, 31)) == []
    assert {c.company_id for c in contributions(None)} == {first.id, second.id}
    assert sum(c.gross_cents for c in contributions(None)) == 20_000 + 5_000 - 1_000 + 7_000


def test_sroi_nets_a_refund_with_its_payment(app, stripe_env, company_client):
    from portal.sroi.service import group_of, make_pool

    company, client = company_client("Netto")
    client.post("/giving/donate", data=donate_form(amount="100"))
    donation = Donation.get()
    session = stripe_env.transport.session_for(donation.id)
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    stripe_env.refund(intent, 4_000)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    found = contributions(company.id)
    pool = make_pool(found)
    assert len({group_of(c) for c in found}) == 1
    assert pool.group_net[group_of(found[0])] == 6_000
