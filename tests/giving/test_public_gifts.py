"""Public gifts never give the donor a role, and never count for a company that did not accept them
(issue 15, items 1 and 4)."""

from __future__ import annotations

import datetime as dt

from portal.accounts.models import Company, User
from portal.giving import checks, contributions, gifts, receipts, service
from portal.giving.models import Donation

from .conftest import public_form

PAID_ON = dt.date(2026, 11, 20)


def give(app, **form) -> Donation:
    """A visitor fills in /give (bank transfer) and is sent to the status page of the new donation."""
    response = app.test_client().post("/give", data=public_form(method="bank", **form))
    assert response.status_code == 302, response.data[:400]
    return Donation.select().order_by(Donation.id.desc()).get()


def pay(donation: Donation, leader, line: str, on: dt.date = PAID_ON) -> Donation:
    assert service.mark_paid_by_bank(donation.reference, donation.amount_cents, on, leader, line).applied
    return Donation.get_by_id(donation.id)


def money_of(company_id: int) -> int:
    # Imported inside the tests: the module also runs on code from before the ledger (commit 1a06ac7).
    from portal.core import ledger

    return sum(row["gross_cents"] for row in ledger.totals(company_id=company_id, kinds=("money",)))


# --- item 1: nobody becomes a company's administrator by giving --------------------------------------

def test_a_stranger_giving_50_cents_is_not_invited_into_a_company_without_users(
        stripe_env, app, make_company, leader, outbox, request_context):
    elsewhere = make_company("Elders")                      # the first donor already has an account
    first = give(app, amount="250", kvk="52000001", contact_email=elsewhere.admin.email,
                 earmark_purpose="Secret earmark of the first donor")
    first = pay(first, leader, "line first")
    receipts.wait_for_followups(app)
    company = Company.get(Company.kvk == "52000001")
    assert first.company_id == company.id
    assert not User.select().where(User.company == company.id).exists()   # a company without users

    second = give(app, amount="0,50", kvk="52000001", company_name="Overname B.V.",
                  contact_email="stranger@example.org")
    second = pay(second, leader, "line second")
    receipts.wait_for_followups(app)
    assert not User.select().where(User.email == "stranger@example.org").exists()
    assert not User.select().where(User.company == company.id).exists()
    assert [m.subject.split(" ")[0] for m in outbox.to("stranger@example.org")] == ["Payment", "Receipt"]
    assert not any("/invite/" in m.text for m in outbox.to("stranger@example.org"))
    # The first donor, whose company it was made for, is not invited either.
    assert not any("/invite/" in m.text for m in outbox.to(elsewhere.admin.email))
    # The stranger's gift waits: it is not the company's until the leader accepts it.
    assert second.company_decision == "waiting" and not second.counts_for_company
    assert first.counts_for_company and money_of(company.id) == 25_000


# --- item 4: a gift naming another company waits for it ------------------------------------------------

def test_a_gift_naming_an_existing_company_waits_and_shows_nothing_of_it(
        stripe_env, app, make_company, leader, login, outbox, request_context):
    existing = make_company("Bestaand")
    admin = login(app.test_client(), existing.admin)
    gift = give(app, amount="120", kvk=existing.kvk, company_name="Visitor Ltd", classification="sponsoring",
                earmark_purpose="Visitor earmark", contact_email="visitor@example.org")
    gift = pay(gift, leader, "line visitor")
    receipts.wait_for_followups(app)
    assert gift.company_id == existing.id

    # Nothing on the company's books: overview rows, CSV, totals, contributions, ledger, statement preview.
    page = admin.get("/giving?year=2026").get_data(as_text=True)
    rows_part = page.split("<div class=\"cards\">", 1)[1]
    assert "Visitor earmark" not in rows_part and gift.number not in rows_part
    assert "Visitor earmark" in page.split("<div class=\"cards\">", 1)[0]   # only in "gifts naming your company"
    assert b"Visitor earmark" not in admin.get("/giving/export.csv?year=2026").data
    assert not [c for c in contributions.contributions(existing.id, None, None) if c.kind == "money"]
    preview = admin.get("/statements/preview?kind=calendar_year&year=2026")
    assert preview.status_code == 200 and b"Visitor" not in preview.data and b"120" not in preview.data
    assert admin.get(f"/giving/donations/{gift.id}/receipt.pdf").status_code == 404
    assert admin.get(f"/give/donations/{gift.id}").status_code == 404
    # The visitor's own page shows what they typed, never the company's legal name.
    status = app.test_client().get(f"/give/donations/{gift.id}?key={checks.access_key(gift)}")
    assert status.status_code == 200 and b"Bestaand B.V." not in status.data and b"Visitor Ltd" in status.data
    from portal.core import ledger

    assert money_of(existing.id) == 0 and ledger.check() == []
    assert Donation.get_by_id(gift.id).company_decision == "waiting"
    # The company's administrator was told, and decides.
    notice = outbox.last(existing.admin.email)
    assert "in your company's name" in notice.subject and "accepts it" in notice.text

    response = admin.post(f"/giving/gifts/{gift.id}/accept", data={})
    assert response.status_code == 302
    assert Donation.get_by_id(gift.id).company_decision == "accepted"
    assert money_of(existing.id) == 12_000 and ledger.check() == []
    assert [c.gross_cents for c in contributions.contributions(existing.id, None, None) if c.kind == "money"] == [12_000]
    assert "Visitor earmark" in admin.get("/giving?year=2026").get_data(as_text=True).split("<div class=\"cards\">")[1]
    assert admin.post(f"/giving/gifts/{gift.id}/decline", data={}).status_code == 404   # decided once


