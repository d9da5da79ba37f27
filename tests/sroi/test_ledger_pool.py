"""SROI reads its pool from the books (core.ledger): only what a commitment can use, in a fixed
number of queries, and the words of a contribution made in the reader's language."""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets

import pytest
from flask_babel import force_locale

from portal.core import clock
from portal.core import ledger as books
from portal.core.db import atomic_write
from portal.sroi import allocation, service
from portal.sroi.models import Allocation
from tests.querycount import measured_get
from tests.sroi.conftest import Contribution

TODAY = dt.date(2026, 11, 1)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


# --- (a) only what a commitment can use -------------------------------------------------------

def test_a_contribution_dated_outside_every_period_is_not_offered(make_company, ledger, make_commitment,
                                                                 request_context):
    company = make_company("Bouw")
    first = make_commitment(company.admin, contract_reference="A")
    second = make_commitment(company.admin, contract_reference="B", period_start_on=dt.date(2027, 9, 1),
                             period_end_on=dt.date(2028, 6, 30), deadline_on=dt.date(2028, 9, 30))
    inside = ledger.money(company, 10_000, on=dt.date(2026, 9, 1))
    later = ledger.hours(company, 120, on=dt.date(2027, 10, 5))                   # in the second period only
    between = ledger.hours(company, 120, on=dt.date(2027, 8, 15))                 # in neither period
    before = ledger.material(company, 50_000, on=dt.date(2025, 3, 1))             # long before both
    pool = service.pool_for(company.id)
    assert pool.get(inside.key, "money") is not None and pool.get(later.key, "hours_sponsored") is not None
    assert pool.get(between.key, "hours_sponsored") is None and pool.get(before.key, "material") is None
    assert [a.contribution.key for a in service.available(first)] == [inside.key]
    assert [a.contribution.key for a in service.available(second)] == [later.key]
    plan = service.suggest(company.id, TODAY)
    assert {step.contribution.key for step in plan} == {inside.key, later.key}
    for commitment in (first, second):
        for contribution in (between, before):
            with pytest.raises(service.SroiError) as caught:
                service.set_allocation(company.admin, commitment.id, contribution.key, 60, contribution.kind)
            assert "in this commitment's period" in str(caught.value)


def test_a_refund_after_the_period_still_lowers_a_donation_of_the_period(make_company, ledger, make_commitment,
                                                                        request_context):
    """Money under one payment reference nets whenever its refund is dated: the pool reads money
    from the start of a period on, not only up to its end."""
    company = make_company("Bouw")
    commitment = make_commitment(company.admin, period_end_on=dt.date(2026, 12, 31))
    paid = dict(company_id=company.id, basis="at_cost", classification="gift", method="bank",
                reference="RF18539007547034")
    donation = ledger.add(Contribution(kind="money", key="donation:1", on=dt.date(2026, 12, 1),
                                       value_cents=100_000, gross_cents=100_000, net_cents=100_000, **paid))
    service.set_allocation(company.admin, commitment.id, donation.key, 100_000)
    ledger.add(Contribution(kind="money", key="donation:1:refund:1", on=dt.date(2027, 2, 1), value_cents=-40_000,
                            gross_cents=-40_000, net_cents=-40_000, **paid))
    summary = service.summary(commitment, TODAY)
    assert summary.claimed_cents == 60_000
    assert [line.status for line in summary.lines] == ["reduced"]
    assert [a.contribution.key for a in service.available(commitment)] == [donation.key]   # not the refund


def test_hours_outside_every_period_do_not_cover_a_reversed_session(make_company, ledger, make_commitment,
                                                                   request_context):
    """A person's hours net within what the commitments can use: hours of years ago, which no
    commitment can count, no longer keep a reversed session counting in full."""
    company = make_company("Bouw")
    commitment = make_commitment(company.admin)
    ledger.hours(company, 600, person="Anna", on=dt.date(2024, 3, 5))                  # outside every period
    session = ledger.hours(company, 450, person="Anna", on=dt.date(2026, 9, 14))
    service.set_allocation(company.admin, commitment.id, session.key, 450)
    ledger.hours(company, -450, person="Anna", on=dt.date(2026, 9, 14), value_cents=-37_500)   # reversed...
    ledger.hours(company, 360, person="Anna", on=dt.date(2026, 9, 14))                       # ...and 6:00 again
    summary = service.summary(commitment, TODAY)
    assert [(line.status, line.counted) for line in summary.lines] == [("reduced", 360)]
    assert summary.claimed_cents == 60_000


