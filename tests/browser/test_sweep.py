"""The browser sweep (issue 21): every HTML page, as every role that has it, in Dutch and in English,
at 1,280 x 800 and at 390 x 844. On each: no horizontal overflow, no serious or critical axe-core
finding (all of axe's rules) and no text the colour of its background, no id twice, no scrolling box
a keyboard cannot reach, the page in the language asked for, no Content Security Policy violation,
and on a Dutch page no English word.

The pages come from the route table, not from a list kept by hand: every GET route that answers
HTML (tests/test_page_structure.py's NOT_PAGES and FILES below leave out files, feeds and machine
answers), for the role its classification in tests/security/routes.py gives it, with the parameters
filled in with company A's objects from the security suite's world (tests/security/tenant_objects.py;
the first object, or the first one that opens the page), the query strings of its QUERIES (and a
search with results), every published content page from the sitemap, and the page of an address
that does not exist. A new route is swept as soon as it is classified. A route that turns out to be
a download, or that no object of the world opens, is skipped with the reason (pytest -ra shows it).

English on a Dutch page: the words of the catalogue's English texts (msgids) that no Dutch text uses
(translations, Dutch content pages), looked for in every text, title, label, placeholder and button
of the page, except text marked as another language (lang="en") or as code (<code>, <kbd>, <samp>),
and what company A's world typed as its users would (names, descriptions, addresses).

Each (role, language, page) is a test case of its own, so a failure names its page. Kept fast: one
browser and one world for the module, one logged-in browser context per role and language, each
page loaded once: axe and the checks at 1,280 px, then the window narrowed to 390 px without a
reload for the width and the scroll boxes; `make screenshots` (PORTAL_SWEEP_SHOTS=1) also keeps a
screenshot of each page at each width (test-artifacts/browser/sweep/).
Marked `sweep` (and `slow`, as every browser test): `-m "not sweep"` leaves it out.

Roles: the anonymous visitor, a company's administrator (the company user who sees every company
page), the ambassador behind her mailed link, the project leader, and the project leader acting on
behalf of the company's administrator (the company pages as she sees them then). A logged-in user's
pages are in her stored language: it is set before each page.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import tempfile
import threading
from dataclasses import dataclass
from functools import cache

import pyotp
import pytest
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import make_server

from tests.browser.conftest import ARTIFACTS, AXE_SOURCE, Journey, _slug
from tests.conftest import PASSWORD, Outbox
from tests.english_words import english_on_a_dutch_page
from tests.security import routes
from tests.security.tenant_objects import QUERIES
from tests.test_page_structure import NOT_PAGES

pytestmark = pytest.mark.sweep

SHOTS = ARTIFACTS / "sweep"
# Screenshots of every page at both widths, to look at (`make screenshots`): a third of the sweep's time,
# and nothing the sweep asserts reads them, so a plain `make test` leaves them out.
KEEP_SHOTS = os.environ.get("PORTAL_SWEEP_SHOTS") == "1"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LANGUAGES = ("nl", "en")
BROWSER_LOCALE = {"nl": "nl-NL", "en": "en-GB"}
ROLES = ("anonymous", "company", "employee", "leader", "acting")
MISSING = {"nl": "/bestaat-niet", "en": "/en/does-not-exist"}
SEARCHES = {"content.search": ["", "q=uren"], "content.search_en": ["", "q=hours"]}  # the form, and results
ROLE_OF_CLASS = {"public": ["anonymous"], "key-guarded": ["anonymous"], "company": ["company", "acting"],
                 "leader": ["leader"], "employee": ["employee"]}


# --- which pages ------------------------------------------------------------------------------------

FILES = re.compile(r"\.(csv|pdf|xlsx|xml|txt|json)$")  # what a route answers besides pages


@dataclass(frozen=True)
class Case:
    role: str
    lang: str
    endpoint: str
    rule: str          # the rule's path as the route table has it ("/leader/schools/<int:school_id>")
    query: str = ""
    address: str = ""  # a page of its own address: a markdown page of the sitemap, the page of an error

    @property
    def name(self) -> str:
        rule = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"<\1>", self.rule)  # "<int:school_id>" -> "<school_id>"
        where = self.address or rule + (f"?{self.query}" if self.query else "")
        return f"{self.role}-{self.lang}-{'404 ' if self.endpoint == '404' else ''}{where}"


@contextlib.contextmanager
def _route_app():
    """The portal's app, for its route table and its content: nothing is served by it, and the
    database it binds on being built is bound back (tests bind their own)."""
    from portal import create_app
    from portal.core.db import database
    from tests.conftest import app_config

    previous = database.obj
    with tempfile.TemporaryDirectory(prefix="sweep-routes-") as folder:
        try:
            yield create_app(app_config.__wrapped__(database_url=f"sqlite:///{folder}/routes.db",
                                                    tmp_path=pathlib.Path(folder)))
        finally:
            database.initialize(previous)


def _languages_of(rule, rules) -> tuple[str, ...]:
    """A rule under /en/ is the English address of a page; a rule with such an English twin (the
    same endpoint, or the endpoint's `_en` twin) is the Dutch address; any other serves both."""
    if rule.rule == "/en/" or rule.rule.startswith("/en/"):
        return ("en",)
    twins = {rule.endpoint, rule.endpoint + "_en"}
    if any(other.endpoint in twins and other.rule.startswith("/en/") for other in rules):
        return ("nl",)
    return LANGUAGES


@cache
def cases() -> list[Case]:
    """Every page of the route table and the sitemap, for each role that has it, in its languages."""
    from portal.content import service as content
    from portal.content.http import store

    found: list[Case] = []
    with _route_app() as application, application.app_context():
        rules = [rule for rule in application.url_map.iter_rules() if "GET" in routes.methods(rule)]
        site = store()
        for page, _translations in content.sitemap(site.site, site.now()):
            found.append(Case("anonymous", page.lang, "content.page", "/<slug>", address=page.path))
    # The page of an address that does not exist: a visitor's (a markdown page's 404), a user's (the portal's).
    for lang, address in MISSING.items():
        found.append(Case("anonymous", lang, "404", "", address=address))
        found.append(Case("company", lang, "404", "", address="/ambassadors/999999"))
    for rule in sorted(rules, key=lambda r: (r.endpoint, r.rule)):
        if (NOT_PAGES.search(rule.endpoint) or FILES.search(rule.rule)
                or rule.endpoint in ("content.home", "content.home_en", "content.page", "content.page_en")):
            continue
        roles = [role for kind in routes.classes(rule.endpoint) for role in ROLE_OF_CLASS[kind]]
        if routes.LEADER_ON_COMPANY_PAGES.get(rule.endpoint, (0,))[0] == 200:
            roles.append("leader")  # her own account page
        for role in roles:
            for lang in _languages_of(rule, rules):
                for query in {**QUERIES, **SEARCHES}.get(rule.endpoint, [""]):
                    found.append(Case(role, lang, rule.endpoint, rule.rule, query))
    return sorted(found, key=lambda c: (ROLES.index(c.role), c.lang, c.name))


# --- what the browser measures -----------------------------------------------------------------------

FACTS = """() => {
  const root = document.documentElement;
  const counts = {};
  for (const e of document.querySelectorAll('[id]')) counts[e.id] = (counts[e.id] || 0) + 1;
  return {lang: root.lang, path: location.pathname,
          twice: Object.entries(counts).filter(([, n]) => n > 1).map(([id, n]) => `${id} (${n} times)`)};
}"""
WIDTH = """() => {
  const root = document.documentElement;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > root.clientWidth + 1 && !e.closest('.table-scroll'))
    .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                          + (typeof e.className === 'string' && e.className ? '.' + e.className.split(' ').join('.') : ''));
  return {width: root.scrollWidth, window: root.clientWidth, wide};
}"""
TEXTS = """() => {
  const lang = document.documentElement.lang;
  const foreign = e => { const own = e.closest('[lang]'); return own && own.lang.split('-')[0] !== lang; };
  const texts = [document.title];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const parent = walk.currentNode.parentElement;
    if (!parent || parent.closest('script, style, textarea, code, kbd, samp') || foreign(parent)) continue;
    const text = walk.currentNode.textContent.trim();
    if (text) texts.push(text);
  }
  for (const e of document.querySelectorAll('[aria-label], [title], [placeholder], [alt], input[type=submit], input[type=button]')) {
    if (foreign(e)) continue;
    for (const name of ['aria-label', 'title', 'placeholder', 'alt']) if (e.getAttribute(name)) texts.push(e.getAttribute(name));
    if (e.matches('input[type=submit], input[type=button]') && e.value) texts.push(e.value);
  }
  return texts;
}"""
# Every rule; a serious or critical violation fails. So does text the very colour of its background,
# which axe leaves "incomplete" (it cannot tell invisible on purpose from a mistake): no page hides
# text that way (the visually hidden class clips instead).
AXE_ALL = """async () => {
  const rules = await axe.run(document, {reporter: 'raw'});  // no report built: only what is read below
  const where = nodes => nodes.slice(0, 3).map(n => n.node.selector.join(' ')).join(', ')
                         + (nodes.length > 3 ? ` and ${nodes.length - 3} more` : '');
  const found = [];
  for (const rule of rules) {
    const bad = rule.violations.filter(n => n.impact === 'serious' || n.impact === 'critical');
    if (bad.length) {
      const impact = bad.some(n => n.impact === 'critical') ? 'critical' : 'serious';
      found.push(`${rule.id} (${impact}): ${rule.help} at ${where(bad)}`);
    }
    const invisible = rule.id === 'color-contrast' ? rule.incomplete.filter(
      n => n.any.some(check => check.data && check.data.messageKey === 'equalRatio')) : [];
    if (invisible.length) found.push(`color-contrast (serious): text the colour of its background at ${where(invisible)}`);
  }
  return found;
}"""
AXE_SCROLL = """async () => (await axe.run(document, {runOnly: ['scrollable-region-focusable'],
  resultTypes: ['violations']})).violations.map(v => v.nodes.map(n => n.target.join(' ')).join(', '))"""


# --- the world, the server and one browser context per role and language -------------------------------

class Sweep:
    def __init__(self, browser, base: str, app, world) -> None:
        self.browser, self.base, self.app, self.world = browser, base, app, world
        self.journeys: dict[tuple[str, str], Journey] = {}
        self.values = {}

    def journey(self, role: str, lang: str) -> Journey:
        if (role, lang) not in self.journeys:
            context = self.browser.new_context(locale=BROWSER_LOCALE[lang], viewport=DESKTOP)
            walk = Journey(context.new_page(), f"sweep-{role}-{lang}")
            getattr(self, f"_log_in_{role}")(walk.page, lang)
            self.journeys[role, lang] = walk
        return self.journeys[role, lang]

    def speak(self, role: str, lang: str) -> None:
        """A logged-in user reads her pages in her stored language (the acting leader in her own)."""
        from portal.accounts.models import User

        user = {"company": self.world.a.admin, "leader": self.world.leader, "acting": self.world.leader}.get(role)
        if user is not None:
            User.update(language=lang).where(User.id == user.id).execute()

    def rule_of(self, case: Case):
        return next(r for r in self.app.url_map.iter_rules() if r.endpoint == case.endpoint and r.rule == case.rule)

    def paths_of(self, case: Case) -> list[str]:
        """The page's address with A's first objects, then with each other combination of A's objects
        (a page that exists only for an object in some state is found with the one in that state)."""
        if case.address:
            return [case.address]
        rule = self.rule_of(case)
        if self.world.uncovered(rule):  # a mailed link's token: the page a stale or mistyped link gets
            combinations = [routes.sample_values(rule)]
        else:
            first = next(iter(self.world.variants(rule, first_objects=True)))
            combinations = [first, *(values for values in self.world.variants(rule) if values != first)]
        paths = []
        for values in combinations:
            query = [case.query] if case.query else []
            keys = self.world.keys.get("donation_id", {})
            if "donation_id" in values and values["donation_id"] in keys:
                query.append(f"key={keys[values['donation_id']]}")
            paths.append(routes.url(rule, values) + ("?" + "&".join(query) if query else ""))
        return paths

    # Logging in, as each of them does.
    def _log_in_anonymous(self, page, lang: str) -> None:
        pass

    def _log_in_company(self, page, lang: str) -> None:
        self._password(page, self.world.a.admin.email)
        page.wait_for_url(re.compile(r".*/dashboard$"))

    def _log_in_leader(self, page, lang: str) -> None:
        from portal.accounts.models import User

        self._password(page, self.world.leader.email)
        page.wait_for_url(re.compile(r".*/login/totp$"))
        # Each context signs in afresh within the same 30 seconds: the code may serve again here.
        User.update(totp_last_step=0).where(User.id == self.world.leader.id).execute()
        page.fill("#code", pyotp.TOTP(User.get_by_id(self.world.leader.id).totp_secret).now())
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r".*/leader$"))

    def _log_in_acting(self, page, lang: str) -> None:
        self._log_in_leader(page, lang)
        admin = self.world.a.admin
        page.goto(f"{self.base}/leader/companies/{self.world.a.id}/users")
        page.click(f'form[action$="/leader/users/{admin.id}/act"] button[type=submit]')
        page.wait_for_url(re.compile(r".*/dashboard$"))

    def _log_in_employee(self, page, lang: str) -> None:
        from portal.enrollment import access
        from portal.enrollment.models import Enrolment

        email = "employee@tenant-a.nl"  # the world's active placement; its own link is used up
        # Her pages are in the language of her e-mails, taken when her link is opened.
        Enrolment.update(language=lang).where(Enrolment.employee_email == email).execute()
        with self.app.test_request_context("/", base_url=self.base):
            access.request_access_link(email)
        links = [m.link() for m in Outbox(pathlib.Path(self.app.config["OUTBOX_DIR"])).to(email)
                 if "/ambassador/start/" in m.text]
        page.goto(self.base + re.sub(r"^https?://[^/]+", "", links[-1]))
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r".*/ambassador$"))

    def _password(self, page, email: str) -> None:
        page.goto(self.base + "/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")


