"""Shared fixtures: a fresh migrated database per test (SQLite file, or PostgreSQL when
PORTAL_TEST_DATABASE_URL is set), the app, clients, the outbox and small factories."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import email
import email.policy
import itertools
import os
import re
import shutil
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask.testing import FlaskClient

from portal import all_models, create_app
from portal.core import hooks
from portal.core.db import database, make_database, release
from portal.core.security import limiter

# pytest-xdist runs the suite in several worker processes (PYTEST_XDIST_WORKER = gw0, gw1, ...): on
# PostgreSQL each worker gets its own database beside the one named, created at start-up.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
BASE_PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")


def _worker_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path}_{WORKER}")) if url and WORKER else url


PG_URL = _worker_url(BASE_PG_URL)


def _worker_redis_url(url: str) -> str:
    """This worker's Redis database: the one named, less the worker's number (gw1 uses 14 when 15
    is named), so workers never reset each other's counters."""
    if not url or not WORKER:
        return url
    parts = urlsplit(url)
    named = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{max(0, named - int(WORKER.removeprefix('gw')))}"))


REDIS_URL = _worker_redis_url(os.environ.get("PORTAL_TEST_REDIS_URL", ""))


def tampered(signed: str) -> str:
    """A signed value (a link or a cookie ending in its signature) with one character of the signature
    changed. Never the last ones: the last character of a base64 signature carries padding bits, and
    four of the 64 replacements decode to the same bytes (`[:-2] + "xx"` left a SHA-1 signature
    intact about once in a thousand runs; a test of a forged link failed in CI)."""
    spot = len(signed) - 5
    return signed[:spot] + ("A" if signed[spot] != "A" else "B") + signed[spot + 1:]

PASSWORD = "zeilboot-kaasmarkt-regen-42"
# The issuer's own details, which production requires instead of the examples (config.ISSUER_EXAMPLES).
PRODUCTION_ISSUER = {"ISSUER_ADDRESS": "Testlaan 7, 3512 ZZ Utrecht", "ISSUER_KVK": "87654321",
                     "ISSUER_RSIN": "876543210", "ISSUER_IBAN": "NL02ABNA0123456789"}


# Temporary files (each test's SQLite copy, outbox, uploads) go to memory where the machine has a
# tmpfs: the portal runs SQLite with synchronous=FULL (tests/core/test_config_and_db.py checks it),
# so every commit waits for the disk, and on /tmp that waiting was a large part of the suite's time.
# Same pragmas, same code, only the storage is RAM. PYTEST_DEBUG_TEMPROOT or --basetemp still win;
# pytest-xdist hands the controller's base folder on to its workers.
MEMORY_TEMPROOT = "/dev/shm"


def _use_memory_for_temporary_files(config) -> None:
    if config.option.basetemp or os.environ.get("PYTEST_DEBUG_TEMPROOT"):
        return
    if os.path.isdir(MEMORY_TEMPROOT) and os.access(MEMORY_TEMPROOT, os.W_OK | os.X_OK):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = MEMORY_TEMPROOT


