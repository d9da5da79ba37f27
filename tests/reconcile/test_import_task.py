"""Bank statements imported in the background (issue 20) and fast (issue 19).

A large upload is kept in the database and imported by the task queue: the page answers at once
("import queued") and shows the job queued, running, then done with its counts, or failed with
the file's error in the reader's language and nothing of it stored. The same file twice adds
nothing, and is recognised before its transactions are read; an import writes one audit row that
names every line it added, and the chain still verifies.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from portal.core import audit, hooks, tasks
from portal.core.audit import AuditLog
from portal.reconcile import bank_import, banks, jobs
from portal.reconcile.matching import OpenItem
from portal.reconcile.models import BankImportJob, BankLine, BankStatement, StatementBalance
from tests.conftest import work_off

from .conftest import fixture_bytes

ACCOUNT = "NL81RABO0312345678"
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>{message}</MsgId><CreDtTm>2026-06-01T06:00:00</CreDtTm></GrpHdr>
<Stmt><Id>2026-05</Id><ElctrncSeqNb>5</ElctrncSeqNb><Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{opening}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2026-05-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2026-05-31</Dt></Dt></Bal>
"""
ENTRY = """<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{on}</Dt></BookgDt>
<AcctSvcrRef>MAY-{n:05d}</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Donor {n}</Nm></Dbtr>
<DbtrAcct><Id><IBAN>NL02ABNA0123456789</IBAN></Id></DbtrAcct></RltdPties>
<RmtInf><Ustrd>gift OA-J-{n:05d}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
"""


