"""The task queue: huey, with its storage in a SQLite file of its own by default and in Redis when
PORTAL_QUEUE_URL names it; `portal worker` runs the consumer and the scheduler.

Capabilities declare background work with `@task(...)` and recurring work with
`@periodic(crontab(...))`; callers hand work over with `enqueue(fn, *args)`, which queues it once
the current transaction commits (nothing is queued for a change that rolls back). Every app gets
its own Huey built from its configuration: tests (TESTING) run each task at once, in the caller,
as huey's immediate mode does. A task runs in an application context of the app the worker built,
on a database connection of its own; links are built on PORTAL_BASE_URL (core/urls.py), never on
a made-up request.

huey takes a task off the queue before it runs it, so a worker killed mid-task loses that run:
work that must not be lost (receipts) is also found again from the database by a periodic sweep,
and is idempotent when it runs twice. A task that still fails after its retries is kept in the
queue's own storage (no table) for the project leader's page, which can queue it again.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app
from huey import Huey, crontab  # noqa: F401 (crontab is re-exported for the capabilities' schedules)
from huey import signals as huey_signals
from huey.constants import EmptyData
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from portal.core import urls
from portal.core.db import database, utcnow

log = logging.getLogger("portal.tasks")

EXTENSION = "portal.tasks"
FAILED_PREFIX = "portal:failed:"
QUEUE_NAME = "portal"


@dataclass(frozen=True)
class Spec:
    fn: Callable
    retries: int
    retry_delay: int
    backoff: float
    schedule: Callable | None = None
    context: bool = False


_SPECS: dict[str, Spec] = {}


def _name(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__name__}"


def task(*, retries: int = 5, retry_delay: int = 60, backoff: float = 2.0, context: bool = False):
    """Declare `fn` as background work: retried `retries` times, first after `retry_delay` seconds,
    each wait `backoff` times the one before. With `context`, the running task is passed as `task=`
    (None when the function is called directly). The function itself stays a plain function."""
    def decorate(fn: Callable) -> Callable:
        _SPECS[_name(fn)] = Spec(fn, retries, retry_delay, backoff, context=context)
        return fn
    return decorate


def periodic(schedule: Callable, *, retries: int = 2, retry_delay: int = 300, backoff: float = 2.0):
    """Declare `fn` as recurring work, run by the worker's scheduler on `schedule` (a huey crontab, UTC)."""
    def decorate(fn: Callable) -> Callable:
        _SPECS[_name(fn)] = Spec(fn, retries, retry_delay, backoff, schedule=schedule)
        return fn
    return decorate


# --- the queue of one app -----------------------------------------------------------------------

def queue_location(config: dict[str, Any], instance_path: str) -> str:
    """Where the queue lives: PORTAL_QUEUE_URL, else a SQLite file of its own beside the SQLite
    database (`portal.db` -> `portal-tasks.db`) or, on PostgreSQL, in the instance folder. Never the
    portal's own database file: the queue's writes must not wait on the portal's transactions."""
    url = (config.get("QUEUE_URL") or "").strip()
    if url:
        return url
    database_url = config.get("DATABASE_URL") or ""
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        path = unquote(database_url[len("sqlite:///"):])
        stem, _ext = os.path.splitext(path)
        return "sqlite:///" + stem + "-tasks.db"
    return "sqlite:///" + os.path.join(instance_path, "tasks.db")


class _SqliteStorage(SqliteStorage):
    """huey's SQLite storage in WAL mode with synchronous=NORMAL: a commit is not flushed to disk
    each time (huey's default, FULL, costs the webhook and every page that queues work one fsync
    more). Safe for the queue: a process that crashes loses nothing, and after a power loss or an
    OS crash the file is whole but may miss the last tasks queued, as Redis does with its default
    once-a-second flush. Work that must not be lost is found again from the portal's own database,
    whose commits stay synchronous=FULL, by its sweep (stored Stripe events, due receipts, import
    jobs; a statement run is given up as stale and asked for again); a plain mail queued in the
    moment before a power loss (an invitation) may have to be sent again by hand."""

    def _create_connection(self):
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


def _storage(location: str) -> tuple[type, dict[str, Any]]:
    scheme = urlsplit(location).scheme
    if scheme in ("redis", "rediss", "unix"):
        return RedisStorage, {"url": location}
    if scheme == "sqlite":
        path = unquote(location[len("sqlite:///"):])
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        return _SqliteStorage, {"filename": path}
    raise ValueError(f"unsupported PORTAL_QUEUE_URL {location!r}: use redis:// or sqlite:///")


