"""Generated from app.url_map: a user of company B gets 404 for company A's objects, for reading
and for writing, never 403 and never the data, and A's rows are unchanged afterwards.

Company A's objects come from the factories in tenant_objects.py. A route with a URL parameter
that no factory covers fails here: its capability must register a factory, so that no new
route ships without this check.
"""

from __future__ import annotations

import html
import json

from portal import all_models
from tests.security.routes import is_public, methods, own_login, url
from tests.security.tenant_objects import FACTORIES

# What B submits with every POST: fields that would change or move A's objects if they got through.
HOSTILE_FORM = {
    "role": "admin", "name": "Taken over", "email": "attacker@bravo.nl", "reason": "x", "status": "paid",
    "amount": "1", "quantity": "1", "company_id": "0", "resolution": "done", "vog_status": "refused",
    "key": "donation:tenant-a", "confirm": "y", "language": "en",
}
# Rows that B's own requests legitimately touch (B's login session is refreshed).
SKIP_TABLES = {"login_session"}


def readable(response) -> str:
    """The response as a person reads it: HTML unescaped, PDFs as their text."""
    if response.mimetype == "application/pdf":
        import io

        import pypdf

        return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.data)).pages)
    return html.unescape(response.data.decode("utf-8", errors="replace"))


def rules_with_parameters(app):
    return [rule for rule in app.url_map.iter_rules()
            if rule.arguments and not is_public(rule.endpoint) and not own_login(rule.endpoint)]


def snapshot_of_a(company_id: int) -> dict[str, list]:
    """Every table's rows: A's only where the table has a company_id, all rows otherwise."""
    snapshot = {}
    for model in all_models():
        table = model._meta.table_name
        if table in SKIP_TABLES:
            continue
        query = model.select().order_by(model._meta.primary_key)
        if "company" in model._meta.fields or "company_id" in model._meta.fields:
            column = model._meta.fields.get("company") or model._meta.fields["company_id"]
            query = query.where(column == company_id)
        snapshot[table] = [json.dumps(row, sort_keys=True, default=str) for row in query.dicts()]
    return snapshot


def test_every_rule_with_parameters_has_a_factory(app, world):
    missing = []
    for rule in rules_with_parameters(app):
        uncovered = rule.arguments - set(world.values_for(rule))
        if uncovered:
            blueprint = rule.endpoint.split(".", 1)[0]
            missing.append(f"{rule.rule} ({rule.endpoint}) needs {sorted(uncovered)}: "
                           f"register @factory({blueprint!r}) in tests/security/tenant_objects.py"
                           + ("" if blueprint not in FACTORIES else " (its factory does not return them)"))
    assert not missing, "routes without company A's objects for the isolation test:\n" + "\n".join(missing)


def test_company_b_gets_404_for_every_object_of_company_a(app, world, company_b):
    before = snapshot_of_a(world.a.id)
    checked, wrong = 0, []
    for rule in rules_with_parameters(app):
        values = world.values_for(rule)
        if not rule.arguments <= set(values):
            continue  # reported by the test above
        path = url(rule, values)
        for client, who in ((company_b.admin_client, "B's admin"), (company_b.member_client, "B's member")):
            for method in methods(rule):
                response = client.open(path, method=method, data=HOSTILE_FORM if method == "POST" else None)
                checked += 1
                body = readable(response)
                if response.status_code != 404:
                    wrong.append(f"{who}: {method} {path} ({rule.endpoint}) answered {response.status_code}")
                if world.marker in body:
                    wrong.append(f"{who}: {method} {path} ({rule.endpoint}) showed company A's data")
    assert not wrong, "company B reached company A's objects:\n" + "\n".join(wrong)
    assert checked >= 80, checked
    after = snapshot_of_a(world.a.id)
    changed = [table for table in before if before[table] != after[table]]
    assert not changed, f"company A's rows changed in: {changed}"
    # B is still logged in: the 404s were not a logout in disguise.
    assert company_b.admin_client.get("/dashboard").status_code == 200


def test_company_b_pages_without_ids_show_nothing_of_company_a(app, world, company_b):
    """Lists, overviews, exports and dashboards of B: none of A's marked names or references."""
    shown = []
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in rule.methods or is_public(rule.endpoint) or own_login(rule.endpoint):
            continue
        for client in (company_b.admin_client, company_b.member_client):
            response = client.get(rule.rule)
            if world.marker in readable(response):
                shown.append(f"{rule.rule} ({rule.endpoint})")
    assert not shown, "company A's data on company B's pages:\n" + "\n".join(shown)


def test_the_snapshot_sees_a_change_to_company_a(app, world):
    """The comparison above is not blind: a change to one of A's rows shows up."""
    from portal.accounts.models import User

    before = snapshot_of_a(world.a.id)
    User.update(name="Changed").where(User.id == world.a.member.id).execute()
    assert snapshot_of_a(world.a.id)["user"] != before["user"]


def test_company_a_itself_reaches_its_objects(app, world, login):
    """The same URLs work for A's own administrator, so B's 404s are about B, not broken URLs."""
    client = login(app.test_client(), world.a.admin)
    reached = 0
    for rule in rules_with_parameters(app):
        values = world.values_for(rule)
        if "GET" not in rule.methods or not rule.arguments <= set(values) or "leader" in rule.endpoint \
                or rule.endpoint.startswith(("enrollment.leader", "statements.register")):
            continue
        response = client.get(url(rule, values))
        if response.status_code in (200, 302):
            reached += 1
    assert reached >= 8, reached
