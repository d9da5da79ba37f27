"""Allocating contributions to SROI commitments: what is still free of a contribution (here,
elsewhere, and within its netting group), and the checked, locked write of one allocation.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal.core.db import atomic_write, database, is_sqlite, utcnow
from portal.sroi.arithmetic import format_amount
from portal.sroi.base import KIND_LABELS, SroiError, _language
from portal.sroi.commitments import _audit, _company_id, _owned
from portal.sroi.figures import touch
from portal.sroi.models import HOUR_KINDS, Allocation, Commitment
from portal.sroi.pool import Booked, Ident, Pool, allocated_amount, group_of, pool_for, whole_of
from portal.sroi.rules import counts_kind

# Namespace of the PostgreSQL advisory locks taken per contribution key while allocating.
LOCK_NAMESPACE = 60040


def lock_key(name: str) -> int:
    """A stable signed 32-bit number for a lock name (the PostgreSQL advisory lock's second half)."""
    value = zlib.crc32(name.encode("utf-8"))
    return value - 2**32 if value >= 2**31 else value


def lock_groups(groups: Iterable[str]) -> None:
    """Serialise allocations of these netting groups until the transaction ends.

    On SQLite the IMMEDIATE transaction already holds the only write lock. On PostgreSQL a
    transaction-scoped advisory lock per group (which holds the contribution) makes a second
    allocator wait until the first has committed, so its check sees the first one's row.
    Groups are locked in sorted order so two multi-group transactions cannot deadlock.
    """
    if is_sqlite():
        return
    for name in sorted(set(groups)):
        database.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, lock_key(name)))


def _pick(pool: Pool, company_id: int, key: str, kind: str | None) -> Booked | None:
    if kind:
        found = pool.get(key, kind)
        return found if found is not None and found.company_id == company_id else None
    matches = [c for (k, _kind), c in pool.live.items() if k == key and c.company_id == company_id]
    if len(matches) > 1:
        raise SroiError(_l("This contribution has several parts; choose which part to allocate."), "amount")
    return matches[0] if matches else None


@dataclass(frozen=True)
class Room:
    whole: int          # the contribution's own minutes or cents
    here: int           # allocated to this commitment
    elsewhere: int      # allocated to other commitments
    most: int           # the most this commitment may hold of it (can be below `here` after a correction)
    group_limited: bool  # a correction in the group is what limits `most`

    @property
    def free(self) -> int:
        return max(0, self.most - self.here)


def _room(pool: Pool, contribution: Booked, commitment_id: int, rows: Iterable[Allocation]) -> Room:
    """What is allocated of a contribution, here and elsewhere, and what is still free."""
    key, kind, group = contribution.key, contribution.kind, group_of(contribution)
    here = elsewhere = group_used = 0
    for row in rows:
        if row.kind != kind:
            continue
        amount = allocated_amount(row)
        if row.contribution_key == key:
            if row.commitment_id == commitment_id:
                here += amount
                continue
            elsewhere += amount
        other = pool.of(row)
        if other is not None and group_of(other) == group:
            group_used += amount
    return _room_from(whole_of(contribution), here, elsewhere, pool.group_net.get(group, 0), group_used)


def _room_from(whole: int, here: int, elsewhere: int, group_net: int, group_used: int) -> Room:
    """`group_used`: what other allocations (not this commitment's of this contribution) take of the group."""
    own_free = whole - here - elsewhere
    group_free = group_net - group_used - here
    # The most this commitment may hold; below `here` when a correction shrank the group.
    most = max(0, here + min(own_free, group_free))
    return Room(whole, here, elsewhere, most, group_free < own_free)


def _rooms(pool: Pool, commitment_id: int, rows: Iterable[Allocation]):
    """_room for many contributions of the rows' company at once: the allocations are summed once."""
    here_of: dict[Ident, int] = {}
    all_of: dict[Ident, int] = {}
    used_of: dict[str, int] = {}
    for row in rows:
        ident, amount = (row.contribution_key, row.kind), allocated_amount(row)
        all_of[ident] = all_of.get(ident, 0) + amount
        if row.commitment_id == commitment_id:
            here_of[ident] = here_of.get(ident, 0) + amount
        other = pool.of(row)
        if other is not None:
            used_of[group_of(other)] = used_of.get(group_of(other), 0) + amount

    def room(contribution: Booked) -> Room:
        ident, group = (contribution.key, contribution.kind), group_of(contribution)
        here = here_of.get(ident, 0)
        # This commitment's own rows of the contribution are in the group's use: they are `here`.
        return _room_from(whole_of(contribution), here, all_of.get(ident, 0) - here, pool.group_net.get(group, 0),
                          used_of.get(group, 0) - here)

    return room


def _rows_for(company_id: int, key: str, kind: str) -> list[Allocation]:
    """Allocations that bear on one contribution: the company's of that kind, and any of that key."""
    return list(Allocation.select().where(
        (Allocation.kind == kind) & ((Allocation.company == company_id) | (Allocation.contribution_key == key))))


