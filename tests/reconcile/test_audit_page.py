"""The project leader's audit log as a page people read (issues 12 and 21): who and which company
by name, details as labelled values with amounts in euros, filters by name, and the hash chain
walked nightly or on request instead of on every view of a log that grows with every change."""

from __future__ import annotations

import re

from portal.core import audit
from portal.core.audit import AuditCheck, AuditLog
from portal.core.db import atomic_write
from tests.querycount import logged_queries


def _record(action: str, *, actor=None, company=None, **details) -> AuditLog:
    with atomic_write():
        return audit.record(action, actor=actor, company=company, **details)


def test_rows_name_the_person_and_company_and_print_details_in_words(app, leader_client, leader, make_company):
    acme = make_company("Acme")
    _record("donation.paid", actor=acme.admin, company=acme, amount_cents=125000, via="bank")
    page = leader_client.get("/leader/audit").get_data(as_text=True)
    row = re.search(r"<tr><td>\d+</td>.*?Donation paid.*?</tr>", page, re.S).group(0)
    assert "Acme Admin" in row and "Acme B.V." in row
    assert "amount: €1,250.00" in row and "via: bank" in row
    assert "125000" not in row and "amount_cents" not in row


def test_dutch_readers_get_dutch_labels_and_dutch_amounts(app, leader_client, leader, make_company):
    acme = make_company("Acme")
    _record("donation.paid", actor=acme.admin, company=acme, amount_cents=125000, via="bank")
    leader.language = "nl"
    leader.save()
    page = leader_client.get("/leader/audit").get_data(as_text=True)
    assert "Donatie betaald" in page and "bedrag: € 1.250,00" in page
    assert "Donation paid" not in page


def test_filters_by_a_persons_name_and_by_company(app, leader_client, leader, make_company):
    acme, brug = make_company("Acme"), make_company("Brug")
    _record("donation.paid", actor=acme.admin, company=acme, amount_cents=1000)
    _record("donation.paid", actor=brug.admin, company=brug, amount_cents=2000)
    by_name = leader_client.get("/leader/audit?actor=brug+adm").get_data(as_text=True)
    assert "Brug Admin" in by_name and "Acme Admin" not in by_name and "1 row." in by_name
    by_company = leader_client.get(f"/leader/audit?company={acme.id}").get_data(as_text=True)
    assert "Acme Admin" in by_company and "Brug Admin" not in by_company


def test_a_view_reads_the_last_check_and_never_walks_the_chain(app, leader_client, leader, make_company):
    acme = make_company("Acme")
    for n in range(30):
        _record("donation.paid", actor=acme.admin, company=acme, amount_cents=100 + n)
    leader_client.post("/leader/audit/check", data={})
    check = AuditCheck.select().order_by(AuditCheck.id.desc()).get()
    assert check.broken_at is None and check.rows == AuditLog.select().count() and check.requested_by == leader.id
    _record("donation.paid", actor=acme.admin, company=acme, amount_cents=999)
    with logged_queries() as seen:
        page = leader_client.get("/leader/audit").get_data(as_text=True)
    assert "1 row was written since and is checked next time." in page
    # Only the newest page of rows is read: no query reads the whole log's hashes.
    assert not [q for q in seen.queries if "row_hash" in q]


def test_the_nightly_task_keeps_what_it_found(app):
    with atomic_write():
        audit.record("user.login")
    audit.check_nightly()
    assert audit.last_check().rows == 1 and audit.last_check().broken_at is None
