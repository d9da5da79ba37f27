"""The task queue in the app: tests run tasks at once (huey's immediate mode); a real queue holds
them until a worker runs them, and only once the transaction that caused them commits; a task that
keeps failing is shown to the project leader, who can run it again; receipts go out once however
often they are sent; the periodic jobs have their schedules; links are built on the base URL."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from flask import url_for

from portal.core import clock, mail, tasks
from portal.core.db import database
from portal.giving.models import Donation
from portal.giving.receipts import send_due_receipts


@pytest.fixture
def immediate_queue(app):
    """The tests' queue, emptied of what earlier tests left in it (the app is shared)."""
    queue = tasks.queue(app)
    queue.huey.flush()
    return queue


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_tests_run_a_mail_task_at_once(app, immediate_queue, make_company, outbox):
    assert immediate_queue.immediate
    company = make_company("Acme")
    mail.send_template("a@acme.nl", "accounts/already_member", "en", "Now", company=company)
    assert [m.subject for m in outbox.to("a@acme.nl")] == ["Now"]


def test_a_real_queue_holds_the_mail_until_a_worker_runs_it(app, real_queue, make_company, outbox, tmp_path):
    company = make_company("Acme")
    mail.send_template("a@acme.nl", "accounts/already_member", "en", "Later", company=company)

    assert outbox.messages == []
    assert tasks.queued_count() == 1
    # Its own file, never the portal's database: a queue write never waits on a portal transaction.
    assert (tmp_path / "queue.db").exists()
    assert real_queue.location != app.config["DATABASE_URL"]

    real_queue.huey.execute(real_queue.huey.dequeue())  # what a worker does with it
    assert [m.subject for m in outbox.to("a@acme.nl")] == ["Later"]
    assert tasks.queued_count() == 0


def test_the_default_queue_is_a_file_beside_the_sqlite_database_or_in_the_instance_folder(tmp_path):
    beside = tasks.queue_location({"DATABASE_URL": f"sqlite:///{tmp_path}/portal.db"}, str(tmp_path / "instance"))
    assert beside == f"sqlite:///{tmp_path}/portal-tasks.db"
    on_postgres = tasks.queue_location({"DATABASE_URL": "postgresql://portal@db/portal"}, str(tmp_path / "instance"))
    assert on_postgres == f"sqlite:///{tmp_path}/instance/tasks.db"
    named = tasks.queue_location({"DATABASE_URL": "postgresql://portal@db/portal", "QUEUE_URL": "redis://r:6379/1"},
                                 str(tmp_path))
    assert named == "redis://r:6379/1"


def test_nothing_is_queued_for_a_change_that_rolls_back(app, real_queue, make_company):
    company = make_company("Acme")
    with pytest.raises(RuntimeError), database.atomic():
        mail.send_template("a@acme.nl", "accounts/already_member", "en", "Rolled back", company=company)
        assert tasks.queued_count() == 0  # not before the commit either
        raise RuntimeError("the change fails")
    assert tasks.queued_count() == 0

    with database.atomic():
        mail.send_template("a@acme.nl", "accounts/already_member", "en", "Committed", company=company)
        assert tasks.queued_count() == 0
    assert tasks.queued_count() == 1


def test_a_failed_mail_is_retried_with_growing_waits(app, real_queue, make_company, outbox):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nobody listens there
    company = make_company("Acme")
    mail.send_template("a@acme.nl", "accounts/already_member", "en", "Retry me", company=company)
    huey = real_queue.huey

    huey.execute(huey.dequeue())
    [first] = huey.scheduled()
    assert first.retries == 7 and first.retry_delay == 120  # tried again after 60 s, next wait doubled
    first_due = first.eta
    huey.read_schedule(first.eta + dt.timedelta(seconds=1))  # the scheduler hands it back when due
    huey.execute(first, first.eta + dt.timedelta(seconds=1))
    [second] = huey.scheduled()
    # waited 60 s, now 120 s (eta is counted from the failure), 240 s after that
    assert second.retries == 6 and second.eta - first_due >= dt.timedelta(seconds=60) and second.retry_delay == 240
    assert tasks.failures() == []  # not failed for good while retries remain

    app.config.update(SMTP_HOST="")  # the relay is back (here: the file outbox)
    huey.read_schedule(second.eta + dt.timedelta(seconds=1))
    huey.execute(second, second.eta + dt.timedelta(seconds=1))
    assert [m.subject for m in outbox.to("a@acme.nl")] == ["Retry me"]
    assert huey.scheduled() == [] and tasks.failures() == []


