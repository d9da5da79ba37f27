"""The pages that list commitments (the company's SROI page, the dashboard's deadlines, the
leader's overview) read each company's kept figures (sroi.figures): they must say what evaluating
every commitment line by line says, after every kind of change, and evaluate again only then."""

from __future__ import annotations

import datetime as dt
import html
import re

from portal.core import ledger as books
from portal.core.db import atomic_write, database
from portal.core.money import format_eur
from portal.sroi import service
from portal.sroi.models import Allocation, Commitment, Figures
from tests.querycount import logged_queries
from tests.sroi.conftest import Contribution

TODAY = dt.date(2026, 11, 1)
PAID = dict(basis="at_cost", classification="gift", method="bank", reference="RF18539007547034")


def figures_of(found) -> list[tuple]:
    return [(s.commitment.id, s.claimed_cents, s.gap_cents,
             {kind: (t.allocated, t.counted, t.value_cents, t.lines) for kind, t in s.totals.items()})
            for s in found]


def agree() -> list[tuple]:
    """The listed figures of every commitment, checked against a full evaluation; returned."""
    commitments = list(Commitment.select().order_by(Commitment.id))
    listed = figures_of(service.listed(commitments, TODAY))
    assert listed == figures_of(service.summaries(commitments, today=TODAY))
    # Listed company by company (as the company's own page does), each says the same.
    assert sorted(f for company in {c.company_id for c in commitments}
                  for f in figures_of(service.listed([c for c in commitments if c.company_id == company], TODAY))
                  ) == sorted(listed)
    return listed


def claimed(commitment) -> int:
    return service.listed([Commitment.get_by_id(commitment.id)], TODAY)[0].claimed_cents


def test_kept_figures_agree_with_a_full_evaluation_after_every_kind_of_change(make_company, ledger, make_commitment,
                                                                             request_context):
    company, other = make_company("Bouw"), make_company("Ander")
    first = make_commitment(company.admin, contract_reference="A")
    second = make_commitment(company.admin, contract_reference="B")
    theirs = make_commitment(other.admin, contract_reference="C")
    session = ledger.hours(company, 240, person="Anna")
    donation = ledger.add(Contribution(kind="money", key="donation:1", company_id=company.id, on=dt.date(2026, 10, 1),
                                       value_cents=50_000, gross_cents=50_000, net_cents=50_000, **PAID))
    laptops = ledger.material(other, 30_000)
    assert all(figures[1] == 0 for figures in agree())                           # nothing allocated yet

    service.set_allocation(company.admin, first.id, session.key, 240)             # an allocation
    service.set_allocation(company.admin, second.id, donation.key, 50_000)
    service.set_allocation(other.admin, theirs.id, laptops.key, 30_000)
    agree()
    assert (claimed(second), claimed(theirs)) == (50_000, 30_000)

    ledger.add(Contribution(kind="money", key="donation:1:refund:1", company_id=company.id,   # a refund: a posting
                            on=dt.date(2026, 11, 2), value_cents=-20_000, gross_cents=-20_000, net_cents=-20_000,
                            **PAID))
    agree()
    assert claimed(second) == 30_000

    hours_before = claimed(first)
    rules = service.rules_of(first).__dict__ | {"hours_basis": "rate", "hourly_rate_cents": 7_500}
    service.update_rules(company.admin, first.id, service.RulesInput(**rules))   # a change of the rules
    agree()
    assert claimed(first) == 30_000 != hours_before                               # 4 hours at EUR 75

    ledger.remove(laptops.key)                                                   # the source withdraws it
    agree()
    assert claimed(theirs) == 0

    allocation = Allocation.get(Allocation.commitment == first.id)
    service.remove_allocation(company.admin, first.id, allocation.id)            # an allocation removed
    agree()
    assert claimed(first) == 0

    service.delete_commitment(company.admin, second.id)                          # a commitment removed
    assert [figures[0] for figures in agree()] == [first.id, theirs.id]


