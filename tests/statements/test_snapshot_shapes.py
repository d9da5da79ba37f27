"""Every shape of snapshot a statement was ever issued with opens on the company's and the
leader's detail page, in Dutch and English, with what changed since, and can be corrected.

The shapes (portal/statements/service.py, migrations 0005 and 0009):
- version 1, issued before change marks (0005): lines with an English sentence in `description`,
  compared line by line;
- version 1 with marks (0009): the same lines, flagged from the books and the allocations;
- version 2 (now): lines keep codes and facts (what, subject, detail) and are put into words
  when shown.
In each, the lines are contribution lines (hours with minutes, money with gross/fee/net,
materials with a value) and SROI claim lines (allocated minutes or cents and their value, no
gross_cents: the line that made the page answer 500 when an allocation of a gift changed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json

import pytest

from portal.accounts.models import User
from portal.core import hooks
from portal.core.contributions import Contribution
from portal.sroi import service as sroi_service
from portal.statements import after_issue, periods, service, snapshots
from portal.statements.models import Statement, StatementCounter
from portal.statements.sroi import SroiClaim, SroiLine
from tests.pdftext import assert_in_pdf, pdf_text

D = dt.date
YEAR = periods.calendar_year(2026)
COMMITMENT = "Gemeente Utrecht · UTR-2026-001"
RULES = "Utrecht bouwblokken"

# A statement of version 1 as the code of the time wrote it: every field of the contribution of
# that time (a sentence for its words), the claim lines of SroiLine, totals from totals_of().
V1_LINES = [
    {"kind": "hours_sponsored", "key": "hours:1", "on": "2026-09-08", "person": "Iris Brouwer",
     "description": "Sponsored hours of Iris Brouwer at OBS De Klimop", "value_cents": 40_000,
     "basis": "employer_cost", "minutes": 480, "classification": "", "gross_cents": 0, "fee_cents": 0,
     "net_cents": 0, "method": "", "reference": ""},
    {"kind": "hours_volunteered", "key": "hours:1", "on": "2026-09-08", "person": "Iris Brouwer",
     "description": "Volunteered hours of Iris Brouwer at OBS De Klimop", "value_cents": 0,
     "basis": "none", "minutes": 60, "classification": "", "gross_cents": 0, "fee_cents": 0,
     "net_cents": 0, "method": "", "reference": ""},
    {"kind": "money", "key": "donation:4", "on": "2026-10-01", "person": "",
     "description": "Gift: OBS De Klimop · leesboeken", "value_cents": 50_000, "basis": "at_cost",
     "minutes": 0, "classification": "gift", "gross_cents": 50_000, "fee_cents": 0, "net_cents": 50_000,
     "method": "bank", "reference": "RF18539007547034"},
    {"kind": "money", "key": "donation:4:refund:1", "on": "2026-10-20", "person": "",
     "description": "Refund of G-000004", "value_cents": -5_000, "basis": "at_cost", "minutes": 0,
     "classification": "gift", "gross_cents": -5_000, "fee_cents": 0, "net_cents": -5_000,
     "method": "bank", "reference": "RF18539007547034"},
    {"kind": "material", "key": "material:3", "on": "2026-10-05", "person": "",
     "description": "3 × laptops", "value_cents": 90_000, "basis": "market_value", "minutes": 0,
     "classification": "gift", "gross_cents": 0, "fee_cents": 0, "net_cents": 0, "method": "in_kind",
     "reference": ""},
]
V1_CLAIM_LINES = [
    {"key": "hours:1", "on": "2026-09-08", "kind": "hours_sponsored",
     "description": "Sponsored hours of Iris Brouwer at OBS De Klimop", "person": "Iris Brouwer",
     "minutes": 480, "cents": 0, "value_cents": 80_000},
    {"key": "donation:4", "on": "2026-10-01", "kind": "money", "description": "Donation G-000004 · Gift",
     "person": "", "minutes": 0, "cents": 20_000, "value_cents": 20_000},
    {"key": "material:3", "on": "2026-10-05", "kind": "material", "description": "3 × laptops",
     "person": "", "minutes": 0, "cents": 90_000, "value_cents": 90_000},
]


def v1_snapshot(company) -> dict:
    claims = [{"commitment": COMMITMENT, "rules": RULES, "value_cents": 190_000, "lines": V1_CLAIM_LINES}]
    return {"version": 1, "number": "OA-2026-0001", "issued_on": "2026-11-02", "language": company.language,
            "period": YEAR.as_dict(), "issuer": {"name": "Stichting", "address": "Utrecht", "kvk": "1", "rsin": "2",
                                                 "anbi": True, "iban": "NL91ABNA0417164300"},
            "company": {"id": company.id, "name": company.legal_name, "street": company.street,
                        "postcode": company.postcode, "city": company.city, "kvk": company.kvk},
            "replaces": None, "lines": V1_LINES, "sroi": claims,
            "totals": snapshots.totals_of(V1_LINES, claims)}


def stored(company, snapshot: dict, *, marks: bool) -> Statement:
    """A statement row as it was stored then (its PDF is whatever bytes were rendered)."""
    StatementCounter.insert(year=2026, last_number=0).on_conflict_ignore().execute()
    StatementCounter.update(last_number=StatementCounter.last_number + 1).where(StatementCounter.year == 2026).execute()
    sequence = StatementCounter.get(StatementCounter.year == 2026).last_number
    pdf = b"%PDF-1.7 issued then"
    return Statement.create(
        number=service.format_number(2026, sequence), year=2026, sequence=sequence, company=company.id,
        period_kind=YEAR.kind, period_start=YEAR.start, period_end=YEAR.end, language=snapshot["language"],
        issued_on=D(2026, 11, 2), issued_at=dt.datetime(2026, 11, 2, 9), snapshot=json.dumps(snapshot),
        pdf=pdf, pdf_sha256=hashlib.sha256(pdf).hexdigest(), pdf_size=len(pdf), verification_code="ABCDE23456",
        ledger_mark=0 if marks else None, sroi_mark=None)


class Claims:
    """An allocation provider whose claims a test changes after issue (as the SROI pages do)."""

    def __init__(self) -> None:
        self.lines: list[SroiLine] = []

    def __call__(self, company_id, start, end):
        return [SroiClaim(COMMITMENT, RULES, tuple(self.lines))] if self.lines else []


@pytest.fixture
def claims(app):
    provider = Claims()
    hooks.connect(app, hooks.STATEMENT_CLAIMS, provider)
    return provider


def now_different(ledger, claims, company) -> None:
    """Today's contributions and claims: one line changed, one withdrawn, one added, per kind of line."""
    common = {"company_id": company.id}
    ledger.add(Contribution(kind="hours_sponsored", key="hours:1", on=D(2026, 9, 8), what="hours_correction",
                            subject="OBS De Klimop", person="Iris Brouwer", value_cents=30_000,
                            basis="employer_cost", minutes=360, **common))                     # changed
    ledger.add(Contribution(kind="money", key="donation:4", on=D(2026, 10, 1), what="donation",
                            subject="G-000004", detail="OBS De Klimop · leesboeken", value_cents=50_000,
                            basis="at_cost", classification="gift", gross_cents=50_000, net_cents=50_000,
                            method="bank", reference="RF18539007547034", **common))             # as it was
    ledger.add(Contribution(kind="money", key="donation:4:dispute:1:withdrawn", on=D(2026, 11, 3),
                            what="chargeback", subject="G-000004", value_cents=-50_000, basis="at_cost",
                            classification="gift", gross_cents=-50_000, net_cents=-50_000, method="bank",
                            reference="RF18539007547034", **common))                            # added
    # The volunteered hours, the refund and the materials are withdrawn.
    claims.lines = [
        SroiLine(key="hours:1", on=D(2026, 9, 8), kind="hours_sponsored", description="Gesponsorde uren",
                 person="Iris Brouwer", minutes=360, value_cents=60_000),                        # changed
        SroiLine(key="donation:4", on=D(2026, 10, 1), kind="money", description="Gift",
                 cents=30_000, value_cents=30_000),                                              # a gift's allocation changed
    ]                                                                                             # materials' removed


