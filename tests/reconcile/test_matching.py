"""Matching on the fixtures: reference first, then payout, amount + account, description."""

from __future__ import annotations

import json

import pytest

from portal.core.audit import AuditLog
from portal.reconcile import bank_import, line_matching, service, work_list
from portal.reconcile.matching import LineFacts, OpenItem, OpenItems
from portal.reconcile.models import BankLine, BankStatement, KnownIban, StripePayout

from .conftest import BANK_FILES, fixture_bytes


@pytest.mark.parametrize("name", BANK_FILES)
def test_each_bank_export_matches_the_story(story, items, leader, name):
    result = bank_import.import_statement(fixture_bytes(name), filename=name, actor=leader)
    assert (result.lines_total, result.lines_new, result.matched) == (8, 8, 6)
    lines = {line.amount_cents: line for line in BankLine.select()}
    expect = {
        25000: ("test:1", "reference", "exact"),
        40000: ("test:2", "reference", "partial"),
        12000: ("test:3", "reference", "over"),
        7500: ("test:4", "iban_amount", "exact"),
        6000: ("test:5", "description", "exact"),
        123456: ("payout:po_1TestPayoutA", "payout", "exact"),
    }
    for amount, (target, method, outcome) in expect.items():
        line = lines[amount]
        assert (line.status, line.target, line.match_method, line.outcome) == ("matched", target, method, outcome), amount
    assert lines[40000].expected_cents == 100000
    assert lines[12000].expected_cents == 10000
    assert lines[3300].status == "unmatched" and lines[-1250].status == "unmatched"
    assert StripePayout.get(StripePayout.payout_id == "po_1TestPayoutA").bank_line_id == lines[123456].id
    assert sorted(key for key, _line, _amount in items.settled) == ["test:1", "test:2", "test:3", "test:4", "test:5"]
    assert KnownIban.get(KnownIban.iban == "NL02ABNA0123456789").company_id == story["acme"].id
    # One audit row per import (issue 19): it counts what it matched automatically.
    [imported] = AuditLog.select().where(AuditLog.action == "reconcile.statement_imported")
    assert json.loads(imported.details)["matched"] == 6
    assert AuditLog.select().where(AuditLog.action == "reconcile.line_matched").count() == 0


@pytest.mark.parametrize("name", ["ing_camt053.xml", "rabobank_mt940.swi", "abnamro.tab"])
def test_reimporting_the_same_statement_adds_nothing(story, leader, name):
    first = bank_import.import_statement(fixture_bytes(name), filename=name, actor=leader)
    audit_rows = AuditLog.select().count()
    again = bank_import.import_statement(fixture_bytes(name), filename=name, actor=leader)
    assert first.lines_new == 8
    assert again.duplicate and again.lines_new == 0 and again.statement is None
    assert BankLine.select().count() == 8
    assert BankStatement.select().count() == 1
    assert AuditLog.select().count() == audit_rows


def test_an_overlapping_statement_adds_only_its_new_lines(story, leader):
    text = fixture_bytes("ing.csv").decode().splitlines()
    bank_import.import_statement("\n".join(text[:5]).encode(), filename="first.csv", actor=leader)
    result = bank_import.import_statement("\n".join([text[0]] + text[3:]).encode(), filename="second.csv", actor=leader)
    assert (result.lines_total, result.lines_new) == (6, 4)
    assert BankLine.select().count() == 8


def test_unmatched_lines_get_suggestions(story, leader):
    bank_import.import_statement(fixture_bytes("ing_camt053.xml"), actor=leader)
    rows, total = work_list.line_queue("unmatched")
    assert total == 2
    coffee = next(r for r in rows if r.line.amount_cents == 3300)
    assert [item.key for item in coffee.suggestions] == ["test:6"]


def test_matching_by_hand_unmatching_and_setting_aside_are_audited(story, items, leader, request_context):
    bank_import.import_statement(fixture_bytes("ing_camt053.xml"), actor=leader)
    coffee = BankLine.get(BankLine.amount_cents == 3300)
    costs = BankLine.get(BankLine.amount_cents == -1250)
    line = line_matching.match_line(coffee.id, "test:6", leader, note="confirmed by phone")
    assert (line.status, line.match_method, line.outcome, line.settlement) == ("matched", "manual", "exact", "recorded")
    with pytest.raises(service.ReconcileError):
        line_matching.match_line(coffee.id, "test:6", leader)
    with pytest.raises(service.ReconcileError):
        line_matching.unmatch_line(coffee.id, leader, "")
    line = line_matching.unmatch_line(coffee.id, leader, "wrong company")
    assert (line.status, line.target, line.outcome) == ("unmatched", "", "")
    with pytest.raises(service.ReconcileError):
        line_matching.match_line(coffee.id, "RF000000000000", leader)
    line_matching.ignore_line(costs.id, leader, "bank costs")
    assert BankLine.get_by_id(costs.id).status == "ignored"
    actions = [row.action for row in AuditLog.select().order_by(AuditLog.id)]
    assert actions[-3:] == ["reconcile.line_matched", "reconcile.line_unmatched", "reconcile.line_ignored"]


def test_a_debit_cannot_pay_an_open_item(story, leader, request_context):
    bank_import.import_statement(fixture_bytes("ing_camt053.xml"), actor=leader)
    costs = BankLine.get(BankLine.amount_cents == -1250)
    with pytest.raises(service.ReconcileError):
        line_matching.match_line(costs.id, "test:6", leader)


def test_a_payout_unmatched_by_hand_is_free_again(story, leader, request_context):
    bank_import.import_statement(fixture_bytes("ing_camt053.xml"), actor=leader)
    line = BankLine.get(BankLine.amount_cents == 123456)
    line_matching.unmatch_line(line.id, leader, "check")
    assert StripePayout.get(StripePayout.payout_id == "po_1TestPayoutA").bank_line_id is None


def test_the_engine_is_linear_in_structure():
    """Each line costs dictionary look-ups: the index answers without scanning the items."""
    items = [OpenItem(key=f"i:{n}", kind="request", amount_cents=1000 + n, reference="", company_id=n)
             for n in range(2000)]
    index = OpenItems(items, {f"NL{n}": n for n in range(2000)})
    lines = [LineFacts(n, 1000 + n, counterparty_iban=f"NL{n}") for n in range(2000)]
    matches = index.match(lines)
    assert len(matches) == 2000 and all(m.item.key == f"i:{m.line_id}" and m.method == "iban_amount" for m in matches)
