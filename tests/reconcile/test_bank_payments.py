"""Bank payments that are not exactly the request (issue 13): part payments, over-payments and
their refund, duplicates, payer accounts registered or learned, suggestions by the payer's name,
and the balances that chain one statement of an account to the next.

Every case goes through a CAMT.053 statement as Rabobank exports it (balances included), the
import the project leader uses, and giving's own books; the ledger's check holds after each.
"""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from portal.core import ledger
from portal.reconcile import bank_import, line_matching, matching, service, work_list
from portal.reconcile.models import BankLine, StatementBalance

ACCOUNT = "NL81RABO0312345678"

STATEMENT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>RABO-{number}</MsgId><CreDtTm>{closed}T06:00:00</CreDtTm></GrpHdr>
<Stmt><Id>{number}</Id><ElctrncSeqNb>{number}</ElctrncSeqNb>
<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{opening}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>{opened}</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>{closed}</Dt></Dt></Bal>
{entries}</Stmt></BkToCstmrStmt></Document>"""

ENTRY = """<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>{on}</Dt></BookgDt><ValDt><Dt>{on}</Dt></ValDt><AcctSvcrRef>{ref}</AcctSvcrRef>
<BkTxCd><Prtry><Cd>{code}</Cd><Issr>RABOBANK</Issr></Prtry></BkTxCd>
<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
<RltdPties><{party}><Nm>{name}</Nm></{party}><{party}Acct><Id><IBAN>{iban}</IBAN></Id></{party}Acct></RltdPties>
<RmtInf>{remittance}</RmtInf></TxDtls></NtryDtls></Ntry>"""


def euros(cents: int) -> str:
    return f"{cents / 100:.2f}" if cents >= 0 else f"{-cents / 100:.2f}"


def entry(cents: int, on: str, name: str, iban: str, *, rf: str = "", text: str = "") -> dict:
    return {"cents": cents, "on": on, "name": name, "iban": iban, "rf": rf, "text": text}


def statement(number: int, opening: int, *entries: dict, opened: str = "2026-05-01", closed: str = "2026-05-31",
              account: str = ACCOUNT, closing: int | None = None) -> bytes:
    """A Rabobank CAMT.053 statement whose closing balance is the opening plus its entries."""
    rows = []
    for n, e in enumerate(entries, start=1):
        remittance = (f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{e['rf']}</Ref>"
                      f"</CdtrRefInf></Strd>" if e["rf"] else f"<Ustrd>{e['text']}</Ustrd>")
        rows.append(ENTRY.format(amount=euros(e["cents"]), direction="CRDT" if e["cents"] > 0 else "DBIT",
                                 on=e["on"], ref=f"{number}-{n:04d}-{secrets.token_hex(3)}",
                                 code="100" if e["cents"] > 0 else "541",
                                 party="Dbtr" if e["cents"] > 0 else "Cdtr", name=e["name"], iban=e["iban"],
                                 remittance=remittance))
    closing = opening + sum(e["cents"] for e in entries) if closing is None else closing
    return STATEMENT.format(number=number, account=account, opening=euros(opening), closing=euros(closing),
                            opened=opened, closed=closed, entries="".join(rows)).encode()


@pytest.fixture
def request_for(app, make_company):
    """A payment request by bank transfer, made by the company's administrator in the portal."""
    from portal.giving import service as giving

    def make(cents: int, company=None):
        company = company or make_company(f"Payer{secrets.randbelow(10**6)}")
        with app.test_request_context():
            donation, _ = giving.create_donation(giving.DonationInput(
                amount_cents=cents, classification="gift", method="bank", form_token=secrets.token_urlsafe(24)),
                user=company.admin)
        return donation

    return make


def money_in_books(company_id: int) -> int:
    rows = ledger.totals(by=("kind",), company_id=company_id, kinds=("money",))
    return rows[0]["gross_cents"] if rows else 0


def donation(donation_id: int):
    from portal.giving.models import Donation

    return Donation.get_by_id(donation_id)


def line(bank_ref_prefix: str) -> BankLine:
    return BankLine.get(BankLine.bank_ref.startswith(bank_ref_prefix))


# --- part payments -------------------------------------------------------------------------

