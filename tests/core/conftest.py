"""Fixtures for the core tests: a fresh `g` per request, as a real server has."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fresh_g_per_request(app):
    """The shared `app` fixture keeps one application context pushed for the whole test, so
    test-client requests would share `g` (and the user and locale cached in it)."""
    from flask import g

    def _fresh_g():
        for name in list(g):
            g.pop(name, None)

    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_g)
