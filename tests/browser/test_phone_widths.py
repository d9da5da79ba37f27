"""On a 390 px phone no page is wider than the screen, and every scrolling table is one a
keyboard reaches: about a dozen representative pages of each role, in Dutch, at 390 x 844.

Kept fast on purpose: one browser, one world of objects (the security suite's factories, see
tests/security/tenant_objects.py), and per page one width check, one axe rule
(`scrollable-region-focusable`) and one screenshot in test-artifacts/browser/ for people to look at.
The full sweep of every page, role and language is the structure test (tests/test_page_structure.py)
for ids, labels and scroll boxes; this one is about what only a browser can measure.
"""

from __future__ import annotations

import pathlib
import re

import pyotp
import pytest

from tests.browser.conftest import AXE_SOURCE
from tests.conftest import PASSWORD, Outbox
from tests.security.conftest import build_world

PHONE = {"width": 390, "height": 844}

ANONYMOUS = ["/", "/financieringsmodellen", "/voor-werkgevers", "/veelgestelde-vragen", "/contactformulier",
             "/wat-kost-het", "/login", "/register", "/give", "/verify", "/zoeken?q=uren", "/ambassador/link"]
COMPANY = ["/dashboard", "/ambassadors", "/ambassadors/{enrolment_id}", "/giving", "/giving/materials",
           "/sroi/", "/sroi/{commitment_id}", "/statements", "/statements/{statement_id}", "/statements/certificates",
           "/team", "/account"]
LEADER = ["/leader", "/leader/ambassadors", "/leader/ambassadors/{enrolment_id}", "/leader/school-years/{year_id}",
          "/leader/hours", "/leader/allowances", "/leader/reconcile", "/leader/reconcile/queue",
          "/leader/reconcile/export", "/leader/audit", "/giving/leader", "/sroi/leader", "/leader/statements",
          "/contact/leader"]

MEASURE = """() => {
  const root = document.documentElement;
  const wide = [...document.querySelectorAll('main *')]
    .filter(e => e.getBoundingClientRect().right > root.clientWidth + 1 && !e.closest('.table-scroll'))
    .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));
  return {width: root.scrollWidth, wide};
}"""
SCROLL_RULE = """async () => (await axe.run(document, {runOnly: ['scrollable-region-focusable'],
  resultTypes: ['violations']})).violations.map(v => v.nodes.map(n => n.target.join(' ')).join(', '))"""


def check(journey, url: str, label: str, failures: list[str]) -> None:
    page = journey.page
    response = page.goto(url)
    assert response is not None and response.status < 400, (url, response and response.status)
    size = page.evaluate(MEASURE)
    if size["width"] > PHONE["width"]:
        failures.append(f"{label}: {size['width']} px wide, {size['wide']}")
    page.evaluate(AXE_SOURCE)
    unreachable = page.evaluate(SCROLL_RULE)
    if unreachable:
        failures.append(f"{label}: scrolling box a keyboard cannot reach: {unreachable}")
    journey.snap(label)


@pytest.mark.slow
def test_no_page_is_wider_than_a_phone_and_every_table_box_is_reachable(
        live_server, new_journey, app, make_company, leader, monkeypatch):
    from portal.accounts.models import Company, User
    from portal.enrollment import access

    world = build_world(app, make_company, leader, monkeypatch)
    Company.update(language="nl").where(Company.id == world.a.id).execute()
    User.update(language="nl").execute()  # everyone reads Dutch
    values = {**world.values_of("enrollment"), **world.values_of("sroi"), **world.values_of("statements")}
    base, failures = live_server.url, []

    visitor = new_journey(viewport=PHONE)
    for path in ANONYMOUS:
        check(visitor, base + path, f"anonymous {path}", failures)

    company = new_journey(viewport=PHONE)
    company.page.goto(base + "/login")
    company.page.fill("#email", world.a.admin.email)
    company.page.fill("#password", PASSWORD)
    company.page.click("main button[type=submit]")
    company.page.wait_for_url(re.compile(r".*/dashboard$"))
    for path in COMPANY:
        check(company, base + path.format(**values), f"company {path}", failures)

    desk = new_journey(viewport=PHONE)
    desk.page.goto(base + "/login")
    desk.page.fill("#email", leader.email)
    desk.page.fill("#password", PASSWORD)
    desk.page.click("main button[type=submit]")
    desk.page.wait_for_url(re.compile(r".*/login/totp$"))
    desk.page.fill("#code", pyotp.TOTP(User.get_by_id(leader.id).totp_secret).now())
    desk.page.click("main button[type=submit]")
    desk.page.wait_for_url(re.compile(r".*/leader$"))
    for path in LEADER:
        check(desk, base + path.format(**values), f"leader {path}", failures)

    # The employee, by a fresh link mailed to her (the world's own link is used up).
    email = "employee@tenant-a.nl"  # the active placement of the world (tenant_objects.py)
    with app.test_request_context("/", base_url=base):
        access.request_access_link(email)
    links = [m.link() for m in Outbox(pathlib.Path(app.config["OUTBOX_DIR"])).to(email)
             if "/ambassador/start/" in m.text]
    employee = new_journey(viewport=PHONE)
    employee.page.goto(base + urlpath(links[-1]))
    employee.page.click("main button[type=submit]")
    employee.page.wait_for_url(re.compile(r".*/ambassador$"))
    check(employee, base + "/ambassador", "employee /ambassador", failures)

    assert not failures, "\n".join(failures)


def urlpath(link: str) -> str:
    """The path of a mailed link (the mail names the configured address, the test serves another)."""
    return re.sub(r"^https?://[^/]+", "", link)