def test_the_leader_sees_a_task_that_kept_failing_and_runs_it_again(app, immediate_queue, make_company, outbox,
                                                                    leader_client, tmp_path):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # the relay is down
    company = make_company("Acme")
    mail.send_template("a@acme.nl", "accounts/already_member", "en", "Stuck", company=company)
    assert outbox.messages == []
    # The message itself is kept beside the outbox whatever happens next.
    assert len(list((tmp_path / "outbox" / "unsent").glob("*.eml"))) == 1

    page = leader_client.get("/leader/tasks")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Sending an e-mail" in html and "ConnectionRefusedError" in html
    [failure] = tasks.failures()

    app.config.update(SMTP_HOST="")  # fixed: the file outbox stands in for the relay
    response = leader_client.post(f"/leader/tasks/{failure['id']}/retry", follow_redirects=True)
    assert response.status_code == 200
    assert "The task is queued again." in response.get_data(as_text=True)
    assert "No task has failed." in response.get_data(as_text=True)
    assert [m.subject for m in outbox.to("a@acme.nl")] == ["Stuck"]

    again = leader_client.post(f"/leader/tasks/{failure['id']}/retry", follow_redirects=True)
    assert "no longer in the list of failed tasks" in again.get_data(as_text=True)
    assert len(outbox.to("a@acme.nl")) == 1


def test_a_company_user_never_sees_the_task_page(app, immediate_queue, make_company, login, client):
    company = make_company("Acme")
    login(client, company.admin)
    assert client.get("/leader/tasks").status_code == 404
    assert client.post("/leader/tasks/abc/retry").status_code == 404


def test_a_receipt_sent_twice_is_mailed_once(app, immediate_queue, make_company, contribute, outbox):
    company = make_company("Acme")
    donation = contribute.paid_by_bank(company, 25_000)
    receipts = [m for m in outbox.messages if "Receipt" in m.subject]
    assert len(receipts) == 1 and Donation.get_by_id(donation.id).receipt_sent_at is not None

    # A worker that mailed it and died before marking it sent: the next run finds it due again.
    Donation.update(receipt_sent_at=None, receipt_claimed_at=None).where(Donation.id == donation.id).execute()
    assert send_due_receipts() == 1

    assert len([m for m in outbox.messages if "Receipt" in m.subject]) == 1
    assert Donation.get_by_id(donation.id).receipt_sent_at is not None
    assert send_due_receipts() == 0


def test_the_periodic_jobs_run_on_their_schedules(app):
    wrappers = tasks.queue(app).wrappers

    def runs_at(name: str, moment: dt.datetime) -> bool:
        return wrappers[name].task_class().validate_datetime(moment)

    stripe = "portal.reconcile.jobs.stripe_sync_hourly"
    remind = "portal.enrollment.tasks.remind_daily"
    allowances = "portal.enrollment.tasks.allowances_monthly"
    sweep = "portal.giving.service.sweep_receipts_regularly"
    assert all(runs_at(stripe, dt.datetime(2026, 11, 3, hour, 5)) for hour in range(24))
    assert not runs_at(stripe, dt.datetime(2026, 11, 3, 10, 6))
    assert all(runs_at(remind, dt.datetime(2026, 11, day, 5, 15)) for day in range(1, 31))
    assert not runs_at(remind, dt.datetime(2026, 11, 3, 6, 15))
    assert runs_at(allowances, dt.datetime(2026, 12, 1, 3, 30))
    assert not any(runs_at(allowances, dt.datetime(2026, 12, day, 3, 30)) for day in range(2, 32))
    assert runs_at(sweep, dt.datetime(2026, 11, 3, 10, 40)) and not runs_at(sweep, dt.datetime(2026, 11, 3, 10, 41))


def test_the_monthly_job_adds_what_the_command_adds(app, leader):
    from portal.enrollment import allowance
    from portal.enrollment import tasks as enrollment_tasks

    # Run twice, as a worker restarted on the first of the month might: the second adds nothing.
    enrollment_tasks.allowances_monthly()
    assert enrollment_tasks.allowances_monthly() == 0
    upto = clock.today().replace(day=1) - dt.timedelta(days=1)
    assert allowance.build_ledger(None, upto) == 0


def test_links_built_outside_a_request_point_at_the_base_url(app):
    with app.app_context():  # as in the worker and the `portal` command: no request at all
        assert url_for("accounts.login") == "http://portal.test/login"
        assert url_for("accounts.reset_password", token="t0k3n").startswith("http://portal.test/")
