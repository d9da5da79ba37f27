"""The project leader's long lists come a page at a time: her companies, the reconciliation desk's
totals per company and the SROI overview each show 50 rows and a way to the rest, however many
companies there are, while the figures for the whole programme stay whole."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from portal.accounts.models import Company
from portal.core import ledger
from portal.core.db import atomic_write
from portal.core.money import format_eur
from portal.sroi import service as sroi
from tests.sroi.conftest import commitment_input

COMPANIES = 55


@pytest.fixture
def many_companies(app, make_company):
    """55 companies, each with a donation in the books (EUR 10 times its number) and a commitment."""
    found = []
    with app.test_request_context():
        for n in range(1, COMPANIES + 1):
            company = make_company(f"Firma {n:02d}")
            with atomic_write():
                ledger.post(company_id=company.id, dated_on=dt.date(2026, 10, 1), kind="money", key=f"donation:{n}",
                            source="donation.paid", basis="at_cost", classification="gift", method="bank",
                            value_cents=1_000 * n, gross_cents=1_000 * n, net_cents=1_000 * n)
            sroi.create_commitment(company.admin, commitment_input(contract_reference=f"REF-{n:02d}"),
                                   "utrecht-bouwblokken")
            found.append(company)
    return found


def section(page: str, start: str) -> str:
    """The page's text from `start` to the end of the table after it."""
    text = html.unescape(page)
    begin = text.index(start)
    return text[begin:text.index("</table>", begin)]


def names_in(text: str, pattern: str = r"Firma (\d\d) B\.V\.") -> list[int]:
    return [int(n) for n in re.findall(pattern, text)]


def test_the_leaders_lists_come_a_page_at_a_time(many_companies, leader_client):
    page = leader_client.get("/leader").get_data(as_text=True)
    assert names_in(section(page, 'id="companies"')) == list(range(1, 51))
    assert "Page 1 of 2" in page and 'href="/leader?page=2#companies"' in page
    second = leader_client.get("/leader?page=2").get_data(as_text=True)
    assert names_in(section(second, 'id="companies"')) == list(range(51, 56))
    assert "Page 2 of 2" in second and 'href="/leader?page=1#companies"' in second
    # Each company on the page leads to its users (acting for one of them, for support); no panel
    # above the table names every company any more.
    second_firma = Company.get(Company.legal_name == "Firma 52 B.V.")
    assert f'href="/leader/companies/{second_firma.id}/users"' in second
    assert names_in(html.unescape(page.split('id="companies"')[0])) == []
    # A page past the end shows the last one; nonsense shows the first.
    assert names_in(section(leader_client.get("/leader?page=99").get_data(as_text=True),
                            'id="companies"')) == list(range(51, 56))
    assert "Page 1 of 2" in leader_client.get("/leader?page=-3").get_data(as_text=True)

    desk = leader_client.get("/leader/reconcile").get_data(as_text=True)
    assert names_in(section(desk, 'id="companies"')) == list(range(1, 51))
    rest = leader_client.get("/leader/reconcile?companies_page=2").get_data(as_text=True)
    assert names_in(section(rest, 'id="companies"')) == list(range(51, 56))
    assert format_eur(55_000, "en") in section(rest, 'id="companies"')            # Firma 55's own total
    whole = format_eur(sum(1_000 * n for n in range(1, COMPANIES + 1)), "en")     # EUR 15,400.00
    for shown in (desk, rest):   # the school year's total counts every company, whichever page is shown
        assert whole in section(shown, "Totals per school year")

    overview = leader_client.get("/sroi/leader").get_data(as_text=True)
    assert len(names_in(section(overview, 'id="commitments"'), r"REF-(\d\d)")) == 50
    later = leader_client.get("/sroi/leader?page=2").get_data(as_text=True)
    assert len(names_in(section(later, 'id="commitments"'), r"REF-(\d\d)")) == 5
    assert set(names_in(section(overview, 'id="commitments"'), r"REF-(\d\d)")
               + names_in(section(later, 'id="commitments"'), r"REF-(\d\d)")) == set(range(1, 56))