def pytest_configure(config):
    _use_memory_for_temporary_files(config)
    from portal.core import prepared

    prepared.VERIFY = True  # every prepared query is built again on each run and must give its kept SQL
    if PG_URL and PG_URL != BASE_PG_URL:
        import psycopg
        from psycopg import sql

        name = urlsplit(PG_URL).path.lstrip("/")
        with psycopg.connect(BASE_PG_URL, autocommit=True) as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _migrate(url: str) -> None:
    from playhouse.migrations import Runner

    from portal.cli import MIGRATIONS_DIR

    db = make_database(url)
    database.initialize(db)
    db.connect()
    try:
        if PG_URL:
            db.execute_sql("DROP SCHEMA public CASCADE")
            db.execute_sql("CREATE SCHEMA public")
        Runner(db, MIGRATIONS_DIR).up()
    finally:
        release(db)  # every pooled connection closed: the file is whole before it is copied


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> str:
    """Migrate once per run: a SQLite file to copy, or the PostgreSQL test database itself."""
    if PG_URL:
        _migrate(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(f"sqlite:///{path}")
    return str(path)


def _truncate_postgres() -> None:
    db = make_database(PG_URL)
    db.connect()
    try:
        names = ", ".join(f'"{m._meta.table_name}"' for m in all_models())
        db.execute_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        db.close()


@pytest.fixture
def database_url(migrated_template, tmp_path):
    if PG_URL:
        _truncate_postgres()
        yield PG_URL
        return
    target = tmp_path / "portal.db"
    shutil.copyfile(migrated_template, target)
    yield f"sqlite:///{target}"
    # The copy and its WAL files are the bulk of a test's temporary files (which pytest keeps for
    # three runs, in memory): they go once the test is done.
    for leftover in (target, target.with_name("portal.db-wal"), target.with_name("portal.db-shm")):
        leftover.unlink(missing_ok=True)


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    return {
        "TESTING": True,
        "ENV": "testing",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_MEMORY_KIB": 1024,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "CONTENT_RELOAD": False,
        "BASE_URL": "http://portal.test",
        # The tests are written in English: a visitor who states no language, and text rendered
        # outside a request, get English here. The product's Dutch default (and the catalogue) are
        # tested explicitly in tests/test_translations.py and tests/accounts/test_language.py.
        "BABEL_DEFAULT_LOCALE": "en",
    }


class FreshContextClient(FlaskClient):
    """A test client whose every request runs in its own application context, with an empty `g`,
    as on a real server. (The `app` fixture keeps a context pushed for the whole test; Flask would
    otherwise reuse it, and what Flask-Login and Flask-Babel cache in `g` would outlive a request.)"""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


# What differs from test to test without changing how the app is built: its database and folders.
PER_TEST_SETTINGS = ("DATABASE_URL", "OUTBOX_DIR", "UPLOAD_DIR")


@pytest.fixture(scope="session")
def _built_apps() -> dict:
    return {}


@pytest.fixture
def app(app_config, _built_apps):
    """The portal for one test, bound to the test's own database and folders.

    Building an app costs about 0.1 s (Werkzeug compiles ~150 URL rules), once per test was a third
    of the suite; so an app is built once per worker and configuration (a test that changes any
    other setting gets its own), and everything a test may change on it, its config and
    extensions, is put back afterwards. The rate limiter is one shared object: it is set up for
    this app again, whatever app a test before made."""
    key = repr(sorted((name, repr(value)) for name, value in app_config.items() if name not in PER_TEST_SETTINGS))
    application = _built_apps.get(key)
    if application is None:
        application = _built_apps[key] = create_app(app_config)
        application.test_client_class = FreshContextClient
    config = dict(application.config)
    extensions = {name: copy.copy(value) if isinstance(value, list | dict | set) else value
                  for name, value in application.extensions.items()}
    # A test may connect its own receivers to the app's hooks (a contribution source): they go.
    receivers = {signal: set(signal.receivers_for(application)) for signal in hooks.SIGNALS}
    application.config.update({name: app_config[name] for name in PER_TEST_SETTINGS})
    database.initialize(make_database(app_config["DATABASE_URL"]))
    limiter.init_app(application)
    try:
        with application.app_context():
            yield application
    finally:
        release()  # this test's pool of connections to its own database file
        queue = application.extensions.get("portal.tasks")
        if queue is not None and queue.immediate:
            queue.huey.flush()  # failures kept in memory are this test's, not the next one's
        application.config.clear()
        application.config.update(config)
        application.extensions.clear()
        application.extensions.update(extensions)
        for signal, kept in receivers.items():
            for receiver in set(signal.receivers_for(application)) - kept:
                signal.disconnect(receiver, sender=application)


@pytest.fixture
def fresh_app(app_config):
    """An app built for this test alone, for a test that adds routes to it."""
    application = create_app(app_config)
    application.test_client_class = FreshContextClient
    with application.app_context():
        yield application
    if not database.is_closed():
        database.close()


@pytest.fixture
def client(app):
    return app.test_client()


# --- mail -------------------------------------------------------------------------------

@dataclass
class SentMail:
    to: str
    subject: str
    text: str
    html: str
    message: email.message.EmailMessage

    def link(self) -> str:
        """The first portal link in the text part, as a path."""
        match = re.search(r"https?://[^/\s]+(/\S+)", self.text)
        assert match, self.text
        return match.group(1)


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def messages(self) -> list[SentMail]:
        if not self.folder.exists():
            return []
        found = []
        for path in sorted(self.folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            text = message.get_body(("plain",)).get_content()
            html = message.get_body(("html",)).get_content()
            found.append(SentMail(message["To"], message["Subject"], text, html, message))
        return found

    def to(self, address: str) -> list[SentMail]:
        return [m for m in self.messages if m.to == address]

    def last(self, address: str) -> SentMail:
        mails = self.to(address)
        assert mails, f"no mail to {address}"
        return mails[-1]


@pytest.fixture
def outbox(app) -> Outbox:
    return Outbox(Path(app.config["OUTBOX_DIR"]))


# --- factories --------------------------------------------------------------------------

_KVK_NUMBERS = itertools.count(30000001)  # distinct in the whole run, whatever the names

@pytest.fixture
def make_company(app):
    """Create a company with an administrator (and optionally a member), confirmed and active."""
    from portal.accounts import service
    from portal.accounts.models import Company, User
    from portal.core.db import utcnow

    counter = iter(range(1, 10_000))

    def factory(name: str = "Acme", *, language: str = "en", member: bool = False):
        n = next(counter)
        slug = re.sub(r"\W+", "", name.lower()) or "company"
        company = Company.create(legal_name=f"{name} B.V.", kvk=f"{next(_KVK_NUMBERS):08d}",
                                 street="Oudegracht 1", postcode="3511 AB", city="Utrecht",
                                 billing_email=f"finance@{slug}.nl", language=language, hourly_cost_cents=5000)
        admin = User.create(company=company, email=f"admin{n}@{slug}.nl", name=f"{name} Admin", role="admin",
                            language=language, password_hash=service.hash_password(PASSWORD),
                            password_changed_at=utcnow(), email_confirmed_at=utcnow())
        company.admin = admin
        if member:
            company.member = User.create(company=company, email=f"member{n}@{slug}.nl", name=f"{name} Member",
                                         role="member", language=language,
                                         password_hash=service.hash_password(PASSWORD),
                                         password_changed_at=utcnow(), email_confirmed_at=utcnow())
        return company

    return factory


@pytest.fixture
def login(app):
    """Log a client in through the real login form; returns the client."""

    def do_login(client, user, password: str = PASSWORD):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.data[:500]
        return client

    return do_login


@pytest.fixture
def leader(app):
    from portal.accounts import service

    user = service.create_leader("leider@onderwijsambassadeurs.nl", PASSWORD, "Lotte Leider")
    user.language = "en"  # created Dutch, like the real one; the tests read her pages in English
    user.save()
    return user


@pytest.fixture
def sign_in_leader(app, leader, login):
    """Log a new client in as the project leader, second factor passed, at the current time."""
    import pyotp

    from portal.accounts.models import User

    def sign_in():
        client = app.test_client()
        login(client, leader)
        client.get("/login/totp")
        secret = User.get_by_id(leader.id).totp_secret
        response = client.post("/login/totp", data={"code": pyotp.TOTP(secret).now()})
        assert response.status_code == 302, response.data[:500]
        return client

    return sign_in


@pytest.fixture
def leader_client(sign_in_leader):
    """A client logged in as the project leader, second factor passed."""
    return sign_in_leader()


# --- localstripe on loopback, inside the test process (giving's tests and the browser journeys) ---

@pytest.fixture(scope="session")
def localstripe_url():
    from aiohttp import web

    with warnings.catch_warnings():
        # localstripe's routes are plain functions; aiohttp warns about that once per route.
        warnings.simplefilter("ignore", DeprecationWarning)
        import localstripe.resources as resources
        from localstripe.server import app as localstripe_app

    resources.Store.dump_to_disk = lambda self: None  # keep its state in memory: no shared pickle file
    started = threading.Event()
    state: dict = {}

    def serve():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(localstripe_app, access_log=None)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, host="127.0.0.1", port=0)  # loopback only, never every interface
        loop.run_until_complete(site.start())
        state.update(loop=loop, runner=runner, port=site._server.sockets[0].getsockname()[1])
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="localstripe", daemon=True)
    thread.start()
    assert started.wait(10), "localstripe did not start"
    yield f"http://127.0.0.1:{state['port']}"
    state["loop"].call_soon_threadsafe(state["loop"].stop)
    thread.join(10)


