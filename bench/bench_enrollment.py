"""HR dashboard throughput with the `--scale` demo data, as a ratio to a bare endpoint.

The demo data is made at scale BENCH_SCALE (default 10; `portal demo --scale 100` gives the
first company, Bouwgroep Domstad, 1,000 ambassadors with their hours registers) in a fresh
SQLite file. The real application then answers, in-process through the WSGI test client
(no HTTP server, so only the application's own cost is measured), in interleaved rounds:
a bare Flask endpoint returning a constant string (the baseline), the HR dashboard
(/dashboard with the ambassadors panel and its SVG chart) and the full overview page
(/ambassadors) for the largest company and a small one. The figure that matters is each
page's requests per second divided by the baseline's in the same run; the number of SQL
queries per page shows that the work does not grow with the number of ambassadors.
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time

ROUNDS = 3
SECONDS_PER_ROUND = 1.5


def _fill(app, scale: int) -> None:
    from playhouse.migrations import Runner

    from portal import demo
    from portal.cli import MIGRATIONS_DIR
    from portal.core.db import database

    with app.app_context(), app.test_request_context():
        Runner(database.obj, MIGRATIONS_DIR).up()
        steps = demo.DEMO_STEPS
        demo.DEMO_STEPS = ("portal.enrollment.demo",)  # the data this benchmark reads
        try:
            demo.fill(scale=scale)
        finally:
            demo.DEMO_STEPS = steps
        database.close()


def _companies(app) -> list[tuple[str, str, int]]:
    """(label, admin e-mail, ambassadors) for the largest company and a small one."""
    from peewee import fn

    from portal.accounts.models import User
    from portal.core.db import database
    from portal.enrollment.models import Enrolment

    with app.app_context():
        counts = list(Enrolment.select(Enrolment.company, fn.COUNT(Enrolment.id)).group_by(Enrolment.company)
                      .order_by(fn.COUNT(Enrolment.id).desc()).tuples())
        largest, smallest = counts[0], counts[-1]
        found = []
        for label, (company_id, count) in (("largest company", largest), ("small company", smallest)):
            admin = User.get((User.company == company_id) & (User.role == "admin"))
            found.append((label, admin.email, count))
        database.close()
    return found


def _rate(client, path: str, seconds: float) -> float:
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        done += 1
    return done / elapsed


def _queries(client, path: str) -> int:
    counted = []

    class Counter(logging.Handler):
        def emit(self, record):
            counted.append(record)

    logger = logging.getLogger("peewee")
    handler, level, propagate = Counter(logging.DEBUG), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        client.get(path)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    return len(counted)


def run(report) -> None:
    scale = int(os.environ.get("BENCH_SCALE", "10"))
    with tempfile.TemporaryDirectory(prefix="bench-enrollment-") as folder:
        os.environ.setdefault("PORTAL_INSTANCE_DIR", folder)
        from portal import create_app
        from portal.demo import DEMO_PASSWORD

        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.db", "ENV": "testing", "TESTING": False,
                          "OUTBOX_DIR": f"{folder}/outbox", "UPLOAD_DIR": f"{folder}/uploads",
                          "PASSWORD_HASH_MEMORY_KIB": 1024, "WTF_CSRF_ENABLED": False,
                          "RATELIMIT_ENABLED": False, "SECURE_COOKIES": False})

        @app.get("/bench/constant")
        def constant():
            return "ok"

        started = time.perf_counter()
        _fill(app, scale)
        fill_seconds = time.perf_counter() - started

        targets: list[tuple[str, object, str, int]] = []
        bare = app.test_client()
        targets.append(("bare Flask endpoint (constant string)", bare, "/bench/constant", 0))
        for label, email, count in _companies(app):
            client = app.test_client()
            response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
            if response.status_code != 302:
                raise RuntimeError(f"could not log in as {email}")
            targets.append((f"HR dashboard /dashboard, {label}", client, "/dashboard", count))
            targets.append((f"ambassadors overview /ambassadors, {label}", client, "/ambassadors", count))

        for _label, client, path, _count in targets:
            client.get(path)  # warm up: templates, login-session touch
        rates: dict[str, list[float]] = {label: [] for label, *_ in targets}
        for _round in range(ROUNDS):
            for label, client, path, _count in targets:
                rates[label].append(_rate(client, path, SECONDS_PER_ROUND))
        baseline = statistics.median(rates[targets[0][0]])
        rows = []
        for label, client, path, count in targets:
            rps = statistics.median(rates[label])
            rows.append([label, count if count else "—", _queries(client, path), f"{rps:.0f}", f"{rps / baseline:.3f}"])
        report.table(
            "Enrolment: HR dashboard throughput against a bare endpoint",
            ["target", "ambassadors", "SQL queries", "requests/s", "ratio to bare endpoint"],
            rows,
            f"Demo data at scale {scale} (made in {fill_seconds:.1f} s, SQLite file); in-process WSGI test client, "
            f"{ROUNDS} interleaved rounds of {SECONDS_PER_ROUND} s, median. The query count per page is the same "
            "for the largest and the small company (tests/enrollment/test_dashboard.py asserts it for 10 and 1,000).")