def test_two_instalments_of_500_with_the_same_rf_settle_a_request_of_1000(app, leader, request_for,
                                                                          request_context):
    from portal.giving import service as giving

    request = request_for(100_000)
    company = request.company_id
    bank_import.import_statement(statement(41, 250_000, entry(50_000, "2026-05-12", "Papendorp Advies B.V.",
                                                           "NL02ABNA0123456789", rf=request.reference)),
                             actor=leader)
    first = line("41-0001")
    assert (first.status, first.outcome, first.settlement) == ("matched", "partial", "part_recorded")
    assert donation(request.id).status == "pending"
    assert money_in_books(company) == 50_000              # what arrived is in the books
    assert giving.bank_balance(donation(request.id)).outstanding_cents == 50_000
    # The queue offers the request for the rest only.
    open_item = next(i for i in service.open_items() if i.key == f"donation:{request.id}")
    assert open_item.amount_cents == 50_000

    bank_import.import_statement(statement(42, 300_000, entry(50_000, "2026-06-09", "Papendorp Advies B.V.",
                                                           "NL02ABNA0123456789", rf=request.reference),
                                       opened="2026-06-01", closed="2026-06-30"), actor=leader)
    second = line("42-0001")
    assert (second.outcome, second.settlement) == ("exact", "paid")
    paid = donation(request.id)
    assert (paid.status, paid.paid_on) == ("paid", dt.date(2026, 6, 9))
    assert money_in_books(company) == 100_000
    by_month = {row["month"]: row["gross_cents"]
                for row in ledger.totals(by=("month",), company_id=company, kinds=("money",))}
    assert by_month == {dt.date(2026, 5, 1): 50_000, dt.date(2026, 6, 1): 50_000}
    assert [(c.on, c.gross_cents) for c in giving.contributions(company, None, None)] == [
        (dt.date(2026, 5, 12), 50_000), (dt.date(2026, 6, 9), 50_000)]
    assert ledger.check() == []


def test_two_instalments_in_one_statement_settle_the_request_too(app, leader, request_for, request_context):
    request = request_for(100_000)
    bank_import.import_statement(statement(43, 0, entry(50_000, "2026-05-04", "Acme B.V.", "NL44RABO0123456789",
                                                    rf=request.reference),
                                       entry(50_000, "2026-05-18", "Acme B.V.", "NL44RABO0123456789",
                                             rf=request.reference)), actor=leader)
    assert [(ln.outcome, ln.settlement) for ln in BankLine.select().order_by(BankLine.booked_on)] == [
        ("partial", "part_recorded"), ("exact", "paid")]
    assert donation(request.id).status == "paid"
    assert money_in_books(request.company_id) == 100_000
    assert ledger.check() == []


# --- over-payments, their refund, or keeping them --------------------------------------------

def test_3000_against_a_request_of_2000_settles_it_with_a_surplus_of_1000(app, leader, leader_client, request_for,
                                                                          request_context):
    from portal.giving import service as giving

    request = request_for(200_000)
    bank_import.import_statement(statement(51, 100_000, entry(300_000, "2026-05-07", "Bouwbedrijf Brug B.V.",
                                                           "NL44RABO0123456789", rf=request.reference)),
                             actor=leader)
    over = line("51-0001")
    assert (over.outcome, over.expected_cents, over.settlement) == ("over", 200_000, "paid_with_surplus")
    assert donation(request.id).status == "paid"
    assert money_in_books(request.company_id) == 200_000   # the surplus is not the company's gift (yet)
    assert giving.bank_balance(donation(request.id)).surplus_cents == 100_000
    page = leader_client.get("/leader/reconcile/surpluses")
    assert page.status_code == 200
    assert request.number in page.get_data(as_text=True) and "€1,000.00" in page.get_data(as_text=True)
    desk = leader_client.get("/leader/reconcile").get_data(as_text=True)
    assert "Surpluses to refund or keep" in desk

    # The refund leaves the account with the same reference, in the next statement: it closes the surplus.
    bank_import.import_statement(statement(52, 400_000, entry(-100_000, "2026-06-03", "Bouwbedrijf Brug B.V.",
                                                           "NL44RABO0123456789", rf=request.reference),
                                       opened="2026-06-01", closed="2026-06-30"), actor=leader)
    refund = line("52-0001")
    assert (refund.status, refund.settlement, refund.target) == ("matched", "refund_recorded",
                                                                 f"donation:{request.id}")
    assert giving.bank_balance(donation(request.id)).surplus_cents == 0
    assert "No surpluses." in leader_client.get("/leader/reconcile/surpluses").get_data(as_text=True)
    assert money_in_books(request.company_id) == 200_000
    assert ledger.check() == []


