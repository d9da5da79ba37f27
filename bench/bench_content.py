"""Content throughput: pages and API against a bare Flask endpoint, in the same server, one run.

The portal runs under gunicorn (one sync worker, production settings) on 127.0.0.1 with an
extra route `/bench/constant` that returns a constant string: the bare Flask endpoint. A
bounded load loop (a few client threads, fresh connection per request, as gunicorn's sync
worker closes them) drives each target in interleaved rounds; the figure that matters is the
ratio of a content target's requests per second to the constant endpoint's (goals in GOALS:
pages and API >= 0.9, a 304 >= 1.0 since it should cost less than any page). Absolute numbers
are for context only.
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import PRODUCTION_ISSUER_ENV

ROOT = Path(__file__).resolve().parents[1]
CLIENT_THREADS = 2
SECONDS_PER_ROUND = 1.0
MAX_REQUESTS_PER_ROUND = 20_000
ROUNDS = 6  # short, interleaved rounds: a burst of load elsewhere on the machine hits every target alike

TARGETS = {
    "bare Flask endpoint (constant string)": ["/bench/constant"],
    "content pages (HTML, 8 pages, nl and en)": [
        "/", "/voor-werkgevers", "/financieringsmodellen", "/veelgestelde-vragen",
        "/en/", "/en/for-employers", "/en/become-an-ambassador", "/en/faq"],
    "content API (JSON: list, page, faq, menus)": [
        "/api/v1/pages?lang=nl", "/api/v1/pages/voor-werkgevers?lang=nl", "/api/v1/faq?lang=en&category=company",
        "/api/v1/menus?lang=nl", "/api/v1/pages/faq?lang=en"],
    "conditional page (If-None-Match, 304)": ["/voor-werkgevers"],
}

# The lowest ratio to the bare endpoint each target must reach (issue 19).
GOALS = {
    "content pages (HTML, 8 pages, nl and en)": 0.9,
    "content API (JSON: list, page, faq, menus)": 0.9,
    "conditional page (If-None-Match, 304)": 1.0,
}


def make_bench_app():
    """The real portal plus the bare endpoint (gunicorn imports this factory)."""
    from portal import create_app

    app = create_app()

    @app.get("/bench/constant")
    def constant():
        return "ok"

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _wait_until_up(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the benchmark server exited early")
        try:
            if _get(port, "/bench/constant")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the benchmark server did not start")


def _drive(port: int, paths: list[str], headers: dict[str, str], expected: int) -> float:
    """Requests per second over one bounded round."""
    done = [0] * CLIENT_THREADS
    errors: list[str] = []
    stop_at = time.monotonic() + SECONDS_PER_ROUND
    budget = MAX_REQUESTS_PER_ROUND // CLIENT_THREADS

    def worker(index: int) -> None:
        n = 0
        while n < budget and time.monotonic() < stop_at:
            status, _headers, _body = _get(port, paths[(n + index) % len(paths)], headers)
            if status != expected:
                errors.append(f"{paths[n % len(paths)]}: {status}")
                return
            n += 1
        done[index] = n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENT_THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    if errors:
        raise RuntimeError(f"unexpected answer during the benchmark: {errors[0]}")
    return sum(done) / elapsed


def run(report) -> None:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
    if gunicorn is None:
        report.table("Content throughput", ["note"], [["gunicorn is not installed (pip install -e '.[prod]')"]])
        return
    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bench-content-"))
    env = dict(os.environ, **PRODUCTION_ISSUER_ENV, PORTAL_ENV="production", PORTAL_SECRET_KEY=secrets.token_urlsafe(48),
               PORTAL_DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}", PORTAL_INSTANCE_DIR=str(workdir),
               PORTAL_CONTENT_RELOAD="0", PYTHONPATH=str(ROOT))
    process = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [gunicorn, "--workers", "1", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
         "bench.bench_content:make_bench_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_up(port, process)
        etag = _get(port, "/voor-werkgevers")[1]["ETag"]
        for paths in TARGETS.values():  # warm up: the memo and the interpreter
            for path in paths:
                _get(port, path)
        rates: dict[str, list[float]] = {name: [] for name in TARGETS}
        for _round in range(ROUNDS):
            for name, paths in TARGETS.items():
                conditional = name.startswith("conditional")
                rates[name].append(_drive(port, paths, {"If-None-Match": etag} if conditional else {},
                                          304 if conditional else 200))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(workdir, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in rates.items()}
    bare = medians["bare Flask endpoint (constant string)"]
    rows = []
    for name, value in medians.items():
        ratio = value / bare
        goal = GOALS.get(name)
        if goal is None:
            rows.append([name, f"{value:.0f}", f"{ratio:.2f}", "", ""])
            continue
        verdict = "meets goal" if ratio >= goal else "BELOW"
        rows.append([name, f"{value:.0f}", f"{ratio:.2f}", f">= {goal:.1f}", verdict])
    report.table(
        "Content throughput vs a bare Flask endpoint (same gunicorn server)",
        ["target", "requests/s (median of rounds)", "ratio to bare", "goal", ""],
        rows,
        note=(f"gunicorn, 1 sync worker, production settings, 127.0.0.1; {CLIENT_THREADS} client threads, a new "
              f"connection per request; {ROUNDS} interleaved rounds of {SECONDS_PER_ROUND:.0f} s each. "
              "The bare endpoint is a route on the same app, so both pass the same middleware."),
    )
    _load_time(report)


def _load_time(report) -> None:
    """What rendering costs, paid once when content loads (never per request)."""
    from portal.content.loader import build_site

    timings = []
    for _ in range(5):
        started = time.perf_counter()
        site = build_site(ROOT / "content")
        timings.append(time.perf_counter() - started)
    pages = len(site.pages)
    entries = sum(len(p.faq_entries) for p in site.pages)
    report.table("Content load (parse, validate, render, sanitise)", ["pages", "FAQ answers", "median ms"],
                 [[pages, entries, f"{statistics.median(timings) * 1000:.0f}"]],
                 note="Paid at start-up or, in development, when a file changes.")
