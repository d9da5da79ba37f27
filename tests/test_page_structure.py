"""Every HTML page, for every role, has unique ids and labels that point at a field.

A duplicate id makes a label focus (and a screen reader announce) the wrong field; a label whose
`for` names no id labels nothing. The pages are walked from app.url_map: every GET route without
parameters, and every GET route with parameters filled in with company A's objects from the
security suite's factories (tests/security/tenant_objects.py), as anonymous visitor, company
administrator, company member, project leader and the employee behind her mailed link.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

from tests.content.test_pages import REAL_PAGES
from tests.security.conftest import _isolation_database, isolation  # noqa: F401 (fixtures: one world, built once)
from tests.security.routes import methods, url

# Not pages: files, feeds and machine answers, and what ends a session.
NOT_PAGES = re.compile(r"(pdf|download|csv|xlsx|document|specification|template|static|healthz|webhook|"
                       r"sitemap|logout|stop_acting|\.api|feed|robots)")


class Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.label_targets: list[str] = []
        self.scroll_boxes: list[dict[str, str | None]] = []
        self.headings: list[int] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"])
        if tag == "label" and attributes.get("for"):
            self.label_targets.append(attributes["for"])
        if "table-scroll" in (attributes.get("class") or "").split():
            self.scroll_boxes.append(attributes)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def parse(html: str) -> Structure:
    page = Structure()
    page.feed(html)
    return page


def problems_of(html: str) -> list[str]:
    page = parse(html)
    found = [f"id {name!r} {count} times" for name, count in Counter(page.ids).items() if count > 1]
    ids = set(page.ids)
    found += [f"label for={target!r} names no element" for target in page.label_targets if target not in ids]
    for box in page.scroll_boxes:
        if box.get("tabindex") != "0" or box.get("role") != "region":
            found.append("a table scroll box a keyboard cannot reach (tabindex=0, role=region)")
        if not (box.get("aria-label") or "").strip() and box.get("aria-labelledby") not in ids:
            found.append("a table scroll box without a name")
    levels = [1, *page.headings] if page.headings and page.headings[0] != 1 else page.headings
    found += [f"heading h{b} right after h{a}" for a, b in zip(levels, levels[1:], strict=False) if b > a + 1]
    return found


def pages(app, world):
    """(endpoint, path) of every GET page: routes without parameters, A's objects in the others,
    and the public content pages in both languages."""
    for paths in REAL_PAGES.values():
        for path in paths:
            yield "content.page", path
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
        if "GET" not in methods(rule) or NOT_PAGES.search(rule.endpoint):
            continue
        if not rule.arguments:
            yield rule.endpoint, url(rule, {})
            continue
        if world.uncovered(rule):
            continue
        for values in world.variants(rule, first_objects=True):
            path = url(rule, values)
            keys = world.keys.get("donation_id", {})
            if "donation_id" in values and values["donation_id"] in keys:
                path += f"?key={keys[values['donation_id']]}"
            yield rule.endpoint, path


def test_every_page_has_unique_ids_and_labels_that_point_at_a_field(isolation):  # noqa: F811
    app, world = isolation.app, isolation.world
    clients = {
        "anonymous": isolation.anonymous(),
        "company admin": isolation.a_admin,
        "company member": isolation.a_member,
        "leader": isolation.leader,
        "employee": world.employee_client,
    }
    checked, failures, seen = Counter(), [], set()
    for role, client in clients.items():
        for endpoint, path in pages(app, world):
            response = client.get(path)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            checked[role] += 1
            seen.add((role, endpoint))
            failures += [f"{role} {path} ({endpoint}): {problem}"
                         for problem in problems_of(response.get_data(as_text=True))]
    assert not failures, "\n".join(sorted(set(failures)))
    # The walk really reached each role's pages, not only login redirects.
    assert checked["anonymous"] >= 10 and checked["leader"] >= 30, checked
    assert checked["company admin"] >= 20 and checked["company member"] >= 10 and checked["employee"] >= 1, checked
    for role, endpoint in [("company admin", "enrollment.overview"), ("company admin", "accounts.dashboard"),
                           ("leader", "enrollment.leader_detail"), ("leader", "enrollment.leader_school_year"),
                           ("leader", "reconcile.desk"), ("employee", "enrollment.ambassador_home"),
                           ("anonymous", "content.page")]:
        assert (role, endpoint) in seen, (role, endpoint)


def test_the_checker_notices_duplicates_and_dangling_labels():
    html = ('<label for="hours">Hours</label><input id="hours"><input id="hours">'
            '<label for="gone">Gone</label><div class="table-scroll"><table></table></div>')
    found = problems_of(html)
    assert "id 'hours' 2 times" in found
    assert "label for='gone' names no element" in found
    assert any("keyboard" in problem for problem in found) and any("name" in problem for problem in found)
    assert problems_of("<h1>Page</h1><h3>Figures</h3>") == ["heading h3 right after h1"]
    assert problems_of("<h1>Page</h1><h2>Part</h2><h3>Figures</h3><h2>Next</h2>") == []


# --- the other points of "Phones and keyboards" (issue 21) ---------------------------------------

def page_of(response) -> Structure:
    assert response.status_code in (200, 404), response.status_code
    return parse(response.get_data(as_text=True))


def test_a_markdown_table_scrolls_in_a_named_box_a_keyboard_reaches(isolation):  # noqa: F811
    from portal.content.render import render

    rendered = render("## Side by side\n\n| | A | B |\n|---|---|---|\n| x | 1 | 2 |\n")
    assert ('<div class="table-scroll" tabindex="0" role="region" aria-labelledby="side-by-side"><table>'
            in rendered.html) and rendered.html.rstrip().endswith("</table></div>")
    for path in ("/financieringsmodellen", "/en/funding-models"):
        body = isolation.anonymous().get(path).get_data(as_text=True)
        assert body.count("<table>") >= 1 and body.count("<table>") == body.count('role="region" aria-labelledby='), path


def test_the_stylesheet_keeps_wide_content_inside_a_phone(isolation):  # noqa: F811
    css = isolation.anonymous().get("/static/portal.css").get_data(as_text=True)
    rule = re.search(r"\.visually-hidden, \.sr-only \{([^}]*)\}", css).group(1)
    assert "position: absolute" in rule and "clip-path: inset(50%)" in rule and "top: 0" in rule
    assert re.search(r"\.table-scroll \{[^}]*overflow-x: auto;[^}]*position: relative", css)
    assert re.search(r"\.inline-form \{[^}]*flex-wrap: wrap", css)
    assert re.search(r"dl\.facts \{[^}]*minmax\(0, max-content\) minmax\(0, 1fr\)", css)


def test_the_reconcile_sub_navigation_marks_the_page_you_are_on(isolation):  # noqa: F811
    leader = isolation.leader
    for path in ("/leader/reconcile", "/leader/reconcile/queue", "/leader/reconcile/matched",
                 "/leader/audit", "/leader/tasks"):
        body = leader.get(path).get_data(as_text=True)
        nav = re.search(r'<nav class="actions sub-nav"[^>]*>(.*?)</nav>', body, re.S)
        assert nav, path
        current = re.findall(r'<a href="([^"]+)" aria-current="page">', nav.group(1))
        assert current == [path], (path, current)


def test_page_titles_say_whose_dashboard_and_which_school_year(isolation):  # noqa: F811
    world = isolation.world
    title = page_of(isolation.a_admin.get("/dashboard")).title
    assert world.a.legal_name in title and "Dashboard" in title, title
    year_id = world.values_of("enrollment")["year_id"]
    title = page_of(isolation.leader.get(f"/leader/school-years/{year_id}")).title
    assert title.startswith(("School year 2026-2027", "Schooljaar 2026-2027")), title


def test_verify_titles_tell_a_genuine_code_from_a_refused_one(isolation):  # noqa: F811
    from portal.statements.models import Statement

    number = isolation.world.values_of("statements")["number"]
    code = Statement.get(Statement.number == number).verification_code
    visitor = isolation.anonymous()
    asked = page_of(visitor.get(f"/verify/{number}")).title
    genuine = page_of(visitor.get(f"/verify/{number}?code={code}")).title
    refused = page_of(visitor.get(f"/verify/{number}?code=AAAAA-BBBBB")).title
    assert number in genuine and ("Genuine" in genuine or "Echt" in genuine), genuine
    assert number not in refused and len({asked, genuine, refused}) == 3, (asked, genuine, refused)


def test_the_ambassadors_header_offers_her_log_out_not_log_in(isolation):  # noqa: F811
    body = isolation.world.employee_client.get("/ambassador").get_data(as_text=True)
    header = body.split("<main", 1)[0]
    assert 'action="/ambassador/logout"' in header
    assert 'href="/login' not in header and "/logout" not in header.replace("/ambassador/logout", "")
    assert body.count('action="/ambassador/logout"') == 1


def test_the_language_switch_while_acting_keeps_the_company_users_language(isolation):  # noqa: F811
    from portal.accounts.models import User

    world = isolation.world
    member, leader = world.a.member, world.leader
    before = {u.id: u.language for u in User.select().where(User.id.in_([member.id, leader.id]))}
    acting = isolation.leader  # (a second sign-in would reuse the same one-time code)
    try:
        assert acting.post(f"/leader/users/{member.id}/act").status_code == 302
        other = "nl" if before[member.id] == "en" else "en"
        response = acting.post("/language", data={"language": other, "next": "/dashboard"})
        assert response.status_code == 302
        assert User.get_by_id(member.id).language == before[member.id]   # hers, untouched
        assert User.get_by_id(leader.id).language == other                # the leader's own choice
        page = acting.get("/dashboard").get_data(as_text=True)
        assert f'<html lang="{other}"' in page                            # the page in the chosen language
        own = isolation.a_member.get("/dashboard").get_data(as_text=True)
        assert f'<html lang="{before[member.id]}"' in own                 # her own pages as before
    finally:
        acting.post("/acting/stop")
        for user_id, language in before.items():
            User.update(language=language).where(User.id == user_id).execute()
