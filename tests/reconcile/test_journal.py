# ruff: noqa: F811  (pytest fixtures imported from giving are named again as test parameters)
"""The bookkeeper's journal (issue 14): double-entry lines per day from the books, Stripe's payouts
and the bank; every day balances; CSV for Dutch and English Excel, XLSX with real dates and numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from portal.core import clock
from portal.core.audit import AuditLog
from portal.reconcile import bank_import, journal, work_list
from portal.reconcile.models import BankLine, StripePayout
from tests.giving.conftest import app_config, company_client, started, stripe_env  # noqa: F401
from tests.reconcile.test_stripe_sync import localstripe_url  # noqa: F401 (localstripe in a child process)


def read_csv(data: bytes, delimiter: str) -> list[dict]:
    assert data.startswith("\ufeff".encode())            # UTF-8 with a byte-order mark
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def dutch_cents(text: str) -> int:
    """'1234,56' as Dutch Excel reads it; '' is nothing."""
    if not text:
        return 0
    assert "." not in text, text                          # no decimal point, no thousands separator
    return int(Decimal(text.replace(",", ".")) * 100)


def lines_of(built: journal.Journal) -> list[tuple[str, int, int]]:
    return [(line.account, line.debit_cents, line.credit_cents) for line in built.lines]


# --- the demo's books ------------------------------------------------------------------------------

@pytest.fixture
def demo_books(app, monkeypatch):
    """The portal's own demo (companies, hours, donations with a refund, materials), as `portal demo`
    makes it; the SROI and statements steps are left out: they add nothing to the books."""
    from portal import demo

    monkeypatch.setattr(demo, "DEMO_STEPS", ("portal.enrollment.demo", "portal.giving.demo"))
    with app.test_request_context():
        demo.fill(scale=1)


def test_every_day_of_the_demo_journal_balances_and_adds_up_to_the_demo_money(app, demo_books, leader_client):
    from portal.giving.models import Donation, MaterialPledge, Refund

    today = clock.today()
    start = today - dt.timedelta(days=400)
    response = leader_client.get(f"/leader/reconcile/journal/download?start={start}&end={today}&format=csv_nl")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = read_csv(response.data, ";")
    by_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_account: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        debit, credit = dutch_cents(row["Debit"]), dutch_cents(row["Credit"])
        assert (debit > 0) != (credit > 0), row               # each line is a debit or a credit
        by_day[row["Date"]][0] += debit
        by_day[row["Date"]][1] += credit
        by_account[row["GL code"]][0] += debit
        by_account[row["GL code"]][1] += credit
    assert len(by_day) >= 5
    assert all(debit == credit for debit, credit in by_day.values()), by_day
    assert len({row["Line"] for row in rows}) == len(rows)

    # The lines add up to the demo's own rows, read without the journal.
    paid = list(Donation.select().where(Donation.status == "paid"))
    stripe_paid = [d for d in paid if d.method == "stripe"]
    refunds = list(Refund.select().where(Refund.status == "succeeded"))
    assert stripe_paid and refunds and any(d.method == "bank" for d in paid)
    assert by_account["4510"] == [sum(d.fee_cents for d in stripe_paid), 0]
    assert by_account["1100"] == [sum(d.amount_cents for d in paid if d.method == "bank"), 0]
    assert by_account["1110"] == [sum(d.net_cents for d in stripe_paid), sum(r.amount_cents for r in refunds)]
    income = sum(d.amount_cents for d in paid) - sum(r.amount_cents for r in refunds)
    assert (by_account["8000"][1] + by_account["8010"][1]) - (by_account["8000"][0] + by_account["8010"][0]) == income
    materials = sum(p.confirmed_value_cents for p in MaterialPledge.select().where(MaterialPledge.status == "confirmed"))
    assert materials > 0 and by_account["8100"] == [0, materials] and by_account["4600"] == [materials, 0]
    # Hours are not money: no line carries them, the memo does.
    with app.test_request_context():
        built = journal.build(start, today)
    assert built.unbalanced == [] and built.memo and sum(m.value_cents for m in built.memo) > 0
    assert {m.kind for m in built.memo} <= {"hours_sponsored", "hours_volunteered"}
    assert AuditLog.select().where(AuditLog.action == "reconcile.exported").count() == 1


# --- one gift, its refund and its payout, through the portal's own paths ----------------------------

def test_a_stripe_gift_its_refund_and_the_payout_to_the_bank(app, stripe_env, started, leader):
    _company, donation, session = started(amount="250")
    intent = stripe_env.pay(session)
    charge = stripe_env.charge_of(intent)
    stripe_env.transport.fees[charge["balance_transaction"]] = 387      # EUR 3.87: 1.5% + EUR 0.12
    assert stripe_env.send("checkout.session.completed", session).status_code == 200
    today = clock.today()
    with app.test_request_context():
        built = journal.build(today, today)
        number = f"G-{donation.id:06d}"
        assert lines_of(built) == [("1110", 24613, 0), ("4510", 387, 0), ("8000", 0, 25000)]
        assert all(number in line.description and "Payment received" in line.description for line in built.lines)
        assert [line.account_name for line in built.lines] == ["Stripe clearing account", "Stripe fees",
                                                               "Income from gifts"]

        stripe_env.refund(intent, 5_000)
        assert stripe_env.send("charge.refunded", stripe_env.charge_of(intent)).get_json()["outcome"] == "applied"
        built = journal.build(today, today)
        assert lines_of(built)[3:] == [("1110", 0, 5000), ("8000", 5000, 0)]
        assert "Refund" in built.lines[3].description

        # Stripe pays out what it holds (246.13 - 50.00); the bank statement shows it two days later.
        payout_day = today + dt.timedelta(days=2)
        StripePayout.create(payout_id="po_1JournalTest", amount_cents=19613, status="paid",
                            arrival_on=payout_day - dt.timedelta(days=1))
        camt = ('<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
                '<BkToCstmrStmt><Stmt><Id>1</Id><Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct><Ntry>'
                f'<Amt Ccy="EUR">196.13</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>{payout_day}</Dt></BookgDt>'
                '<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>STRIPE</Nm></Dbtr></RltdPties><RmtInf><Ustrd>STRIPE '
                'po_1JournalTest</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>')
        assert bank_import.import_statement(camt.encode(), actor=leader).matched == 1
        assert BankLine.get().target == "payout:po_1JournalTest"
        built = journal.build(today, payout_day)
        payout = [line for line in built.lines if line.what == "payout"]
        assert [(line.on, line.account, line.debit_cents, line.credit_cents) for line in payout] == [
            (payout_day, "1100", 19613, 0), (payout_day, "1110", 0, 19613)]
        stripe_balance = sum(line.debit_cents - line.credit_cents for line in built.lines if line.account == "1110")
        assert stripe_balance == 0                       # everything Stripe held went to the bank
        assert built.unbalanced == []


def test_a_chargeback_and_its_reversal(app, stripe_env, started):
    """The bank of the payer takes EUR 250 back with Stripe's EUR 15 dispute fee; the dispute is won
    the next day and both come back."""
    _company, _donation, session = started(amount="250")
    intent = stripe_env.pay(session)
    stripe_env.send("checkout.session.completed", session)
    charge = stripe_env.charge_of(intent)["id"]
    withdrawn = dt.datetime(2026, 9, 21, 10, 0, tzinfo=dt.UTC)

    def dispute(status, movements):
        return {"id": "dp_journal_1", "object": "dispute", "amount": 25_000, "currency": "eur", "status": status,
                "reason": "fraudulent", "charge": charge, "payment_intent": intent,
                "balance_transactions": [{"id": f"txn_dp_{i}", "object": "balance_transaction", "amount": amount,
                                          "fee": fee, "net": amount - fee, "currency": "eur",
                                          "created": int((withdrawn + dt.timedelta(days=i)).timestamp())}
                                         for i, (amount, fee) in enumerate(movements)]}

    stripe_env.transport.disputes["dp_journal_1"] = dispute("needs_response", [(-25_000, 1_500)])
    assert stripe_env.send("charge.dispute.created", stripe_env.transport.disputes["dp_journal_1"]).status_code == 200
    stripe_env.transport.disputes["dp_journal_1"] = dispute("won", [(-25_000, 1_500), (25_000, -1_500)])
    assert stripe_env.send("charge.dispute.closed", stripe_env.transport.disputes["dp_journal_1"]).status_code == 200
    with app.test_request_context():
        built = journal.build(dt.date(2026, 9, 21), dt.date(2026, 9, 22))
    assert [(line.on.day, line.what, line.account, line.debit_cents, line.credit_cents) for line in built.lines] == [
        (21, "chargeback", "1110", 0, 26_500), (21, "chargeback", "4510", 1_500, 0), (21, "chargeback", "8000", 25_000, 0),
        (22, "chargeback_reversed", "1110", 26_500, 0), (22, "chargeback_reversed", "4510", 0, 1_500),
        (22, "chargeback_reversed", "8000", 0, 25_000)]
    assert built.unbalanced == []


# --- files -----------------------------------------------------------------------------------------

@pytest.fixture
def books(app, make_company):
    """A bank gift, a sponsoring payment online with its fee, and materials, posted as giving posts them."""
    from portal.core import ledger
    from portal.core.db import atomic_write

    acme = make_company("Acme")
    with atomic_write():
        ledger.post(company_id=acme.id, dated_on=dt.date(2026, 5, 4), kind="money", key="donation:1",
                    source="donation.paid", basis="at_cost", classification="gift", method="bank",
                    value_cents=125_000, gross_cents=125_000, net_cents=125_000, reference="RF422026000001")
        ledger.post(company_id=acme.id, dated_on=dt.date(2026, 5, 4), kind="money", key="donation:2",
                    source="donation.paid", basis="at_cost", classification="sponsoring", method="stripe",
                    value_cents=10_000, gross_cents=10_000, fee_cents=175, net_cents=9_825, reference="pi_1")
        ledger.post(company_id=acme.id, dated_on=dt.date(2026, 5, 20), kind="material", key="material:1",
                    source="material.confirmed", basis="market_value", classification="gift", method="in_kind",
                    value_cents=80_000)
        ledger.post(company_id=acme.id, dated_on=dt.date(2026, 5, 21), kind="hours_sponsored", key="hours:1",
                    source="hours.confirmed", basis="employer_cost", minutes=420, value_cents=35_000,
                    person="Anna de Vries")
    return acme


def test_the_dutch_csv_has_semicolons_decimal_commas_and_dutch_headers(app, books, sign_in_leader):
    from portal.accounts.models import User

    client = sign_in_leader()
    User.update(language="nl").where(User.role == "leader").execute()
    response = client.get("/leader/reconcile/journal/download?start=2026-05-01&end=2026-05-31&format=csv_nl")
    assert response.status_code == 200
    assert 'filename="journal-20260501-20260531.csv"' in response.headers["Content-Disposition"]
    rows = read_csv(response.data, ";")
    header = list(rows[0])
    assert header[0] == "Datum" and header[2] == "Regel" and header[3] == "Grootboekrekening"
    assert not any("_" in name for name in header), header
    cells = [tuple(r[header[i]] for i in (0, 3, 5, 6)) for r in rows]
    assert cells == [
        ("2026-05-04", "1100", "1250,00", ""), ("2026-05-04", "8000", "", "1250,00"),
        ("2026-05-04", "1110", "98,25", ""), ("2026-05-04", "4510", "1,75", ""), ("2026-05-04", "8010", "", "100,00"),
        ("2026-05-20", "4600", "800,00", ""), ("2026-05-20", "8100", "", "800,00"),
    ]                                                     # the hours of 21 May are no line: not money
    assert rows[0][header[4]] == "Bank" and "Acme B.V." in rows[0]["Omschrijving"]


def test_the_english_csv_has_commas_and_decimal_points(app, books, leader_client):
    response = leader_client.get("/leader/reconcile/journal/download?start=2026-05-04&end=2026-05-04&format=csv_en")
    rows = read_csv(response.data, ",")
    assert [(r["GL code"], r["Debit"], r["Credit"]) for r in rows] == [
        ("1100", "1250.00", ""), ("8000", "", "1250.00"), ("1110", "98.25", ""), ("4510", "1.75", ""),
        ("8010", "", "100.00")]


def test_the_xlsx_journal_holds_dates_numbers_and_the_hours_memo(app, books, leader_client):
    response = leader_client.get("/leader/reconcile/journal/download?start=2026-05-01&end=2026-05-31&format=xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    sheet, memo = book.worksheets
    header = [cell.value for cell in sheet[1]]
    first = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    assert first["Date"].is_date and first["Date"].value.date() == dt.date(2026, 5, 4)
    assert first["Debit"].data_type == "n" and first["Debit"].value == 1250
    assert "€" in first["Debit"].number_format
    debits = [row[header.index("Debit")] or 0 for row in sheet.iter_rows(min_row=2, values_only=True)]
    credits = [row[header.index("Credit")] or 0 for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sum(debits) == sum(credits) == Decimal("2150")
    memo_rows = list(memo.iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[3], r[4]) for r in memo_rows] == [("Sponsored hours", 7, 350)]


def test_an_unbalanced_day_is_flagged_and_nothing_is_downloaded(app, books, leader_client, make_company):
    from portal.core import ledger
    from portal.core.db import atomic_write

    with atomic_write():   # a posting whose gross is not its net and fee: a fault in someone's figures
        ledger.post(company_id=books.id, dated_on=dt.date(2026, 5, 12), kind="money", key="donation:3",
                    source="donation.paid", basis="at_cost", classification="gift", method="stripe",
                    value_cents=5_000, gross_cents=5_000, fee_cents=100, net_cents=4_800)
    response = leader_client.get("/leader/reconcile/journal/download?start=2026-05-01&end=2026-05-31&format=xlsx",
                                 follow_redirects=True)
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "does not balance on 2026-05-12" in page
    assert 'value="2026-05-01"' in page and 'value="2026-05-31"' in page      # the period stays filled in
    assert "debit €49.00, credit €50.00" in page
    assert AuditLog.select().where(AuditLog.action == "reconcile.exported").count() == 0


def test_the_page_shows_the_totals_per_account_and_is_in_the_reconcile_navigation(app, books, leader_client):
    page = leader_client.get("/leader/reconcile/journal?start=2026-05-01&end=2026-05-31").get_data(as_text=True)
    assert "7 journal lines" in page and "2 days" in page and "Every day balances" in page
    assert "Materials passed on to schools" in page and "4600" in page
    desk = leader_client.get("/leader/reconcile").get_data(as_text=True)
    assert 'href="/leader/reconcile/journal"' in desk
    bad = leader_client.get("/leader/reconcile/journal?start=2026-05-31&end=2026-05-01").get_data(as_text=True)
    assert "The first day comes after the last day." in bad


def test_a_late_posting_of_a_closed_month_is_booked_in_the_first_open_month(app, books, leader_client):
    from portal.core import ledger
    from portal.core.db import atomic_write

    ledger.ClosedMonth.create(month=dt.date(2026, 5, 1))
    with atomic_write():
        ledger.post(company_id=books.id, dated_on=dt.date(2026, 5, 28), kind="money", key="donation:4",
                    source="donation.paid", basis="at_cost", classification="gift", method="bank",
                    value_cents=7_500, gross_cents=7_500, net_cents=7_500)
    with app.test_request_context():
        may = journal.build(dt.date(2026, 5, 1), dt.date(2026, 5, 31))
        june = journal.build(dt.date(2026, 6, 1), dt.date(2026, 6, 30))
    assert len(may.lines) == 7                                   # the closed month's journal is unchanged
    assert [(line.on, line.account, line.debit_cents) for line in june.lines] == [
        (dt.date(2026, 6, 1), "1100", 7500), (dt.date(2026, 6, 1), "8000", 0)]
    assert "2026-05-28" in june.lines[0].description


def test_company_users_do_not_reach_the_journal(app, books, make_company, login):
    other = make_company("Other")
    client = login(app.test_client(), other.admin)
    for path in ("/leader/reconcile/journal", "/leader/reconcile/journal/download?start=2026-05-01&end=2026-05-31"):
        assert client.get(path).status_code == 404


def test_a_transfer_beyond_the_request_is_owed_until_kept_as_a_gift(app, make_company, leader):
    """EUR 550 for a EUR 500 request: 500 is income, 50 is owed to the company (issue 13) until it
    agrees to leave it as a gift; then the 50 becomes income too."""
    import secrets

    from portal.giving import service as giving

    from .conftest import camt

    company = make_company("Overmaker")
    with app.test_request_context():
        donation, _new = giving.create_donation(
            giving.DonationInput(50_000, "gift", "bank", secrets.token_urlsafe(24)), user=company.admin)
        statement = camt({"amount": "550.00", "on": "2026-05-06", "ref": "BANK-9", "iban": "NL02ABNA0123456789",
                          "remittance": f"<Strd><CdtrRefInf><Ref>{donation.reference}</Ref></CdtrRefInf></Strd>"})
        assert bank_import.import_statement(statement, actor=leader).matched == 1
        may = journal.build(dt.date(2026, 5, 1), dt.date(2026, 5, 31))
        assert sorted(lines_of(may)) == [("1100", 5000, 0), ("1100", 50000, 0), ("1610", 0, 5000), ("8000", 0, 50000)]
        assert may.unbalanced == []
        work_list.keep_surplus(donation.id, leader)
        today = clock.today()
        kept = journal.build(today, today)
        assert lines_of(kept) == [("1610", 5000, 0), ("8000", 0, 5000)]
        assert "Surplus kept as a gift" in kept.lines[0].description


# --- the audit round's findings: VAT, public gifts awaiting a decision, closed months -------------

def _bank_request(make_company, leader, cents: int, paid_on: dt.date, classification: str = "gift",
                  received: int | None = None, line: str = "CAMT journal"):
    import secrets

    from portal.giving import service as giving
    from portal.giving.models import Donation

    company = make_company(f"Journaal{Donation.select().count()}")
    donation, _new = giving.create_donation(
        giving.DonationInput(cents, classification, "bank", secrets.token_urlsafe(24)), user=company.admin)
    result = giving.record_bank_payment(donation.reference, received or cents, paid_on, leader, line)
    assert result.status in ("paid", "paid_with_surplus"), result
    return company, Donation.get_by_id(donation.id)


def balance(built: journal.Journal, *roles: str) -> int:
    return sum(line.debit_cents - line.credit_cents for line in built.lines if line.role in roles)


def test_a_credit_note_on_a_sponsoring_invoice_takes_its_vat_back_from_the_vat_account(app, make_company, leader):
    """EUR 1,210.00 of sponsoring paid on 20 November (invoice: 1,000.00 + 210.00 VAT); EUR 605.00 sent
    back by bank on 24 November (credit note: 500.00 + 105.00 VAT)."""
    from portal.giving import receipts
    from portal.giving import service as giving
    from portal.giving.models import CreditNote, Invoice

    app.config["ISSUER_VAT_NUMBER"] = "NL001234567B01"
    with app.test_request_context():
        _company, donation = _bank_request(make_company, leader, 121_000, dt.date(2026, 11, 20), "sponsoring")
        receipts.document(donation, "receipt")
        assert giving.record_bank_refund(donation.reference, 60_500, dt.date(2026, 11, 24), leader,
                                         "CAMT back").status == "refund_recorded"
        built = journal.build(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    invoice, note = Invoice.get(), CreditNote.get()
    assert (invoice.vat_cents, note.vat_cents) == (21_000, 10_500)
    assert built.unbalanced == []
    assert balance(built, "vat") == -(21_000 - 10_500)
    assert balance(built, "sponsoring") == -(100_000 - 50_000)
    assert balance(built, "bank") == 121_000 - 60_500
    assert {line.account for line in built.lines if line.role == "vat"} == {"1500"}
    assert any("VAT on sponsoring" in line.description for line in built.lines)


def test_an_invoice_made_after_the_close_books_its_vat_in_the_first_open_month(app, make_company, leader,
                                                                             monkeypatch):
    from portal.core import ledger
    from portal.giving import receipts
    from portal.giving import service as giving

    app.config["ISSUER_VAT_NUMBER"] = "NL001234567B01"
    monkeypatch.setattr(giving, "schedule_receipts", lambda *args, **kwargs: None)   # no receipt mailed yet
    november = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    with app.test_request_context():
        _company, donation = _bank_request(make_company, leader, 121_000, dt.date(2026, 11, 20), "sponsoring")
        closed = lines_of(journal.build(*november))
        ledger.ClosedMonth.create(month=november[0])
        receipts.document(donation, "receipt")       # the invoice is made now, after November closed
        assert lines_of(journal.build(*november)) == closed == [("1100", 121_000, 0), ("8010", 0, 121_000)]
        december = journal.build(dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert december.unbalanced == []
    assert [(line.on, line.account, line.debit_cents, line.credit_cents) for line in december.lines] == [
        (dt.date(2026, 12, 1), "8010", 21_000, 0), (dt.date(2026, 12, 1), "1500", 0, 21_000)]
    assert all(line.original_on == dt.date(2026, 11, 20) for line in december.lines)


def _public_gift(app, make_company, leader, cents_text: str, paid_on: dt.date):
    from portal.giving import service as giving
    from portal.giving.models import Donation
    from tests.giving.conftest import public_form

    existing = make_company("Genoemd")
    response = app.test_client().post("/give", data=public_form(method="bank", amount=cents_text, kvk=existing.kvk))
    assert response.status_code == 302, response.data[:400]
    donation = Donation.select().order_by(Donation.id.desc()).get()
    assert giving.mark_paid_by_bank(donation.reference, donation.amount_cents, paid_on, leader, "CAMT public").applied
    return Donation.get_by_id(donation.id)


def test_a_public_gift_waits_in_its_own_account_and_is_income_once_accepted(app, make_company, leader):
    """EUR 750.00 for a public gift naming an existing company, received on 20 November: in the bank
    and in the account of gifts awaiting the company's decision; accepted, it is gift income, once."""
    from portal.core import ledger
    from portal.giving import gifts

    day = dt.date(2026, 11, 20)
    with app.test_request_context():
        donation = _public_gift(app, make_company, leader, "750,00", day)
        waiting = journal.build(day, day)
        assert sorted(lines_of(waiting)) == [("1100", 75_000, 0), ("1620", 0, 75_000)]
        assert "awaiting the company's decision" in waiting.lines[0].description
        gifts.decide_gift(leader, donation.id, accept=True)
        accepted = journal.build(day, day)
    assert accepted.unbalanced == []
    assert balance(accepted, "bank") == 75_000 and balance(accepted, "awaiting") == 0
    assert balance(accepted, "gifts") == -75_000 == -ledger.totals(by=(), kinds=("money",))[0]["gross_cents"]


