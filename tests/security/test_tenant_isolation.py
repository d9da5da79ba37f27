"""Tenant isolation, generated from app.url_map: one suite for every capability.

Every endpoint is classified in routes.py (public, key-guarded, company, leader, employee);
company A's objects come from the factories in tenant_objects.py. From those two tables:

- a user of company B gets 404 for every object of company A, reading and writing, never 403
  and never the data, and A's rows are unchanged afterwards;
- the project leader's routes are 404 for every company user, A's own included;
- visitors without a login are sent to it; the employee's pages need her own session;
- the donor's public pages need the donation's own key;
- B's pages without ids (lists, exports, dashboards, PDFs) show nothing of A;
- a company user cannot act for another company by naming it in a form;
- A's own objects are 404 under another of A's parent objects (an approval under the wrong commitment);
- A itself and the leader reach what they should, so all those 404s are about who asks.

A new route fails test_every_endpoint_is_classified until it is named in routes.py, and a new
URL parameter fails test_every_rule_with_parameters_has_a_factory until a factory provides it.
"""

from __future__ import annotations

import html
import io
import json
import re
from urllib.parse import urlsplit

from portal import all_models
from tests.security import routes
from tests.security.routes import (
    EMPLOYEE_LOGIN,
    LEADER_ON_COMPANY_PAGES,
    NOT_FOUND_WITHOUT_SESSION,
    classes,
    methods,
    rules_of,
    url,
)
from tests.security.tenant_objects import FACTORIES, FORMS, QUERIES, add_contribution

# One module-scoped world (conftest.py's `isolation`), built once: `make test` hands out whole
# files to its workers (pytest-xdist's --dist loadfile), so these tests share one worker.

# What an intruder submits with every POST: fields that would change or move A's objects if they got through.
HOSTILE_FORM = {
    "role": "admin", "name": "Taken over", "email": "attacker@bravo.nl", "reason": "x", "status": "paid",
    "amount": "1", "quantity": "1", "company_id": "0", "resolution": "done", "vog_status": "refused",
    "key": "donation:tenant-a", "confirm": "y", "language": "en", "fingerprint": "delete", "on": "2026-01-01",
    "value": "10", "item": "x", "reference": "RF18539007547034", "paid_on": "2026-01-01", "bank_line_ref": "x",
    "approved_on": "2026-10-01", "authority": "x", "iban": "NL91ABNA0417164300",
}
# Rows that requests legitimately touch (a login session is refreshed on every request).
SKIP_TABLES = {"login_session"}
_INVISIBLE = re.compile(r"[\s\u00ad\u200b\u200c\u200d\u2060\ufeff]+")


def form_for(endpoint: str, **extra) -> dict:
    return {**HOSTILE_FORM, **FORMS.get(endpoint, {}), **extra}


def readable(response) -> str:
    """The response as a person reads it: HTML unescaped, PDFs as their text."""
    if response.mimetype == "application/pdf":
        import pypdf

        return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.data)).pages)
    return html.unescape(response.data.decode("utf-8", errors="replace"))


def squeeze(text: str) -> str:
    """Without whitespace: a line break in a PDF (or HTML) cannot hide a name."""
    return _INVISIBLE.sub("", text)


def leaks(world, response) -> list[str]:
    """A's telling strings (the marker, numbers, references, addresses) in a response."""
    body = squeeze(readable(response))
    return sorted(secret for secret in world.secrets if squeeze(secret) in body)


def rows(company_id: int | None = None) -> dict[str, dict]:
    """Every table's rows by primary key; with a company, only its rows where a table names the company."""
    from portal.accounts.models import Company

    snapshot = {}
    for model in all_models():
        table = model._meta.table_name
        if table in SKIP_TABLES:
            continue
        query = model.select().order_by(model._meta.primary_key)
        column = model._meta.fields.get("company") or model._meta.fields.get("company_id")
        if company_id is not None and model is Company:
            query = query.where(Company.id == company_id)
        elif company_id is not None and column is not None:
            query = query.where(column == company_id)
        key = model._meta.primary_key.name
        snapshot[table] = {row[key]: json.dumps(row, sort_keys=True, default=str) for row in query.dicts()}
    return snapshot


def changed(before: dict, after: dict) -> list[str]:
    return [table for table in before if before[table] != after[table]]


