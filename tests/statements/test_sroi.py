"""SROI allocations on a statement through the real SROI service (the built-in adapter)."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.sroi import service as sroi
from portal.statements import after_issue, periods, service, snapshots
from tests.pdftext import assert_in_pdf, pdf_text

D = dt.date


@pytest.fixture
def commitment(app, make_company):
    company = make_company("Bouw", language="nl")
    with app.test_request_context():
        made = sroi.create_commitment(company.admin, sroi.CommitmentInput(
            authority="Gemeente Utrecht", contract_reference="UTR-2026-001", description="",
            base_type="contract_value_excl_vat", base_cents=100_000_000, percentage_bp=500, cap_cents=None,
            period_start_on=D(2026, 8, 1), period_end_on=D(2027, 7, 31), deadline_on=D(2027, 9, 30)),
            "utrecht-bouwblokken")
    return company, made


def test_allocations_appear_with_their_claimed_value(app, ledger, commitment):
    company, made = commitment
    hours = ledger.hours(company, D(2026, 9, 7), 480, "Anna de Vries")       # 8:00 at EUR 100/h = 800.00
    gift = ledger.money(company, D(2026, 10, 1), 50_000)                      # counts at cost
    ledger.money(company, D(2026, 10, 2), 7_000)                              # not allocated
    with app.test_request_context():
        sroi.set_allocation(company.admin, made.id, hours.key, 480)
        sroi.set_allocation(company.admin, made.id, gift.key, 20_000)

    # The school year so far (a running school year gets no statement, a custom period does).
    statement = service.issue(company, periods.custom(D(2026, 8, 1), D(2026, 11, 28)), today=D(2026, 11, 29))
    snapshot = snapshots.snapshot_of(statement)
    (claim,) = snapshot["sroi"]
    assert claim["commitment"] == "Gemeente Utrecht · UTR-2026-001"
    assert claim["value_cents"] == 80_000 + 20_000
    assert {(line["key"], line["minutes"], line["cents"], line["value_cents"]) for line in claim["lines"]} == {
        (hours.key, 480, 0, 80_000), (gift.key, 0, 20_000, 20_000)}
    text = pdf_text(statement.pdf_bytes)
    for value in ("UTR-2026-001", "€ 1.000,00", "€ 800,00"):
        assert_in_pdf(value, text)

    # Allocations outside the statement's period are not on it.
    assert snapshots.build_snapshot(company, periods.calendar_year(2025), issued_on=D(2026, 11, 28))["sroi"] == []

    # Changing an allocation after issue makes the statement need a correction.
    assert not after_issue.needs_correction(statement)
    with app.test_request_context():
        sroi.set_allocation(company.admin, made.id, gift.key, 30_000)
    changes = after_issue.changes(statement)
    assert [(c.change, c.kind) for c in changes] == [("changed", "money")]
    assert after_issue.needs_correction(statement)


def test_statements_work_without_any_allocation_provider(app, ledger, no_sroi, make_company):
    company = make_company("Plain")
    ledger.money(company, D(2026, 3, 1), 1000)
    snapshot = snapshots.build_snapshot(company, periods.calendar_year(2026), issued_on=D(2026, 11, 28))
    assert snapshot["sroi"] == []
