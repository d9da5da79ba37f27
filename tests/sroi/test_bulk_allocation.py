"""Allocation in bulk (issue 21): choose kinds, a period and a rule, see a preview with the total and
the count of lines and what would not be allocated and why, then confirm. A contribution never counts
twice. The commitment: 5 % of a EUR 400,000 contract = EUR 20,000; sponsored hours at EUR 100 an hour
(Utrecht's table): a lesson day of 8 hours is worth EUR 800."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest

from portal.core import audit
from portal.sroi import service
from portal.sroi.models import Allocation

DAY = 8 * 60
PEOPLE = ("Anna de Vries", "Bram Jansen", "Chaima El Amrani")


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def weekdays(start: dt.date, count: int) -> list[dt.date]:
    found, day = [], start
    while len(found) < count:
        if day.weekday() < 5:
            found.append(day)
        day += dt.timedelta(days=1)
    return found


@pytest.fixture
def season(company_client, ledger, make_commitment, app):
    """Bouwbedrijf: 64 lesson days of 8 hours (three ambassadors, September to November 2026), one
    lesson day in August, two volunteered days; the commitment (from 1 September) and an older one
    that already holds five of the lesson days in full."""
    company, client = company_client("Bouwbedrijf")
    with app.test_request_context():
        commitment = make_commitment(company.admin, base_cents=40_000_000, contract_reference="UTR-2026-0400",
                                     period_start_on=dt.date(2026, 9, 1), period_end_on=dt.date(2027, 8, 31))
        older = make_commitment(company.admin, base_cents=10_000_000, contract_reference="UTR-2025-0077",
                                period_start_on=dt.date(2026, 8, 1), period_end_on=dt.date(2027, 7, 31))
        days = [ledger.hours(company, DAY, person=PEOPLE[n % 3], on=on)
                for n, on in enumerate(weekdays(dt.date(2026, 9, 1), 64))]
        august = ledger.hours(company, DAY, person="Anna de Vries", on=dt.date(2026, 8, 25))
        volunteered = [ledger.hours(company, 6 * 60, person="Dirk Smit", on=dt.date(2026, 10, 7 + n),
                                    kind="hours_volunteered") for n in range(2)]
        for taken in days[:5]:
            service.set_allocation(company.admin, older.id, taken.key, DAY)
    return company, client, commitment, older, days, august, volunteered


def preview(client, commitment, *, kinds=("hours_sponsored", "hours_volunteered"), start="2026-08-01",
            end="2026-11-30", rule="all"):
    return client.get(f"/sroi/{commitment.id}/allocate/bulk",
                      query_string={"kinds": list(kinds), "start_on": start, "end_on": end, "rule": rule})


def confirm(client, commitment, page, *, kinds=("hours_sponsored", "hours_volunteered"), start="2026-08-01",
            end="2026-11-30", rule="all"):
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page.get_data(as_text=True)).group(1)
    return client.post(f"/sroi/{commitment.id}/allocate/bulk",
                       data={"kinds": list(kinds), "start_on": start, "end_on": end, "rule": rule,
                             "fingerprint": fingerprint})


def test_preview_then_confirm_allocates_everything_free_and_says_what_was_refused(season):
    company, client, commitment, older, days, august, volunteered = season
    form = text_of(client.get(f"/sroi/{commitment.id}/allocate/bulk"))
    assert 'value="2026-09-01"' in form and 'value="2027-08-31"' in form      # the commitment's period proposed

    page = preview(client, commitment)
    assert page.status_code == 200
    text = text_of(page)
    assert "59 contributions would be allocated, worth €47,200.00 by this commitment's rules." in text
    assert "8 contributions would not be allocated" in text
    assert "5 · already fully allocated to other commitments" in text
    assert "1 · dated outside the commitment's period" in text
    assert "2 · this kind does not count under the commitment's rules" in text
    assert Allocation.select().where(Allocation.commitment == commitment.id).count() == 0   # nothing saved yet

    response = confirm(client, commitment, page)
    assert response.status_code == 200
    result = text_of(response)
    assert "59 contributions are allocated, worth €47,200.00 by this commitment's rules." in result
    assert "5 · already fully allocated to other commitments" in result
    rows = list(Allocation.select().where(Allocation.commitment == commitment.id))
    assert len(rows) == 59 and {row.minutes for row in rows} == {DAY}
    assert {row.contribution_key for row in rows} == {d.key for d in days[5:]}
    state = service.summary(commitment)
    assert (state.obligation_cents, state.claimed_cents) == (2_000_000, 4_720_000)
    # Never counted twice: no lesson day is allocated for more than its 8 hours across both commitments.
    used: dict[str, int] = {}
    for row in Allocation.select():
        used[row.contribution_key] = used.get(row.contribution_key, 0) + row.minutes
    assert max(used.values()) == DAY and len(used) == 64
    assert service.summary(older).claimed_cents == 5 * 80_000                  # the older commitment keeps its five

    bulk = audit.AuditLog.get(audit.AuditLog.action == "sroi.allocation.bulk")
    details = json.loads(bulk.details)
    assert (details["lines"], details["value_cents"], details["rule"]) == (59, 4_720_000, "all")
    assert details["refused"] == {"allocated_elsewhere": 5, "outside_period": 1, "not_counted": 2}
    assert audit.AuditLog.select().where(audit.AuditLog.action == "sroi.allocation.set").count() == 5 + 59
    assert audit.verify().ok

    # The same confirmation again changes nothing: the plan it names is gone.
    again = confirm(client, commitment, page)
    assert again.status_code == 422
    assert "changed since the preview" in text_of(again)
    assert Allocation.select().where(Allocation.commitment == commitment.id).count() == 59
    # A new preview finds nothing left to allocate, and says why.
    text = text_of(preview(client, commitment, kinds=("hours_sponsored",)))
    assert "Nothing would be allocated with these choices." in text
    assert "59 · already allocated to this commitment in full" in text


def test_up_to_the_obligation_gap_allocates_the_oldest_days_until_the_claim_covers_it(season):
    company, client, commitment, older, days, _august, _volunteered = season
    service.set_allocation(company.admin, commitment.id, days[5].key, 4 * 60)     # half a day by hand first: EUR 400
    page = preview(client, commitment, kinds=("hours_sponsored",), start="2026-09-01", rule="gap")
    text = text_of(page)
    # EUR 20,000 - EUR 400 = EUR 19,600: the rest of that day (EUR 400) and 24 more days (EUR 19,200).
    assert "25 contributions would be allocated, worth €19,600.00 by this commitment's rules." in text
    assert "34 · not needed: the claim already covers the obligation" in text
    assert confirm(client, commitment, page, kinds=("hours_sponsored",), start="2026-09-01",
                   rule="gap").status_code == 200
    state = service.summary(commitment)
    assert state.claimed_cents == state.obligation_cents == 2_000_000
    assert Allocation.get((Allocation.commitment == commitment.id)
                          & (Allocation.contribution_key == days[5].key)).minutes == DAY
    assert Allocation.select().where(Allocation.commitment == commitment.id).count() == 25


def test_a_change_between_preview_and_confirmation_saves_nothing(season, app):
    company, client, commitment, older, days, _august, _volunteered = season
    page = preview(client, commitment, kinds=("hours_sponsored",))
    with app.test_request_context():                  # meanwhile a colleague gives a day to the other contract
        service.set_allocation(company.admin, older.id, days[40].key, DAY)
    response = confirm(client, commitment, page, kinds=("hours_sponsored",))
    assert response.status_code == 422
    text = text_of(response)
    assert "changed since the preview" in text
    assert "58 contributions would be allocated, worth €46,400.00" in text       # the new preview, to confirm again
    assert Allocation.select().where(Allocation.commitment == commitment.id).count() == 0


@pytest.mark.parametrize(("changes", "message"), [
    ({"kinds": []}, "Choose at least one kind of contribution."),
    ({"end": "2026-08-01", "start": "2026-11-30"}, "The period cannot end before it starts."),
    ({"start": "31-31-2026"}, "Enter a valid date."),
])
def test_bad_choices_are_refused_with_the_form_filled_in(season, changes, message):
    _company, client, commitment, *_rest = season
    arguments = {"kinds": ("hours_sponsored", "material"), "start": "2026-09-01", "end": "2026-11-30"} | changes
    response = preview(client, commitment, **arguments)
    assert response.status_code == 422
    text = text_of(response)
    assert message in text
    assert f'value="{arguments["end"]}"' in text
    if arguments["kinds"]:
        assert re.search(r'checked[^>]*value="material"|value="material"[^>]*checked', text)
    assert Allocation.select().where(Allocation.commitment == commitment.id).count() == 0


def test_a_long_list_of_allocations_comes_in_pages_of_fifty(season):
    _company, client, commitment, *_rest = season
    confirm(client, commitment, preview(client, commitment, kinds=("hours_sponsored",)), kinds=("hours_sponsored",))
    first = client.get(f"/sroi/{commitment.id}").get_data(as_text=True)
    allocated = first.split('id="allocations"')[1].split('id="allocate"')[0]
    assert allocated.count('name="fingerprint" value="remove"') == 50
    assert "Page 1 of 2" in allocated and "page=2" in allocated
    second = client.get(f"/sroi/{commitment.id}?page=2").get_data(as_text=True)
    allocated = second.split('id="allocations"')[1].split('id="allocate"')[0]
    assert allocated.count('name="fingerprint" value="remove"') == 9
    assert "Page 2 of 2" in allocated
    # Removing a line on page 2 comes back to page 2.
    row = Allocation.select().where(Allocation.commitment == commitment.id).order_by(Allocation.contribution_on.desc()).first()
    response = client.post(f"/sroi/{commitment.id}/allocations/{row.id}/remove", data={"fingerprint": "remove", "page": "2"})
    assert response.status_code == 302 and "page=2" in response.headers["Location"]


def test_another_company_cannot_bulk_allocate_on_this_commitment(season, company_client, make_commitment, app):
    company, client, commitment, *_rest = season
    other, other_client = company_client("Installatiebedrijf")
    assert preview(other_client, commitment).status_code == 404
    response = other_client.post(f"/sroi/{commitment.id}/allocate/bulk",
                                 data={"kinds": ["hours_sponsored"], "start_on": "2026-09-01", "end_on": "2026-11-30",
                                       "rule": "all", "fingerprint": "0" * 32})
    assert response.status_code == 404
    with app.test_request_context():
        own = make_commitment(other.admin, contract_reference="INST-2026-01")
    text = text_of(preview(other_client, own, kinds=("hours_sponsored",)))
    assert "Nothing would be allocated with these choices." in text and "Anna de Vries" not in text
    assert Allocation.select().where(Allocation.company == other.id).count() == 0