def redirects_to(response, page: str = "/login") -> bool:
    """A redirect to `page` (its query, such as the login page's ?next=, aside)."""
    return response.status_code == 302 and urlsplit(response.headers.get("Location", "")).path == page


def paths(world, rule, *, first_objects: bool = False, queries: bool = False) -> list[str]:
    """The rule's URLs with A's objects (every combination, or the first object of each); none for a
    rule whose parameters no factory provides (test_every_rule_with_parameters_has_a_factory fails)."""
    if world.uncovered(rule):
        return []
    found = [url(rule, values) for values in world.variants(rule, first_objects=first_objects)]
    if queries:
        found = [path + (f"?{query}" if query else "") for path in found for query in QUERIES.get(rule.endpoint, [""])]
    return found


# --- the tables ---------------------------------------------------------------------------------


def test_every_endpoint_is_classified(isolation):
    """Each endpoint is exactly one of public, key-guarded, company, leader, employee (routes.py)."""
    app = isolation.app
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    wrong = [f"{endpoint}: {found or 'not classified'}" for endpoint in sorted(endpoints)
             if len(found := classes(endpoint)) != 1]
    assert not wrong, ("classify every route in tests/security/routes.py (COMPANY_ENDPOINTS, LEADER_ENDPOINTS, "
                       "EMPLOYEE_ENDPOINTS, PUBLIC_ENDPOINTS, KEY_GUARDED), exactly once:\n" + "\n".join(wrong))
    named = (set(routes.COMPANY_ENDPOINTS) | set(routes.LEADER_ENDPOINTS) | set(routes.EMPLOYEE_ENDPOINTS)
             | routes.KEY_GUARDED | set(NOT_FOUND_WITHOUT_SESSION) | set(LEADER_ON_COMPANY_PAGES) | set(QUERIES)
             | set(FORMS))
    stale = sorted(name for name in named if name not in endpoints and name.split(".")[0] in app.blueprints)
    assert not stale, f"classified endpoints that no longer exist: {stale}"
    assert all(classes(name) == ["company"] for name in LEADER_ON_COMPANY_PAGES if name in endpoints)


def test_every_rule_with_parameters_has_a_factory(isolation):
    missing = []
    for kind in ("company", "leader", "employee", "key-guarded"):
        for rule in rules_of(isolation.app, kind):
            uncovered = isolation.world.uncovered(rule)
            if uncovered:
                blueprint = rule.endpoint.split(".", 1)[0]
                missing.append(f"{rule.rule} ({rule.endpoint}) needs {sorted(uncovered)}: "
                               f"register @factory({blueprint!r}) in tests/security/tenant_objects.py"
                               + ("" if blueprint not in FACTORIES else " (its factory does not return them)"))
    assert not missing, "routes without company A's objects for the isolation suite:\n" + "\n".join(missing)
    keyless = [rule.endpoint for rule in rules_of(isolation.app, "key-guarded")
               if len(rule.arguments & set(isolation.world.keys)) != 1]
    assert not keyless, f"key-guarded pages whose object has no key in world.keys (tenant_objects.py): {keyless}"


# --- company B and company A's objects ------------------------------------------------------------


def test_company_b_gets_404_for_every_object_of_company_a(isolation):
    world, b = isolation.world, isolation.b
    before = rows(world.a.id)
    checked, wrong = 0, []
    for rule in rules_of(isolation.app, "company") + rules_of(isolation.app, "key-guarded"):
        if not rule.arguments:
            continue  # pages without ids: test_company_b_pages_without_ids_show_nothing_of_company_a
        for path in paths(world, rule):
            for client, who in ((b.admin_client, "B's admin"), (b.member_client, "B's member")):
                for method in methods(rule):
                    response = client.open(path, method=method,
                                           data=form_for(rule.endpoint) if method == "POST" else None)
                    checked += 1
                    if response.status_code != 404:
                        wrong.append(f"{who}: {method} {path} ({rule.endpoint}) answered {response.status_code}")
                    if found := leaks(world, response):
                        wrong.append(f"{who}: {method} {path} ({rule.endpoint}) showed {found}")
    assert not wrong, "company B reached company A's objects:\n" + "\n".join(wrong)
    assert checked >= 100, checked  # the url_map really was walked, with every object of A
    assert not changed(before, rows(world.a.id)), "company A's rows changed"
    for client in (b.admin_client, b.member_client):  # the 404s were not a logout in disguise
        assert client.get("/dashboard").status_code == 200