def test_a_surplus_kept_with_the_companys_consent_counts_as_its_gift(app, leader, leader_client, request_for,
                                                                     request_context):
    request = request_for(200_000)
    bank_import.import_statement(statement(53, 0, entry(300_000, "2026-05-07", "Bouwbedrijf Brug B.V.",
                                                    "NL44RABO0123456789", rf=request.reference)), actor=leader)
    response = leader_client.post("/leader/reconcile/surpluses", data={"donation": str(request.id)})
    assert response.status_code == 302
    assert money_in_books(request.company_id) == 300_000
    assert "No surpluses." in leader_client.get("/leader/reconcile/surpluses").get_data(as_text=True)
    again = leader_client.post("/leader/reconcile/surpluses", data={"donation": str(request.id)},
                               follow_redirects=True)
    assert "There is no surplus to keep on this request." in again.get_data(as_text=True)
    assert money_in_books(request.company_id) == 300_000
    assert ledger.check() == []


def test_the_leaders_manual_match_offers_the_same_choices(app, leader, leader_client, request_for,
                                                          request_context):
    from portal.giving import service as giving

    short, over, kept = request_for(100_000), request_for(50_000), request_for(50_000)
    bank_import.import_statement(statement(
        54, 0,
        entry(40_000, "2026-05-04", "Stichting De Hoef", "NL20INGB0001234567", text="gift deel 1"),
        entry(75_000, "2026-05-05", "Cijfer B.V.", "NL69INGB0123456789", text="onze bijdrage"),
        entry(60_000, "2026-05-06", "Delta B.V.", "NL97RABO0156789012", text="bijdrage mei")), actor=leader)
    ids = {ln.amount_cents: ln.id for ln in BankLine.select()}
    assert leader_client.post(f"/leader/reconcile/lines/{ids[40_000]}/match",
                              data={"target": short.reference}).status_code == 302
    assert leader_client.post(f"/leader/reconcile/lines/{ids[75_000]}/match",
                              data={"target": over.number, "surplus": "refund"}).status_code == 302
    assert leader_client.post(f"/leader/reconcile/lines/{ids[60_000]}/match",
                              data={"target": f"donation:{kept.id}", "surplus": "keep"}).status_code == 302
    assert donation(short.id).status == "pending"
    assert giving.bank_balance(donation(short.id)).outstanding_cents == 60_000
    assert donation(over.id).status == "paid" and giving.bank_balance(donation(over.id)).surplus_cents == 25_000
    assert donation(kept.id).status == "paid" and giving.bank_balance(donation(kept.id)).surplus_cents == 0
    assert money_in_books(kept.company_id) == 60_000
    assert [ln.settlement for ln in BankLine.select().order_by(BankLine.amount_cents)] == [
        "part_recorded", "paid_with_surplus", "paid_with_surplus"]
    assert ledger.check() == []


# --- duplicates -----------------------------------------------------------------------------

def test_an_rf_already_paid_in_a_later_statement_is_flagged_as_a_duplicate(app, leader, request_for,
                                                                           request_context):
    from portal.giving import service as giving
    from portal.giving.models import PaymentIssue

    request = request_for(25_000)
    bank_import.import_statement(statement(61, 0, entry(25_000, "2026-05-04", "De Linde Zorg", "NL69INGB0123456789",
                                                    rf=request.reference)), actor=leader)
    assert donation(request.id).status == "paid"
    bank_import.import_statement(statement(62, 25_000, entry(25_000, "2026-06-02", "De Linde Zorg",
                                                          "NL69INGB0123456789", rf=request.reference),
                                       opened="2026-06-01", closed="2026-06-30"), actor=leader)
    duplicate = line("62-0001")
    assert (duplicate.status, duplicate.outcome, duplicate.settlement, duplicate.target) == (
        "matched", "over", "duplicate_payment", f"donation:{request.id}")
    assert duplicate.company_id == request.company_id   # not an anonymous line
    issue = PaymentIssue.get(PaymentIssue.kind == "bank_duplicate_payment")
    assert issue.donation_id == request.id
    assert giving.bank_balance(donation(request.id)).surplus_cents == 25_000
    assert money_in_books(request.company_id) == 25_000
    assert ledger.check() == []


