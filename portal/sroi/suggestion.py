"""What can still be allocated to a commitment, and a plan that fills open commitments from free
contributions, nearest deadline first, applied only as the user saw it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.core import clock
from portal.core.db import atomic_write
from portal.sroi.allocation import _rooms, _set_allocation_locked, lock_groups
from portal.sroi.base import SroiError
from portal.sroi.commitments import _company_id, _owned, company_commitments
from portal.sroi.models import HOUR_KINDS, Allocation, Commitment
from portal.sroi.pool import Booked, Ident, Pool, allocated_amount, group_of, pool_for, whole_of
from portal.sroi.rules import counts_kind
from portal.sroi.valuation import _value_of, summaries

# --- what can still be allocated ------------------------------------------------------------

@dataclass
class Available:
    contribution: Booked
    whole: int              # minutes or cents
    here: int               # allocated to this commitment
    elsewhere: int          # allocated to other commitments
    most_here: int          # the most this commitment may hold of the contribution
    counts: bool            # counts under this commitment's rules
    group_limited: bool = False

    @property
    def free(self) -> int:
        """What this commitment could still add."""
        return max(0, self.most_here - self.here)


def available(commitment: Commitment, pool: Pool | None = None) -> list[Available]:
    """The company's confirmed contributions within the commitment's period, with what is still free."""
    pool = pool or pool_for(commitment.company_id)
    room_of = _rooms(pool, commitment.id, Allocation.select().where(Allocation.company == commitment.company_id))
    result = []
    for contribution in sorted(pool.live.values(), key=lambda c: (c.on, c.kind, c.key)):
        if (contribution.company_id != commitment.company_id or whole_of(contribution) <= 0
                or not commitment.period_start_on <= contribution.on <= commitment.period_end_on):
            continue
        room = room_of(contribution)
        result.append(Available(contribution, room.whole, room.here, room.elsewhere, room.most,
                                counts_kind(commitment, contribution.kind), room.group_limited))
    return result


# --- suggestion: nearest deadline first -----------------------------------------------------

@dataclass(frozen=True)
class Suggested:
    commitment: Commitment
    contribution: Booked
    add: int                # minutes or cents to add to what the commitment already has
    new_total: int          # the commitment's allocation of this contribution afterwards
    value_cents: int        # the extra SROI value by the commitment's rules (estimate per line)


def _amount_for_value(commitment: Commitment, contribution: Booked, before: int, need_cents: int,
                      limit: int) -> int:
    """The least amount to add (at most `limit`) whose extra value covers `need_cents`."""
    def extra(amount: int) -> int:
        return _value_of(commitment, contribution, before + amount) - _value_of(commitment, contribution, before)

    if extra(limit) <= need_cents:
        return limit
    low, high = 1, limit
    while low < high:  # the value grows with the amount, so bisect for the first that covers the need
        middle = (low + high) // 2
        if extra(middle) >= need_cents:
            high = middle
        else:
            low = middle + 1
    return low


def suggest(company_id: int, today: dt.date | None = None, pool: Pool | None = None) -> list[Suggested]:
    """A plan that fills open commitments from free contributions, nearest deadline first.

    Only commitments whose deadline has not passed and whose claim is short of the obligation
    take part; each takes contributions from its own period that count under its rules,
    oldest first, up to the person cap, until its claim covers the obligation.
    """
    today = today or clock.today()
    open_commitments = [c for c in company_commitments(company_id) if c.deadline_on >= today]
    if not open_commitments:
        return []
    pool = pool or pool_for(company_id)
    current = {s.commitment.id: s for s in summaries(open_commitments, pool=pool, today=today)}
    rows = list(Allocation.select().where(Allocation.company == company_id))
    free_own: dict[Ident, int] = {}
    free_group = dict(pool.group_net)
    for ident, contribution in pool.live.items():
        free_own[ident] = whole_of(contribution)
    for row in rows:
        ident = (row.contribution_key, row.kind)
        if ident in free_own:
            free_own[ident] -= allocated_amount(row)
        other = pool.of(row)
        if other is not None:
            free_group[group_of(other)] -= allocated_amount(row)
    candidates = sorted((c for c in pool.live.values() if c.company_id == company_id and whole_of(c) > 0),
                        key=lambda c: (c.on, c.kind, c.key))
    plan: list[Suggested] = []
    for commitment in open_commitments:
        state = current[commitment.id]
        need = state.obligation_cents - state.claimed_cents
        if need <= 0:
            continue
        have = {(line.allocation.contribution_key, line.kind): line.allocated for line in state.lines}
        person_used = state.minutes_per_person()
        for contribution in candidates:
            if need <= 0:
                break
            if (not counts_kind(commitment, contribution.kind)
                    or not commitment.period_start_on <= contribution.on <= commitment.period_end_on):
                continue
            ident, group = (contribution.key, contribution.kind), group_of(contribution)
            limit = min(free_own.get(ident, 0), free_group.get(group, 0))
            person = contribution.person or contribution.key
            if contribution.kind in HOUR_KINDS and commitment.max_minutes_per_person is not None:
                limit = min(limit, commitment.max_minutes_per_person - person_used.get(person, 0))
            before = have.get(ident, 0)
            if limit <= 0 or _value_of(commitment, contribution, before + limit) <= _value_of(commitment, contribution, before):
                continue
            add = _amount_for_value(commitment, contribution, before, need, limit)
            value = _value_of(commitment, contribution, before + add) - _value_of(commitment, contribution, before)
            plan.append(Suggested(commitment, contribution, add, before + add, value))
            free_own[ident] -= add
            free_group[group] -= add
            have[ident] = before + add
            if contribution.kind in HOUR_KINDS:
                person_used[person] = person_used.get(person, 0) + add
            need -= value
    return plan


def plan_fingerprint(plan: list[Suggested]) -> str:
    """A short digest of a plan, so a confirmation applies exactly the plan the user saw."""
    text = ";".join(f"{s.commitment.id}:{s.contribution.key}:{s.contribution.kind}:{s.new_total}" for s in plan)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def apply_suggestion(user, fingerprint: str, today: dt.date | None = None) -> int:
    """Apply the suggested plan the user confirmed; refused if it changed since it was shown."""
    company_id = _company_id(user)
    plan = suggest(company_id, today)
    if not plan or plan_fingerprint(plan) != fingerprint:
        raise SroiError(_l("Your contributions or commitments changed since the suggestion was made. "
                           "Look at the new suggestion and confirm again."))
    with atomic_write():
        lock_groups(group_of(step.contribution) for step in plan)
        pool = pool_for(company_id)
        again = suggest(company_id, today, pool=pool)
        if plan_fingerprint(again) != fingerprint:
            raise SroiError(_l("Your contributions or commitments changed since the suggestion was made. "
                               "Look at the new suggestion and confirm again."))
        for step in again:
            commitment = _owned(company_id, step.commitment.id)
            _set_allocation_locked(user, company_id, commitment, step.contribution, step.new_total, pool)
    return len(plan)