# --- a worker killed in the middle of its work ------------------------------------------------

@pytest.fixture
def kill_worker_midway(app_config, tmp_path):
    """Start tests/killed_worker.py on this test's database, wait until it is inside the work's
    transaction, SIGKILL it (as the kernel's OOM killer or a gunicorn timeout would) and return
    once it is gone."""
    import json
    import signal
    import subprocess
    import sys
    import time

    script = Path(__file__).with_name("killed_worker.py")

    def run(task: str, config: dict | None = None, **args) -> None:
        ready = tmp_path / f"{task}.ready"
        ready.unlink(missing_ok=True)
        payload = json.dumps({"config": config or app_config, "ready": str(ready), **args})
        worker = subprocess.Popen([sys.executable, str(script), task, payload], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, cwd=script.parent.parent)
        deadline = time.monotonic() + 120
        while not ready.exists():
            if worker.poll() is not None:
                raise AssertionError(f"the worker ended before it was killed: {worker.stderr.read().decode()[-3000:]}")
            if time.monotonic() > deadline:
                worker.kill()
                raise AssertionError("the worker never reached the middle of its work")
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
        worker.stdout.close()
        worker.stderr.close()

    return run


# --- contributions made through the capabilities themselves ---------------------------------------

@pytest.fixture
def contribute(app, leader):
    """Real contributions for journeys and end-to-end tests: an employee enrolled, placed and her
    reported session confirmed (enrolment), a payment request paid by bank transfer (giving)."""
    import secrets

    from portal.core import clock
    from portal.enrollment import hours, reference, schools, validation
    from portal.enrollment import service as enrollment
    from portal.giving import service as giving

    class Contribute:
        def confirmed_session(self, company, minutes: int, name: str = "Anna de Vries"):
            """The most recent session before today of a new placement, reported with `minutes` and confirmed."""
            return self.confirmed_sessions(company, minutes, 1, name)[0]

        def confirmed_sessions(self, company, minutes: int, count: int, name: str = "Anna de Vries", *,
                               earliest: bool = False):
            """`count` sessions before today of a new placement (the most recent, or the first of the
            school year), each reported with `minutes` and confirmed."""
            with app.test_request_context():
                reference.seed_reference_data()
                year = reference.current_school_year()
                school = enrollment.School.get_or_none(enrollment.School.brin == "12KL") or schools.save_school(
                    leader, {"name": "OBS De Klimop", "brin": "12KL", "street": "Zamenhofdreef 2",
                             "postcode": "3562 JT", "city": "Utrecht", "coordinator_name": "Ic Klimop",
                             "coordinator_email": "ic@klimop.nl"})
                slug = re.sub(r"\W+", ".", name.lower())
                raw = {"employee_name": name, "employee_email": f"{slug}.{secrets.token_hex(3)}@example.nl",
                       "job_title": "Engineer", "department": "", "language": "en", "role_type": "class",
                       "start": f"{year.starts_on.year}-09", "duration": "full", "weekday": "tuesday",
                       "hours_per_week": "8", "funding": "sponsored", "sponsored_hours_per_week": "",
                       "hourly_cost": "50,00", "vog_status": "received",
                       "vog_date": (year.starts_on - dt.timedelta(days=10)).isoformat(), "under_21": "no"}
                data, errors = validation.validate_enrolment(raw, validation.ValidationContext.load(company))
                assert not errors, errors
                enrolment = enrollment.create_enrolment(company, company.admin, data)
                for step in ("intake", "matched", "active"):
                    enrolment = enrollment.move(enrolment, step, leader, school=school, group_name="groep 5b",
                                                teacher_name="juf Aylin")
                past = [e for e in hours.register(enrolment) if e.worked_on < clock.today()]
                chosen = past[:count] if earliest else past[-count:]
                assert len(chosen) == count, "the school year has too few sessions before today"
                hours.report_sessions(enrolment, [hours.SessionReport(e.id, True, minutes) for e in chosen],
                                      actor=company.admin, via="hr")
                hours.decide_entries([e.id for e in chosen], leader, approve=True)
                return [hours.HoursEntry.get_by_id(e.id) for e in chosen]

        def paid_by_bank(self, company, cents: int, paid_on: dt.date | None = None):
            """A payment request of the company, paid by bank transfer."""
            with app.test_request_context():
                donation, _new = giving.create_donation(
                    giving.DonationInput(cents, "gift", "bank", secrets.token_urlsafe(24)), user=company.admin)
                result = giving.mark_paid_by_bank(donation.reference, cents, paid_on or clock.today(), leader,
                                                  f"bank line {donation.id}")
                assert result.status == "paid"
                return giving.Donation.get_by_id(donation.id)

    return Contribute()


# --- the task queue as the running portal has it -------------------------------------------------

@pytest.fixture
def real_queue(app, tmp_path):
    """A real queue (a SQLite file) instead of the tests' immediate one: tasks wait until a worker
    takes them. The app fixture puts config and extensions back afterwards."""
    from portal.core import tasks

    app.config.update(QUEUE_IMMEDIATE=False, QUEUE_URL=f"sqlite:///{tmp_path / 'queue.db'}")
    app.extensions[tasks.EXTENSION] = tasks.Queue(app)
    return tasks.queue(app)


def work_off(queue) -> int:
    """What a worker does: take each waiting task and run it; returns how many ran."""
    ran = 0
    while (task := queue.huey.dequeue()) is not None:
        queue.huey.execute(task)
        ran += 1
    return ran
