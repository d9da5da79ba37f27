"""Allocation in bulk (issue 21): many contributions toward one commitment in one confirmed step.

The company chooses the kinds of contribution, a period and a rule; a preview shows what would be
allocated (the lines, their total value by the commitment's rules) and what would not, and why.
Nothing is saved until the company confirms exactly the plan it saw (a fingerprint of the plan):
the plan is made again inside the write transaction, with the netting groups locked, and each line
goes through the same check as a single allocation, so a contribution never counts twice.

Rules:
- `all`: every contribution gets all of its value that is still free;
- `gap`: oldest first, only as much as the claim still needs to cover the obligation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from portal.core.db import atomic_write
from portal.sroi.allocation import _set_allocation_locked, lock_groups
from portal.sroi.base import KIND_LABELS, SroiError, _date
from portal.sroi.commitments import _audit, _company_id, _owned
from portal.sroi.models import ALLOCATABLE_KINDS, HOUR_KINDS, Allocation, Commitment
from portal.sroi.pool import Booked, allocated_amount, group_of, pool_for, whole_of
from portal.sroi.rules import counts_kind
from portal.sroi.suggestion import _amount_for_value
from portal.sroi.valuation import _value_of, summary

RULES = ("all", "gap")
RULE_LABELS = {
    "all": _l("Everything still free of each contribution"),
    "gap": _l("Only what is needed to cover the obligation (oldest contributions first)"),
}
REFUSALS = {
    "allocated_here": _l("already allocated to this commitment in full"),
    "allocated_elsewhere": _l("already fully allocated to other commitments"),
    "reduced": _l("a later correction (reversed hours or a refund) left nothing more to count"),
    "outside_period": _l("dated outside the commitment's period"),
    "not_counted": _l("this kind does not count under the commitment's rules"),
    "person_cap": _l("the cap of hours per person is reached"),
    "no_value": _l("worth nothing under the commitment's rules"),
    "not_needed": _l("not needed: the claim already covers the obligation"),
}


@dataclass(frozen=True)
class Request:
    """What the company asked for."""

    kinds: tuple[str, ...]
    start_on: dt.date
    end_on: dt.date
    rule: str


@dataclass(frozen=True)
class Planned:
    contribution: Booked
    before: int             # minutes or cents this commitment had of it
    add: int
    value_cents: int        # the extra value by the commitment's rules (estimate per line)

    @property
    def new_total(self) -> int:
        return self.before + self.add


@dataclass(frozen=True)
class Refused:
    contribution: Booked
    reason: str

    @property
    def label(self) -> str:
        return str(REFUSALS[self.reason])


@dataclass
class Plan:
    commitment: Commitment
    request: Request
    lines: list[Planned] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    need_cents: int = 0     # what the claim lacked of the obligation before the plan

    @property
    def value_cents(self) -> int:
        return sum(line.value_cents for line in self.lines)

    def totals(self) -> list[tuple[str, int, int, int]]:
        """(kind, lines, amount, value) per kind, in the order of the kinds."""
        found = []
        for kind in ALLOCATABLE_KINDS:
            mine = [line for line in self.lines if line.contribution.kind == kind]
            if mine:
                found.append((kind, len(mine), sum(line.add for line in mine), sum(line.value_cents for line in mine)))
        return found

    def refusals(self) -> list[tuple[str, int]]:
        """(reason, count) per reason, in a fixed order."""
        counts: dict[str, int] = {}
        for refused in self.refused:
            counts[refused.reason] = counts.get(refused.reason, 0) + 1
        return [(reason, counts[reason]) for reason in REFUSALS if reason in counts]

    @property
    def fingerprint(self) -> str:
        """A digest of the request and every line, so a confirmation applies exactly the plan shown."""
        r = self.request
        text = ";".join([f"{self.commitment.id}|{','.join(r.kinds)}|{r.start_on}|{r.end_on}|{r.rule}"]
                        + [f"{line.contribution.key}:{line.contribution.kind}:{line.new_total}" for line in self.lines])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def check_request(commitment: Commitment, kinds, start_on, end_on, rule: str) -> Request:
    """Tidy what the company asked for, or refuse it naming the field."""
    chosen = tuple(kind for kind in ALLOCATABLE_KINDS if kind in set(kinds or ()))
    if not chosen:
        raise SroiError(_l("Choose at least one kind of contribution."), "kinds")
    start = _date(start_on, "start_on")
    end = _date(end_on, "end_on")
    if end < start:
        raise SroiError(_l("The period cannot end before it starts."), "end_on")
    if rule not in RULES:
        raise SroiError(_l("Choose how much to allocate."), "rule")
    return Request(chosen, start, end, rule)


def make_plan(commitment: Commitment, request: Request, pool=None) -> Plan:
    """What a bulk allocation would do now: the lines to allocate and the contributions it leaves, with why."""
    company_id = commitment.company_id
    pool = pool or pool_for(company_id)
    state = summary(commitment)
    plan = Plan(commitment, request, need_cents=max(0, state.obligation_cents - state.claimed_cents))
    # What is allocated of each contribution (everywhere and here) and of each netting group.
    here_of: dict[tuple[str, str], int] = {}
    all_of: dict[tuple[str, str], int] = {}
    group_used: dict[str, int] = {}
    for row in Allocation.select().where(Allocation.company == company_id):
        ident, amount = (row.contribution_key, row.kind), allocated_amount(row)
        all_of[ident] = all_of.get(ident, 0) + amount
        if row.commitment_id == commitment.id:
            here_of[ident] = here_of.get(ident, 0) + amount
        other = pool.of(row)
        if other is not None:
            group_used[group_of(other)] = group_used.get(group_of(other), 0) + amount
    person_used = state.minutes_per_person()
    need = plan.need_cents
    candidates = sorted((c for c in pool.live.values()
                         if c.company_id == company_id and c.kind in request.kinds and whole_of(c) > 0
                         and request.start_on <= c.on <= request.end_on),
                        key=lambda c: (c.on, c.kind, c.key))
    for contribution in candidates:
        ident, group = (contribution.key, contribution.kind), group_of(contribution)
        if not commitment.period_start_on <= contribution.on <= commitment.period_end_on:
            plan.refused.append(Refused(contribution, "outside_period"))
            continue
        if not counts_kind(commitment, contribution.kind):
            plan.refused.append(Refused(contribution, "not_counted"))
            continue
        before = here_of.get(ident, 0)
        own_free = whole_of(contribution) - all_of.get(ident, 0)
        group_free = pool.group_net.get(group, 0) - group_used.get(group, 0)
        limit = max(0, min(own_free, group_free))
        if limit <= 0:
            if own_free > 0:
                reason = "reduced"
            else:
                reason = "allocated_here" if all_of.get(ident, 0) == before else "allocated_elsewhere"
            plan.refused.append(Refused(contribution, reason))
            continue
        person = contribution.person or contribution.key
        if contribution.kind in HOUR_KINDS and commitment.max_minutes_per_person is not None:
            limit = min(limit, commitment.max_minutes_per_person - person_used.get(person, 0))
            if limit <= 0:
                plan.refused.append(Refused(contribution, "person_cap"))
                continue
        if _value_of(commitment, contribution, before + limit) <= _value_of(commitment, contribution, before):
            plan.refused.append(Refused(contribution, "no_value"))
            continue
        if request.rule == "gap":
            if need <= 0:
                plan.refused.append(Refused(contribution, "not_needed"))
                continue
            add = _amount_for_value(commitment, contribution, before, need, limit)
        else:
            add = limit
        value = _value_of(commitment, contribution, before + add) - _value_of(commitment, contribution, before)
        plan.lines.append(Planned(contribution, before, add, value))
        need -= value
        all_of[ident] = all_of.get(ident, 0) + add
        here_of[ident] = before + add
        group_used[group] = group_used.get(group, 0) + add
        if contribution.kind in HOUR_KINDS:
            person_used[person] = person_used.get(person, 0) + add
    return plan


def preview(user, commitment_id: int, request: Request) -> Plan:
    """The plan for the user's own commitment (nothing is saved)."""
    commitment = _owned(_company_id(user), commitment_id)
    return make_plan(commitment, request)


def apply(user, commitment_id: int, request: Request, fingerprint: str) -> Plan:
    """Save the plan the user saw; refused, with nothing saved, if it changed since."""
    company_id = _company_id(user)
    changed = _l("Your contributions or allocations changed since the preview. Look at the new preview and "
                 "confirm again.")
    commitment = _owned(company_id, commitment_id)
    shown = make_plan(commitment, request)
    if shown.fingerprint != fingerprint:
        raise SroiError(changed)
    if not shown.lines:
        raise SroiError(_l("There is nothing to allocate with these choices."))
    with atomic_write():
        lock_groups(group_of(line.contribution) for line in shown.lines)
        commitment = _owned(company_id, commitment_id)
        pool = pool_for(company_id)
        plan = make_plan(commitment, request, pool)
        if plan.fingerprint != fingerprint:
            raise SroiError(changed)
        for line in plan.lines:
            _set_allocation_locked(user, company_id, commitment, line.contribution, line.new_total, pool)
        _audit("sroi.allocation.bulk", user, commitment, kinds=list(request.kinds), start_on=request.start_on,
               end_on=request.end_on, rule=request.rule, lines=len(plan.lines), value_cents=plan.value_cents,
               refused={reason: count for reason, count in plan.refusals()})
    return plan
