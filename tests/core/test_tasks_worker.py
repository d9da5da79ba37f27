"""A real worker: `portal worker` in its own process consumes what the portal queued, from the
SQLite queue file and from Redis; and a worker SIGKILLed in the middle of sending receipts loses
none and mails none twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine

from portal.core import mail, tasks
from portal.giving import base
from portal.giving import service as giving
from portal.giving.models import Donation
from tests.conftest import REDIS_URL

PORTAL = Path(sys.executable).with_name("portal")
ROOT = Path(__file__).resolve().parent.parent.parent


def real_queue(app, url: str):
    """The test's app, queueing on `url` as the running portal would (the app fixture puts the
    config and the extensions back afterwards)."""
    app.config.update(QUEUE_IMMEDIATE=False, QUEUE_URL=url)
    app.extensions[tasks.EXTENSION] = tasks.Queue(app)
    return tasks.queue(app)


def worker_environment(app, tmp_path) -> dict:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
            "PORTAL_ENV": "development",
            "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
            "PORTAL_QUEUE_URL": app.config["QUEUE_URL"],
            "PORTAL_INSTANCE_DIR": str(tmp_path / "worker-instance"),
            "PORTAL_OUTBOX_DIR": app.config["OUTBOX_DIR"],
            "PORTAL_UPLOAD_DIR": app.config["UPLOAD_DIR"],
            "PORTAL_SECRET_KEY": app.config["SECRET_KEY"],
            "PORTAL_BASE_URL": app.config["BASE_URL"],
            "PORTAL_SMTP_HOST": ""}


def until(condition, what: str, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    """Wait for the worker to get there (bounded), failing with its log if it dies or never does."""
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the worker ended before {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the worker never got to {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as output:
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # Ctrl-C: running tasks finish, then it stops
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def consume_a_queued_mail(app, make_company, outbox, tmp_path) -> list[str]:
    """Queue a mail, let a real `portal worker` send it; the subjects that reached the outbox."""
    company = make_company("Acme")
    mail.send_template("a@acme.nl", "accounts/already_member", "en", "From the worker", company=company)
    assert outbox.messages == [] and tasks.queued_count() == 1

    log = tmp_path / "worker.log"
    worker = start([str(PORTAL), "worker"], worker_environment(app, tmp_path), log)
    try:
        until(lambda: outbox.to("a@acme.nl"), "the mail", worker, log)
    finally:
        stop(worker)
    assert worker.returncode == 0, log.read_text()[-3000:]
    assert tasks.queued_count() == 0
    return [m.subject for m in outbox.to("a@acme.nl")]


@pytest.mark.slow
def test_portal_worker_sends_what_the_portal_queued_in_sqlite(app, make_company, outbox, tmp_path):
    real_queue(app, f"sqlite:///{tmp_path / 'queue.db'}")
    assert consume_a_queued_mail(app, make_company, outbox, tmp_path) == ["From the worker"]


@pytest.mark.slow
@pytest.mark.skipif(not REDIS_URL, reason="PORTAL_TEST_REDIS_URL is not set")
def test_portal_worker_sends_what_the_portal_queued_in_redis(app, make_company, outbox, tmp_path):
    queue = real_queue(app, REDIS_URL)
    queue.huey.flush()  # this Redis database is the test's alone (conftest gives each test worker its own)
    try:
        assert consume_a_queued_mail(app, make_company, outbox, tmp_path) == ["From the worker"]
    finally:
        queue.huey.flush()


@pytest.mark.slow
def test_a_worker_killed_while_sending_receipts_loses_none_and_mails_none_twice(
        app, make_company, contribute, outbox, tmp_path, app_config):
    queue_url = f"sqlite:///{tmp_path / 'queue.db'}"
    real_queue(app, queue_url)
    company = make_company("Acme")
    donations = [contribute.paid_by_bank(company, 10_000 + n) for n in range(3)]
    assert [m for m in outbox.messages if "Receipt" in m.subject] == []  # all still on the queue

    # A real consumer, killed (SIGKILL, as the OOM killer would) once it has written the second
    # receipt and before it could mark that receipt sent.
    ready = tmp_path / "worker.ready"
    config = {**app_config, "QUEUE_IMMEDIATE": False, "QUEUE_URL": queue_url}
    log = tmp_path / "killed-worker.log"
    killed = start([sys.executable, str(Path(__file__).with_name("receipt_worker.py")),
                    json.dumps({"config": config, "ready": str(ready)})], dict(os.environ), log)
    try:
        until(ready.exists, "the second receipt", killed, log)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
    in_flight = int(ready.read_text().removeprefix("receipt-"))
    assert Donation.get_by_id(in_flight).receipt_sent_at is None  # mailed, not marked: the dangerous moment

    # A new worker takes over the rest of the queue: every other receipt goes out; the one in flight
    # stays claimed by the killed run for now (it might still be running, as far as anyone knows).
    log = tmp_path / "worker.log"
    worker = start([str(PORTAL), "worker"], worker_environment(app, tmp_path), log)
    others = [d.id for d in donations if d.id != in_flight]
    try:
        until(lambda: Donation.select().where(Donation.id.in_(others) & Donation.receipt_sent_at.is_null()).count()
              == 0 and tasks.queued_count() == 0, "the other receipts", worker, log)
    finally:
        stop(worker)

    # The periodic sweep, once the killed run's claim has gone stale, finishes the one in flight.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=base.RECEIPT_CLAIM_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        giving.sweep_receipts_regularly()

    assert Donation.select().where(Donation.receipt_sent_at.is_null()).count() == 0
    receipts = [m for m in outbox.messages if "Receipt" in m.subject]
    assert sorted(m.to for m in receipts) == sorted(d.donor_email for d in donations)
    files = sorted(p.name for p in Path(app.config["OUTBOX_DIR"]).glob("receipt-*.eml"))
    assert files == sorted(f"receipt-{d.id}.eml" for d in donations)  # each donation's receipt exactly once