def test_a_withdrawn_allocation_keeps_its_words_from_the_books(make_company, ledger, make_commitment,
                                                              request_context):
    company = make_company("Bouw")
    commitment = make_commitment(company.admin)
    laptops = ledger.material(company, 20_000, on=dt.date(2026, 9, 1))
    service.set_allocation(company.admin, commitment.id, laptops.key, 20_000)
    ledger.remove(laptops.key)
    line = service.summary(commitment, TODAY).lines[0]
    assert line.status == "withdrawn" and line.contribution is None
    assert line.description == "Materials"


# --- (b) queries that do not grow with the history outside the periods -------------------------


def count(client, path: str) -> tuple[int, str]:
    found, response = measured_get(client, path)
    return len(found.queries), text_of(response)


def post_history(company, start: int, rows: int) -> None:
    """`rows` postings before and after the commitments' periods, of every kind, some of the same
    ambassador as in the period (her netting group), through the one door, as the capabilities do."""
    with atomic_write():
        for n in range(start, start + rows):
            before = n % 2 == 0
            day = (dt.date(2024, 1, 1) + dt.timedelta(days=n % 500)) if before else dt.date(2028, 1, 1) + dt.timedelta(days=n % 300)
            kind = ("hours_sponsored", "hours_volunteered", "money", "material")[n % 4]
            common = {"company_id": company.id, "dated_on": day, "kind": kind, "key": f"{kind}-old:{n}"}
            if kind.startswith("hours"):
                books.post(**common, source="hours.confirmed", minutes=60 + n % 90, value_cents=5_000,
                           person="Anna de Vries" if n % 3 else f"Oud-ambassadeur {n}")
            elif kind == "money":
                books.post(**common, source="donation.paid", value_cents=1_000 + n, gross_cents=1_000 + n,
                           net_cents=1_000 + n, reference=f"RF{n:010d}")
            else:
                books.post(**common, source="material.confirmed", value_cents=2_000 + n)


@pytest.mark.slow
def test_the_pages_read_the_same_number_of_queries_with_10_or_1000_postings_outside_the_periods(
        app, make_company, ledger, make_commitment, login, leader_client, letter):
    company = make_company("Bouw")
    with app.test_request_context():
        commitment = make_commitment(company.admin, base_cents=10_000_000)
        make_commitment(company.admin, contract_reference="SECOND", template="at-cost")
        hours = ledger.hours(company, 450, person="Anna de Vries", on=dt.date(2026, 9, 7))
        money = ledger.money(company, 25_000, on=dt.date(2026, 9, 20))
        laptops = ledger.material(company, 80_000, on=dt.date(2026, 10, 2))
        service.set_allocation(company.admin, commitment.id, hours.key, 450)
        service.set_allocation(company.admin, commitment.id, money.key, 20_000)
        service.set_allocation(company.admin, commitment.id, laptops.key, 80_000)
        service.record_approval(company.admin, commitment.id, 10_000, dt.date(2026, 10, 15), "SR-1", evidence=letter)
        # The session is reversed and confirmed again at 6:00: a netting group with three keys.
        ledger.hours(company, -450, person="Anna de Vries", on=dt.date(2026, 9, 7), value_cents=-37_500)
        ledger.hours(company, 360, person="Anna de Vries", on=dt.date(2026, 9, 7))
    client = login(app.test_client(), company.admin)
    pages = [(client, "/sroi/"), (client, f"/sroi/{commitment.id}"), (client, "/sroi/suggest"),
             (leader_client, "/sroi/leader"), (leader_client, f"/sroi/leader/{commitment.id}")]
    post_history(company, 0, 10)
    few = {path: count(who, path) for who, path in pages}
    held = sorted(service.pool_for(company.id).live)
    post_history(company, 10, 990)
    many = {path: count(who, path) for who, path in pages}
    assert sorted(service.pool_for(company.id).live) == held          # nor do the rows read grow
    assert {path: n for path, (n, _page) in few.items()} == {path: n for path, (n, _page) in many.items()}
    # The pages are the same too: what lies outside the periods is on none of them.
    detail = many[f"/sroi/{commitment.id}"][1]
    assert detail.count("Anna de Vries") == few[f"/sroi/{commitment.id}"][1].count("Anna de Vries")
    assert "-old:" not in detail and "Oud-ambassadeur" not in detail
    assert "UTR-2026-001" in many["/sroi/leader"][1]