def test_company_users_get_404_on_every_leader_route(isolation):
    """A's own users too: the leader's pages of A's objects are not A's."""
    world, b = isolation.world, isolation.b
    clients = {"A's admin": isolation.a_admin, "A's member": isolation.a_member,
               "B's admin": b.admin_client, "B's member": b.member_client}
    before = rows()
    checked, wrong = 0, []
    for rule in rules_of(isolation.app, "leader"):
        for path in paths(world, rule):
            for who, client in clients.items():
                for method in methods(rule):
                    response = client.open(path, method=method, data=form_for(rule.endpoint))
                    checked += 1
                    if response.status_code != 404:
                        wrong.append(f"{who}: {method} {path} ({rule.endpoint}) answered {response.status_code}")
                    if found := leaks(world, response):
                        wrong.append(f"{who}: {method} {path} ({rule.endpoint}) showed {found}")
    assert not wrong, "company users reached the leader's routes:\n" + "\n".join(wrong)
    assert checked >= 350, checked
    assert not changed(before, rows()), "rows changed"


def test_company_b_pages_without_ids_show_nothing_of_company_a(isolation):
    """Lists, overviews, exports, PDFs and dashboards of B: none of A's names, numbers or references."""
    from portal.core.contributions import contributions

    world, b = isolation.world, isolation.b
    checked, wrong = 0, []
    for rule in rules_of(isolation.app, "company"):
        if rule.arguments or "GET" not in rule.methods:
            continue
        for path in paths(world, rule, queries=True):
            for client, who, allowed in ((b.admin_client, "B's admin", {200}), (b.member_client, "B's member", {200, 403})):
                response = client.get(path)
                checked += 1
                if response.status_code not in allowed:
                    wrong.append(f"{who}: {path} ({rule.endpoint}) answered {response.status_code}")
                if found := leaks(world, response):
                    wrong.append(f"{who}: {path} ({rule.endpoint}) showed {found}")
                if response.mimetype == "application/pdf" and squeeze(b.legal_name) not in squeeze(readable(response)):
                    wrong.append(f"{who}: {path} ({rule.endpoint}) is a PDF that does not name company B")
    assert not wrong, "company A's data on company B's pages:\n" + "\n".join(wrong)
    assert checked >= 45, checked
    # What those pages are built from: the contributions of each company are its own.
    assert {c.company_id for c in contributions(b.id)} == {b.id}
    assert {c.company_id for c in contributions(world.a.id)} == {world.a.id}