@pytest.fixture(scope="module")
def sweep(browser, migrated_template, tmp_path_factory):
    """Company A's world on a live server of its own, built once for the module."""
    import tests.conftest as base
    from portal.core.db import database
    from tests.security.conftest import build_world, module_app

    with module_app(migrated_template, tmp_path_factory, "sweep", TESTING=False, QUEUE_IMMEDIATE=True,
                    SECURE_COOKIES=False, SERVER_NAME=None) as app:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
        try:
            with pytest.MonkeyPatch.context() as monkeypatch:
                leader = base.leader.__wrapped__(app)
                world = build_world(app, base.make_company.__wrapped__(app), leader, monkeypatch)
                found = Sweep(browser, app.config["BASE_URL"], app, world)
                found.db = database.obj
                yield found
                for journey in found.journeys.values():
                    journey.page.context.close()
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()


@pytest.fixture(autouse=True)
def _sweep_database(request):
    from tests.security.conftest import bind_module_database

    bind_module_database(request, "sweep")


# --- the sweep -----------------------------------------------------------------------------------------

def look(journey: Journey, lang: str, marker: str, *, shots: str) -> list[str]:
    """What is wrong with the page the journey is on (in the window of 1,280 px), first at 1,280 px and
    then, without a reload, at 390 px; with KEEP_SHOTS a screenshot at each width is kept as
    `<shots>-<width>.png`."""
    page = journey.page
    problems: list[str] = []
    facts = page.evaluate(FACTS)
    if facts["lang"] != lang:
        problems.append(f'<html lang="{facts["lang"]}">, asked for {lang}')
    problems += [f"id {twice}" for twice in facts["twice"]]
    page.evaluate(AXE_SOURCE)
    problems += [f"axe: {finding}" for finding in page.evaluate(AXE_ALL)]
    if lang == "nl":
        problems += [f"English: {found}" for found in english_on_a_dutch_page(page.evaluate(TEXTS), marker)]
    for viewport in (DESKTOP, PHONE):
        if viewport is PHONE:
            page.set_viewport_size(PHONE)
            unreachable = page.evaluate(AXE_SCROLL)
            if unreachable:
                problems.append(f"390 px: a scrolling box a keyboard cannot reach: {unreachable}")
        width = page.evaluate(WIDTH)
        if width["width"] > width["window"]:
            problems.append(f"{viewport['width']} px: the page is {width['width']} px wide, wider than the window "
                            f"({width['window']} px): {width['wide']}")
        if KEEP_SHOTS:
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / f"{shots}-{viewport['width']}.png").write_bytes(journey._full_page_png())
    return problems


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_page(sweep, case: Case):
    """One page as one role reads it in one language, at 1,280 and at 390 px wide."""
    journey = sweep.journey(case.role, case.lang)
    page = journey.page
    sweep.speak(case.role, case.lang)
    journey.console_errors.clear()
    page.set_viewport_size(DESKTOP)
    stale_link = not case.address and bool(sweep.world.uncovered(sweep.rule_of(case)))
    for path in sweep.paths_of(case):
        try:
            response = page.goto(sweep.base + path)
        except PlaywrightError as error:
            if "Download is starting" in str(error):
                pytest.skip(f"{path} is a download, not a page")
            raise
        assert response is not None, path
        if response.status != 404 or stale_link or case.endpoint == "404":
            break
    else:
        pytest.skip(f"{case.rule}: 404 for every object of company A's world; give it one that opens the page "
                    "(tests/security/tenant_objects.py)")
    if not response.headers.get("content-type", "").startswith("text/html"):
        pytest.skip(f"{path} answers {response.headers.get('content-type')}, not a page")
    if case.endpoint == "404":
        assert response.status == 404, f"{path}: {response.status}"
    else:
        assert response.status < (500 if stale_link else 400), f"{path}: {response.status}"

    problems = look(journey, case.lang, sweep.world.marker, shots=_slug(case.name))
    if case.role != "anonymous" and page.evaluate("location.pathname") in ("/login", "/ambassador/link"):
        problems.append("sent to log in")
    problems += [f"console: {error}" for error in journey.console_errors if "Content Security Policy" in error]
    assert not problems, f"{case.name} ({path}):\n  " + "\n  ".join(problems)