# --- payer accounts: registered by the company, learned from payments ---------------------------

def test_a_registered_account_matches_when_one_open_request_has_the_amount(app, leader, make_company,
                                                                           request_for, request_context):
    from portal.accounts import service as accounts

    company = make_company("Papendorp Advies")
    accounts.add_company_iban(company.admin, "NL02 ABNA 0123 4567 89")
    one = request_for(150_000, company)
    request_for(80_000, company)
    bank_import.import_statement(statement(71, 0, entry(150_000, "2026-05-11", "PAPENDORP ADVIES BV",
                                                    "NL02ABNA0123456789", text="donatie 2026")), actor=leader)
    matched = BankLine.get()
    assert (matched.status, matched.match_method, matched.target) == ("matched", "iban_amount", f"donation:{one.id}")
    assert donation(one.id).status == "paid"


def test_an_account_never_settles_one_of_two_requests_of_the_same_amount(app, leader, make_company, request_for,
                                                                         request_context):
    from portal.accounts import service as accounts

    company = make_company("Papendorp Advies")
    accounts.add_company_iban(company.admin, "NL02ABNA0123456789")
    first, second = request_for(200_000, company), request_for(200_000, company)
    bank_import.import_statement(statement(72, 0, entry(200_000, "2026-05-11", "Papendorp Advies B.V.",
                                                    "NL02ABNA0123456789", text="bijdrage")), actor=leader)
    waiting = BankLine.get()
    assert waiting.status == "unmatched"
    assert donation(first.id).status == donation(second.id).status == "pending"
    rows, _total = work_list.line_queue()
    assert {item.key for item in rows[0].suggestions[:2]} == {f"donation:{first.id}", f"donation:{second.id}"}


def test_a_learned_account_never_settles_an_ambiguous_amount(app, leader, make_company, request_for,
                                                             request_context):
    company = make_company("De Linde Zorg")
    paid = request_for(50_000, company)
    bank_import.import_statement(statement(73, 0, entry(50_000, "2026-05-04", "De Linde Zorg", "NL69INGB0123456789",
                                                    rf=paid.reference)), actor=leader)
    assert donation(paid.id).status == "paid"      # the account is learned from this payment
    first, second = request_for(200_000, company), request_for(200_000, company)
    bank_import.import_statement(statement(74, 50_000, entry(200_000, "2026-06-15", "De Linde Zorg",
                                                          "NL69INGB0123456789", text="gift juni"),
                                       opened="2026-06-01", closed="2026-06-30"), actor=leader)
    assert line("74-0001").status == "unmatched"
    assert donation(first.id).status == donation(second.id).status == "pending"
    # With one request of that amount left, the learned account is enough.
    from portal.giving import service as giving

    assert giving.withdraw_request(donation(second.id), company.admin)
    assert line_matching.auto_match(leader) == 1
    assert donation(first.id).status == "paid"


def test_an_account_registered_by_two_companies_points_to_neither(app, leader, make_company, request_for,
                                                                  request_context):
    from portal.accounts import service as accounts

    holding, daughter = make_company("Brug Holding"), make_company("Bouwbedrijf Brug")
    for company in (holding, daughter):
        accounts.add_company_iban(company.admin, "NL44RABO0123456789")
    request = request_for(30_000, daughter)
    bank_import.import_statement(statement(75, 0, entry(30_000, "2026-05-20", "Brug", "NL44RABO0123456789",
                                                    text="bijdrage")), actor=leader)
    assert BankLine.get().status == "unmatched" and donation(request.id).status == "pending"


# --- suggestions ------------------------------------------------------------------------------

