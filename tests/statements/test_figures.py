"""A statement's figures against sums worked out by hand, and the periods it can cover."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core import hooks
from portal.statements import periods, service, snapshots
from portal.statements.periods import PeriodError
from portal.statements.sroi import SroiClaim, SroiLine

D = dt.date


@pytest.fixture
def company(make_company):
    return make_company("Domstad", language="nl")


def fill(ledger, company):
    # Sponsored at EUR 50/h: 7:00 = 350.00, 7:30 = 375.00, 8:00 = 400.00
    ledger.hours(company, D(2026, 1, 5), 420, "Anna de Vries")
    ledger.hours(company, D(2026, 1, 12), 450, "Anna de Vries")
    ledger.hours(company, D(2026, 1, 5), 480, "Bram Jansen")
    ledger.hours(company, D(2026, 1, 5), 420, "Eva El Amrani", sponsored=False)
    ledger.money(company, D(2026, 3, 2), 250_000, reference="RF18539007547034")
    ledger.money(company, D(2026, 4, 2), 50_000, fee=1_025, method="stripe", classification="sponsoring", reference="pi_1")
    ledger.money(company, D(2026, 5, 2), -10_000, method="stripe", reference="re_1", description="Refund")
    ledger.material(company, D(2026, 2, 10), 189_900)


def test_totals_per_kind_match_hand_computed_sums(app, ledger, no_sroi, company):
    fill(ledger, company)
    snapshot = snapshots.build_snapshot(company, periods.calendar_year(2026), issued_on=D(2026, 11, 28))
    t = snapshot["totals"]

    assert t["hours_sponsored"]["minutes"] == 420 + 450 + 480 == 1350
    assert t["hours_sponsored"]["value_by_basis"] == {"employer_cost": 35_000 + 37_500 + 40_000}
    assert [(p["person"], p["minutes"], p["value_cents"]) for p in t["hours_sponsored"]["people"]] == [
        ("Anna de Vries", 870, 72_500), ("Bram Jansen", 480, 40_000)]
    # Volunteered hours are hours only: no value anywhere.
    assert t["hours_volunteered"]["minutes"] == 420
    assert t["hours_volunteered"]["people"] == [
        {"person": "Eva El Amrani", "person_key": "", "basis": "none", "lines": 1, "minutes": 420, "value_cents": 0}]

    money = t["money"]
    assert money["gross_cents"] == 250_000 + 50_000 - 10_000 == 290_000
    assert money["fee_cents"] == 1_025
    assert money["net_cents"] == 290_000 - 1_025 == 288_975
    assert money["refunds_cents"] == -10_000
    # Gifts and sponsoring are kept apart; the refund reduces the gifts.
    assert money["by_classification"]["gift"]["gross_cents"] == 240_000
    assert money["by_classification"]["sponsoring"] == {"gross_cents": 50_000, "fee_cents": 1_025,
                                                        "net_cents": 48_975, "lines": 1}
    assert t["material"]["value_cents"] == 189_900
    assert t["material"]["by_classification"] == {"gift": {"value_cents": 189_900, "lines": 1}}


def test_only_this_company_and_period(app, ledger, no_sroi, company, make_company):
    other = make_company("Other")
    ledger.hours(company, D(2025, 12, 31), 60, "Anna")      # before the period
    ledger.hours(company, D(2026, 1, 1), 60, "Anna")        # first day: in
    ledger.hours(company, D(2026, 12, 31), 120, "Anna")     # last day: in
    ledger.hours(company, D(2027, 1, 1), 60, "Anna")        # after
    ledger.hours(other, D(2026, 6, 1), 600, "Someone else")
    snapshot = snapshots.build_snapshot(company, periods.calendar_year(2026), issued_on=D(2027, 1, 5))
    assert snapshot["totals"]["hours_sponsored"]["minutes"] == 180
    assert {line["person"] for line in snapshot["lines"]} == {"Anna"}
    assert snapshot["company"]["name"] == "Domstad B.V."
    assert snapshot["language"] == "nl"


def test_issuer_details_come_from_configuration(app, ledger, no_sroi, company):
    app.config.update(ISSUER_NAME="Stichting Test", ISSUER_RSIN="812345678", ISSUER_ANBI=True,
                      ISSUER_IBAN="NL02ABNA0123456789", ISSUER_KVK="87654321", ISSUER_ADDRESS="Straat 1, Utrecht")
    ledger.money(company, D(2026, 3, 2), 1000)
    snapshot = snapshots.build_snapshot(company, periods.calendar_year(2026), issued_on=D(2026, 11, 28))
    assert snapshot["issuer"] == {"name": "Stichting Test", "address": "Straat 1, Utrecht", "kvk": "87654321",
                                  "rsin": "812345678", "anbi": True, "iban": "NL02ABNA0123456789"}


def test_sroi_claims_come_from_a_registered_provider(app, ledger, company):
    hours = ledger.hours(company, D(2026, 2, 2), 480, "Anna")
    calls = []

    def provider(company_id, start, end):
        calls.append((company_id, start, end))
        return [SroiClaim("Gemeente Utrecht · 2026-14", "Utrecht building blocks; EUR 100 per hour",
                          (SroiLine(hours.key, hours.on, hours.kind, hours.description, "Anna", minutes=480,
                                    value_cents=80_000),)),
                SroiClaim("Empty commitment", "at cost", ())]

    hooks.connect(app, hooks.STATEMENT_CLAIMS, provider)
    snapshot = snapshots.build_snapshot(company, periods.school_year(2025), issued_on=D(2026, 11, 28))
    assert calls == [(company.id, D(2025, 8, 1), D(2026, 7, 31))]
    assert len(snapshot["sroi"]) == 1  # a commitment without lines in the period is left out
    assert snapshot["sroi"][0]["value_cents"] == 80_000
    assert snapshot["sroi"][0]["lines"][0]["key"] == hours.key


def test_periods():
    assert periods.calendar_year(2026) == periods.Period("calendar_year", D(2026, 1, 1), D(2026, 12, 31))
    assert periods.school_year(2026) == periods.Period("school_year", D(2026, 8, 1), D(2027, 7, 31))
    assert periods.school_year_of(D(2026, 7, 31)) == 2025
    assert periods.school_year_of(D(2026, 8, 1)) == 2026
    assert periods.parse_school_year("2026-2027") == periods.parse_school_year("2026/27") == 2026
    assert periods.custom(D(2026, 3, 1), D(2026, 5, 31)).slug == "2026-03-01_2026-05-31"
    with pytest.raises(PeriodError) as error:
        periods.custom(D(2026, 5, 1), D(2026, 3, 1))
    assert error.value.field == "end"
    with pytest.raises(PeriodError):
        periods.custom(D(2020, 1, 1), D(2026, 1, 1))
    with pytest.raises(PeriodError):
        periods.parse_school_year("2026-2028")
    with pytest.raises(PeriodError):
        periods.calendar_year(1999)


def test_verification_code_shape():
    codes = {service.new_verification_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 10 and set(c) <= set(service.CODE_ALPHABET) for c in codes)
    assert service.normalise_code(" abcde-23456 ") == "ABCDE23456"
    assert service.display_code("ABCDE23456") == "ABCDE-23456"