def read_as(client, user, language: str, url: str) -> str:
    User.update(language=language).where(User.id == user.id).execute()
    response = client.get(url)
    assert response.status_code == 200, response.data[:2000]
    return html.unescape(response.get_data(as_text=True))


def assert_detail_pages(client, leader_client, leader, company, statement, *, dutch_words: list[str]) -> None:
    for language in ("nl", "en"):
        mine = read_as(client, company.admin, language, f"/statements/{statement.id}")
        theirs = read_as(leader_client, leader, language, f"/leader/statements/{statement.id}")
        for page in (mine, theirs):
            assert statement.number in page
            assert 'action="/' in page and "/correct" in page       # the correction button is there
            assert "Iris Brouwer" in page
            assert "€ 300,00" in page if language == "nl" else "€300.00" in page   # the gift's new allocation
            assert "6:00" in page and "8:00" in page                                  # hours before and after
        if language == "nl":
            for word in dutch_words:
                assert word in mine and word in theirs, word
            for english in ("Sponsored hours of", "Refund of", "Gift:", "Chargeback of"):
                assert english not in mine and english not in theirs, english


@pytest.mark.parametrize("marks", [False, True], ids=["v1-before-marks", "v1-with-marks"])
def test_a_version_1_statement_opens_shows_its_changes_in_words_and_is_corrected(
        app, client, login, leader_client, leader, make_company, ledger, claims, marks):
    company = make_company("Acme", language="nl")
    statement = stored(company, v1_snapshot(company), marks=marks)
    now_different(ledger, claims, company)
    login(client, company.admin)

    assert after_issue.needs_correction(statement)
    kinds = {(change.change, change.kind, change.sroi) for change in after_issue.changes(statement)}
    assert {("changed", "hours_sponsored", False), ("removed", "hours_volunteered", False),
            ("removed", "money", False), ("added", "money", False), ("removed", "material", False),
            ("changed", "hours_sponsored", True), ("changed", "money", True), ("removed", "material", True)} <= kinds
    # The stored English sentences are read back and shown in the reader's language.
    assert_detail_pages(client, leader_client, leader, company, statement,
                        dutch_words=["Gesponsorde uren", "Vrijwillige uren", "Terugbetaling · G-000004",
                                     "Terugboeking · G-000004", "3 × laptops", "Correctie · Iris Brouwer"])

    # The PDF, the specification and the correction.
    assert client.get(f"/statements/{statement.id}/pdf").status_code == 200
    specification = client.get(f"/statements/{statement.id}/specification.csv").get_data(as_text=True)
    assert "Terugbetaling · G-000004" in specification and "Refund of" not in specification
    response = client.post(f"/statements/{statement.id}/correct")
    assert response.status_code == 302
    correction = Statement.get(Statement.replaces == statement.id)
    assert Statement.get_by_id(statement.id).status == "superseded"
    assert snapshots.snapshot_of(correction)["version"] == snapshots.SNAPSHOT_VERSION
    for url in (f"/statements/{correction.id}", f"/statements/{statement.id}"):
        assert client.get(url).status_code == 200
    assert leader_client.get(f"/leader/statements/{statement.id}").status_code == 200


