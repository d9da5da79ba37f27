"""Fixtures for the accounts tests: a fresh `g` per request, a movable clock, mail links."""

from __future__ import annotations

import datetime as dt
import re
import sys

import pytest


@pytest.fixture
def request_context(app):
    """Service calls that send mail need a request (templates read request.full_path)."""
    with app.test_request_context("/", base_url="http://portal.test"):
        yield


class Clock:
    """`portal.core.db.utcnow` moved forward, everywhere it is used (modules and field defaults)."""

    def __init__(self, monkeypatch) -> None:
        from portal import all_models
        from portal.core import db

        self.offset = dt.timedelta(0)
        real = db.utcnow

        def fake() -> dt.datetime:
            return real() + self.offset

        for name, module in list(sys.modules.items()):
            if (name == "portal" or name.startswith("portal.")) and getattr(module, "utcnow", None) is real:
                monkeypatch.setattr(module, "utcnow", fake)
        for model in all_models():
            for field in model._meta.sorted_fields:
                if field.default is real:
                    monkeypatch.setattr(field, "default", fake)

    def advance(self, **delta) -> None:
        self.offset += dt.timedelta(**delta)


@pytest.fixture
def clock(app, monkeypatch) -> Clock:
    return Clock(monkeypatch)


def link_path(text: str, marker: str) -> str:
    """The path of the first portal link in a mail's text that contains `marker`."""
    match = re.search(r"https?://[^/\s]+(/\S*" + re.escape(marker) + r"\S*)", text)
    assert match, text
    return match.group(1)