def _set_allocation_locked(user, company_id: int, commitment: Commitment, contribution: Booked,
                           amount: int, pool: Pool) -> Allocation | None:
    """The check and the write; the caller holds the transaction and the lock on the group."""
    if not commitment.period_start_on <= contribution.on <= commitment.period_end_on:
        raise SroiError(_l("That contribution is not among your company's confirmed contributions in "
                           "this commitment's period."), "amount")
    if not counts_kind(commitment, contribution.kind):
        raise SroiError(_l("This kind of contribution (%(kind)s) does not count under this commitment's rules.",
                           kind=KIND_LABELS.get(contribution.kind, contribution.kind)), "amount")
    key, kind = contribution.key, contribution.kind
    if whole_of(contribution) <= 0:
        raise SroiError(_l("This contribution has no value left to allocate."), "amount")
    room = _room(pool, contribution, commitment.id, _rows_for(company_id, key, kind))
    if amount > room.most:
        most = format_amount(kind, room.most, _language())
        if room.group_limited:
            raise SroiError(_l("Only %(free)s of this contribution can count here: a later correction "
                               "(reversed hours or a refund) reduced what it is worth.", free=most), "amount")
        raise SroiError(_l("Only %(free)s of this contribution is still free to allocate here: a contribution "
                           "never counts for more than its whole value.", free=most), "amount")
    existing = Allocation.get_or_none((Allocation.commitment == commitment.id) & (Allocation.contribution_key == key)
                                      & (Allocation.kind == kind))
    hours = kind in HOUR_KINDS
    if amount == 0:
        if existing is None:
            return None
        Allocation.delete().where(Allocation.id == existing.id).execute()
        return _audited(user, commitment, room, key, kind, amount, None)
    # The contribution's words are saved too, in the allocating user's language: shown only should
    # the books no longer know the contribution (pages make its words afresh in the reader's).
    with force_locale(getattr(user, "language", None) or "nl"):
        words = contribution.description[:300]
    if existing is not None:
        Allocation.update(minutes=amount if hours else 0, cents=0 if hours else amount, updated_at=utcnow(),
                          contribution_on=contribution.on, description=words,
                          person=contribution.person[:200]).where(Allocation.id == existing.id).execute()
        result = Allocation.get_by_id(existing.id)
    else:
        result = Allocation.create(
            commitment=commitment.id, company=company_id, contribution_key=key, kind=kind,
            minutes=amount if hours else 0, cents=0 if hours else amount, contribution_on=contribution.on,
            description=words, person=contribution.person[:200], created_by=user.id)
    return _audited(user, commitment, room, key, kind, amount, result)


def _audited(user, commitment: Commitment, room: Room, key: str, kind: str, amount: int,
             result: Allocation | None) -> Allocation | None:
    """After each write of an allocation: its company's kept figures no longer hold; audited when
    the amount changed."""
    touch(commitment.company_id)
    if room.here != amount:
        _audit("sroi.allocation.set", user, commitment, contribution_key=key, kind=kind,
               before=room.here, after=amount, whole=room.whole)
    return result


def set_allocation(user, commitment_id: int, key: str, amount: int, kind: str | None = None) -> Allocation | None:
    """Count `amount` (minutes for hours, cents otherwise) of one contribution toward a commitment.

    Replaces what this commitment had of the contribution; 0 removes it. Refused when the
    contribution is not the company's, falls outside the period, does not count under the
    rules, or would be counted for more than it is worth across all commitments.
    """
    company_id = _company_id(user)
    key = (key or "").strip()
    if not key or len(key) > 64:
        raise SroiError(_l("Choose a contribution."), "amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise SroiError(_l("The amount cannot be negative."), "amount")
    with atomic_write():
        pool = pool_for(company_id)
        contribution = _pick(pool, company_id, key, kind)
        if contribution is None:
            raise SroiError(_l("That contribution is not among your company's confirmed contributions in "
                               "this commitment's period."), "amount")
        lock_groups([group_of(contribution)])
        commitment = _owned(company_id, commitment_id)
        return _set_allocation_locked(user, company_id, commitment, contribution, amount, pool)


def remove_allocation(user, commitment_id: int, allocation_id: int) -> None:
    """Stop counting one allocated contribution toward a commitment."""
    company_id = _company_id(user)
    with atomic_write():
        commitment = _owned(company_id, commitment_id)
        allocation = Allocation.get_or_none((Allocation.id == allocation_id) & (Allocation.commitment == commitment.id))
        if allocation is None:
            raise SroiError(_l("That allocation does not exist."))
        Allocation.delete().where(Allocation.id == allocation.id).execute()
        touch(company_id)
        _audit("sroi.allocation.set", user, commitment, contribution_key=allocation.contribution_key,
               kind=allocation.kind, before=allocated_amount(allocation), after=0)