def test_a_current_statement_opens_shows_its_changes_and_is_corrected_by_the_leader(
        app, client, login, leader_client, leader, make_company, ledger, claims):
    company = make_company("Acme", language="nl")
    for line in V1_LINES:   # the same contributions, now with codes and facts
        what = {"hours:1": "hours", "donation:4": "donation", "donation:4:refund:1": "refund",
                "material:3": "material"}[line["key"]]
        subject = {"hours": "OBS De Klimop", "donation": "G-000004", "refund": "G-000004",
                   "material": "laptops"}[what]
        ledger.add(Contribution(
            kind=line["kind"], key=line["key"], company_id=company.id, on=D.fromisoformat(line["on"]), what=what,
            subject=subject, detail={"donation": "OBS De Klimop · leesboeken", "material": "3"}.get(what, ""),
            value_cents=line["value_cents"], basis=line["basis"], minutes=line["minutes"], person=line["person"],
            classification=line["classification"], gross_cents=line["gross_cents"], net_cents=line["net_cents"],
            method=line["method"], reference=line["reference"]))
    claims.lines = [SroiLine(key=line["key"], on=D.fromisoformat(line["on"]), kind=line["kind"],
                             description=line["description"], person=line["person"], minutes=line["minutes"],
                             cents=line["cents"], value_cents=line["value_cents"]) for line in V1_CLAIM_LINES]
    statement = service.issue(company, YEAR, company.admin, today=D(2027, 1, 4))  # once the year has ended
    snapshot = snapshots.snapshot_of(statement)
    assert snapshot["version"] == snapshots.SNAPSHOT_VERSION == 3
    assert all("what" in line and line["description"] == "" for line in snapshot["lines"])
    # The document of a Dutch company names its lines in Dutch, from the codes.
    printed = pdf_text(statement.pdf_bytes)
    for words in ("Terugbetaling · G-000004", "Gift · G-000004 · OBS De Klimop · leesboeken", "3 × laptops"):
        assert_in_pdf(words, printed)
    assert "Refund of" not in printed and "Sponsored hours of" not in printed
    ledger.items.clear()
    for line in V1_LINES:   # withdrawn in the books, then today's lines
        ledger.post(Contribution(kind=line["kind"], key=line["key"], company_id=company.id,
                                 on=D.fromisoformat(line["on"]), value_cents=line["value_cents"], basis=line["basis"],
                                 minutes=line["minutes"], gross_cents=line["gross_cents"],
                                 net_cents=line["net_cents"], classification=line["classification"],
                                 method=line["method"], person=line["person"], reference=line["reference"]), -1)
    now_different(ledger, claims, company)
    login(client, company.admin)

    assert after_issue.needs_correction(statement)
    assert_detail_pages(client, leader_client, leader, company, statement,
                        dutch_words=["Gesponsorde uren", "Terugboeking · G-000004", "Correctie · Iris Brouwer",
                                     "3 × laptops"])
    response = leader_client.post(f"/leader/statements/{statement.id}/correct")
    assert response.status_code == 302
    correction = Statement.get(Statement.replaces == statement.id)
    assert leader_client.get(f"/leader/statements/{correction.id}").status_code == 200
    assert client.get(f"/statements/{correction.id}").status_code == 200


