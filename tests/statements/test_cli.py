"""`portal statements issue`: bulk issue with a progress bar, and nothing twice on a second run."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

import portal
from portal.cli import main
from portal.core import clock
from portal.statements.models import Statement

D = dt.date


@pytest.fixture
def run(app, monkeypatch, no_sroi):
    monkeypatch.setattr(portal, "create_app", lambda: app)  # the command builds no app of its own here
    monkeypatch.setattr(clock, "today", lambda: D(2027, 1, 15))

    def invoke(*args):
        return CliRunner().invoke(main, ["statements", *args], catch_exceptions=False)

    return invoke


def test_bulk_issue_then_nothing_twice(run, ledger, make_company):
    a, b, quiet = make_company("Alpha"), make_company("Beta"), make_company("Quiet")
    ledger.money(a, D(2026, 3, 2), 1000)
    ledger.hours(b, D(2026, 5, 6), 420, "Bo")
    ledger.money(quiet, D(2025, 3, 2), 1000)  # another year

    first = run("issue", "--year", "2026")
    assert first.exit_code == 0, first.output
    assert "statements 2026" in first.output  # the progress bar's label
    assert "2 issued, 0 already had a statement" in first.output
    assert sorted(s.number for s in Statement.select()) == ["OA-2027-0001", "OA-2027-0002"]

    second = run("issue", "--year", "2026")
    assert second.exit_code == 0
    assert "0 issued, 2 already had a statement" in second.output
    assert Statement.select().count() == 2


def test_one_company_by_kvk_and_bad_options(run, ledger, make_company):
    a, b = make_company("Alpha"), make_company("Beta")
    ledger.money(a, D(2026, 3, 2), 1000)
    ledger.money(b, D(2026, 3, 2), 1000)
    result = run("issue", "--year", "2026", "--company", b.kvk)
    assert "1 issued" in result.output
    assert [s.company_id for s in Statement.select()] == [b.id]
    assert run("issue", "--year", "2026", "--company", "99999999").exit_code != 0
    assert run("issue").exit_code != 0
    assert run("issue", "--year", "2026", "--school-year", "2026-2027").exit_code != 0


def test_school_year_and_check(run, ledger, make_company):
    a = make_company("Alpha")
    ledger.money(a, D(2025, 9, 2), 1000)
    assert "1 issued" in run("issue", "--school-year", "2025-2026").output
    assert "0 of 1 issued statements need a correction" in run("check").output
    ledger.money(a, D(2025, 10, 2), -1000, description="Refund")
    assert "1 of 1 issued statements need a correction" in run("check").output
