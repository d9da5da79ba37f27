"""The desk's blueprint (its pages are in views.py and downloads.py) and what those pages read from
the query: ids, dates and page numbers, checked before use."""

from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, flash, request
from flask_babel import gettext as _

bp = Blueprint("reconcile", __name__)

PAGE = 100

# Ids and page numbers in a query: ASCII digits, at most nine of them (no "²", no overflow).
ID_ARG = re.compile(r"^[0-9]{1,9}$")
# Dates a filter may name: anything else is a typing error, not a period of nine thousand years.
EARLIEST_DATE, LATEST_DATE = dt.date(2000, 1, 1), dt.date(2099, 12, 31)


def int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if ID_ARG.match(value) else None


def date_arg(name: str) -> dt.date | None:
    value = request.args.get(name, "").strip()
    try:
        day = dt.date.fromisoformat(value) if value else None
    except ValueError:
        day = EARLIEST_DATE - dt.timedelta(days=1)
    if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
        flash(_("Dates are written as 2026-05-31, between %(first)s and %(last)s.", first=EARLIEST_DATE.year,
                last=LATEST_DATE.year), "error")
        return None
    return day


def page_number() -> int:
    return max(1, int_arg("page") or 1)
