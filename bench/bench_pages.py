"""Pages that sum history, one request at a time, at two sizes of demo data (issue 12's measure).

For each scale in BENCH_PAGE_SCALES (default "20,100"): `portal demo --scale N` in a fresh SQLite
file, served by its own gunicorn (2 sync workers, production settings); all of them run at once.
Each page is requested BENCH_PAGE_REPEAT times (default 5) at every scale in turns, each time right
after two requests for a static file (`/static/portal.css`) served by the same server: a busy moment
on the machine slows both alike, and the scales are measured in the same minutes, so that the time
at the larger scale is compared with the smaller's under the same conditions (measured one after
the other, a change in the machine's speed between the two showed up as growth). The ratio is the
static file's median time divided by the page's, both from that page's own rounds (1.0 = as cheap
as a static file). Goals: the typical company's dashboard >= 0.10x, every other page >= 0.05x, and
each page at the larger scale within 2x of its time at the smaller. Afterwards `portal ledger
check` must find the books in agreement.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_content import ROOT, _free_port
from bench.bench_load import (
    LARGEST_COMPANY,
    REQUEST_TIMEOUT,
    TYPICAL_COMPANY,
    Browser,
    _environment,
    _wait,
    leader_browser,
)

SCALES = [int(s) for s in os.environ.get("BENCH_PAGE_SCALES", "20,100").split(",") if s.strip()]
REPEAT = int(os.environ.get("BENCH_PAGE_REPEAT", "5"))
STATIC = "/static/portal.css"
PAGES = [  # (label, who, path, goal as a ratio to the static file)
    ("typical company: /dashboard", "typical", "/dashboard", 0.10),
    ("largest company: /dashboard", "largest", "/dashboard", 0.05),
    ("largest company: /statements", "largest", "/statements", 0.05),
    ("largest company: /sroi/", "largest", "/sroi/", 0.05),
    ("project leader: /leader", "leader", "/leader", 0.05),
    ("project leader: /leader/reconcile", "leader", "/leader/reconcile", 0.05),
    ("project leader: /sroi/leader", "leader", "/sroi/leader", 0.05),
]


def _interleaved(browsers: dict[int, Browser], path: str, times: int) -> dict[int, tuple[float, float, int]]:
    """Per scale, the median seconds of the static file and of the page, requested in turns (the
    scales too); and a status other than 200, if the page answered one."""
    static = {scale: [] for scale in browsers}
    seconds = {scale: [] for scale in browsers}
    status = dict.fromkeys(browsers, 0)
    for _ in range(times):
        for scale, browser in browsers.items():
            for _ in range(2):
                static[scale].append(Browser(browser.port).get(STATIC).seconds)
            answer = Browser(browser.port, dict(browser.cookies)).get(path)
            status[scale] = answer.status if answer.status != 200 else status[scale]
            seconds[scale].append(answer.seconds)
    return {scale: (statistics.median(static[scale]), statistics.median(seconds[scale]), status[scale])
            for scale in browsers}


def _portal(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    portal = shutil.which("portal", path=str(Path(sys.executable).parent))
    return subprocess.run([portal, *args], env=env, cwd=ROOT, capture_output=True, text=True)  # noqa: S603


def _fill(scale: int) -> dict[str, str]:
    """Demo data at `scale` in a fresh folder; the environment that serves it."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-pages-{scale}-"))
    env = _environment(workdir, f"sqlite:///{workdir / 'pages.db'}")
    print(f"# pages: demo data at --scale {scale}", flush=True)
    filled = _portal("demo", "--scale", str(scale), env=dict(env, PORTAL_ENV="development"))
    if filled.returncode:
        raise RuntimeError(f"portal demo failed: {filled.stderr[-2000:]}")
    return env


def _serve(env: dict[str, str], gunicorn: str) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [gunicorn, "--workers", "2", "--timeout", str(REQUEST_TIMEOUT), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "bench.bench_content:make_bench_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(port, process)
    return process, port


def _measure(gunicorn: str) -> dict:
    """Every page at every scale, the scales served side by side; then each scale's ledger check."""
    envs = {scale: _fill(scale) for scale in SCALES}
    servers: dict[int, tuple[subprocess.Popen, int]] = {}
    try:
        for scale, env in envs.items():
            servers[scale] = _serve(env, gunicorn)
        browsers = {}
        for scale, (_process, port) in servers.items():
            browsers[scale] = {"typical": Browser(port), "largest": Browser(port), "leader": leader_browser(port)}
            browsers[scale]["typical"].log_in(TYPICAL_COMPANY)
            browsers[scale]["largest"].log_in(LARGEST_COMPANY)
        for _label, who, path, _goal in PAGES:   # each worker warm once
            for scale in SCALES:
                for _ in range(2):
                    browsers[scale][who].get(path)
        pages = {}
        for label, who, path, _goal in PAGES:
            print(f"# pages: {label}", flush=True)
            pages[label] = _interleaved({scale: browsers[scale][who] for scale in SCALES}, path, REPEAT)
    finally:
        for process, _port in servers.values():
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    results = {}
    for scale, env in envs.items():
        checked = _portal("ledger", "check", env=env)
        shutil.rmtree(env["PORTAL_INSTANCE_DIR"], ignore_errors=True)
        results[scale] = {"pages": {label: pages[label][scale] for label in pages}, "ledger": checked.returncode == 0,
                          "ledger_output": (checked.stdout + checked.stderr).strip()[-500:]}
    return results


def run(report) -> None:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
    if gunicorn is None:
        report.table("Pages", ["note"], [["gunicorn is not installed (pip install -e '.[prod]')"]])
        return
    results = _measure(gunicorn)
    first = SCALES[0]
    for scale, result in results.items():
        rows = []
        for label, _who, _path, goal in PAGES:
            static, seconds, status = result["pages"][label]
            ratio = static / seconds
            verdict = "met" if ratio >= goal else "BELOW"
            growth = ""
            if scale != first:
                before = results[first]["pages"][label][1]
                growth = f"{seconds / before:.2f}x"
                if seconds > 2 * before:
                    verdict += "; BELOW (grows with history)"
            rows.append([label, f"{seconds * 1000:.0f}", f"{static * 1000:.1f}", f"{ratio:.3f}", f">= {goal:.2f}",
                         growth, verdict + (f" (HTTP {status})" if status else "")])
        report.table(
            f"Pages at --scale {scale}: one request at a time, ratio to a static file",
            ["page", "median ms", "static file ms", "ratio to static", "goal", f"time vs --scale {first}", "verdict"],
            rows,
            note=(f"gunicorn, 2 sync workers, production settings, SQLite; static file {STATIC}, requested "
                  f"twice before each of the page's {REPEAT} requests; every scale served at once and measured "
                  f"in turns. `portal ledger check` "
                  f"afterwards: {'agrees' if result['ledger'] else 'DIFFERENCES: ' + result['ledger_output']}."))