def test_a_list_evaluates_again_only_after_a_change(make_company, ledger, make_commitment, request_context):
    company, other = make_company("Bouw"), make_company("Ander")
    mine = make_commitment(company.admin)
    make_commitment(other.admin)
    session = ledger.hours(company, 120)
    service.set_allocation(company.admin, mine.id, session.key, 120)
    commitments = list(Commitment.select())

    def evaluated() -> set[str]:
        """The tables of history a listing of every commitment read."""
        with logged_queries() as found:
            service.listed(commitments, TODAY)
        return {table for query in found.queries for table in ("ledger_posting", "sroi_allocation") if table in query}

    assert evaluated() == {"ledger_posting", "sroi_allocation"}       # first time: evaluated and kept
    assert evaluated() == set()                                       # nothing changed: read as kept
    ledger.hours(other, 60)                                           # a posting of another company
    assert evaluated() == {"ledger_posting", "sroi_allocation"}
    assert evaluated() == set()
    service.set_allocation(company.admin, mine.id, session.key, 60)   # an allocation changed
    assert evaluated() == {"ledger_posting", "sroi_allocation"}
    Figures.update(computed="").execute()                             # kept figures lost: evaluated again
    assert evaluated() == {"ledger_posting", "sroi_allocation"}


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def test_the_pages_show_a_refund_that_arrives_after_they_were_seen(app, make_company, ledger, make_commitment,
                                                                  login, leader_client):
    """Seen, then changed by a posting alone (no SROI action): the company's list and the leader's
    overview show the new claim at once."""
    company = make_company("Bouw")
    with app.test_request_context():
        commitment = make_commitment(company.admin)
        ledger.add(Contribution(kind="money", key="donation:1", company_id=company.id, on=dt.date(2026, 10, 1),
                                value_cents=80_000, gross_cents=80_000, net_cents=80_000, **PAID))
        service.set_allocation(company.admin, commitment.id, "donation:1", 80_000)
    client = app.test_client()
    login(client, company.admin)
    before, after = format_eur(80_000, "en"), format_eur(55_000, "en")
    assert before in text_of(client.get("/sroi/")) and before in text_of(leader_client.get("/sroi/leader"))
    ledger.add(Contribution(kind="money", key="donation:1:refund:1", company_id=company.id, on=dt.date(2026, 11, 2),
                            value_cents=-25_000, gross_cents=-25_000, net_cents=-25_000, **PAID))
    for page in (text_of(client.get("/sroi/")), text_of(leader_client.get("/sroi/leader"))):
        assert after in page and before not in page


def test_ledger_check_counts_each_companys_postings(make_company, ledger):
    """(This test's postings have no hours rows behind them: check() names those too; only its
    words on the count are read here.)"""
    company = make_company("Bouw")
    ledger.hours(company, 60)
    ledger.hours(company, 90)
    assert books.posting_counts([company.id]) == {company.id: 2}
    assert not [problem for problem in books.check() if "postings counted" in problem]
    with atomic_write():
        database.execute_sql("UPDATE ledger_company_total SET postings = postings - 1")
    assert any("ledger_company_total" in problem and "1 postings counted instead of 2" in problem
               for problem in books.check())


def test_figures_that_cannot_be_kept_are_still_shown(make_company, ledger, make_commitment, request_context,
                                                    monkeypatch, caplog):
    """A list page that finds the database busy with a long write shows the figures it computed and
    keeps them another time (keeping them is the page's bonus, not its answer)."""
    import peewee

    from portal.sroi import figures

    company = make_company("Bouw")
    commitment = make_commitment(company.admin)
    session = ledger.hours(company, 120)
    service.set_allocation(company.admin, commitment.id, session.key, 120)

    def busy():
        raise peewee.OperationalError("database is locked")

    monkeypatch.setattr(figures, "atomic_write", busy)
    assert claimed(commitment) == claimed_in_full(commitment) > 0
    assert Figures.get_by_id(company.id).computed == ""            # nothing kept
    assert "not kept: database is locked" in caplog.text
    monkeypatch.undo()
    assert claimed(commitment) == claimed_in_full(commitment)
    assert Figures.get_by_id(company.id).computed != ""            # kept at the next view


def claimed_in_full(commitment) -> int:
    return service.summary(Commitment.get_by_id(commitment.id), TODAY).claimed_cents
