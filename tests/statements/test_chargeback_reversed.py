"""A chargeback that was reversed is no refund on the statement (issue 14).

Giving reports a chargeback as a negative money line (the money withdrawn, with Stripe's dispute
fee) and, when the dispute is won, the money reinstated as a positive line. The statement's
total of money nets the two; its "including refunds of" counts real refunds and chargebacks that
stand, never one whose money came back. The lines come from giving's own contributions source.
"""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core.db import utcnow
from portal.giving.models import Dispute, Donation, Refund
from portal.statements import periods, service, snapshots
from tests.pdftext import assert_in_pdf, assert_not_in_pdf, pdf_text

D = dt.date


@pytest.fixture
def paid(no_sroi):
    """A paid donation of a company (online by card, or by bank), as giving stores it."""
    count = {"n": 0}

    def pay(company, cents: int, on: dt.date, *, fee: int = 0, method: str = "stripe") -> Donation:
        count["n"] += 1
        now = utcnow()
        return Donation.create(
            company=company.id, via="portal", donor_name=company.legal_name, donor_kvk=company.kvk,
            donor_email=company.admin.email, method=method, amount_cents=cents, classification="gift",
            status="paid", form_token=f"chargeback-{company.id}-{count['n']}", paid_on=on, paid_at=now,
            stripe_payment_intent_id=f"pi_{company.id}_{count['n']}" if method == "stripe" else None,
            fee_cents=fee if method == "stripe" else None, net_cents=cents - fee if method == "stripe" else None)

    return pay


def dispute(donation: Donation, withdrawn_on: dt.date, *, reinstated_on: dt.date | None = None,
            fee: int = 2_000) -> Dispute:
    """A chargeback of the whole donation with Stripe's EUR 20 dispute fee; won (money and fee back) when
    `reinstated_on` is given."""
    won = reinstated_on is not None
    return Dispute.create(
        donation=donation.id, stripe_dispute_id=f"dp_{donation.id}", amount_cents=donation.amount_cents,
        status="won" if won else "lost", withdrawn_cents=donation.amount_cents, withdrawn_fee_cents=fee,
        withdrawn_on=withdrawn_on, reinstated_cents=donation.amount_cents if won else None,
        reinstated_fee_cents=-fee if won else None, reinstated_on=reinstated_on)


def test_a_won_dispute_is_not_a_refund_but_a_lost_one_and_a_refund_are(app, make_company, paid):
    company = make_company("Betwist", language="nl")
    won = paid(company, 250_000, D(2025, 3, 3), fee=3_775)                # EUR 2,500.00 by card
    refunded = paid(company, 50_000, D(2025, 4, 1), fee=29)               # EUR 500.00 by iDEAL
    lost = paid(company, 25_000, D(2025, 5, 6), fee=400)                  # EUR 250.00 by card
    paid(company, 80_000, D(2025, 6, 2), method="bank")                   # EUR 800.00 by bank
    dispute(won, D(2025, 4, 10), reinstated_on=D(2025, 6, 12))            # the money came back
    dispute(lost, D(2025, 7, 1))                                          # the money stays gone
    Refund.create(donation=refunded.id, stripe_refund_id="re_1", amount_cents=10_000, status="succeeded",
                  fee_cents=0, net_cents=-10_000, succeeded_on=D(2025, 5, 1))   # EUR 100.00 given back

    statement = service.issue(company, periods.calendar_year(2025), today=D(2026, 1, 8))
    money = snapshots.snapshot_of(statement)["totals"]["money"]
    # 2,500 + 500 + 250 + 800 paid; -2,500 and +2,500 for the won dispute; -250 lost; -100 refunded.
    assert money["gross_cents"] == 250_000 + 50_000 + 25_000 + 80_000 - 25_000 - 10_000 == 370_000
    assert money["refunds_cents"] == -(10_000 + 25_000)                  # not -2,850.00
    assert money["lines"] == 8

    text = pdf_text(statement.pdf_bytes)
    assert_in_pdf("€ 3.700,00", text)
    assert_in_pdf("inclusief terugbetalingen van € -350,00", text)
    assert_not_in_pdf("€ -2.850,00", text)
    assert_in_pdf("€ -2.500,00", text)    # the chargeback and its reversal stay on paper as lines
    assert_in_pdf("€ 2.500,00", text)


def test_a_reversal_in_a_later_year_does_not_lower_that_years_refunds(app, make_company, paid):
    company = make_company("Laat", language="en")
    december = paid(company, 100_000, D(2025, 12, 1), fee=1_525)          # EUR 1,000.00 by card
    dispute(december, D(2025, 12, 20), reinstated_on=D(2026, 1, 15))      # won after new year
    january = paid(company, 40_000, D(2026, 1, 20), fee=625)
    Refund.create(donation=january.id, stripe_refund_id="re_2", amount_cents=15_000, status="succeeded",
                  fee_cents=0, net_cents=-15_000, succeeded_on=D(2026, 2, 3))

    # At the end of 2025 the chargeback stood: it is that year's refund.
    year_2025 = service.issue(company, periods.calendar_year(2025), today=D(2026, 1, 8))
    assert snapshots.snapshot_of(year_2025)["totals"]["money"]["refunds_cents"] == -100_000
    # 2026 has the money back and one real refund of EUR 150.00; the reversal is no negative refund.
    custom = periods.custom(D(2026, 1, 1), D(2026, 3, 31))
    money = snapshots.snapshot_of(service.issue(company, custom, today=D(2026, 4, 2)))["totals"]["money"]
    assert money["gross_cents"] == 100_000 + 40_000 - 15_000
    assert money["refunds_cents"] == -15_000


def test_refunds_of_every_snapshot_shape_are_counted_from_its_lines(app):
    """The rule on lines as snapshots keep them: codes (version 2 on) or the English sentences of
    version 1, whose keys name the dispute as giving always did."""
    def line(key, gross, what="", description=""):
        return {"kind": "money", "key": key, "gross_cents": gross, "what": what, "description": description}

    coded = [line("donation:4", 50_000, "donation"), line("donation:4:dispute:9:withdrawn", -50_000, "chargeback"),
             line("donation:4:dispute:9:reinstated", 50_000, "chargeback_reversed"),
             line("donation:5:refund:2", -7_500, "refund")]
    worded = [line("donation:4", 50_000, description="Gift: reading books"),
              line("donation:4:dispute:9:withdrawn", -50_000, description="Chargeback of G-000004"),
              line("donation:4:dispute:9:reinstated", 50_000, description="Chargeback of G-000004 reversed"),
              line("donation:5:refund:2", -7_500, description="Refund of G-000005")]
    for lines in (coded, worded):
        assert snapshots.refunds_of(lines) == -7_500
    # A reversal alone (its chargeback in an earlier period) counts for nothing.
    assert snapshots.refunds_of([coded[2], coded[3]]) == -7_500