def test_suggestions_rank_the_payers_name_against_company_names(app, leader, leader_client, make_company,
                                                                request_for, request_context):
    linde, papendorp = make_company("De Linde Zorg"), make_company("Papendorp Advies")
    linde_request = request_for(100_000, linde)      # made first: it used to be suggested first
    papendorp_request = request_for(100_000, papendorp)
    other = request_for(40_000, papendorp)
    bank_import.import_statement(statement(81, 0, entry(95_000, "2026-05-21", "PAPENDORP ADVIES BV",
                                                    "NL02ABNA0123456789", text="bijdrage 2026")), actor=leader)
    rows, _total = work_list.line_queue()
    keys = [item.key for item in rows[0].suggestions]
    # Papendorp's requests first (the one nearest the amount before the other), De Linde's after.
    assert keys[:2] == [f"donation:{papendorp_request.id}", f"donation:{other.id}"]
    assert f"donation:{linde_request.id}" not in keys[:2]
    page = leader_client.get("/leader/reconcile/queue").get_data(as_text=True)
    assert papendorp_request.number in page and linde_request.number not in page
    assert "the company agreed that we keep the surplus" in page


def test_the_same_amount_still_ranks_above_a_like_name(app):
    items = matching.OpenItems([
        matching.OpenItem("test:1", "request", 50_000, company_id=1, payer_name="Papendorp Advies B.V."),
        matching.OpenItem("test:2", "request", 12_500, company_id=2, payer_name="De Linde Zorg"),
    ])
    facts = matching.LineFacts(1, 12_500, counterparty_name="Papendorp Advies")
    assert [i.key for i in items.suggestions(facts)] == ["test:2", "test:1"]
    # Two requests of the line's amount: the payer's name decides, not which request is older.
    both = matching.OpenItems([
        matching.OpenItem("test:linde", "request", 200_000, company_id=2, payer_name="De Linde Zorg"),
        matching.OpenItem("test:papendorp", "request", 200_000, company_id=1, payer_name="Papendorp Advies B.V."),
    ])
    facts = matching.LineFacts(2, 200_000, counterparty_name="PAPENDORP ADVIES BV")
    assert [i.key for i in both.suggestions(facts)] == ["test:papendorp", "test:linde"]
    assert both.match([facts]) == []    # a suggestion, never a guess
    assert matching.name_likeness("PAPENDORP ADVIES BV", "Papendorp Advies B.V.") == 1.0
    assert matching.name_likeness("Papendorp Advies", "De Linde Zorg") < 0.6


# --- RF references are taken whole ----------------------------------------------------------

def test_a_reference_glued_to_the_next_words_is_never_stored_or_matched_longer(app, leader, items,
                                                                              request_context):
    items.add(key="test:rf", amount_cents=12_000, reference="RF772026000050", label="Brug 50")
    assert matching.rf_candidates("RF772026000050MET VRIENDELIJKE GROET") == ["RF772026000050"]
    bank_import.import_statement(statement(91, 0, entry(12_000, "2026-05-22", "Brug", "NL44RABO0123456789",
                                                    text="RF772026000050MET VRIENDELIJKE GROET")), actor=leader)
    stored = BankLine.get()
    assert stored.reference == "RF772026000050"
    assert BankLine.select().where(BankLine.reference == "RF772026000050METVRI").count() == 0
    assert (stored.status, stored.target, stored.match_method) == ("matched", "test:rf", "reference")


# --- statements chain: balances stored per account, gaps and overlaps reported ---------------------

def test_each_statements_balances_are_stored_per_account(app, leader, request_context):
    from tests.reconcile.test_bank_files import dutch

    bank_import.import_statement(dutch("ing_two_accounts_camt053.xml"), actor=leader, match=False)
    stored = [(b.account_iban, b.number, b.opening_cents, b.closing_cents)
              for b in StatementBalance.select().order_by(StatementBalance.id)]
    assert stored == [("NL95INGB0006512345", "151", 100000, 129750), ("0004567890", "42", 1500000, 1698750)]


def test_consecutive_statements_that_chain_report_nothing(app, leader, request_context):
    may = bank_import.import_statement(statement(101, 100_000, entry(5_000, "2026-05-04", "A", "NL20INGB0001234567",
                                                                 text="gift")), actor=leader)
    june = bank_import.import_statement(statement(102, 105_000, entry(7_000, "2026-06-04", "B", "NL20INGB0001234567",
                                                                  text="gift"),
                                              opened="2026-06-01", closed="2026-06-30"), actor=leader)
    assert may.continuity == [] and june.continuity == []


