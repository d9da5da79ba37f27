"""Browser journeys: the portal served on 127.0.0.1 in a thread, driven by headless Chromium.

This folder is the one browser runner of the suite: every journey lives here and takes the
`live_server` and `journey` (or `new_journey`) fixtures below. Every visited page can be checked
with axe-core (injected from node_modules, no CDN) and a screenshot of each step is kept in
test-artifacts/browser/ for people to look at.

Prerequisites are Debian's chromium (found on PATH as `.ci/run` finds it; Playwright never
downloads a browser) and node_modules/axe-core. When one is missing, every journey is skipped
with the command that installs it, or, with PORTAL_REQUIRE_BROWSER set (as `.ci/run` does), the
run stops with a usage error naming what is missing.

Safe under pytest-xdist: each worker process starts its own Chromium (`browser` is per session,
that is per worker) and each test its own server on a free port; screenshot names come from the
test's node id, so no two tests write the same file.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal import create_app

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
AXE_SOURCE = AXE.read_text(encoding="utf-8") if AXE.exists() else ""
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCALE = "nl-NL"
VIEWPORT = {"width": 1200, "height": 900}


def missing_prerequisites() -> list[tuple[str, str, str]]:
    """(what, how we know it is missing, the exact command that installs it) for each one missing."""
    missing = []
    if not CHROMIUM:
        missing.append(("Debian's chromium", "no `chromium` on PATH", "sudo make browser"))
    if not AXE.exists():
        missing.append(("axe-core", f"no {AXE.relative_to(ROOT)}", "make node_modules/axe-core/axe.min.js"))
    return missing


def _is_journey(item) -> bool:
    return HERE in Path(item.path).resolve().parents


def pytest_collection_modifyitems(config, items):
    # A conftest's hook sees every collected item of the session, not only this folder's.
    journeys = [item for item in items if _is_journey(item)]
    for item in journeys:
        item.add_marker(pytest.mark.slow)  # a real browser: seconds each (-m "not slow" leaves them out)
    missing = missing_prerequisites()
    if not (journeys and missing):
        return
    if os.environ.get("PORTAL_REQUIRE_BROWSER"):
        message = "PORTAL_REQUIRE_BROWSER is set, but the browser journeys cannot run: " + "; ".join(
            f"{what} is missing ({why}; install it with `{command}`)" for what, why, command in missing)
        if hasattr(config, "workerinput"):
            # In a pytest-xdist worker a UsageError only reaches the controller as an unreadable
            # internal error. Run nothing and ask to stop instead: the controller ends the run
            # with "Interrupted: <message>" (exit status 2).
            journeys[0].session.shouldfail = message
            items[:] = []
            return
        raise pytest.UsageError(message)
    reason = "; ".join(f"needs {what}, {why}: install it with `{command}`" for what, why, command in missing)
    for item in journeys:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def live_server(app_config):
    """The portal on a free port of 127.0.0.1, with its own fresh database."""
    # Mails and receipts run at once, in the request that causes them (huey's immediate mode).
    config = dict(app_config, TESTING=False, QUEUE_IMMEDIATE=True, SECURE_COOKIES=False, SERVER_NAME=None)
    application = create_app(config)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    application.config["BASE_URL"] = base
    with application.app_context():
        yield type("LiveServer", (), {"url": base, "app": application})
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium per test process (per xdist worker), driven from the main thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Journey:
    """A page plus helpers: screenshots per step and an accessibility check per page."""

    def __init__(self, page, name: str) -> None:
        self.page = page
        self.name = name
        self.step = 0
        self.console_errors: list[str] = []
        self._devtools = None  # a DevTools session of the page, opened by the first screenshot
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def snap(self, label: str) -> Path:
        """A PNG of the whole page (not only the window), kept for people to look at."""
        self.step += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{self.step:02d}-{_slug(label)}.png"
        path.write_bytes(self._full_page_png())
        return path

    def _full_page_png(self) -> bytes:
        """The whole page as Playwright's `screenshot(full_page=True)` takes it, but asked of Chromium
        directly with its faster PNG encoder (`optimizeForSpeed`: a larger file, the same pixels).
        Playwright's own took nearly twice as long, a large part of every journey; nothing reads
        these files but people."""
        if self._devtools is None:
            self._devtools = self.page.context.new_cdp_session(self.page)
        size = self._devtools.send("Page.getLayoutMetrics")["cssContentSize"]
        shot = self._devtools.send("Page.captureScreenshot", {
            "format": "png", "optimizeForSpeed": True, "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
        return base64.b64decode(shot["data"])

    def check_accessibility(self) -> None:
        """axe-core on the current page: no serious or critical violations."""
        # Evaluated through the DevTools protocol, so the page's strict CSP stays in force.
        self.page.evaluate(AXE_SOURCE)
        # Every rule runs; the "no-passes" reporter only leaves out the list of what passed (about a
        # third of axe.run's time went into building it); the violations are reported in full.
        result = self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations'], reporter: 'no-passes'})")
        bad = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, f"accessibility problems on {self.page.url}:\n" + "\n".join(bad)

    def log_in(self, base: str, email: str, password: str) -> None:
        """Through the real form; lands on the dashboard."""
        self.visit(base + "/login", "log in")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("main button[type=submit]")
        self.page.wait_for_url(re.compile(r".*/dashboard$"))

    def visit(self, url: str, label: str):
        response = self.page.goto(url)
        self.check_accessibility()
        self.snap(label)
        return response


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _artifact_name(node) -> str:
    """Unique per test: the module's path below tests/browser plus the test's name and parameters."""
    module = Path(node.path).resolve().relative_to(HERE).with_suffix("").as_posix().removeprefix("test_")
    return _slug(f"{module}-{node.name}")


@pytest.fixture
def new_journey(browser, request):
    """Opens a Journey in a fresh browser context (its own cookies), e.g. `new_journey(locale="en-GB")`
    for an English browser, or a second visitor next to `journey`. `viewport=None` is Playwright's
    default window. After the test every context is closed, and none may have reported a
    Content Security Policy violation."""
    opened: list[tuple[object, Journey]] = []
    base = _artifact_name(request.node)

    def open_journey(*, locale: str = LOCALE, viewport: dict | None = VIEWPORT) -> Journey:
        options = {"locale": locale}
        if viewport is not None:
            options["viewport"] = viewport
        context = browser.new_context(**options)
        name = base if not opened else f"{base}-{len(opened) + 1}"
        walk = Journey(context.new_page(), name)
        opened.append((context, walk))
        return walk

    yield open_journey
    for context, _ in opened:
        context.close()
    for _, walk in opened:
        assert not [e for e in walk.console_errors if "Content Security Policy" in e], walk.console_errors


@pytest.fixture
def journey(new_journey):
    """A Dutch browser (nl-NL, 1200x900) on a page of its own."""
    return new_journey()