def euros(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def may_statement(count: int, *, message: str = "RABO-1", closing_off_by: int = 0) -> bytes:
    """Rabobank's May statement: `count` gifts of EUR 25.00 and up, each naming its request (OA-J-n)."""
    amounts = [2500 + n for n in range(count)]
    entries = "".join(ENTRY.format(amount=euros(a), on=f"2026-05-{1 + n % 28:02d}", n=n)
                      for n, a in enumerate(amounts))
    head = HEAD.format(message=message, account=ACCOUNT, opening=euros(100000),
                       closing=euros(100000 + sum(amounts) + closing_off_by))
    return (head + entries + "</Stmt></BkToCstmrStmt></Document>\n").encode()


class Requests:
    """Open payment requests for the May statement (a third left unpaid), and what was settled."""

    def __init__(self, count: int) -> None:
        self.items = [OpenItem(key=f"job:{n}", kind="request", amount_cents=2500 + n, label=f"Request {n}",
                               aliases=(f"OA-J-{n:05d}",)) for n in range(count) if n % 3]
        self.settled: list[str] = []
        self.during: list[str] = []   # the job's status seen while the import ran
        self.fail_with: Exception | None = None

    def source(self):
        done = set(self.settled)
        return [item for item in self.items if item.key not in done]

    def settle(self, item, line, actor):
        if self.fail_with is not None:
            raise self.fail_with
        self.during.extend(job.status for job in BankImportJob.select(BankImportJob.status))
        self.settled.append(item.key)
        return "recorded"


@pytest.fixture
def requests_for_may(app):
    requests = Requests(30)
    hooks.connect(app, hooks.OPEN_ITEMS, requests.source)
    hooks.connect(app, hooks.SETTLERS, lambda: {"job": requests.settle})
    return requests


@pytest.fixture
def queue_every_file(app):
    app.config["RECONCILE_BACKGROUND_IMPORT_KB"] = 0


def upload(client, data: bytes, name: str = "mei.xml", *, follow_redirects: bool = False):
    return client.post("/leader/reconcile/import", content_type="multipart/form-data",
                       data={"statement": (io.BytesIO(data), name), "format": "auto", "encoding": "utf-8"},
                       follow_redirects=follow_redirects)


# --- queued, running, done ----------------------------------------------------------------------

def test_a_large_upload_is_queued_and_a_worker_imports_it(leader_client, requests_for_may, queue_every_file,
                                                          real_queue):
    data = may_statement(30)
    response = upload(leader_client, data)
    assert response.status_code == 302 and "#background-imports" in response.headers["Location"]
    page = leader_client.get(response.headers["Location"])
    assert b"Import queued" in page.data and b"Queued</span>" in page.data and b"mei.xml" in page.data
    job = BankImportJob.get()
    assert (job.status, job.size, bytes(job.data)) == ("queued", len(data), data)
    assert BankLine.select().count() == 0 and tasks.queued_count() == 1

    assert work_off(real_queue) == 1
    assert set(requests_for_may.during) == {"running"}   # the page said "running" while it ran
    job = BankImportJob.get()
    assert (job.status, job.lines_total, job.lines_new, job.matched) == ("done", 30, 30, 20)
    assert job.data is None and job.active_sha256 is None and job.statement_id == BankStatement.get().id
    assert BankLine.select().where(BankLine.status == "matched").count() == 20
    page = leader_client.get("/leader/reconcile/import")
    assert b"Done</span>" in page.data and b"30 new lines, 20 matched automatically." in page.data
    assert b"Refresh to see the progress" not in page.data


def test_the_same_file_waits_once(leader_client, requests_for_may, queue_every_file, real_queue):
    data = may_statement(6)
    upload(leader_client, data)
    again = upload(leader_client, data)
    assert again.status_code == 200 and b"already waiting to be imported" in again.data
    assert BankImportJob.select().count() == 1 and tasks.queued_count() == 1


def test_in_immediate_mode_the_queued_import_is_done_by_the_time_the_page_shows(leader_client, requests_for_may,
                                                                                queue_every_file):
    page = upload(leader_client, may_statement(9), follow_redirects=True)
    assert b"Import queued" in page.data
    assert b"9 new lines, 6 matched automatically." in page.data and b"Match the rest" in page.data


def test_a_small_file_is_still_imported_at_once(leader_client, requests_for_may):
    page = upload(leader_client, may_statement(3), follow_redirects=True)
    assert b"3 new lines imported (of 3 in the file); 2 matched automatically." in page.data
    assert BankImportJob.select().count() == 0 and BankLine.select().count() == 3


def test_a_company_cannot_upload(app, make_company, login, queue_every_file):
    acme = make_company("Acme")
    client = login(app.test_client(), acme.admin)
    assert upload(client, may_statement(3)).status_code == 404
    assert BankImportJob.select().count() == 0


# --- failures -----------------------------------------------------------------------------------

def test_a_file_that_does_not_add_up_fails_in_the_readers_language_and_stores_nothing(
        app, leader, leader_client, requests_for_may, queue_every_file):
    page = upload(leader_client, may_statement(12, closing_off_by=1), follow_redirects=True)
    assert b"Failed</span>" in page.data and b"The CAMT.053 file does not add up" in page.data
    job = BankImportJob.get()
    assert job.status == "failed" and job.data is None and job.active_sha256 is None
    assert BankLine.select().count() == 0 and BankStatement.select().count() == 0
    assert requests_for_may.settled == []
    leader.language = "nl"
    leader.save()
    page = leader_client.get("/leader/reconcile/import")
    assert b"Het CAMT.053-bestand klopt niet" in page.data and b"does not add up" not in page.data
    # The corrected file is imported (the failed one holds no claim on it).
    page = upload(leader_client, may_statement(12), follow_redirects=True)
    assert BankLine.select().count() == 12


def test_an_unexpected_error_leaves_nothing_half_imported_and_can_be_tried_again(
        leader_client, requests_for_may, queue_every_file):
    requests_for_may.fail_with = RuntimeError("giving is down")
    page = upload(leader_client, may_statement(12), follow_redirects=True)
    assert b"Failed</span>" in page.data and b"unexpected error; nothing of the file was imported" in page.data
    assert BankLine.select().count() == 0 and BankStatement.select().count() == 0
    assert AuditLog.select().where(AuditLog.action == "reconcile.statement_imported").count() == 0
    job = BankImportJob.get()
    assert job.status == "failed" and job.data is not None   # kept for "try again"
    [failure] = tasks.failures()
    assert failure["name"] == "portal.reconcile.jobs.run_import"
    tasks_page = leader_client.get("/leader/tasks")
    assert b"Importing a bank statement" in tasks_page.data

    requests_for_may.fail_with = None
    tried = leader_client.post(f"/leader/tasks/{failure['id']}/retry", data={}, follow_redirects=True)
    assert b"The task is queued again." in tried.data
    job = BankImportJob.get()
    assert (job.status, job.lines_new, job.matched, job.data) == ("done", 12, 8, None)
    assert BankLine.select().count() == 12


def test_a_job_whose_worker_died_is_imported_again_by_the_sweep(app, leader, requests_for_may, real_queue):
    data = may_statement(6)
    with app.test_request_context():
        job = jobs.queue_import(data, filename="mei.xml", actor=leader)
    real_queue.huey.dequeue()   # a worker took it and was killed before it finished
    BankImportJob.update(status="running", attempts=1,
                         started_at=dt.datetime(2026, 6, 1, 8, 0)).where(BankImportJob.id == job.id).execute()
    with app.app_context():
        assert jobs.sweep_import_jobs() == 0   # running for long: queued again, handed over once it waited
        assert BankImportJob.get_by_id(job.id).status == "queued"
        BankImportJob.update(created_at=dt.datetime(2026, 6, 1, 8, 0), started_at=None).execute()
        assert jobs.sweep_import_jobs() == 1
    work_off(real_queue)
    job = BankImportJob.get_by_id(job.id)
    assert (job.status, job.attempts, job.lines_new) == ("done", 2, 6)


# --- the same file twice ------------------------------------------------------------------------

def test_the_same_file_again_adds_nothing_and_queues_nothing(leader_client, requests_for_may, queue_every_file):
    data = may_statement(9)
    upload(leader_client, data)
    page = upload(leader_client, data, name="mei-opnieuw.xml", follow_redirects=True)
    assert b"This statement was imported before" in page.data and b"(mei.xml)" in page.data
    assert BankImportJob.select().count() == 1 and BankLine.select().count() == 9
    assert BankStatement.select().count() == 1


def test_a_statement_downloaded_again_is_known_before_its_transactions_are_read(
        leader, requests_for_may, request_context, monkeypatch):
    first = bank_import.import_statement(may_statement(9), filename="mei.xml", actor=leader)
    rows = AuditLog.select().count()

    def read_everything(_self):
        raise AssertionError("the transactions were read")

    monkeypatch.setattr(banks.StatementFile, "parse", read_everything)
    again = bank_import.import_statement(may_statement(9, message="RABO-2"), filename="mei (1).xml", actor=leader)
    assert again.duplicate and again.statement is None and again.earlier.id == first.statement.id
    assert BankLine.select().count() == 9 and AuditLog.select().count() == rows


def test_an_mt940_statement_downloaded_again_is_known_by_its_balances(leader, items, request_context,
                                                                      monkeypatch):
    data = fixture_bytes("rabobank_mt940.swi")
    first = bank_import.import_statement(data, filename="rabo.swi", actor=leader)
    assert first.lines_new == 8 and StatementBalance.select().count() == 1
    monkeypatch.setattr(banks.StatementFile, "parse", lambda _self: pytest.fail("the transactions were read"))
    again = bank_import.import_statement(data.replace(b":20:", b":20:X", 1), filename="rabo2.swi", actor=leader)
    assert again.earlier.id == first.statement.id and again.lines_new == 0


def test_a_file_with_a_statement_not_seen_before_is_read_whole(leader, requests_for_may, request_context):
    bank_import.import_statement(may_statement(6), filename="mei.xml", actor=leader)
    longer = bank_import.import_statement(may_statement(9, message="RABO-2"), filename="mei-compleet.xml", actor=leader)
    # Other balances: another statement, so its lines are read; the six already here are skipped.
    assert (longer.lines_total, longer.lines_new) == (9, 3)


# --- one audit row per import -------------------------------------------------------------------

def test_one_audit_row_names_every_line_the_import_added_and_the_chain_verifies(leader, requests_for_may,
                                                                               request_context):
    newest = AuditLog.select(AuditLog.id).order_by(AuditLog.id.desc()).scalar() or 0
    result = bank_import.import_statement(may_statement(30), filename="mei.xml", actor=leader)
    [row] = AuditLog.select().where(AuditLog.id > newest)
    assert row.action == "reconcile.statement_imported" and row.actor_id == leader.id
    details = json.loads(row.details)
    listed = {i for first, last in details["line_ids"] for i in range(first, last + 1)}
    assert listed == {line.id for line in BankLine.select()} and details["new"] == 30
    matched = {i for first, last in details["matched_ids"] for i in range(first, last + 1)}
    assert matched == {line.id for line in BankLine.select().where(BankLine.status == "matched")}
    assert details["matched"] == result.matched == 20 and details["methods"] == {"description": 20}
    assert all(line.matched_by_id == leader.id for line in BankLine.select().where(BankLine.status == "matched"))
    assert audit.verify().ok


def test_id_ranges_are_exact():
    assert bank_import.id_ranges([9, 7, 8, 12, 14, 15]) == [[7, 9], [12, 12], [14, 15]]
    assert bank_import.id_ranges([]) == []


def test_lines_in_a_closed_month_are_stored_but_not_matched(leader, requests_for_may, request_context):
    from portal.core import ledger

    ledger.close_months(dt.date(2026, 5, 1), dt.date(2026, 5, 31), actor_id=leader.id, today=dt.date(2026, 6, 2))
    result = bank_import.import_statement(may_statement(6), filename="mei.xml", actor=leader)
    assert (result.lines_new, result.matched) == (6, 0) and requests_for_may.settled == []


def test_lines_another_import_stored_a_moment_ago_are_skipped_not_matched_twice(leader, requests_for_may,
                                                                                request_context, monkeypatch):
    bank_import.import_statement(may_statement(6), filename="mei-deel.xml", actor=leader)
    assert sorted(requests_for_may.settled) == ["job:1", "job:2", "job:4", "job:5"]
    # As if the six lines arrived between this import's look at the database and its insert, their
    # requests still open: the engine matches them, but only the lines this import stored are settled.
    monkeypatch.setattr(bank_import, "_known_fingerprints", lambda _fingerprints: set())
    requests_for_may.settled.clear()
    result = bank_import.import_statement(may_statement(9, message="RABO-2"), filename="mei.xml", actor=leader)
    assert (result.lines_new, result.matched) == (3, 2)
    assert BankLine.select().count() == 9 and sorted(requests_for_may.settled) == ["job:7", "job:8"]
