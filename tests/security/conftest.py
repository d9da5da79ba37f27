"""Fixtures for the security tests: company A's world of objects, company B's clients."""

from __future__ import annotations

import pytest

from tests.security.tenant_objects import World


@pytest.fixture
def world(app, make_company, leader, monkeypatch) -> World:
    """Company A with objects of every capability (tests/security/tenant_objects.py)."""
    marker = "TENANT-A-7731"
    a = make_company(f"Alpha {marker}", member=True)
    built = World(app=app, a=a, leader=leader, monkeypatch=monkeypatch, marker=marker)
    with app.test_request_context("/", base_url="http://portal.test"):  # services mail; mail wants a request
        built.build()
    return built


@pytest.fixture
def company_b(app, make_company, login):
    """Company B's administrator and member, logged in."""
    b = make_company("Bravo", member=True)
    b.admin_client = login(app.test_client(), b.admin)
    b.member_client = login(app.test_client(), b.member)
    return b