def test_a_gift_declined_after_its_month_closed_becomes_income_in_the_first_open_month(app, make_company, leader):
    from portal.core import ledger
    from portal.giving import gifts

    november = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    with app.test_request_context():
        donation = _public_gift(app, make_company, leader, "400,00", dt.date(2026, 11, 20))
        closed = lines_of(journal.build(*november))
        ledger.ClosedMonth.create(month=november[0])
        gifts.decide_gift(leader, donation.id, accept=False)
        assert lines_of(journal.build(*november)) == closed == [("1100", 40_000, 0), ("1620", 0, 40_000)]
        december = journal.build(dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert [(line.on, line.account, line.debit_cents, line.credit_cents) for line in december.lines] == [
        (dt.date(2026, 12, 1), "1620", 40_000, 0), (dt.date(2026, 12, 1), "8000", 0, 40_000)]


def test_a_payout_matched_after_the_close_moves_to_its_bank_date_in_the_open_month(app, leader):
    """The payout stays on Stripe's arrival date in closed November; December reverses it and books it
    on the bank's date: over both months the bank holds it once, and every day balances."""
    from portal.core import ledger

    StripePayout.create(payout_id="po_1JournalMove", amount_cents=19_613, status="paid",
                        arrival_on=dt.date(2026, 11, 29), synced_at=dt.datetime(2026, 11, 29, 6, 0))
    ledger.ClosedMonth.create(month=dt.date(2026, 11, 1), closed_at=dt.datetime(2026, 12, 2, 9, 0))
    statement = camt_payout("196.13", "2026-12-01", "po_1JournalMove")
    with app.test_request_context():
        assert bank_import.import_statement(statement, actor=leader).matched == 1
    BankLine.update(matched_at=dt.datetime(2026, 12, 3, 10, 0)).execute()
    december = journal.build(dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert december.unbalanced == []
    assert [(line.entry, line.role, line.debit_cents, line.credit_cents) for line in december.lines] == [
        ("payout:po_1JournalMove:moved", "bank", 0, 19_613), ("payout:po_1JournalMove:moved", "stripe", 19_613, 0),
        ("payout:po_1JournalMove:bank", "bank", 19_613, 0), ("payout:po_1JournalMove:bank", "stripe", 0, 19_613)]
    both = journal.build(dt.date(2026, 11, 1), dt.date(2026, 12, 31))
    assert balance(both, "bank") == 19_613 == -balance(both, "stripe")


def camt_payout(amount: str, on: str, payout_id: str) -> bytes:
    from .conftest import camt

    return camt({"amount": amount, "on": on, "ref": "BANK-PO", "iban": "NL02ABNA0123456789",
                 "remittance": f"<Ustrd>STRIPE {payout_id}</Ustrd>"})


def test_a_surplus_refunded_then_its_line_undone_stays_in_the_closed_month(app, make_company, leader):
    """EUR 1,300.00 on a EUR 1,250.00 request on 20 November, the EUR 50.00 surplus sent back on 24
    November, November closed; the refund line undone on 3 December: November is as closed, December
    takes the refund back."""
    from portal.core import ledger
    from portal.giving import service as giving

    november = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    with app.test_request_context():
        _company, donation = _bank_request(make_company, leader, 125_000, dt.date(2026, 11, 20), received=130_000,
                                           line="CAMT over 2")
        assert giving.record_bank_refund(donation.reference, 5_000, dt.date(2026, 11, 24), leader,
                                         "CAMT surplus back").status == "refund_recorded"
        closed = [(line.line_id, line.account, line.debit_cents, line.credit_cents)
                  for line in journal.build(*november).lines]
        ledger.ClosedMonth.create(month=november[0])
        assert giving.undo_bank_line("CAMT surplus back", leader, "not ours").status == "undone"
        assert [(line.line_id, line.account, line.debit_cents, line.credit_cents)
                for line in journal.build(*november).lines] == closed
        december = journal.build(dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert [(line.account, line.debit_cents, line.credit_cents, line.original_on) for line in december.lines] == [
        ("1100", 5_000, 0, dt.date(2026, 11, 24)), ("1610", 0, 5_000, dt.date(2026, 11, 24))]
    assert "Surplus undone" in december.lines[0].description