def test_a_company_user_cannot_act_for_another_company_by_naming_it(isolation):
    """The company always comes from the session, never from a form: C's forms naming A change nothing of A's."""
    from portal.statements.models import Statement

    world, app = isolation.world, isolation.app
    c = isolation.make_company("Charlie", member=True)
    add_contribution(world, c, 7_000, "Donation of Charlie")
    values = {"company": world.a.id, "company_id": world.a.id, "user_id": world.a.member.id}
    before = rows(world.a.id)
    checked, wrong = 0, []
    for user in (c.admin, c.member):
        client = isolation.login(app.test_client(), user)
        for rule in rules_of(app, "company"):
            if rule.arguments or "POST" not in rule.methods:
                continue
            response = client.post(rule.rule, data=form_for(rule.endpoint, **values))
            checked += 1
            if response.status_code >= 500:
                wrong.append(f"{user.role}: POST {rule.rule} ({rule.endpoint}) answered {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert checked >= 16, checked
    after = rows(world.a.id)
    # Tables that name a company: A's rows exactly as they were (no statement issued for A, ...).
    company_tables = [m._meta.table_name for m in all_models()
                      if "company" in m._meta.fields or "company_id" in m._meta.fields]
    assert not changed({t: before[t] for t in company_tables}, {t: after[t] for t in company_tables})
    assert after["company"] == before["company"]
    # The forms did act, for C: its statement was issued.
    assert Statement.select().where(Statement.company == c.id).count() == 1
    assert Statement.select().where(Statement.company == world.a.id).count() == 1


def test_company_a_reaches_its_objects_but_not_under_another_of_its_objects(isolation):
    """A's users reach every page of A's objects (so B's 404s are about B, not broken URLs); an
    object under another parent object of A's (an approval under the wrong commitment) is 404."""
    world = isolation.world
    wrong, reached = [], 0
    for rule in rules_of(isolation.app, "company"):
        if not rule.arguments or "GET" not in rule.methods:
            continue
        for path in paths(world, rule, first_objects=True):
            for who, client in (("A's admin", isolation.a_admin), ("A's member", isolation.a_member)):
                response = client.get(path)
                reached += 1
                if response.status_code != 200 and not (response.status_code == 302 and not redirects_to(response)):
                    wrong.append(f"{who}: {path} ({rule.endpoint}) answered {response.status_code}")
    assert not wrong, "company A does not reach its own objects:\n" + "\n".join(wrong)
    assert reached >= 25, reached
    before = rows(world.a.id)
    crossed = 0
    for rule in rules_of(isolation.app, "company"):
        parents = rule.arguments & set(world.crossed)
        if not parents or world.uncovered(rule) or not any(name.endswith("_id") for name in rule.arguments - parents):
            continue
        for values in world.variants(rule, first_objects=True):
            path = url(rule, values | {name: world.crossed[name] for name in parents})
            for method in methods(rule):
                response = isolation.a_admin.open(path, method=method, data=form_for(rule.endpoint))
                crossed += 1
                if response.status_code != 404:
                    wrong.append(f"A's admin: {method} {path} ({rule.endpoint}) answered {response.status_code}")
    assert not wrong, "an object of A reached under another of A's objects:\n" + "\n".join(wrong)
    assert crossed >= 3, crossed
    assert not changed(before, rows(world.a.id)), "company A's rows changed"


# --- the project leader ---------------------------------------------------------------------------


def test_the_leader_reaches_every_leader_page(isolation):
    world = isolation.world
    wrong, checked = [], 0
    for rule in rules_of(isolation.app, "leader"):
        if "GET" not in rule.methods:
            continue
        for path in paths(world, rule, first_objects=True, queries=True):
            response = isolation.leader.get(path)
            checked += 1
            if response.status_code != 200:
                wrong.append(f"GET {path} ({rule.endpoint}) answered {response.status_code}")
    assert not wrong, "the leader does not reach her pages:\n" + "\n".join(wrong)
    assert checked >= 40, checked


def test_the_leader_has_no_company_pages(isolation):
    """She has no company: company routes are 404 for her (but for her own home and account)."""
    world = isolation.world
    before = rows()
    wrong, checked = [], 0
    for rule in rules_of(isolation.app, "company"):
        # Every method on A's objects; of the pages without ids only GET (her own account takes a POST).
        tried = methods(rule) if rule.arguments else [m for m in methods(rule) if m == "GET"]
        for path in paths(world, rule, queries=True):
            for method in tried:
                response = isolation.leader.open(path, method=method, data=form_for(rule.endpoint))
                checked += 1
                status, location = LEADER_ON_COMPANY_PAGES.get(rule.endpoint, (404, ""))
                if response.status_code != status or (location and not redirects_to(response, location)):
                    wrong.append(f"{method} {path} ({rule.endpoint}) answered {response.status_code}")
                if found := leaks(world, response):
                    wrong.append(f"{method} {path} ({rule.endpoint}) showed {found}")
    assert not wrong, "the leader on company pages:\n" + "\n".join(wrong)
    assert checked >= 60, checked
    assert not changed(before, rows()), "rows changed"


# --- visitors without a login, the employee, the donor ----------------------------------------------


def test_visitors_without_a_login_are_sent_to_log_in(isolation):
    """Company and leader routes send to /login, the employee's pages to her own login page; a few
    answer 404 instead (routes.NOT_FOUND_WITHOUT_SESSION). Never A's data, and nothing changes."""
    world = isolation.world
    anonymous = isolation.anonymous()
    before = rows()
    wrong, checked = [], 0
    for kind, page in (("company", "/login"), ("leader", "/login"), ("employee", EMPLOYEE_LOGIN)):
        for rule in rules_of(isolation.app, kind):
            for path in paths(world, rule):
                for method in methods(rule):
                    response = anonymous.open(path, method=method, data=form_for(rule.endpoint))
                    checked += 1
                    expected = 404 if rule.endpoint in NOT_FOUND_WITHOUT_SESSION else 302
                    if response.status_code != expected or (expected == 302 and not redirects_to(response, page)):
                        wrong.append(f"{method} {path} ({rule.endpoint}) answered {response.status_code} "
                                     f"{response.headers.get('Location', '')}")
                    if found := leaks(world, response):
                        wrong.append(f"{method} {path} ({rule.endpoint}) showed {found}")
    assert not wrong, "anonymous visitors were not sent to log in:\n" + "\n".join(wrong)
    assert checked >= 140, checked
    assert not changed(before, rows()), "rows changed"


def test_the_employees_pages_need_her_own_session(isolation):
    """A company account, A's own included, or the leader's is no employee session."""
    world, b = isolation.world, isolation.b
    clients = {"B's admin": b.admin_client, "B's member": b.member_client, "A's admin": isolation.a_admin,
               "the leader": isolation.leader}
    before = rows()
    wrong, checked = [], 0
    employee_rules = rules_of(isolation.app, "employee")
    for rule in employee_rules:
        for path in paths(world, rule, first_objects=True):
            for who, client in clients.items():
                for method in methods(rule):
                    response = client.open(path, method=method, data=form_for(rule.endpoint))
                    checked += 1
                    expected = 404 if rule.endpoint in NOT_FOUND_WITHOUT_SESSION else 302
                    if response.status_code != expected or (expected == 302 and not redirects_to(response, EMPLOYEE_LOGIN)):
                        wrong.append(f"{who}: {method} {path} ({rule.endpoint}) answered {response.status_code}")
                    if found := leaks(world, response):
                        wrong.append(f"{who}: {method} {path} ({rule.endpoint}) showed {found}")
    assert not wrong, "the employee's pages without her session:\n" + "\n".join(wrong)
    assert checked >= 28, checked
    assert not changed(before, rows()), "rows changed"
    # With her own session she reaches them, and sees her own placement.
    for rule in employee_rules:
        if "GET" in rule.methods:
            for path in paths(world, rule, first_objects=True):
                response = world.employee_client.get(path)
                assert response.status_code == 200, (path, response.status_code)
    assert world.marker in readable(world.employee_client.get("/ambassador"))


def test_donor_pages_need_the_donations_own_key(isolation):
    """Key-guarded public pages: without the key, with an empty, a made-up or another donation's key,
    they are 404 for everyone (logged in or not); with the object's own key they open."""
    world, b = isolation.world, isolation.b
    clients = {"anonymous": isolation.anonymous(), "B's admin": b.admin_client, "B's member": b.member_client,
               "the leader": isolation.leader}
    before = rows()
    wrong, checked = [], 0
    for rule in rules_of(isolation.app, "key-guarded"):
        if world.uncovered(rule) or len(rule.arguments & set(world.keys)) != 1:
            continue  # reported by test_every_rule_with_parameters_has_a_factory
        (parameter,) = rule.arguments & set(world.keys)
        keys = world.keys[parameter]
        for values in world.variants(rule):
            path = url(rule, values)
            others = [key for obj, key in keys.items() if obj != values[parameter]]
            for query in ["", "?key=", "?key=" + "0" * 32] + [f"?key={key}" for key in others]:
                for who, client in clients.items():
                    response = client.get(path + query)
                    checked += 1
                    if response.status_code != 404:
                        wrong.append(f"{who}: GET {path + query} ({rule.endpoint}) answered {response.status_code}")
                    if found := leaks(world, response):
                        wrong.append(f"{who}: GET {path + query} ({rule.endpoint}) showed {found}")
    assert not wrong, "donor pages opened without their key:\n" + "\n".join(wrong)
    assert checked >= 100, checked
    assert not changed(before, rows()), "rows changed"
    anonymous = isolation.anonymous()
    for rule in rules_of(isolation.app, "key-guarded"):
        if world.uncovered(rule) or len(rule.arguments & set(world.keys)) != 1:
            continue
        (parameter,) = rule.arguments & set(world.keys)
        for values in world.variants(rule, first_objects=True):
            response = anonymous.get(url(rule, values) + f"?key={world.keys[parameter][values[parameter]]}")
            assert response.status_code in (200, 302) and not redirects_to(response), (rule.endpoint, response.status_code)


def test_the_snapshot_sees_a_change_to_company_a(isolation):
    """The comparisons above are not blind: a change to one of A's rows shows up."""
    from portal.accounts.models import User
    from portal.core.db import database

    world = isolation.world
    before_a, before_all = rows(world.a.id), rows()
    with database.atomic() as transaction:
        User.update(name="Changed").where(User.id == world.a.member.id).execute()
        assert changed(before_a, rows(world.a.id)) == ["user"]
        assert changed(before_all, rows()) == ["user"]
        transaction.rollback()
    assert not changed(before_a, rows(world.a.id))
