"""How a capability offers something to another without importing it: blinker signals, the
mechanism Flask itself uses. A capability connects its receivers in its blueprint's `_wire`
(`hooks.connect(app, hooks.MENU, provider)`); a reader asks every receiver connected for the
current application (`hooks.collect(hooks.MENU, "main", "nl", user)`).

A receiver is a plain function taking the signal's arguments, in order:

| signal | a receiver takes | and returns |
|---|---|---|
| MENU | menu name, language, user | a list of `templating.MenuItem` |
| COMPANY_PANELS | the company | a `Panel` for its dashboard, or None |
| LEADER_PANELS | (nothing) | a `Panel` for the project leader's desk, or None |
| CONTRIBUTIONS | company id (None: all), first day, last day | `contributions.Contribution`s |
| OPEN_ITEMS | (nothing) | the desk's `OpenItem`s that await a payment |
| SETTLERS | (nothing) | a dict {key prefix: settle(item, line, actor) -> settlement word} |
| HOURS_CORRECTED | contribution keys, reason | nothing (runs inside the correction's transaction) |
| STATEMENT_CLAIMS | company id, first day, last day | statements' `SroiClaim`s |

Receivers are connected per application (tests build many), strongly (closures are welcome),
and answers come back in the order they were connected: a page lists them by their own weight
where the order is shown. The ledger's two signals (`ledger.sources`, `ledger.open_items`) are
connected when a capability's module is imported: they describe tables, which every application
shares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from blinker import Namespace
from flask import Flask, current_app

_signals = Namespace()

MENU = _signals.signal("portal.menu")
COMPANY_PANELS = _signals.signal("portal.company-panels")
LEADER_PANELS = _signals.signal("portal.leader-panels")
CONTRIBUTIONS = _signals.signal("portal.contributions")
OPEN_ITEMS = _signals.signal("portal.open-items")
SETTLERS = _signals.signal("portal.settlers")
HOURS_CORRECTED = _signals.signal("portal.hours-corrected")
STATEMENT_CLAIMS = _signals.signal("portal.statement-claims")
SIGNALS = (MENU, COMPANY_PANELS, LEADER_PANELS, CONTRIBUTIONS, OPEN_ITEMS, SETTLERS, HOURS_CORRECTED,
           STATEMENT_CLAIMS)


@dataclass(frozen=True)
class Panel:
    """A card on a dashboard: its template, where it stands (lower first) and what it shows.
    The receiver computes the figures; the template only lays them out."""

    template: str
    weight: int
    context: dict[str, Any] = field(default_factory=dict)


def connect(app: Flask, signal, receiver: Callable[..., Any]) -> None:
    """`receiver(*args)` answers `signal` when `app` is the current application."""
    order = len(list(signal.receivers_for(app)))

    def answer(sender, *, args: tuple = ()):
        return order, receiver(*args)

    signal.connect(answer, sender=app, weak=False)


def collect(signal, *args) -> list[Any]:
    """Every answer of the receivers connected for the current application, in the order they
    were connected."""
    answers = signal.send(current_app._get_current_object(), args=args)
    return [value for _receiver, (_order, value) in sorted(answers, key=lambda pair: pair[1][0])]


def connected(signal, app: Flask | None = None) -> bool:
    """Whether any receiver answers `signal` for the (current) application."""
    return any(True for _ in signal.receivers_for(app or current_app._get_current_object()))
