"""Fixtures for the security tests: company A's world of objects, and the clients that try to reach it."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from typing import Any

import pytest

import tests.conftest as base
from tests.security.tenant_objects import World, add_contribution

MARKER = "TENANT-A-7731"


def build_world(app, make_company, leader, monkeypatch) -> World:
    """Company A with objects of every capability (tests/security/tenant_objects.py)."""
    a = make_company(f"Alpha {MARKER}", member=True)
    built = World(app=app, a=a, leader=leader, monkeypatch=monkeypatch, marker=MARKER)
    with app.test_request_context("/", base_url="http://portal.test"):  # services mail; mail wants a request
        built.build()
    return built


@pytest.fixture
def world(app, make_company, leader, monkeypatch) -> World:
    return build_world(app, make_company, leader, monkeypatch)


@dataclass
class Isolation:
    """One world for a module's tests (test_tenant_isolation.py, test_route_access.py), built once
    per module.

    Its tests only read, or try writes that must be refused: each compares the rows it guards
    before and after, so they hold in any order. What a test legitimately changes it makes for
    itself (a company of its own) or rolls back.
    """

    app: Any
    db: Any                # the module's database, bound again before each of its tests
    world: World
    b: Any                 # company B: .admin_client and .member_client logged in, a contribution of its own
    a_admin: Any           # company A's own users, logged in
    a_member: Any
    leader: Any            # the project leader, second factor passed
    make_company: Any
    login: Any

    def anonymous(self):
        return self.app.test_client()


def module_database(migrated_template, tmp_path_factory, name: str):
    """(database URL, folder) of a module's own: a copy of the migrated template, or on PostgreSQL
    the test database, emptied."""
    folder = tmp_path_factory.mktemp(name)
    if base.PG_URL:
        base._truncate_postgres()
        return base.PG_URL, folder
    shutil.copyfile(migrated_template, folder / "portal.db")
    return f"sqlite:///{folder / 'portal.db'}", folder


@contextlib.contextmanager
def module_app(migrated_template, tmp_path_factory, name: str, **config):
    """An app on a database of its own (module_database), in its app context, for a world that a
    module's tests share; `config` overrides the tests' settings. When the module is done it waits
    for the receipts' follow-ups, closes that database and binds again the one bound before."""
    from portal import create_app
    from portal.core.db import database
    from portal.giving import receipts

    url, folder = module_database(migrated_template, tmp_path_factory, name)
    previous = database.obj
    app = create_app(dict(base.app_config.__wrapped__(database_url=url, tmp_path=folder), **config))
    app.test_client_class = base.FreshContextClient
    own = database.obj
    try:
        with app.app_context():
            yield app
            receipts.wait_for_followups(app)
    finally:
        if not own.is_closed():  # its own, whatever a function-scoped test bound last
            own.close()
        if previous is not None:
            database.initialize(previous)


def bind_module_database(request, fixture: str) -> None:
    """Bind the database of a module's shared world before each test that uses it, whatever a test
    before bound (the function-scoped `app` binds the global database to a test's own copy and
    leaves it so). `fixture` names the world's fixture; its value has the database as `.db`."""
    if fixture in request.fixturenames:
        from portal.core.db import database

        database.initialize(request.getfixturevalue(fixture).db)


@pytest.fixture(autouse=True)
def _isolation_database(request):
    bind_module_database(request, "isolation")


@pytest.fixture(scope="module")
def isolation(migrated_template, tmp_path_factory):
    """A database, an app and company A's world of their own, shared by one module's tests.

    Built like tests/conftest.py's function-scoped `app` (its own fixture functions make the
    config, companies and logins), but once: the world is costly (PDFs are rendered for it).
    """
    from portal.core.db import database

    with module_app(migrated_template, tmp_path_factory, "isolation") as app, \
            pytest.MonkeyPatch.context() as monkeypatch:
        make_company = base.make_company.__wrapped__(app)
        login = base.login.__wrapped__(app)
        leader = base.leader.__wrapped__(app)
        world = build_world(app, make_company, leader, monkeypatch)
        b = make_company("Bravo", member=True)
        add_contribution(world, b, 5_000, "Donation of Bravo")
        b.admin_client = login(app.test_client(), b.admin)
        b.member_client = login(app.test_client(), b.member)
        yield Isolation(
            app=app, db=database.obj, world=world, b=b, a_admin=login(app.test_client(), world.a.admin),
            a_member=login(app.test_client(), world.a.member),
            leader=base.sign_in_leader.__wrapped__(app, leader, login)(), make_company=make_company, login=login)
