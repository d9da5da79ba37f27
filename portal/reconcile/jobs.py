"""The background work the project leader watches: the hourly Stripe sync, and the page under
/leader/tasks that shows what waits on the queue and what failed, with a retry."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field

import peewee
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from portal.accounts.models import User
from portal.core import tasks
from portal.core.db import atomic_write, database, utcnow
from portal.core.forms import FlaskForm
from portal.core.security import leader_required
from portal.reconcile import bank_import, banks, line_matching, service, stripe_sync
from portal.reconcile.models import BankImportJob

log = logging.getLogger("portal.reconcile")

bp = Blueprint("tasks", __name__)


@tasks.periodic(tasks.crontab(minute="5"))
def stripe_sync_hourly() -> None:
    """Every hour: what is new at Stripe, then match bank lines (as `portal stripe sync`)."""
    if not current_app.config.get("STRIPE_SECRET_KEY"):
        return  # no Stripe account configured: nothing to read
    result = stripe_sync.sync()
    if result.error:
        raise RuntimeError(f"Stripe could not be read completely: {result.error}")
    matched = line_matching.auto_match()
    log.info("stripe sync: %d new balance transactions, %d new payouts, %d settled, %d bank lines matched",
             result.transactions_new, result.payouts_new, result.settled, matched)


# --- bank statements imported in the background (issue 20) -----------------------------------

# A job left 'running' this long lost its worker (huey drops a task whose worker is killed): it is
# queued again. The import is one transaction: a second run stores all of it, or finds the file
# already imported when the first had committed.
STALE_RUNNING = dt.timedelta(minutes=60)
# A job 'queued' this long may never have reached the queue (it was down): it is handed over again;
# a second hand-over of one job is harmless, only one run can take it.
STALE_QUEUED = dt.timedelta(minutes=10)
UNEXPECTED = _l("The import stopped on an unexpected error; nothing of the file was imported.")


def background_import_bytes() -> int:
    """Files larger than this are imported on the task queue; smaller ones in the request itself,
    where the result (or the file's error) shows at once. 0 sends every file to the queue."""
    return int(current_app.config["RECONCILE_BACKGROUND_IMPORT_KB"]) * 1024


def message_facts(message) -> dict:
    """A translatable message as facts to store: its message id and parameters (messages among the
    parameters too), so it is rendered later in the reader's language; other text is kept as is."""
    if isinstance(message, LazyString) and message._func is gettext and len(message._args) == 1:
        return {"msgid": message._args[0],
                "params": {key: message_facts(value) if isinstance(value, LazyString) else value
                           for key, value in message._kwargs.items()}}
    return {"text": str(message)}


def render_message(facts: dict) -> str:
    """A message stored by message_facts, in the current language."""
    if "msgid" in facts:
        params = {key: render_message(value) if isinstance(value, dict) else value
                  for key, value in (facts.get("params") or {}).items()}
        return gettext(facts["msgid"], **params)
    return str(facts.get("text", ""))


def queue_import(data: bytes, *, filename: str, actor: User | None, fmt: str = "auto",
                 encoding: str = "utf-8") -> BankImportJob:
    """Keep an uploaded bank file and queue its import. A file over the limit, empty or of an
    unknown format raises banks.StatementError at once; the same file waiting already raises
    service.ReconcileError."""
    banks.open_statement(data, fmt=fmt, encoding=encoding, max_bytes=bank_import.max_upload_bytes())
    sha = hashlib.sha256(data).hexdigest()
    try:
        with atomic_write():
            job = BankImportJob.create(filename=(filename or "")[:255], format=fmt[:10], encoding=encoding[:10],
                                       size=len(data), sha256=sha, active_sha256=sha, data=data,
                                       created_by=getattr(actor, "id", actor))
            tasks.enqueue(run_import, job.id)
    except peewee.IntegrityError as exc:
        raise service.ReconcileError(_l("This file is already waiting to be imported: its progress is shown "
                                        "below.")) from exc
    return job


def _claim(job_id: int) -> int | None:
    """Take the job for this run (queued, or failed on an unexpected error and tried again from the
    tasks page); the run's attempt number, or None when another run has it or it is finished."""
    with atomic_write():
        job = (BankImportJob.select(BankImportJob.id, BankImportJob.status, BankImportJob.attempts,
                                    BankImportJob.sha256)
               .where(BankImportJob.id == job_id).first())
        if job is None:
            return None
        retried = job.status == "failed" and (BankImportJob.select().where(
            (BankImportJob.id == job_id) & BankImportJob.data.is_null(False)).exists())
        if job.status != "queued" and not retried:
            return None
        try:
            with database.atomic():
                moved = (BankImportJob.update(status="running", attempts=job.attempts + 1, started_at=utcnow(),
                                              finished_at=None, active_sha256=job.sha256)
                         .where((BankImportJob.id == job_id) & (BankImportJob.status == job.status)
                                & (BankImportJob.attempts == job.attempts)).execute())
        except peewee.IntegrityError:
            return None  # the same file was uploaded again and waits as another job
    return job.attempts + 1 if moved else None


def _finish(job_id: int, attempt: int, **values) -> None:
    with atomic_write():
        (BankImportJob.update(**values)
         .where((BankImportJob.id == job_id) & (BankImportJob.status == "running")
                & (BankImportJob.attempts == attempt)).execute())


@tasks.task(retries=2, retry_delay=60, context=True)
def run_import(job_id: int, task=None) -> None:
    """Import one uploaded bank file (a job of the import page), once: a file that cannot be read
    fails with its message; an unexpected error is tried again, nothing of it stored."""
    attempt = _claim(job_id)
    if attempt is None:
        return
    job = BankImportJob.get_by_id(job_id)
    actor = User.get_or_none(User.id == job.created_by_id) if job.created_by_id else None
    try:
        result = bank_import.import_statement(bytes(job.data), filename=job.filename, actor=actor, fmt=job.format,
                                          encoding=job.encoding)
    except (banks.StatementError, service.ReconcileError) as error:
        _finish(job_id, attempt, status="failed", finished_at=utcnow(), data=None, active_sha256=None,
                error=json.dumps(message_facts(error.message), default=str))
        return
    except Exception:
        log.exception("bank import job %s failed", job_id)
        retrying = bool(task is not None and task.retries)
        # Waiting for huey's retry, or failed for good; the upload stays for the tasks page's "try again".
        _finish(job_id, attempt, status="queued" if retrying else "failed",
                finished_at=None if retrying else utcnow(), active_sha256=job.sha256 if retrying else None,
                error=json.dumps(message_facts(UNEXPECTED)))
        raise
    statement = result.statement or result.earlier
    _finish(job_id, attempt, status="done", finished_at=utcnow(), data=None, active_sha256=None, error="",
            statement=statement.id if statement is not None else None, lines_total=result.lines_total,
            lines_new=result.lines_new, matched=result.matched, continuity=json.dumps(result.breaks, default=str))


@tasks.periodic(tasks.crontab(minute="*/10"))
def sweep_import_jobs() -> int:
    """Hand over again the imports that never reached the queue or lost their worker."""
    now = utcnow()
    with atomic_write():
        (BankImportJob.update(status="queued")
         .where((BankImportJob.status == "running") & (BankImportJob.started_at < now - STALE_RUNNING)).execute())
    waiting = [row[0] for row in BankImportJob.select(BankImportJob.id)
               .where((BankImportJob.status == "queued") & (BankImportJob.created_at < now - STALE_QUEUED)
                      & ((BankImportJob.started_at.is_null()) | (BankImportJob.started_at < now - STALE_QUEUED)))
               .tuples()]
    for job_id in waiting:
        tasks.enqueue(run_import, job_id)
    return len(waiting)


@dataclass
class ImportJobView:
    job: BankImportJob
    error: str = ""
    continuity: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.job.status in ("queued", "running")


def recent_imports(limit: int = 10) -> list[ImportJobView]:
    """The newest background imports with their outcome in the reader's language (the uploads
    themselves are not read)."""
    columns = [f for f in BankImportJob._meta.sorted_fields if f.name != "data"]
    found = []
    for job in BankImportJob.select(*columns).order_by(BankImportJob.id.desc()).limit(limit):
        error = render_message(json.loads(job.error)) if job.error else ""
        continuity = [str(bank_import.continuity_message(facts)) for facts in json.loads(job.continuity or "[]")]
        found.append(ImportJobView(job, error, continuity))
    return found


# What each task does, in words the project leader knows; an unknown task shows its code name.
LABELS = {
    "portal.core.audit.check_nightly": _l("Checking the audit chain (nightly)"),
    "portal.core.audit.check_requested": _l("Checking the audit chain"),
    "portal.statements.bulk.issue_all": _l("Issuing statements for every company"),
    "portal.giving.webhooks.process_event": _l("Processing a Stripe event"),
    "portal.giving.webhooks.requeue_stuck_regularly": _l("Stripe events left waiting (regular check)"),
    "portal.core.mail.deliver": _l("Sending an e-mail"),
    "portal.giving.service.sweep_receipts": _l("Sending receipts"),
    "portal.giving.service.sweep_receipts_regularly": _l("Sending receipts (regular check)"),
    "portal.enrollment.tasks.remind_daily": _l("VOG reminders (daily)"),
    "portal.enrollment.tasks.allowances_monthly": _l("Volunteer allowances (monthly)"),
    "portal.reconcile.jobs.stripe_sync_hourly": _l("Stripe sync (hourly)"),
    "portal.reconcile.jobs.run_import": _l("Importing a bank statement"),
    "portal.reconcile.jobs.sweep_import_jobs": _l("Bank imports (regular check)"),
}


class RetryForm(FlaskForm):
    """Only the CSRF token: the task is named in the URL."""


@bp.get("/leader/tasks")
@leader_required
def index():
    return render_template("reconcile/tasks.html", queued=tasks.queued_count(), failures=tasks.failures(),
                           labels=LABELS, form=RetryForm(), imports=recent_imports())


@bp.post("/leader/tasks/<task_id>/retry")
@leader_required
def retry(task_id: str):
    form = RetryForm()
    if not form.validate_on_submit():
        abort(400)
    if tasks.retry(task_id):
        flash(_("The task is queued again."), "success")
    else:
        flash(_("This task is no longer in the list of failed tasks."), "warning")
    return redirect(url_for("tasks.index"))