def test_only_the_named_companys_admin_or_the_leader_decides(stripe_env, app, make_company, leader, login,
                                                            leader_client, request_context):
    from portal.core import ledger

    existing = make_company("Genoemd", member=True)
    other = make_company("Ander")
    gift = pay(give(app, amount="75", kvk=existing.kvk), leader, "line 75")
    for client in (login(app.test_client(), other.admin), login(app.test_client(), existing.member)):
        assert client.post(f"/giving/gifts/{gift.id}/accept", data={}).status_code == 404
        assert b"G-" not in client.get("/giving").data or gift.number.encode() not in client.get("/giving").data
    assert Donation.get_by_id(gift.id).company_decision == "waiting"
    desk = leader_client.get("/giving/leader").get_data(as_text=True)
    assert gift.number in desk
    detail = leader_client.get(f"/giving/leader/donations/{gift.id}").get_data(as_text=True)
    assert "Accept for the company" in detail and "Genoemd B.V." in detail
    assert leader_client.post(f"/giving/leader/donations/{gift.id}/decline", data={}).status_code == 302
    assert Donation.get_by_id(gift.id).company_decision == "declined"
    assert "declined this public gift" in leader_client.get(f"/giving/leader/donations/{gift.id}").get_data(as_text=True)
    assert money_of(existing.id) == 0 and ledger.check() == []
    assert not [c for c in contributions.contributions(existing.id, None, None) if c.kind == "money"]


def test_accepting_a_gift_of_a_closed_month_books_it_in_the_first_open_month(stripe_env, app, make_company, leader,
                                                                               request_context):
    from portal.core import ledger

    existing = make_company("Gesloten")
    gift = pay(give(app, amount="40", kvk=existing.kvk), leader, "line october", on=dt.date(2026, 10, 15))
    ledger.close_months(dt.date(2026, 10, 1), dt.date(2026, 10, 31), actor_id=leader.id, today=dt.date(2026, 12, 1))
    gifts.decide_gift(existing.admin, gift.id, accept=True)
    posting = ledger.Posting.get(ledger.Posting.key == f"donation:{gift.id}")
    assert (posting.company_id, posting.dated_on, posting.booked_on) == (existing.id, dt.date(2026, 10, 15),
                                                                        dt.date(2026, 11, 1))
    assert ledger.check() == []


def test_a_stripe_gift_refunded_while_waiting_posts_payment_and_refund_on_acceptance(stripe_env, app, make_company,
                                                                                      leader, request_context):
    from portal.core import ledger

    existing = make_company("Online")
    app.test_client().post("/give", data=public_form(amount="90", kvk=existing.kvk))
    gift = Donation.get()
    session = stripe_env.transport.session_for(gift.id)
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    stripe_env.refund(intent, 2_500)
    stripe_env.send("charge.refunded", stripe_env.charge_of(intent))
    gift = Donation.get_by_id(gift.id)
    assert gift.status == "paid" and gift.company_decision == "waiting"
    assert not ledger.Posting.select().exists() and ledger.check() == []
    gifts.decide_gift(leader, gift.id, accept=True)
    assert money_of(existing.id) == 6_500 and ledger.check() == []
    assert sum(c.gross_cents for c in contributions.contributions(existing.id, None, None) if c.kind == "money") == 6_500
