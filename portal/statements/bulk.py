"""Statements for every company, issued on the task queue (issue 20), not inside a web request.

The project leader asks for a period's statements of every company that contributed in it
(`request_run`): that stores a run, queued, and hands `issue_all` to the task queue once the
request commits. The task moves the run to running, issues through `service.issue_bulk` (which
skips a company whose statement of the period exists, so a second run, or a retry after a worker
died, issues nothing twice) and stores what came of it: how many were issued, skipped and
failed, and each failure's reason. The leader's page reads the runs.

One run of a period waits or runs at a time (a partial unique index). A run whose worker was
killed stays `running`; a request for the same period after STALE_AFTER marks it failed and
queues a new one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

import peewee
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal.accounts.models import User
from portal.core import audit, tasks
from portal.core.db import atomic_write, utcnow
from portal.core.i18n import LANGUAGES
from portal.statements import service
from portal.statements.models import StatementRun
from portal.statements.periods import Period

log = logging.getLogger("portal.statements")

ACTIVE = ("queued", "running")
STALE_AFTER = dt.timedelta(hours=2)
STALE = "stale"  # the error of a run whose worker stopped before it finished (words on the page)
RECENT = 20


class RunAlreadyActive(service.StatementError):
    """The period's statements are already queued or being issued."""

    def __init__(self, message, run: StatementRun | None) -> None:
        super().__init__(message)
        self.run = run


def period_of(run: StatementRun) -> Period:
    return Period(run.period_kind, run.period_start, run.period_end)


def active_run(period: Period) -> StatementRun | None:
    return (StatementRun.select()
            .where((StatementRun.period_start == period.start) & (StatementRun.period_end == period.end)
                   & StatementRun.status.in_(ACTIVE))
            .first())


def request_run(period: Period, actor: User | None, *, today: dt.date | None = None) -> StatementRun:
    """Queue the issuing of the period's statements for every company (nothing is issued here)."""
    service.check_period_ended(period, today)
    _give_up_stale(period)
    try:
        with atomic_write():
            run = StatementRun.create(period_kind=period.kind, period_start=period.start, period_end=period.end,
                                      requested_by=getattr(actor, "id", None))
            audit.record("statement.run_requested", actor=actor, obj=run, period=period.as_dict())
            tasks.enqueue(issue_all, run.id)  # once this transaction commits
    except peewee.IntegrityError as error:
        raise RunAlreadyActive(_l("The statements of this period are already queued or being issued. "
                                  "Wait for that run to finish: running it again would issue nothing new."),
                               active_run(period)) from error
    return StatementRun.get_by_id(run.id)


def _give_up_stale(period: Period) -> None:
    """A run still active long after it was asked for lost its worker: free the period for a new one."""
    stale = utcnow() - STALE_AFTER
    with atomic_write():
        for run in (StatementRun.select()
                    .where((StatementRun.period_start == period.start) & (StatementRun.period_end == period.end)
                           & StatementRun.status.in_(ACTIVE) & (StatementRun.requested_at < stale))):
            moved = (StatementRun.update(status="failed", finished_at=utcnow(), error=STALE)
                     .where((StatementRun.id == run.id) & StatementRun.status.in_(ACTIVE)).execute())
            if moved:
                audit.record("statement.run_failed", obj=run, error=STALE)


@tasks.task(retries=2, retry_delay=120)
def issue_all(run_id: int) -> None:
    """The queued run: issue the period's statements of every company, then store the outcome."""
    try:
        with atomic_write():
            moved = (StatementRun.update(status="running", started_at=utcnow(), error="")
                     .where((StatementRun.id == run_id) & StatementRun.status.in_(("queued", "running", "failed")))
                     .execute())
    except peewee.IntegrityError:
        moved = 0  # a retry of a run given up, while a newer run of the same period is active: that one works
    if not moved:
        return  # done already (a second delivery of the task), or replaced: nothing twice
    run = StatementRun.get_by_id(run_id)
    actor = User.get_or_none(User.id == run.requested_by_id) if run.requested_by_id else None
    language = actor.language if actor is not None and actor.language in LANGUAGES else "nl"
    try:
        with force_locale(language):  # the reasons of failures, in the leader's language
            result = service.issue_bulk(period_of(run), actor=actor)
            failed = [{"company_id": company.id, "company": company.legal_name, "reason": reason}
                      for company, reason in result.failed]
    except Exception as error:
        with atomic_write():
            StatementRun.update(status="failed", finished_at=utcnow(), error=_one_line(error)).where(
                (StatementRun.id == run_id) & (StatementRun.status == "running")).execute()
            audit.record("statement.run_failed", actor=actor, obj=run, error=_one_line(error))
        raise  # the queue retries it; companies already issued are skipped then
    skipped = {"exists": sum(1 for _c, why in result.skipped if why == "exists"),
               "empty": sum(1 for _c, why in result.skipped if why == "empty")}
    outcome = {"numbers": [s.number for s in result.issued], "skipped": skipped, "failed": failed}
    with atomic_write():
        StatementRun.update(status="done", finished_at=utcnow(), issued=len(result.issued),
                            skipped=len(result.skipped), failed=len(failed),
                            outcome=json.dumps(outcome, ensure_ascii=False, sort_keys=True)).where(
            (StatementRun.id == run_id) & (StatementRun.status == "running")).execute()
        audit.record("statement.run_done", actor=actor, obj=run, issued=len(result.issued),
                     skipped=len(result.skipped), failed=len(failed))
    log.info("statements of %s: %d issued, %d skipped, %d failed", period_of(run).slug, len(result.issued),
             len(result.skipped), len(failed))


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".replace("\n", " ").strip()[:500]


@dataclass
class RunView:
    """A run as the leader's page shows it."""

    run: StatementRun
    numbers: list[str]
    exists: int
    empty: int
    failures: list[dict]

    @property
    def period(self) -> Period:
        return period_of(self.run)


def view_of(run: StatementRun) -> RunView:
    try:
        outcome = json.loads(run.outcome) if run.outcome else {}
    except ValueError:
        outcome = {}
    skipped = outcome.get("skipped") or {}
    return RunView(run, outcome.get("numbers") or [], int(skipped.get("exists") or 0), int(skipped.get("empty") or 0),
                   outcome.get("failed") or [])


def recent_runs(limit: int = RECENT) -> list[RunView]:
    """The latest runs, newest first."""
    return [view_of(run) for run in StatementRun.select()
            .order_by(StatementRun.requested_at.desc(), StatementRun.id.desc()).limit(limit)]