BROKEN = """<!doctype html><html lang="nl"><head><title>Kapot</title></head><body><main>
<h1>Overzicht</h1><img src="logo.png"><label for="a">Naam</label><input id="a"><input id="a">
<p>Save the form before you leave</p><p>Opgeslagen door Books TENANT-A-7731 voor <code>amount_cents</code></p>
<div class="table-scroll" style="overflow-x: auto"><table><tr><td style="min-width: 600px">links</td><td>rechts</td></tr></table></div>
<div style="width: 600px">breder dan een telefoon</div><p lang="en">English</p>
<p style="color: #fff; background: #fff">onzichtbaar</p></main></body></html>"""


def test_the_sweep_notices_each_thing_it_looks_for(browser):
    """Nothing passes the sweep by construction: a page with each fault fails it for each."""
    context = browser.new_context(locale="nl-NL", viewport=DESKTOP)
    try:
        journey = Journey(context.new_page(), "sweep-self-test")
        journey.page.set_content(BROKEN)
        problems = "\n".join(look(journey, "nl", "TENANT-A-7731", shots="self-test"))
    finally:
        context.close()
    assert "id a (2 times)" in problems
    assert "axe: image-alt (critical)" in problems
    assert "axe: color-contrast (serious): text the colour of its background at p:" in problems
    assert "English: Save/before/form/leave/the/you in 'Save the form before you leave'" in problems
    assert "Books" not in problems and "amount_cents" not in problems and "'English'" not in problems
    assert "390 px: a scrolling box a keyboard cannot reach: ['.table-scroll']" in problems
    assert "390 px: the page is" in problems and "1280 px: the page is" not in problems
