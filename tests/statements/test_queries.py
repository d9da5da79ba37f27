"""The statements pages ask the database a fixed number of questions, however many statements and
contributions there are: the correction flags come from the books' change marks (one EXISTS
query over the postings, one GROUP BY over the SROI allocations), not from re-reading every
contribution of every company with statements.

Queries are counted as in tests/test_query_counts.py: peewee's log of one warmed-up request.
"""

from __future__ import annotations

import datetime as dt

import pytest

from portal.accounts.models import Company
from portal.sroi import service as sroi
from portal.statements import periods, service
from tests.test_query_counts import count

D = dt.date
TODAY = D(2026, 11, 28)
COMPANY_PAGES = ("/statements", "/dashboard", "/statements/preview?kind=calendar_year&year=2026")
LEADER_PAGES = ("/leader/statements", "/leader")


def fake_pdf(snapshot, verification_code=None) -> bytes:
    return b"%PDF-1.7 " + snapshot["number"].encode()  # the queries are the subject here, not the rendering


def month(n: int) -> periods.Period:
    start = D(2026, n, 1)
    end = (D(2026, n + 1, 1) if n < 12 else D(2027, 1, 1)) - dt.timedelta(days=1)
    return periods.custom(start, end)


def fill(app, ledger, company, *, statements: int, per_month: int, changed: int) -> None:
    """`statements` monthly statements of `per_month` contributions each, an SROI commitment with
    an allocation in the first month, `changed` of the statements changed after issue and one of
    them corrected."""
    first = None
    for n in range(1, statements + 1):
        for i in range(per_month):
            made = ledger.hours(company, D(2026, n, 2 + i % 25), 60 + i, f"Ambassador {i % 3}") if i % 2 else \
                ledger.money(company, D(2026, n, 2 + i % 25), 1000 + i, reference=f"RF{company.id}{n:02d}{i:04d}")
            first = first or made
    with app.test_request_context():
        commitment = sroi.create_commitment(company.admin, sroi.CommitmentInput(
            authority="Gemeente Utrecht", contract_reference=f"UTR-{company.id}", description="",
            base_type="contract_value_excl_vat", base_cents=100_000_000, percentage_bp=500, cap_cents=None,
            period_start_on=D(2026, 1, 1), period_end_on=D(2026, 12, 31), deadline_on=D(2027, 3, 31)),
            "utrecht-bouwblokken")
        sroi.set_allocation(company.admin, commitment.id, first.key, 500)
    issued = [service.issue(company, month(n), today=TODAY, renderer=fake_pdf) for n in range(1, statements + 1)]
    for n in range(1, changed + 1):
        ledger.money(company, D(2026, n, 28), -500, description="Refund")
    if changed:
        service.issue(company, month(1), today=TODAY, replaces=issued[0], renderer=fake_pdf)


@pytest.mark.slow
def test_a_company_s_pages_do_not_grow_with_its_statements(app, ledger, make_company, login):
    small, large = make_company("Small"), make_company("Large")
    fill(app, ledger, small, statements=1, per_month=2, changed=1)
    fill(app, ledger, large, statements=6, per_month=20, changed=3)
    for path in COMPANY_PAGES:
        few, _page = count(login(app.test_client(), small.admin), path)
        many, page = count(login(app.test_client(), large.admin), path)
        assert few == many, (path, few, many)
        if path == "/statements":
            assert page.count("needs correction") == 2  # months 2 and 3 (month 1 was corrected)


@pytest.mark.slow
def test_the_leader_s_pages_do_not_grow_with_the_statements(app, ledger, make_company, leader_client):
    small, large = make_company("Small"), make_company("Large")
    fill(app, ledger, small, statements=1, per_month=2, changed=1)
    fill(app, ledger, large, statements=1, per_month=2, changed=1)
    before = {path: count(leader_client, path)[0] for path in LEADER_PAGES}
    fill(app, ledger, make_company("Later"), statements=6, per_month=20, changed=3)
    for n in range(2, 6):
        ledger.money(large, D(2026, n, 3), 100)
        service.issue(large, month(n), today=TODAY, renderer=fake_pdf)
        ledger.money(large, D(2026, n, 4), 100)
    after = {path: count(leader_client, path) for path in LEADER_PAGES}
    assert {path: queries for path, (queries, _page) in after.items()} == before
    assert "6 statements need a correction" in after["/leader"][1]


@pytest.mark.slow
def test_the_register_names_statements_corrected_in_a_later_year_in_one_query(app, ledger, many_companies,
                                                                              leader_client):
    companies = many_companies(4)
    issued = []
    for company in companies:
        ledger.money(company, D(2026, 3, 2), 1000)
        issued.append(service.issue(company, month(3), today=TODAY, renderer=fake_pdf))
        ledger.money(company, D(2026, 3, 3), 1000)

    def correct(statement):
        return service.issue(Company.get_by_id(statement.company_id), month(3), today=D(2027, 1, 5),
                             replaces=statement, renderer=fake_pdf)

    correct(issued[0])
    few, _page = count(leader_client, "/leader/statements?year=2027")
    for statement in issued[1:]:
        correct(statement)
    many, page = count(leader_client, "/leader/statements?year=2027")
    assert few == many
    assert all(f"replaces {statement.number}" in page for statement in issued)
