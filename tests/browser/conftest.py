"""Browser journeys: the portal served on 127.0.0.1 in a thread, driven by headless Chromium.

Every visited page can be checked with axe-core (injected from node_modules, no CDN) and a
screenshot of each step is kept in test-artifacts/browser/ for people to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal import create_app

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
AXE_SOURCE = AXE.read_text(encoding="utf-8") if AXE.exists() else ""
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(config, items):
    missing = [what for what, ok in (("Debian's chromium", CHROMIUM), ("node_modules/axe-core", AXE.exists())) if not ok]
    if not missing:
        return
    if os.environ.get("PORTAL_REQUIRE_BROWSER"):
        raise pytest.UsageError(f"browser tests need {', '.join(missing)} (make test installs them)")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=f"needs {', '.join(missing)}"))


@pytest.fixture
def live_server(app_config):
    """The portal on a free port of 127.0.0.1, with its own fresh database."""
    config = dict(app_config, TESTING=False, SECURE_COOKIES=False, SERVER_NAME=None)
    application = create_app(config)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    application.config["BASE_URL"] = base
    with application.app_context():
        yield type("LiveServer", (), {"url": base, "app": application})
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
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
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def snap(self, label: str) -> Path:
        self.step += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{self.step:02d}-{re.sub(r'[^a-z0-9]+', '-', label.lower())}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def check_accessibility(self) -> None:
        """axe-core on the current page: no serious or critical violations."""
        # Evaluated through the DevTools protocol, so the page's strict CSP stays in force.
        self.page.evaluate(AXE_SOURCE)
        result = self.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
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


@pytest.fixture
def journey(browser, request):
    context = browser.new_context(locale="nl-NL", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    walk = Journey(page, request.node.name)
    yield walk
    context.close()
    assert not [e for e in walk.console_errors if "Content Security Policy" in e], walk.console_errors
