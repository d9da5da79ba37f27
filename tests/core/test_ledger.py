"""The ledger as the project leader and a finance auditor meet it (issue 12).

- A change dated in a closed month (a Stripe refund, a transfer the leader records by hand, an
  hours correction, a chargeback) leaves that month's totals exactly as they were closed and is
  booked in the first open month, naming its own date; the period page lists it.
- A month closes only after it has ended (in Utrecht), and not over a bank line that did not pay
  its request exactly unless the leader explains it; such a line counts in the period's actual.
- `portal ledger check` agrees after each scenario and names a tampered total or a source row
  changed behind the ledger's back; `ledger.rebuild()` gives the same totals per business month.

Every scenario runs on a fixed calendar (time-machine, ticking) so it does not depend on the day
the suite runs: October 2026 is lived through, then closed in November.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
import time_machine
from babel.dates import format_date

from portal.core import ledger
from portal.core.db import database
from portal.core.ledger import ClosedMonth, CompanyTotal, MonthTotal, Posting, Total
from portal.core.money import format_eur
from portal.enrollment import hours
from portal.giving import service as giving
from portal.giving.models import Donation
from portal.reconcile import bank_import, period_close
from portal.reconcile import service as reconcile
from portal.reconcile.models import BankLine, PeriodClose
from tests.core.cli_runner import run_portal
from tests.giving import conftest as giving_fixtures
from tests.reconcile.conftest import camt

# Giving's Stripe environment (localstripe in this process, signed webhooks) for this module.
app_config = giving_fixtures.app_config
stripe_env = giving_fixtures.stripe_env
company_client = giving_fixtures.company_client
started = giving_fixtures.started
_drain_followups = giving_fixtures._drain_followups
request_context = giving_fixtures.request_context  # service calls outside a page render translated text

OCTOBER = dt.date(2026, 10, 1)
NOVEMBER = dt.date(2026, 11, 1)
DECEMBER = dt.date(2026, 12, 1)
IN_OCTOBER = dt.datetime(2026, 10, 28, 11, 0, tzinfo=dt.UTC)   # a Wednesday; Tuesday the 27th had a session
IN_NOVEMBER = dt.datetime(2026, 11, 3, 11, 0, tzinfo=dt.UTC)
DISPUTED_AT = dt.datetime(2026, 10, 29, 11, 0, tzinfo=dt.UTC)   # the chargeback's withdrawal at Stripe
BANK_PAID_ON = dt.date(2026, 10, 30)                            # the date on the bank statement

ALREADY_ENDED = "A month can be closed only after it has ended."

@pytest.fixture(autouse=True)
def calendar():
    """Every test starts on 28 October 2026 (Utrecht) and moves on from there."""
    with time_machine.travel(IN_OCTOBER, tick=True) as traveller:
        yield traveller


@pytest.fixture
def sign_in(sign_in_leader):
    """A fresh client of the project leader, logged in (with her second factor) at the current time."""
    return sign_in_leader


# --- reading the books as a reader would -----------------------------------------------------------

def month_rows(month: dt.date) -> list[tuple]:
    """Every stored total of a month, every column, in a fixed order."""
    return list(Total.select().where(Total.month == month)
                .order_by(Total.company_id, Total.kind, Total.basis, Total.classification, Total.method).tuples())


def corrections_in(month: dt.date) -> list[tuple]:
    """(source, company, dated on, booked on, kind, minutes, value, gross, fee, net) of the corrections booked."""
    return sorted((p.source, p.company_id, p.dated_on, p.booked_on, p.kind, p.minutes, p.value_cents, p.gross_cents,
                   p.fee_cents, p.net_cents) for p in ledger.corrections(month, ledger.month_end(month)))


def late_rows_on_page(page: bytes) -> list[list[str]]:
    """The rows of 'Changes from closed months booked in this period' on the period page."""
    text = page.decode()
    heading = "Changes from closed months booked in this period"
    assert heading in text, "the period page lists no changes from closed months"
    body = text.split(heading, 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def by_business_month() -> dict[tuple, tuple]:
    """Sums of the postings per (company, month of the business date, kind)."""
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(ledger.AMOUNTS))
    for posting in Posting.select():
        row = sums[(posting.company_id, ledger.month_of(posting.dated_on), posting.kind)]
        for i, name in enumerate(ledger.AMOUNTS):
            row[i] += getattr(posting, name)
    return {key: tuple(value) for key, value in sums.items() if any(value)}


def totals_by_month() -> dict[tuple, tuple]:
    """Sums of the maintained totals per (company, month, kind)."""
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(ledger.AMOUNTS))
    for total in Total.select():
        row = sums[(total.company_id, total.month, total.kind)]
        for i, name in enumerate(ledger.AMOUNTS):
            row[i] += getattr(total, name)
    return {key: tuple(value) for key, value in sums.items() if any(value)}


def check_passes(app) -> None:
    result = run_portal(app, "ledger", "check")
    assert result.exit_code == 0, result.output
    assert "ledger agrees with its postings and with every capability's rows" in result.output


def check_fails(app) -> str:
    result = run_portal(app, "ledger", "check")
    assert result.exit_code == 1, result.output
    return result.stderr


# --- the scenario: October lived through and closed, then four late changes dated in it ------------

@dataclass
class LateChanges:
    hours_company: object = None
    bank_company: object = None
    refund_company: object = None
    dispute_company: object = None
    on_time_bank: Donation | None = None
    late_bank: Donation | None = None
    client: object = None                                       # the leader's, logged in on 3 November
    october_closed: list = field(default_factory=list)          # October's totals right after the close
    october_after: dict = field(default_factory=dict)           # ... after each late change
    corrections_after: dict = field(default_factory=dict)       # November's corrections after each late change


def live_october_then_book_late(app, calendar, leader, sign_in, make_company, contribute, stripe_env,
                                started) -> LateChanges:
    s = LateChanges()
    # October: a confirmed session (Tuesday 27th), a transfer paid on time, a payment request still
    # open, two card payments (one refunded at Stripe the same day: its webhook arrives late).
    s.hours_company = make_company("Havik")
    session = contribute.confirmed_session(s.hours_company, 120)
    assert session.worked_on == dt.date(2026, 10, 27) and session.value_cents == 10_000
    s.bank_company = make_company("Valk")
    s.on_time_bank = contribute.paid_by_bank(s.bank_company, 20_000)
    with app.test_request_context():
        s.late_bank, _new = giving.create_donation(
            giving.DonationInput(30_000, "gift", "bank", secrets.token_urlsafe(24)), user=s.bank_company.admin)
    s.refund_company, refunded, refunded_session = started(amount="250")
    refunded_intent = stripe_env.pay(refunded_session)
    assert stripe_env.send("checkout.session.completed", refunded_session).get_json()["outcome"] == "applied"
    stripe_env.refund(refunded_intent, 5_000)
    s.dispute_company, disputed, disputed_session = started(amount="100")
    disputed_intent = stripe_env.pay(disputed_session)
    assert stripe_env.send("checkout.session.completed", disputed_session).get_json()["outcome"] == "applied"
    assert Donation.get_by_id(refunded.id).paid_on == Donation.get_by_id(disputed.id).paid_on == dt.date(2026, 10, 28)

    # 3 November: the leader closes October on the period page.
    calendar.move_to(IN_NOVEMBER)
    client = s.client = sign_in()
    response = client.post("/leader/reconcile/periods", data={
        "kind": "month", "label": "2026-10", "explanation": "October's bank statement and Stripe payouts follow."})
    assert response.status_code == 302, html.unescape(response.get_data(as_text=True))[-3000:]
    assert ledger.is_closed(dt.date(2026, 10, 31)) and not ledger.is_closed(NOVEMBER)
    s.october_closed = month_rows(OCTOBER)
    assert s.october_closed

    def after(step: str) -> None:
        s.october_after[step] = month_rows(OCTOBER)
        s.corrections_after[step] = corrections_in(NOVEMBER)

    # The refund's webhook, delivered now: Stripe dates the refund 28 October.
    assert stripe_env.send("charge.refunded", stripe_env.charge_of(refunded_intent)).get_json()["outcome"] == "applied"
    after("refund")
    # The transfer of 30 October, recorded by hand on the leader's form.
    response = client.post("/giving/leader/bank", data={
        "reference": s.late_bank.reference, "amount": "300,00", "paid_on": BANK_PAID_ON.isoformat(),
        "bank_line_ref": "stmt 44 line 7"})
    assert response.status_code == 302, response.data[:500]
    assert Donation.get_by_id(s.late_bank.id).status == "paid"
    after("bank")
    # The session of 27 October took one hour, not two: reversed and corrected by the leader.
    with app.test_request_context():
        hours.correct_entry(session.id, leader, "The session took one hour", new_minutes=60)
    after("hours")
    # A chargeback: Stripe withdrew the money (and its fee) on 29 October.
    dispute = {"id": "dp_late_1", "object": "dispute", "amount": 10_000, "currency": "eur", "status": "needs_response",
               "reason": "fraudulent", "charge": stripe_env.charge_of(disputed_intent)["id"],
               "payment_intent": disputed_intent,
               "balance_transactions": [{"id": "txn_dp_late_1", "object": "balance_transaction", "amount": -10_000,
                                         "fee": 1_500, "net": -11_500, "currency": "eur",
                                         "created": int(DISPUTED_AT.timestamp())}]}
    stripe_env.transport.disputes[dispute["id"]] = dispute
    assert stripe_env.send("charge.dispute.created", dispute).get_json()["outcome"] == "applied"
    after("dispute")
    return s


@pytest.fixture
def late_changes(app, calendar, leader, sign_in, make_company, contribute, stripe_env, started) -> LateChanges:
    return live_october_then_book_late(app, calendar, leader, sign_in, make_company, contribute, stripe_env, started)


def test_changes_dated_in_a_closed_month_leave_it_as_closed_and_are_booked_in_the_first_open_month(
        app, late_changes, request_context):
    s = late_changes
    october_28, october_27 = dt.date(2026, 10, 28), dt.date(2026, 10, 27)
    refund = ("refund.succeeded", s.refund_company.id, october_28, NOVEMBER, "money", 0, -5_000, -5_000, 0, -5_000)
    bank = ("donation.paid", s.bank_company.id, BANK_PAID_ON, NOVEMBER, "money", 0, 30_000, 30_000, 0, 30_000)
    reversal = ("hours.reversal", s.hours_company.id, october_27, NOVEMBER, "hours_sponsored", -120, -10_000, 0, 0, 0)
    correction = ("hours.correction", s.hours_company.id, october_27, NOVEMBER, "hours_sponsored", 60, 5_000, 0, 0, 0)
    chargeback = ("dispute.withdrawn", s.dispute_company.id, DISPUTED_AT.date(), NOVEMBER, "money", 0, -10_000,
                  -10_000, 1_500, -11_500)
    expected = {"refund": [refund], "bank": [bank], "hours": [reversal, correction], "dispute": [chargeback]}
    booked: list[tuple] = []
    for step, new in expected.items():
        # October's totals: the very rows, every column, as they were when the month was closed.
        assert s.october_after[step] == s.october_closed, f"the {step} changed closed October"
        booked = sorted(booked + new)
        assert s.corrections_after[step] == booked, step

    # What the leader reads for November: the corrections are counted, the money is expected there.
    november = ledger.totals(by=(), start=NOVEMBER, end=ledger.month_end(NOVEMBER),
                             kinds=ledger.CONTRIBUTION_KINDS)[0]
    assert november["corrections"] == 5
    summary = period_close.period_summary("month", "2026-11")
    assert summary.bank_expected_cents == 30_000
    assert summary.stripe_expected_cents == -5_000 - 11_500
    assert not ledger.corrections(OCTOBER, ledger.month_end(OCTOBER)).exists()

    # The period page of November lists each, with its own date, the company and the amount.
    client = s.client
    page = client.get("/leader/reconcile/periods?kind=month&label=2026-11")
    assert page.status_code == 200
    names = {company.id: company.legal_name for company in
             (s.hours_company, s.bank_company, s.refund_company, s.dispute_company)}
    labels = {kind: str(label) for kind, label in ledger.KIND_LABELS.items()}
    shown = sorted(row[:5] for row in late_rows_on_page(page.data))
    assert shown == sorted([format_date(NOVEMBER, "medium", locale="en"), format_date(dated, "medium", locale="en"),
                            names[company], labels[kind], format_eur(value, "en")]
                           for (_source, company, dated, _booked, kind, _m, value, *_rest) in booked)
    october = client.get("/leader/reconcile/periods?kind=month&label=2026-10")
    assert b"Closed on" in october.data and b"Changes from closed months booked in this period" not in october.data

    check_passes(app)


def test_the_running_month_and_a_month_on_its_last_day_cannot_be_closed(app, calendar, leader, sign_in,
                                                                       request_context):
    calendar.move_to(dt.datetime(2026, 11, 15, 11, 0, tzinfo=dt.UTC))
    client = sign_in()
    with pytest.raises(ledger.LedgerError, match=ALREADY_ENDED):
        ledger.close_months(NOVEMBER, NOVEMBER, actor_id=leader.id)
    with pytest.raises(reconcile.ReconcileError, match=ALREADY_ENDED):
        period_close.close_period("month", "2026-11", leader, "nothing to explain")
    with pytest.raises(reconcile.ReconcileError, match=ALREADY_ENDED):
        period_close.close_period("school_year", "2026-2027", leader, "nothing to explain")
    page = client.post("/leader/reconcile/periods", data={"kind": "month", "label": "2026-11", "explanation": "x"})
    assert page.status_code == 200 and ALREADY_ENDED in html.unescape(page.get_data(as_text=True))

    # 30 November, 23:30 in Utrecht (22:30 UTC): the month's last day, not yet over.
    calendar.move_to(dt.datetime(2026, 11, 30, 22, 30, tzinfo=dt.UTC))
    client = sign_in()
    with pytest.raises(ledger.LedgerError, match=ALREADY_ENDED):
        ledger.close_months(NOVEMBER, NOVEMBER, actor_id=leader.id, today=dt.date(2026, 11, 30))
    page = client.post("/leader/reconcile/periods", data={"kind": "month", "label": "2026-11", "explanation": "x"})
    assert page.status_code == 200 and ALREADY_ENDED in html.unescape(page.get_data(as_text=True))
    assert not ClosedMonth.select().exists() and not PeriodClose.select().exists()

    # An hour later it is 1 December in Utrecht (still 30 November in UTC): November closes,
    # December (now running) does not.
    calendar.move_to(dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC))
    page = client.post("/leader/reconcile/periods", data={"kind": "month", "label": "2026-11"})
    assert page.status_code == 302, html.unescape(page.get_data(as_text=True))[-2000:]
    assert ledger.is_closed(dt.date(2026, 11, 30)) and not ledger.is_closed(DECEMBER)
    with pytest.raises(ledger.LedgerError, match=ALREADY_ENDED):
        ledger.close_months(DECEMBER, DECEMBER, actor_id=leader.id)
    check_passes(app)


FLAGGED = {"short": ("Oct 29, 2026", r"€ ?400[.,]00"), "over": ("Oct 30, 2026", r"€ ?1[.,]200[.,]00")}


def names_line(message: str, which: str) -> bool:
    """Whether a refusal names the flagged line by its date and amount (in either number format)."""
    day, amount = FLAGGED[which]
    return re.search(rf"did not pay its request exactly {day} {amount}", message) is not None


def test_an_unexplained_inexact_bank_line_keeps_the_month_open_and_counts_in_its_actual(
        app, calendar, leader, sign_in, make_company, request_context):
    requests = {}
    for name in ("exact", "short", "over"):
        company = make_company(name.title())
        requests[name], _new = giving.create_donation(
            giving.DonationInput(100_000 if name != "exact" else 50_000, "gift", "bank", secrets.token_urlsafe(24)),
            user=company.admin)
    calendar.move_to(dt.datetime(2026, 11, 10, 11, 0, tzinfo=dt.UTC))
    client = sign_in()
    lines = [("500.00", "2026-10-28", "exact"), ("400.00", "2026-10-29", "short"), ("1200.00", "2026-10-30", "over")]
    statement = camt(*[{"amount": amount, "on": on, "ref": f"OCT-{name}", "iban": "NL02ABNA0123456789",
                        "remittance": f"<Strd><CdtrRefInf><Ref>{requests[name].reference}</Ref></CdtrRefInf></Strd>"}
                       for amount, on, name in lines])
    assert bank_import.import_statement(statement, actor=leader).matched == 3
    short, over = (BankLine.get(BankLine.bank_ref == f"OCT-{name}") for name in ("short", "over"))
    assert (short.status, short.outcome, over.status, over.outcome) == ("matched", "partial", "matched", "over")
    assert Donation.get_by_id(requests["exact"].id).status == "paid"
    # Issue 13: the part paid is in the books (the request stays open for the rest); the over-payment
    # settles its request and leaves a surplus of 200.00 to refund or keep.
    assert [Donation.get_by_id(requests[n].id).status for n in ("short", "over")] == ["pending", "paid"]

    # The flagged lines count in October's actual: expected and actual differ by the surplus.
    summary = period_close.period_summary("month", "2026-10")
    assert summary.bank_expected_cents == 50_000 + 40_000 + 100_000
    assert summary.bank_actual_cents == 50_000 + 40_000 + 120_000
    assert summary.difference_cents == 20_000
    items = period_close.items_keeping_open("month", "2026-10")
    assert sorted((item.code, item.amount_cents) for item in items) == sorted(
        [(f"bank_line:{short.id}", 40_000), (f"bank_line:{over.id}", 120_000)])

    # Refused without the leader's word on each flagged line, whatever the general explanation says.
    explanation = "Two companies paid the wrong amount; we agreed to settle it in November."
    with pytest.raises(reconcile.ReconcileError, match="Explain each open item before closing") as refused:
        period_close.close_period("month", "2026-10", leader, explanation)
    assert names_line(str(refused.value), "short") and names_line(str(refused.value), "over")
    with pytest.raises(ledger.LedgerError, match="Explain each open item before closing") as refused:
        ledger.close_months(OCTOBER, OCTOBER, actor_id=leader.id,
                            explanations={f"bank_line:{over.id}": "overpaid, refund agreed"})
    assert names_line(str(refused.value), "short") and not names_line(str(refused.value), "over")
    page = client.post("/leader/reconcile/periods", data={
        "kind": "month", "label": "2026-10", "explanation": explanation,
        f"explain-bank_line:{over.id}": "overpaid, refund agreed"})
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and "Explain each open item before closing" in text
    assert names_line(text, "short") and names_line(text, "over")  # both offered for an explanation
    assert not ClosedMonth.select().exists() and not PeriodClose.select().exists()
    # Each line explained but not the difference they make: still refused.
    word = {f"bank_line:{short.id}": "the rest follows in November", f"bank_line:{over.id}": "overpaid, refund agreed"}
    with pytest.raises(reconcile.ReconcileError, match="explain the difference"):
        period_close.close_period("month", "2026-10", leader, "", word)

    # With both explained, October closes, keeping the explanations and the flagged money in its actual.
    page = client.post("/leader/reconcile/periods", data={
        "kind": "month", "label": "2026-10", "explanation": explanation,
        **{f"explain-{code}": text for code, text in word.items()}})
    assert page.status_code == 302, html.unescape(page.get_data(as_text=True))[-2000:]
    assert ledger.is_closed(OCTOBER)
    assert json.loads(ClosedMonth.get(ClosedMonth.month == OCTOBER).explanations) == word
    period = PeriodClose.get()
    assert (period.expected_cents, period.actual_cents) == (190_000, 210_000)
    check_passes(app)


def test_ledger_check_names_a_tampered_total_and_a_source_row_changed_behind_its_back(app, late_changes):
    s = late_changes
    check_passes(app)
    row = Total.get((Total.company_id == s.bank_company.id) & (Total.month == OCTOBER) & (Total.kind == "money"))
    assert (row.value_cents, row.basis, row.classification, row.method) == (20_000, "at_cost", "gift", "bank")

    database.execute_sql(f"UPDATE ledger_total SET value_cents = value_cents + 1 WHERE id = {row.id}")
    problems = check_fails(app)
    assert (f"ledger_total: company {s.bank_company.id}, 2026-10, money/at_cost/gift/bank: "
            f"value_cents 20001 instead of 20000") in problems
    assert "1 difference(s)" in problems
    database.execute_sql(f"UPDATE ledger_total SET value_cents = value_cents - 1 WHERE id = {row.id}")
    check_passes(app)

    # The desk's company and month totals are checked against the month totals.
    company_total = CompanyTotal.get((CompanyTotal.company_id == s.bank_company.id) & (CompanyTotal.kind == "money"))
    assert company_total.value_cents == sum(t.value_cents for t in Total.select().where(
        (Total.company_id == s.bank_company.id) & (Total.kind == "money")))
    database.execute_sql(f"UPDATE ledger_company_total SET lines = lines + 1 WHERE id = {company_total.id}")
    month_total = MonthTotal.get((MonthTotal.month == OCTOBER) & (MonthTotal.kind == "money"))
    database.execute_sql(f"UPDATE ledger_month_total SET net_cents = net_cents - 5 WHERE id = {month_total.id}")
    problems = check_fails(app)
    assert (f"ledger_company_total: company {s.bank_company.id}, money: "
            f"lines {company_total.lines + 1} instead of {company_total.lines}") in problems
    assert (f"ledger_month_total: 2026-10, money: net_cents {month_total.net_cents - 5} instead of "
            f"{month_total.net_cents}") in problems
    database.execute_sql(f"UPDATE ledger_company_total SET lines = lines - 1 WHERE id = {company_total.id}")
    database.execute_sql(f"UPDATE ledger_month_total SET net_cents = net_cents + 5 WHERE id = {month_total.id}")
    check_passes(app)
    # Each company's count of postings (what SROI's kept figures compare) is checked too.
    database.execute_sql(f"UPDATE ledger_company_total SET postings = postings + 1 WHERE id = {company_total.id}")
    assert f"ledger_company_total: company {s.bank_company.id}: " in check_fails(app)
    database.execute_sql(f"UPDATE ledger_company_total SET postings = postings - 1 WHERE id = {company_total.id}")
    check_passes(app)

    # A paid donation's amount changed in its own table, past giving's service and the ledger. By
    # business month October holds the on-time transfer and the one recorded late (dated 30 October).
    database.execute_sql("UPDATE giving_donation SET amount_cents = amount_cents + 100, net_cents = net_cents + 100 "
                         f"WHERE id = {s.on_time_bank.id}")
    problems = check_fails(app)
    assert (f"ledger_posting: company {s.bank_company.id}, 2026-10, money/at_cost/gift/bank: value_cents 50000 "
            f"instead of 50100, gross_cents 50000 instead of 50100, net_cents 50000 instead of 50100") in problems
    assert "1 difference(s)" in problems


def test_rebuild_gives_the_same_totals_per_business_month(app, late_changes):
    before_by_business_month = by_business_month()
    grand = defaultdict(lambda: [0] * len(ledger.AMOUNTS))
    for (company, _month, kind), sums in totals_by_month().items():
        grand[(company, kind)] = [a + b for a, b in zip(grand[(company, kind)], sums, strict=True)]
    assert {company for company, _month, _kind in before_by_business_month} == {
        c.id for c in (late_changes.hours_company, late_changes.bank_company, late_changes.refund_company,
                       late_changes.dispute_company)}

    stored = list(Total.select().order_by(Total.id).tuples())
    company_totals = set(CompanyTotal.select(CompanyTotal.company_id, CompanyTotal.kind, CompanyTotal.postings, *[
        getattr(CompanyTotal, name) for name in ledger.AMOUNTS]).tuples())
    with app.test_request_context(headers={"Accept-Language": "en"}):
        # With October closed, a rebuild would move its late changes back into it: refused.
        with pytest.raises(ledger.LedgerError, match="once a month is closed"):
            ledger.rebuild()
    assert list(Total.select().order_by(Total.id).tuples()) == stored  # the refusal changed nothing
    ClosedMonth.delete().execute()  # a copy of the data without closes (the demo's case)
    with app.test_request_context():
        count = ledger.rebuild()
    assert count == Posting.select().count() > 0
    # Booked on their own dates again: every total per company, business month and kind is as before.
    assert totals_by_month() == before_by_business_month
    after_grand = defaultdict(lambda: [0] * len(ledger.AMOUNTS))
    for (company, _month, kind), sums in totals_by_month().items():
        after_grand[(company, kind)] = [a + b for a, b in zip(after_grand[(company, kind)], sums, strict=True)]
    assert dict(after_grand) == {key: value for key, value in grand.items() if any(value)}
    assert ledger.check() == []
    # Each company's totals for all time and its count of postings come out of a rebuild as they went in.
    assert set(CompanyTotal.select(CompanyTotal.company_id, CompanyTotal.kind, CompanyTotal.postings, *[
        getattr(CompanyTotal, name) for name in ledger.AMOUNTS]).tuples()) == company_totals
    check_passes(app)