# --- (c) the words, in the reader's language ----------------------------------------------------

@pytest.fixture
def real_contributions(app, make_company, contribute, leader, make_commitment, monkeypatch):
    """Hours (an ambassador at a school), a donation paid by bank and a confirmed material pledge,
    made through the capabilities, all allocated to one commitment of a Dutch company."""
    from portal.giving import materials

    def build(language: str):
        company = make_company(f"Keten {language}", language=language)
        today = clock.today()
        session = contribute.confirmed_session(company, 480, "Sanne de Vries")
        donation = contribute.paid_by_bank(company, 150_000, today)
        with app.test_request_context():
            pledge, _new = materials.pledge(company.admin, materials.PledgeInput(
                description="Leesboeken groep 3", quantity=12, declared_value_cents=30_000,
                classification="gift", form_token=secrets.token_urlsafe(24)))
            for action, values in (("accept", {}), ("deliver", {"on": today}),
                                   ("confirm", {"on": today, "value_cents": 24_000})):
                materials.move_pledge(leader, pledge.id, action, **values)
            commitment = make_commitment(company.admin, period_start_on=session.worked_on - dt.timedelta(days=30),
                                         period_end_on=today + dt.timedelta(days=30),
                                         deadline_on=today + dt.timedelta(days=90))
            service.set_allocation(company.admin, commitment.id, f"hours:{session.id}", 480, "hours_sponsored")
            service.set_allocation(company.admin, commitment.id, f"donation:{donation.id}", 150_000, "money")
            service.set_allocation(company.admin, commitment.id, f"material:{pledge.id}", 24_000, "material")
        return company, commitment, session, donation

    return build


def allocated_rows(page: str) -> str:
    """The table of allocated contributions of a commitment's page."""
    start = page.index('id="allocations"')
    return page[start:page.index("</table>", start)]


def test_an_sroi_row_shows_the_contribution_in_the_readers_language(real_contributions, login, app, leader):
    from portal.enrollment import hours

    for language in ("nl", "en"):
        company, commitment, session, donation = real_contributions(language)
        with app.test_request_context():
            hours.correct_entry(session.id, leader, "Ging eerder weg", new_minutes=240)
        client = login(app.test_client(), company.admin)
        page = text_of(client.get(f"/sroi/{commitment.id}"))
        rows = allocated_rows(page)
        offered = page[page.index('id="allocate"'):]
        if language == "nl":
            assert "Gesponsorde uren · OBS De Klimop · Sanne de Vries" in rows
            assert f"Donatie {donation.number} · Gift" in rows
            assert "12 × Leesboeken groep 3" in rows and "Materialen" in rows
            assert "Gesponsorde uren · Correctie · OBS De Klimop" in offered           # the session's corrected hours
            for english in ("Sponsored", "Donation", "Materials", "hours of", "Reversal", "Correction", " at "):
                assert english not in rows + offered, english
        else:
            assert "Sponsored hours · OBS De Klimop · Sanne de Vries" in rows
            assert f"Donation {donation.number} · Gift" in rows
            assert "12 × Leesboeken groep 3" in rows and "Materials" in rows
            assert "Sponsored hours · Correction · OBS De Klimop" in offered
        # The reversal of the session (never offered: it is worth less than nothing) in words too.
        undone = hours.HoursEntry.get((hours.HoursEntry.corrects == session.id) & (hours.HoursEntry.kind == "reversal"))
        reversal = service.pool_for(company.id).get(f"hours:{undone.id}", "hours_sponsored")
        assert reversal is not None and reversal.source == "hours.reversal"
        with app.test_request_context(), force_locale(language):
            assert reversal.description == {"nl": "Gesponsorde uren · Tegenboeking · OBS De Klimop",
                                            "en": "Sponsored hours · Reversal · OBS De Klimop"}[language]


