"""One shape for every contribution, whichever capability records it.

Enrollment (hours) and giving (money, materials) register a source; SROI, statements and
reconciliation read contributions through `contributions()` without importing them.
Amounts are integer cents, durations integer minutes: never floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import current_app

from portal.core.db import request_cache

KINDS = ("hours_sponsored", "hours_volunteered", "money", "material")

# Valuation bases: a figure always names one, and figures of different bases are never added.
BASES = {
    "employer_cost": "the employer's declared hourly cost",
    "at_cost": "the amount paid",
    "market_value": "market value confirmed at receipt",
    "none": "not valued (hours only)",
}


@dataclass(frozen=True)
class Contribution:
    kind: str               # one of KINDS
    key: str                # stable id across capabilities, e.g. "hours:12", "donation:7", "material:3"
    company_id: int
    on: dt.date             # business date (Europe/Amsterdam)
    description: str
    value_cents: int        # what it is worth on `basis` (0 for volunteered hours)
    basis: str              # one of BASES
    minutes: int = 0        # for hours
    person: str = ""        # the ambassador, for hours
    classification: str = ""  # "gift" or "sponsoring" for money and materials
    gross_cents: int = 0    # money: what the company paid (refunds negative)
    fee_cents: int = 0      # money: Stripe's fee
    net_cents: int = 0      # money: what reached the foundation
    method: str = ""        # money: "stripe", "bank"; materials: "in_kind"
    reference: str = ""     # Stripe id or RF reference


Source = Callable[[int | None, dt.date | None, dt.date | None], Iterable[Contribution]]


def register_source(app, source: Source) -> None:
    """A capability adds a function (company_id or None for all, start, end) -> contributions."""
    app.extensions.setdefault("portal.contribution_sources", []).append(source)


def contributions(company_id: int | None, start: dt.date | None = None, end: dt.date | None = None) -> list[Contribution]:
    """Every confirmed contribution of one company (or all), with start <= on <= end.

    A dashboard asks several times in one request (SROI panels, statement flags); the answer is
    kept for the rest of the request, and a period of a company whose whole history was already
    read is cut from that. A write transaction forgets it (core.db.atomic_write); a request that
    is not a GET or HEAD never keeps it."""
    cache = request_cache()
    whole = cache.get((company_id, None, None)) if cache is not None else None
    if whole is not None:
        return [c for c in whole if (start is None or c.on >= start) and (end is None or c.on <= end)]
    if cache is not None and (company_id, start, end) in cache:
        return list(cache[(company_id, start, end)])
    found: list[Contribution] = []
    for source in current_app.extensions.get("portal.contribution_sources", []):
        found.extend(source(company_id, start, end))
    found.sort(key=lambda c: (c.on, c.kind, c.key))
    if cache is not None:
        cache[(company_id, start, end)] = tuple(found)
    return found