@pytest.fixture
def commitment(app, make_company):
    company = make_company("Bouw", language="nl", member=True)
    with app.test_request_context():
        made = sroi_service.create_commitment(company.admin, sroi_service.CommitmentInput(
            authority="Gemeente Utrecht", contract_reference="UTR-2026-001", description="",
            base_type="contract_value_excl_vat", base_cents=100_000_000, percentage_bp=500, cap_cents=None,
            period_start_on=D(2026, 8, 1), period_end_on=D(2027, 7, 31), deadline_on=D(2027, 9, 30)),
            "utrecht-bouwblokken")
    return company, made


def test_the_allocation_of_a_gift_changed_after_issue_no_longer_breaks_the_pages(
        app, client, login, leader_client, ledger, commitment):
    """The reported case: /statements/1 and /leader/statements/1 answered 500 ('dict object' has no
    attribute 'gross_cents') once an SROI allocation of a money gift changed after issue."""
    company, made = commitment
    gift = ledger.money(company, D(2026, 10, 1), 50_000)
    with app.test_request_context():
        sroi_service.set_allocation(company.admin, made.id, gift.key, 20_000)
    statement = service.issue(company, periods.school_year(2026), today=D(2027, 8, 2))  # once it has ended
    with app.test_request_context():
        sroi_service.set_allocation(company.admin, made.id, gift.key, 30_000)

    login(client, company.admin)
    for page in (client.get(f"/statements/{statement.id}"), leader_client.get(f"/leader/statements/{statement.id}")):
        assert page.status_code == 200
        text = html.unescape(page.get_data(as_text=True))
        assert "SROI" in text and ("€ 300,00" in text or "€300.00" in text)
    assert client.post(f"/statements/{statement.id}/correct").status_code == 302
    correction = Statement.get(Statement.replaces == statement.id)
    assert [line["cents"] for claim in snapshots.snapshot_of(correction)["sroi"] for line in claim["lines"]] == [30_000]
    assert client.get(f"/statements/{correction.id}").status_code == 200