def test_a_gap_between_statements_of_an_account_is_reported_on_import(app, leader, leader_client):
    may = statement(111, 100_000, entry(5_000, "2026-05-04", "A", "NL20INGB0001234567", text="gift"))
    july = statement(113, 180_000, entry(7_000, "2026-07-06", "B", "NL20INGB0001234567", text="gift"),
                     opened="2026-07-01", closed="2026-07-31")
    for number, data in ((111, may), (113, july)):
        response = leader_client.post("/leader/reconcile/import", data={
            "statement": (__import__("io").BytesIO(data), f"rabo-{number}.xml"), "format": "auto",
            "encoding": "utf-8"}, content_type="multipart/form-data", follow_redirects=True)
        assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "a statement between them is missing" in text
    assert "€1,050.00" in text and "€1,800.00" in text and "111" in text and "113" in text
    # June, imported late, fills the gap: it chains to both.
    with app.test_request_context():
        june = bank_import.import_statement(statement(112, 105_000, entry(75_000, "2026-06-10", "C",
                                                                      "NL20INGB0001234567", text="gift"),
                                                  opened="2026-06-01", closed="2026-06-30"), actor=leader)
        assert june.continuity == []


def test_an_overlap_between_statements_of_an_account_is_reported(app, leader, request_context):
    bank_import.import_statement(statement(121, 100_000, entry(5_000, "2026-05-04", "A", "NL20INGB0001234567",
                                                           text="gift")), actor=leader)
    overlapping = bank_import.import_statement(statement(
        122, 90_000, entry(7_000, "2026-05-25", "B", "NL20INGB0001234567", text="gift"),
        opened="2026-05-20", closed="2026-06-20"), actor=leader)
    [message] = overlapping.continuity
    assert "overlap" in str(message) and "121" in str(message) and "122" in str(message)


def test_statements_of_different_accounts_do_not_chain(app, leader, request_context):
    bank_import.import_statement(statement(131, 100_000, entry(5_000, "2026-05-04", "A", "NL20INGB0001234567",
                                                           text="gift")), actor=leader)
    other = bank_import.import_statement(statement(
        132, 900_000, entry(7_000, "2026-06-04", "B", "NL20INGB0001234567", text="gift"),
        opened="2026-06-01", closed="2026-06-30", account="NL95INGB0006512345"), actor=leader)
    assert other.continuity == []


def test_a_camt_statement_100_euros_off_is_refused_whole_naming_both_balances(app, leader, request_context):
    from portal.reconcile import banks

    data = statement(141, 100_000, entry(5_000, "2026-05-04", "A", "NL20INGB0001234567", text="gift"),
                     entry(-1_250, "2026-05-05", "Rabobank", "NL81RABO0312345678", text="kosten"),
                     closing=113_750)   # 1,000.00 + 50.00 - 12.50 is 1,037.50, not 1,137.50
    with pytest.raises(banks.StatementError) as error:
        bank_import.import_statement(data, actor=leader)
    assert "EUR 1,037.50" in str(error.value) and "EUR 1,137.50" in str(error.value)
    assert BankLine.select().count() == 0 and StatementBalance.select().count() == 0


def test_the_giving_desks_form_records_a_part_payment_and_a_kept_surplus_when_chosen(
        app, leader_client, request_for, request_context):
    from portal.giving import service as giving

    short, over = request_for(100_000), request_for(20_000)
    form = {"reference": short.reference, "amount": "400,00", "paid_on": "2026-05-04",
            "bank_line_ref": "stmt 9 line 1"}
    refused = leader_client.post("/giving/leader/bank", data=form)   # the default: nothing recorded
    assert refused.status_code == 422 and "differs from the request" in refused.get_data(as_text=True)
    assert 'value="record"' in refused.get_data(as_text=True)
    assert leader_client.post("/giving/leader/bank", data={**form, "bank_line_ref": "stmt 9 line 2",
                                                           "difference": "record"}).status_code == 302
    assert giving.bank_balance(donation(short.id)).outstanding_cents == 60_000
    assert leader_client.post("/giving/leader/bank", data={
        "reference": over.reference, "amount": "250,00", "paid_on": "2026-05-05", "bank_line_ref": "stmt 9 line 3",
        "difference": "keep"}).status_code == 302
    assert donation(over.id).status == "paid" and money_in_books(over.company_id) == 25_000
    assert ledger.check() == []