class Queue:
    """One app's huey and the tasks registered on it, each bound to the app. A testing app runs
    every task at once in the caller (huey's immediate mode, in memory) unless its config sets
    QUEUE_IMMEDIATE=False, as the tests of the real worker do."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.immediate = bool(app.config.get("QUEUE_IMMEDIATE", app.testing))
        if self.immediate:
            storage_class, kwargs = MemoryStorage, {}
            self.location = "memory"
        else:
            self.location = queue_location(app.config, app.instance_path)
            storage_class, kwargs = _storage(self.location)
        # Results are not kept: callers never wait for a task, and failures are kept below.
        self.huey = Huey(QUEUE_NAME, results=False, immediate=self.immediate, immediate_use_memory=False,
                         storage_class=storage_class, utc=True, **kwargs)
        self.wrappers: dict[str, Any] = {}
        self.huey.signal(huey_signals.SIGNAL_ERROR)(self._failed)
        self.register()

    def register(self) -> None:
        """Register every declared task not yet known (task modules are imported by the factory)."""
        for name, spec in list(_SPECS.items()):
            if name in self.wrappers:
                continue
            bound = self._bind(spec)
            if spec.schedule is not None:
                wrapper = self.huey.periodic_task(spec.schedule, retries=self._retries(spec),
                                                  retry_delay=spec.retry_delay, retry_backoff=spec.backoff)(bound)
            else:
                wrapper = self.huey.task(retries=self._retries(spec), retry_delay=spec.retry_delay,
                                         retry_backoff=spec.backoff, context=spec.context)(bound)
            self.wrappers[name] = wrapper

    def _retries(self, spec: Spec) -> int:
        # In immediate mode no consumer ever comes back for a retry: the first failure is the last.
        return 0 if self.immediate else spec.retries

    def _bind(self, spec: Spec) -> Callable:
        app = self.app

        @functools.wraps(spec.fn)
        def run(*args, **kwargs):
            with app.app_context():
                opened_here = database.is_closed()
                if opened_here:
                    database.connect()
                try:
                    return spec.fn(*args, **kwargs)
                finally:
                    if opened_here and not database.is_closed():
                        database.close()

        return run

    def wrapper(self, fn: Callable):
        name = _name(fn)
        if name not in self.wrappers:
            self.register()
        try:
            return self.wrappers[name]
        except KeyError:
            raise LookupError(f"{name} is not declared with @tasks.task or @tasks.periodic") from None

    # --- failures ---------------------------------------------------------------------------

    def _failed(self, _signal, running, exception) -> None:
        if running.retries:  # huey retries it later; only the last failure is kept
            return
        record = {"id": running.id, "name": f"{type(running).__module__}.{running.name}",
                  "error": _one_line(exception),
                  "failed_at": utcnow(), "message": self.huey.serialize_task(running)}
        try:
            self.huey.put(FAILED_PREFIX + running.id, record)
        except Exception:
            log.exception("the failure of task %s could not be recorded", running.id)

    def failures(self) -> list[dict]:
        found = []
        for key, raw in self.huey.storage.result_items().items():
            key = key.decode() if isinstance(key, bytes) else key
            if key.startswith(FAILED_PREFIX):
                record = self.huey.serializer.deserialize(raw)
                found.append({k: v for k, v in record.items() if k != "message"})
        return sorted(found, key=lambda r: r["failed_at"], reverse=True)

    def retry(self, task_id: str) -> bool:
        raw = self.huey.storage.pop_data(FAILED_PREFIX + task_id)
        if raw is EmptyData:
            return False
        record = self.huey.serializer.deserialize(raw)
        again = self.huey.deserialize_task(record["message"])
        spec = _SPECS.get(record["name"])
        again.retries = self._retries(spec) if spec else 0
        self.huey.enqueue(again)
        return True

    def queued(self) -> int:
        return self.huey.pending_count() + self.huey.scheduled_count()


def _one_line(exception: BaseException) -> str:
    text = f"{type(exception).__name__}: {exception}".replace("\n", " ").strip()
    return text[:500]


def init_app(app: Flask) -> None:
    """Build the app's queue from its configuration (the factory calls this after importing the
    modules that declare tasks)."""
    urls.build_outside_requests(app)
    app.extensions[EXTENSION] = Queue(app)


def queue(app: Flask | None = None) -> Queue:
    return (app or current_app).extensions[EXTENSION]


def enqueue(fn: Callable, *args, **kwargs) -> None:
    """Queue `fn(*args, **kwargs)` once the current transaction commits (at once outside one).
    The change is committed by then: a queue that cannot be reached is logged, not raised, and
    the work that must happen is found again by its periodic sweep."""
    wrapper = queue().wrapper(fn)

    def hand_over() -> None:
        try:
            wrapper(*args, **kwargs)
        except Exception:
            log.exception("task %s could not be queued", _name(fn))

    database.after_commit(hand_over)


def failures(app: Flask | None = None) -> list[dict]:
    """The tasks that failed after all their retries, newest first."""
    return queue(app).failures()


def retry(task_id: str, app: Flask | None = None) -> bool:
    """Queue a failed task again with its retries; False when it is no longer there."""
    return queue(app).retry(task_id)


def queued_count(app: Flask | None = None) -> int:
    """Tasks waiting: on the queue now, or scheduled for later (retries included)."""
    return queue(app).queued()


def consumer(app: Flask, workers: int = 1):
    """huey's consumer for the app: `workers` threads and the scheduler of the periodic tasks."""
    tasks_queue = queue(app)
    tasks_queue.register()
    if tasks_queue.immediate:
        raise RuntimeError("the queue runs tasks immediately (TESTING); there is nothing to consume")
    # An idle worker looks at the queue at least every 2 s (huey's default backs off to 10 s): a
    # mail caused by a page leaves within seconds. Redis answers at once; SQLite is cheap to ask.
    return tasks_queue.huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                            check_worker_health=True, max_delay=2.0)
