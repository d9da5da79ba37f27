"""SROI allocations on a statement.

By default an adapter over the SROI capability's service gives them: it reads each commitment's
valued allocation lines and keeps those of contributions dated inside the period that count.
Another source (a test) answers `hooks.STATEMENT_CLAIMS` with a function
`(company_id, start, end) -> iterable of SroiClaim`, which then replaces the adapter.

With the adapter, a statement also keeps a change mark of its period's allocations
(`mark_expression`): what they were at issue, compared in SQL with what they are now. A
registered provider has no such mark: its claims are compared line by line on a statement's
page (service.changes), not in the correction flags.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import peewee

from portal.core import hooks
from portal.sroi import service
from portal.sroi.models import Allocation, Commitment


@dataclass(frozen=True)
class SroiLine:
    key: str                # the contribution's stable key
    on: dt.date
    kind: str
    description: str
    person: str = ""
    minutes: int = 0        # hours allocated (hours kinds)
    cents: int = 0          # amount allocated (money, materials)
    value_cents: int = 0    # the value claimed by the commitment's rules


@dataclass(frozen=True)
class SroiClaim:
    commitment: str         # the buyer and the contract, in words
    rules: str              # the valuation table the claim uses, in words
    lines: tuple[SroiLine, ...]

    @property
    def value_cents(self) -> int:
        return sum(line.value_cents for line in self.lines)


def claims(company_id: int, start: dt.date, end: dt.date) -> list[SroiClaim]:
    """Every SROI claim of a company built from contributions dated inside the period."""
    if uses_adapter():
        answers = [_sroi_adapter(company_id, start, end)]
    else:
        answers = hooks.collect(hooks.STATEMENT_CLAIMS, company_id, start, end)
    return [claim for found in answers for claim in found if claim.lines]


def uses_adapter() -> bool:
    """Whether claims come from the SROI capability's own tables (no other source answers)."""
    return not hooks.connected(hooks.STATEMENT_CLAIMS)


def mark_expression() -> peewee.Node:
    """An aggregate over Allocation rows (joined to their commitments) that changes whenever one
    of them is added, removed or changed: their count, the sums of their ids and amounts, and
    the newest change of an allocation and of a commitment's rules (every change sets
    `updated_at` to now). '' when there are none. Compared only with itself, on one database."""
    def text(node):
        return peewee.Cast(node, "TEXT")

    parts = [text(peewee.fn.COUNT(Allocation.id)), text(peewee.fn.SUM(Allocation.id)),
             text(peewee.fn.SUM(Allocation.minutes)), text(peewee.fn.SUM(Allocation.cents)),
             text(peewee.fn.MAX(Allocation.updated_at)), text(peewee.fn.MAX(Commitment.updated_at))]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.concat(":").concat(part)
    return peewee.Case(None, [(peewee.fn.COUNT(Allocation.id) == 0, "")], joined)


def allocations_mark(company_id: int, start: dt.date, end: dt.date) -> str | None:
    """The change mark of the company's allocations of contributions dated in the period, or None
    when claims do not come from the SROI capability's tables."""
    if not uses_adapter():
        return None
    return (Allocation.select(mark_expression())
            .join(Commitment, on=(Allocation.commitment == Commitment.id))
            .where((Allocation.company == company_id) & Allocation.contribution_on.between(start, end))
            .scalar())


COUNTING = ("ok", "capped", "reduced")


def _sroi_adapter(company_id: int, start: dt.date, end: dt.date) -> list[SroiClaim]:
    commitments = service.company_commitments(company_id)
    found = []
    for summary in service.summaries(commitments):
        commitment = summary.commitment
        lines = []
        for line in summary.lines:
            if line.status not in COUNTING or not line.value_cents or not start <= line.on <= end:
                continue
            hours = line.kind.startswith("hours")
            lines.append(SroiLine(
                key=line.allocation.contribution_key, on=line.on, kind=line.kind,
                description=line.description, person=line.person or "",
                minutes=line.counted if hours else 0, cents=0 if hours else line.counted,
                value_cents=line.value_cents))
        # A seeded table's name in the statement's language, not the English name stored with it.
        rules = service.template_label(commitment.rules_template, commitment.rules_name)
        if any(line.kind.startswith("hours") for line in lines):
            rules = f"{rules}; {service.hours_basis_label(commitment)}"
        found.append(SroiClaim(f"{commitment.authority} · {commitment.contract_reference}", rules, tuple(lines)))
    return found