def test_the_rooms_of_a_page_are_those_of_one_allocation(make_company, ledger, make_commitment, request_context):
    """available() sums the allocations once for the whole page; set_allocation() checks one
    contribution: both must find the same room."""
    company = make_company("Bouw")
    first = make_commitment(company.admin, contract_reference="A")
    second = make_commitment(company.admin, contract_reference="B", rules={"counts_hours_volunteered": True})
    anna = [ledger.hours(company, 450, person="Anna", on=dt.date(2026, 9, day)) for day in (7, 14, 21)]
    both = ledger.hours(company, 120, person="Anna", key="hours:77", kind="hours_volunteered")
    donation = ledger.add(Contribution(kind="money", key="donation:5", company_id=company.id, on=dt.date(2026, 9, 2),
                                       value_cents=100_000, basis="at_cost", reference="pi_5"))
    service.set_allocation(company.admin, first.id, anna[0].key, 450)
    service.set_allocation(company.admin, second.id, anna[1].key, 300)
    service.set_allocation(company.admin, first.id, anna[1].key, 100)
    service.set_allocation(company.admin, second.id, both.key, 120, both.kind)
    service.set_allocation(company.admin, first.id, donation.key, 60_000)
    ledger.hours(company, -450, person="Anna", on=dt.date(2026, 9, 14), value_cents=-37_500)
    ledger.add(Contribution(kind="money", key="donation:5:refund:1", company_id=company.id, on=dt.date(2026, 9, 30),
                            value_cents=-50_000, basis="at_cost", reference="pi_5"))
    pool = service.pool_for(company.id)
    rows = list(Allocation.select().where(Allocation.company == company.id))
    for commitment in (first, second):
        room_of = allocation._rooms(pool, commitment.id, rows)
        for contribution in pool.live.values():
            assert room_of(contribution) == allocation._room(pool, contribution, commitment.id, rows), contribution.key


def test_money_is_named_by_what_happened_and_the_donation_number(app, make_company, contribute, ledger,
                                                                  make_commitment, request_context):
    """A refund, a chargeback and its reversal name the donation they belong to, in each language."""
    from flask_babel import gettext

    company = make_company("Bouw")
    donation = contribute.paid_by_bank(company, 50_000, dt.date(2026, 9, 1))
    make_commitment(company.admin)
    paid = dict(company_id=company.id, basis="at_cost", classification="gift", method="bank",
                reference=f"donation-{donation.id}")
    for suffix, source, cents in ((":refund:1", "refund.succeeded", -10_000),
                                  (":dispute:1:withdrawn", "dispute.withdrawn", -5_000),
                                  (":dispute:1:reinstated", "dispute.reinstated", 5_000)):
        ledger.add(Contribution(kind="money", key=f"donation:{donation.id}{suffix}", on=dt.date(2026, 9, 20),
                                value_cents=cents, **paid), source=source, subject_id=donation.id)
    pool = service.pool_for(company.id)
    for language in ("en", "nl"):
        with force_locale(language):
            words = {key: c.description for (key, _kind), c in pool.live.items()}
            assert words == {
                f"donation:{donation.id}": f"{gettext('Donation')} {donation.number} · {gettext('Gift')}",
                f"donation:{donation.id}:refund:1": f"{gettext('Refund')} {donation.number}",
                f"donation:{donation.id}:dispute:1:withdrawn": f"{gettext('Chargeback')} {donation.number}",
                f"donation:{donation.id}:dispute:1:reinstated": f"{gettext('Chargeback reversed')} {donation.number}",
            }
    with force_locale("en"):
        assert pool.get(f"donation:{donation.id}:refund:1", "money").description == f"Refund {donation.number}"
