"""Load: the portal under gunicorn on benchmark-scale demo data, driven by concurrent clients.

1. Data: `portal demo --scale BENCH_SCALE` (default 100: 300 companies, about 3,100 current
   ambassadors, 15,600 placements over five school years, 540,000 hour entries, 50,000
   donations) in a fresh SQLite file, or in the empty database BENCH_DATABASE_URL names.
2. Server: gunicorn, BENCH_WORKERS sync workers (default 4), production settings; the app has
   one extra route, `/bench/constant`, the bare Flask endpoint every figure is compared with.
3. Per target, BENCH_CLIENTS_PER_TARGET clients (default 4) for BENCH_TARGET_SECONDS (default
   8): requests per second, p50/p95/p99 latency, errors, and the ratio of its throughput to the
   bare endpoint's in the same server and run.
4. Mixed load: BENCH_LOAD_CLIENTS clients (default 50) for BENCH_LOAD_SECONDS (default 60)
   read pages and write (signed webhook events, material pledges). Afterwards every write that
   got a 2xx is looked up in the database; any 5xx or missing write is reported as a failure.

Clients are threads in this process, each request on a new connection (gunicorn's sync workers
close it); on a two-core machine they share the CPU with the server, which the ratios absorb.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import http.cookies
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench import PRODUCTION_ISSUER_ENV
from bench.bench_content import ROOT, _free_port

SCALE = int(os.environ.get("BENCH_SCALE", "100"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
CLIENTS_PER_TARGET = int(os.environ.get("BENCH_CLIENTS_PER_TARGET", "4"))
TARGET_SECONDS = float(os.environ.get("BENCH_TARGET_SECONDS", "8"))
LOAD_CLIENTS = int(os.environ.get("BENCH_LOAD_CLIENTS", "50"))
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
REQUEST_TIMEOUT = 300
WEBHOOK_SECRET = "whsec_bench_" + secrets.token_hex(12)
PASSWORD = "klaslokaal-fiets-tulp-2026"  # noqa: S105 - the demo data's published password
LEADER = "projectleider@onderwijsambassadeurs.nl"
LARGEST_COMPANY = "hr@bouwgroep-domstad.nl"          # 1,000 x (scale / 100) ambassadors, five years
TYPICAL_COMPANY = "hr@utrechtse-zorgdiensten.nl"     # eight ambassadors, five years
SECOND_TYPICAL_COMPANY = "people@datadijk.nl"
CONTENT = ["/", "/voor-werkgevers", "/financieringsmodellen", "/veelgestelde-vragen", "/en/", "/en/for-employers"]
API = ["/api/v1/pages?lang=nl", "/api/v1/pages/voor-werkgevers?lang=nl", "/api/v1/faq?lang=en&category=company",
       "/api/v1/menus?lang=nl"]


# --- a small HTTP client with a cookie jar (the portal's cookies are Secure; this is loopback) ---

@dataclass
class Answer:
    status: int
    seconds: float
    body: bytes
    headers: dict[str, str]


@dataclass
class Browser:
    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            seconds = time.perf_counter() - started
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    for morsel in http.cookies.SimpleCookie(value).values():
                        self.cookies[morsel.key] = morsel.value
            return Answer(response.status, seconds, data, {k.lower(): v for k, v in response.getheaders()})
        finally:
            connection.close()

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str]) -> Answer:
        return self.request("POST", path, urlencode(fields).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def csrf(self, path: str) -> str:
        page = self.get(path)
        found = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.body)
        if page.status != 200 or not found:
            raise RuntimeError(f"no form at {path}: {page.status}")
        return found.group(1).decode()

    def log_in(self, email: str) -> None:
        token = self.csrf("/login")
        answer = self.post_form("/login", {"csrf_token": token, "email": email, "password": PASSWORD})
        if answer.status != 302:
            raise RuntimeError(f"login of {email} failed: {answer.status}")


def leader_browser(port: int) -> Browser:
    """The project leader, logged in with the TOTP code from the secret the enrolment page shows."""
    import pyotp

    browser = Browser(port)
    browser.log_in(LEADER)
    page = browser.get("/login/totp")
    secret = re.search(rb'<code class="secret">([A-Z2-7]+)</code>', page.body)
    if not secret:
        raise RuntimeError("the TOTP enrolment page shows no key")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.body).group(1).decode()
    answer = browser.post_form("/login/totp", {"csrf_token": token,
                                               "code": pyotp.TOTP(secret.group(1).decode()).now()})
    if answer.status != 302:
        raise RuntimeError(f"TOTP login failed: {answer.status}")
    return browser


def webhook_event() -> tuple[str, bytes, str]:
    """A signed Stripe event of a type the portal records and acknowledges (no API call behind it)."""
    event_id = "evt_bench_" + secrets.token_hex(10)
    payload = json.dumps({"id": event_id, "object": "event", "type": "customer.created", "livemode": False,
                          "created": int(time.time()), "api_version": "2026-10-28.endive",
                          "data": {"object": {"id": "cus_" + secrets.token_hex(6), "object": "customer"}}}).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + payload, hashlib.sha256).hexdigest()
    return event_id, payload, f"t={timestamp},v1={signature}"


# --- server and data ---------------------------------------------------------------------------

def _environment(workdir: Path, database_url: str) -> dict[str, str]:
    return dict(os.environ, **PRODUCTION_ISSUER_ENV, PORTAL_ENV="production", PORTAL_SECRET_KEY=secrets.token_urlsafe(48),
                PORTAL_DATABASE_URL=database_url, PORTAL_INSTANCE_DIR=str(workdir),
                PORTAL_OUTBOX_DIR=str(workdir / "outbox"), PORTAL_UPLOAD_DIR=str(workdir / "uploads"),
                PORTAL_CONTENT_RELOAD="0", PORTAL_RATELIMIT_LOGIN="10000 per minute",
                PORTAL_STRIPE_SECRET_KEY="sk_test_bench", PORTAL_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,  # noqa: S106
                PORTAL_STRIPE_API_BASE="http://127.0.0.1:9", PYTHONPATH=str(ROOT))


def _fill(env: dict[str, str]) -> float:
    portal = shutil.which("portal", path=str(Path(sys.executable).parent))
    started = time.perf_counter()
    demo_env = dict(env, PORTAL_ENV="development")   # the demo refuses to run in production
    subprocess.run([portal, "demo", "--scale", str(SCALE)], env=demo_env, cwd=ROOT, check=True,  # noqa: S603
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _counts(database_url: str) -> dict[str, int]:
    from portal import create_app
    from portal.accounts.models import Company
    from portal.enrollment.models import Enrolment, HoursEntry
    from portal.giving.models import Donation

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench-" + "x" * 40})
    with app.app_context():
        return {"companies": Company.select().count(),
                "ambassadors (current year)": Enrolment.select().where(Enrolment.status != "completed").count(),
                "placements (five years)": Enrolment.select().count(),
                "hour entries": HoursEntry.select().count(), "donations": Donation.select().count()}


def _persisted(database_url: str, events: set[str], pledges: set[str]) -> tuple[int, int]:
    from portal import create_app
    from portal.giving.models import MaterialPledge, StripeEvent

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench-" + "x" * 40})
    with app.app_context():
        found_events = {e.event_id for e in StripeEvent.select(StripeEvent.event_id)
                        .where(StripeEvent.event_id.in_(list(events)))} if events else set()
        found_pledges = {p.form_token for p in MaterialPledge.select(MaterialPledge.form_token)
                         .where(MaterialPledge.form_token.in_(list(pledges)))} if pledges else set()
    return len(events - found_events), len(pledges - found_pledges)


# --- measuring ---------------------------------------------------------------------------------

@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str, answer: Answer | None, expected: tuple[int, ...], error: str = "") -> None:
        with self.lock:
            if answer is None:
                self.statuses[0] = self.statuses.get(0, 0) + 1
                self.failures.append(f"{what}: {error}")
                return
            self.latencies.append(answer.seconds)
            self.statuses[answer.status] = self.statuses.get(answer.status, 0) + 1
            if answer.status not in expected:
                self.failures.append(f"{what}: {answer.status}")

    @property
    def errors(self) -> int:
        return len(self.failures)


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _run_clients(count: int, seconds: float, step) -> float:
    stop_at = time.monotonic() + seconds

    def loop(index: int) -> None:
        rng = random.Random(index)
        while time.monotonic() < stop_at:
            step(index, rng)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def _target(name: str, seconds: float, clients: int, call) -> dict:
    tally = Tally()

    def step(index: int, rng: random.Random) -> None:
        try:
            what, answer, expected = call(index, rng)
            tally.add(what, answer, expected)
        except OSError as error:
            tally.add(name, None, (), repr(error))

    elapsed = _run_clients(clients, seconds, step)
    done = sum(tally.statuses.values())
    return {"name": name, "rps": done / elapsed, "p50": _percentile(tally.latencies, 0.50),
            "p95": _percentile(tally.latencies, 0.95), "p99": _percentile(tally.latencies, 0.99),
            "requests": done, "errors": tally.errors, "first_error": tally.failures[:1]}


def run(report) -> None:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
    if gunicorn is None:
        report.table("Load", ["note"], [["gunicorn is not installed (pip install -e '.[prod]')"]])
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'load.db'}"
    env = _environment(workdir, database_url)
    print(f"# load: demo data at --scale {SCALE} ({database_url.split(':', 1)[0]})", flush=True)
    fill_seconds = _fill(env)
    counts = _counts(database_url)
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [gunicorn, "--workers", str(WORKERS), "--timeout", str(REQUEST_TIMEOUT), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "--backlog", "2048", "bench.bench_content:make_bench_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / "gunicorn.log", "wb"))  # noqa: SIM115
    portal = shutil.which("portal", path=str(Path(sys.executable).parent))
    # The task worker beside the server, as in production: the receipts and mails the load causes
    # are sent by it while the load runs.
    worker = subprocess.Popen([portal, "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,  # noqa: S603
                              stderr=open(workdir / "worker.log", "wb"))  # noqa: SIM115
    try:
        _wait(port, process)
        results, load = _measure(port, database_url)
    finally:
        for running in (process, worker):
            running.send_signal(signal.SIGINT if running is worker else signal.SIGTERM)
            try:
                running.wait(timeout=30)
            except subprocess.TimeoutExpired:
                running.kill()
    logs = {name: (workdir / name).read_text(errors="replace") for name in ("gunicorn.log", "worker.log")}
    log_tail = logs["gunicorn.log"][-2000:]
    locked = {name: text.count("database is locked") for name, text in logs.items()}
    checked = subprocess.run([portal, "ledger", "check"], env=env, cwd=ROOT, capture_output=True,  # noqa: S603
                             text=True)
    shutil.rmtree(workdir, ignore_errors=True)
    report.table("Load: the books afterwards", ["command", "result"],
                 [["portal ledger check", "agrees" if checked.returncode == 0
                   else "DIFFERENCES: " + (checked.stdout + checked.stderr).strip()[-1000:]],
                  *[[f"'database is locked' in {name}", f"{count} times" + (" (FAIL)" if count else "")]
                    for name, count in locked.items()]])

    report.table("Load: the data", ["rows", "count"], [[k, f"{v:,}"] for k, v in counts.items()],
                 note=f"`portal demo --scale {SCALE}` on {database_url.split(':', 1)[0]}, filled in "
                      f"{fill_seconds:.0f} s with bulk inserts.")
    bare = results[0]["rps"]
    rows = [[r["name"], f"{r['rps']:.1f}", f"{r['rps'] / bare:.3f}", f"{r['p50'] * 1000:.0f}",
             f"{r['p95'] * 1000:.0f}", f"{r['p99'] * 1000:.0f}", r["requests"],
             f"{r['errors']}" + (f" ({r['first_error'][0]})" if r["errors"] else "")] for r in results]
    report.table(
        "Load: each target alone, against the bare endpoint in the same server",
        ["target", "requests/s", "ratio to bare", "p50 ms", "p95 ms", "p99 ms", "requests", "errors"], rows,
        note=(f"gunicorn, {WORKERS} sync workers, production settings; {CLIENTS_PER_TARGET} concurrent clients per "
              f"target for {TARGET_SECONDS:.0f} s, one after the other, each request on a new connection. The "
              "webhook is a signed event the portal verifies, stores once under its id and acknowledges."))
    verdict = "PASS" if load["server_errors"] == 0 and load["missing"] == 0 and load["errors"] == 0 else "FAIL"
    report.table(
        f"Load: {LOAD_CLIENTS} concurrent clients for {LOAD_SECONDS:.0f} s, reads and writes mixed",
        ["requests", "requests/s", "p50 ms", "p95 ms", "p99 ms", "5xx", "other errors", "writes with 2xx",
         "2xx writes missing afterwards", "verdict"],
        [[load["requests"], f"{load['rps']:.1f}", f"{load['p50'] * 1000:.0f}", f"{load['p95'] * 1000:.0f}",
          f"{load['p99'] * 1000:.0f}", load["server_errors"], load["errors"], load["writes"], load["missing"],
          verdict]],
        note=("Each client picks, at random: a content page or API call (45 %), a dashboard of a typical company "
              "(20 %), a Stripe webhook event (20 %), a material pledge through the form with its CSRF token "
              "(10 %), the largest company's dashboard (4 %), the project leader's dashboard (1 %). "
              + (f"First errors: {load['first_errors']}. Server log: {log_tail!r}" if verdict == "FAIL" else "")))


def _wait(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the load server exited early")
        try:
            if Browser(port).get("/bench/constant").status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the load server did not start")


def _measure(port: int, database_url: str) -> tuple[list[dict], dict]:
    largest = Browser(port)
    largest.log_in(LARGEST_COMPANY)
    typical = Browser(port)
    typical.log_in(TYPICAL_COMPANY)
    leader = leader_browser(port)
    for browser, path in ((largest, "/dashboard"), (typical, "/dashboard"), (leader, "/leader")):
        browser.get(path)   # warm up every worker's caches a little
    for path in CONTENT + API:
        Browser(port).get(path)

    def anonymous(paths):
        return lambda index, rng: (paths[0], Browser(port).get(rng.choice(paths)), (200,))

    def as_user(browser: Browser, path: str):
        def call(index, rng):
            clone = Browser(port, dict(browser.cookies))
            return path, clone.get(path), (200,)
        return call

    def webhook(index, rng):
        _id, payload, signature = webhook_event()
        return "webhook", Browser(port).request("POST", "/webhooks/stripe", payload, {
            "Content-Type": "application/json", "Stripe-Signature": signature}), (200,)

    targets = [
        ("bare Flask endpoint", anonymous(["/bench/constant"])),
        ("content pages (HTML)", anonymous(CONTENT)),
        ("content API (JSON)", anonymous(API)),
        ("company dashboard, typical company (8 ambassadors)", as_user(typical, "/dashboard")),
        (f"company dashboard, largest company ({10 * SCALE:,} ambassadors)", as_user(largest, "/dashboard")),
        ("project leader's dashboard", as_user(leader, "/leader")),
        ("Stripe webhook (signed event)", webhook),
    ]
    results = []
    for name, call in targets:
        print(f"# load: {name}", flush=True)
        results.append(_target(name, TARGET_SECONDS, CLIENTS_PER_TARGET, call))
    print(f"# load: {LOAD_CLIENTS} clients for {LOAD_SECONDS:.0f} s", flush=True)
    return results, _mixed(port, database_url, largest, typical, leader)


def _mixed(port: int, database_url: str, largest: Browser, typical: Browser, leader: Browser) -> dict:
    other = Browser(port)
    other.log_in(SECOND_TYPICAL_COMPANY)
    sessions = [typical, other]
    tally = Tally()
    events: set[str] = set()
    pledges: set[str] = set()
    record_lock = threading.Lock()

    def step(index: int, rng: random.Random) -> None:
        roll = rng.random()
        try:
            if roll < 0.45:
                path = rng.choice(CONTENT + API)
                tally.add(path, Browser(port).get(path), (200,))
                answer = None
            elif roll < 0.65:
                answer = Browser(port, dict(rng.choice(sessions).cookies)).get("/dashboard")
                tally.add("typical dashboard", answer, (200,))
            elif roll < 0.85:
                event_id, payload, signature = webhook_event()
                answer = Browser(port).request("POST", "/webhooks/stripe", payload, {
                    "Content-Type": "application/json", "Stripe-Signature": signature})
                tally.add("webhook", answer, (200,))
                if 200 <= answer.status < 300:
                    with record_lock:
                        events.add(event_id)
            elif roll < 0.95:
                browser = Browser(port, dict(sessions[index % len(sessions)].cookies))
                token = browser.csrf("/giving/materials/pledge")
                form_token = f"bench-{index:03d}-{secrets.token_hex(8)}"
                answer = browser.post_form("/giving/materials/pledge", {
                    "csrf_token": token, "need": "", "description": f"Bench pledge {form_token}", "quantity": "2",
                    "declared_value": "125,00", "classification": "gift", "form_token": form_token})
                tally.add("pledge", answer, (302, 303))
                if 200 <= answer.status < 400:
                    with record_lock:
                        pledges.add(form_token)
            elif roll < 0.99:
                answer = Browser(port, dict(largest.cookies)).get("/dashboard")
                tally.add("largest dashboard", answer, (200,))
            else:
                answer = Browser(port, dict(leader.cookies)).get("/leader")
                tally.add("leader dashboard", answer, (200,))
        except (OSError, RuntimeError) as error:
            tally.add("request", None, (), repr(error))

    elapsed = _run_clients(LOAD_CLIENTS, LOAD_SECONDS, step)
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500)
    missing_events, missing_pledges = _persisted(database_url, events, pledges)
    done = sum(tally.statuses.values())
    return {"requests": done, "rps": done / elapsed, "p50": _percentile(tally.latencies, 0.5),
            "p95": _percentile(tally.latencies, 0.95), "p99": _percentile(tally.latencies, 0.99),
            "server_errors": server_errors, "errors": tally.errors - server_errors, "writes": len(events) + len(pledges),
            "missing": missing_events + missing_pledges, "first_errors": tally.failures[:3]}
