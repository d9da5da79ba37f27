"""Valuation: what a commitment's allocations are worth by its rules, line by line, and its three
amounts (the obligation, the claim, the confirmed approvals) with the deadline warning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from portal.core import clock
from portal.core.contributions import describe
from portal.core.money import format_eur
from portal.sroi.approval_records import current_approvals
from portal.sroi.arithmetic import hours_value_at_rate, obligation_cents, share_of_value
from portal.sroi.base import KIND_LABELS, _language
from portal.sroi.models import HOUR_KINDS, Allocation, Approval, Commitment
from portal.sroi.pool import Booked, Ident, Pool, allocated_amount, group_of, pool_for, whole_of
from portal.sroi.rules import counts_kind

# A commitment whose deadline is this close (or past) and whose obligation is not yet
# approved in full is flagged on the dashboard.
DEADLINE_WARNING_DAYS = 60
HOURS_BASIS_LABELS = {
    "rate": _l("a rate per hour set in this commitment's rules"),
    "employer_cost": _l("the employer's own cost, as registered with the hours"),
}
# How money and materials are valued under every commitment (hours depend on the rules).
VALUED_AT = {
    "money": _l("the amount paid"),
    "material": _l("the value confirmed at receipt"),
}
STATUS_LABELS = {
    "ok": "",
    "capped": _l("partly above the cap of hours per person; only the part within the cap counts"),
    "withdrawn": _l("no longer a confirmed contribution; counts for nothing"),
    "reduced": _l("a later correction (reversed hours, a refund) left less of this contribution than was "
                  "allocated; only what remains counts"),
    "not_counted": _l("this kind does not count under the commitment's current rules"),
    "outside_period": _l("dated outside the commitment's period; counts for nothing"),
}


@dataclass
class Line:
    """One allocated contribution as it counts toward one commitment."""

    allocation: Allocation
    contribution: Booked | None
    kind: str
    allocated: int          # minutes or cents, as allocated
    counted: int            # minutes or cents that count after every limit
    value_cents: int        # SROI value by the commitment's rules
    status: str = "ok"
    record: Booked | None = None   # what the books say of it, also once withdrawn (for its words)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, ""))

    @property
    def on(self) -> dt.date:
        return self.contribution.on if self.contribution else self.allocation.contribution_on

    @property
    def description(self) -> str:
        """In the reader's language, from the books; the words saved with the allocation only for a
        contribution the books no longer know."""
        found = self.contribution or self.record
        if found is not None:
            return found.description
        # Allocations saved before words were made when shown hold an English sentence: read back.
        allocation = self.allocation
        return describe({"kind": allocation.kind, "person": allocation.person,
                         "description": allocation.description})

    @property
    def person(self) -> str:
        return self.contribution.person if self.contribution else self.allocation.person


@dataclass
class KindTotal:
    kind: str
    allocated: int = 0      # minutes or cents
    counted: int = 0        # minutes or cents
    value_cents: int = 0
    lines: int = 0

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])


def deadline_warning(gap_cents: int, days_left: int) -> str:
    """'overdue', 'near' or '': it depends on the obligation and the approvals alone, not the claim."""
    if gap_cents == 0:
        return ""
    if days_left < 0:
        return "overdue"
    return "near" if days_left <= DEADLINE_WARNING_DAYS else ""


def warning_of(commitment: Commitment, approved_cents: int, today: dt.date) -> str:
    """The deadline warning of a commitment whose confirmed approvals come to `approved_cents`."""
    obligation = obligation_cents(commitment.base_cents, commitment.percentage_bp, commitment.cap_cents)
    return deadline_warning(max(0, obligation - approved_cents), (commitment.deadline_on - today).days)


@dataclass
class Summary:
    """The three amounts of a commitment, and how the claim was built: line by line, or only its
    totals per kind where a page lists commitments (`lines` empty: sroi.figures keeps them)."""

    commitment: Commitment
    obligation_cents: int
    lines: list[Line]
    totals: dict[str, KindTotal]
    approvals: list[Approval]
    today: dt.date = field(default_factory=clock.today)

    @property
    def claimed_cents(self) -> int:
        """The claim: the sum of the lines, each valued by this commitment's rules (their totals)."""
        return sum(total.value_cents for total in self.totals.values())

    @property
    def approved_cents(self) -> int:
        """What the buyer approved and the project leader confirmed against the buyer's letter."""
        return sum(approval.amount_cents for approval in self.approvals if approval.status == "confirmed")

    @property
    def awaiting_cents(self) -> int:
        """Approvals the company recorded that wait for the project leader's confirmation."""
        return sum(approval.amount_cents for approval in self.approvals if approval.status == "pending")

    @property
    def awaiting(self) -> list[Approval]:
        return [approval for approval in self.approvals if approval.status == "pending"]

    @property
    def gap_cents(self) -> int:
        """What the buyer has yet to approve before the obligation is met."""
        return max(0, self.obligation_cents - self.approved_cents)

    @property
    def unclaimed_cents(self) -> int:
        """What is still missing even if the buyer approves every claim."""
        return max(0, self.obligation_cents - self.claimed_cents)

    @property
    def pending_cents(self) -> int:
        """Claimed but not (yet) approved."""
        return max(0, self.claimed_cents - self.approved_cents)

    @property
    def approved_percent(self) -> int:
        return min(100, self.approved_cents * 100 // self.obligation_cents) if self.obligation_cents else 100

    @property
    def claimed_percent(self) -> int:
        return min(100, self.claimed_cents * 100 // self.obligation_cents) if self.obligation_cents else 100

    @property
    def days_left(self) -> int:
        return (self.commitment.deadline_on - self.today).days

    @property
    def warning(self) -> str:
        """'overdue', 'near' or '' for a deadline with an obligation not yet approved in full."""
        return deadline_warning(self.gap_cents, self.days_left)

    @property
    def problems(self) -> list[Line]:
        return [line for line in self.lines if line.status not in ("ok", "capped")]

    def total(self, kind: str) -> KindTotal:
        return self.totals[kind]

    def minutes_per_person(self) -> dict[str, int]:
        """The minutes of hours the claim counts of each person (a new dict: the planners add to it)."""
        used: dict[str, int] = {}
        for line in self.lines:
            if line.kind in HOUR_KINDS and line.contribution is not None:
                person = line.contribution.person or line.contribution.key
                used[person] = used.get(person, 0) + line.counted
        return used


def hours_basis_label(commitment, language: str | None = None) -> str:
    """How this commitment values hours, in words (e.g. 'EUR 100.00 per hour, ...')."""
    if commitment.hours_basis == "rate":
        return str(_l("%(rate)s per hour (the rate in this commitment's rules)",
                      rate=format_eur(commitment.hourly_rate_cents, language or _language())))
    return str(_l("the employer's own cost, as registered with the hours"))


def _grants(allocations: list[Allocation], pool: Pool) -> dict[int, tuple[int, str]]:
    """How much of each allocation its contribution still covers, first allocated first served.

    Normally every allocation is covered in full (allocation is checked). If a source later
    withdraws a contribution, or a correction (reversed hours, a refund) lowers what its group
    nets to, the oldest allocations keep their share and the rest count for less: nothing is
    ever counted for more than it is now worth.
    """
    used_own: dict[Ident, int] = {}
    used_group: dict[str, int] = {}
    grants: dict[int, tuple[int, str]] = {}
    for allocation in sorted(allocations, key=lambda a: a.id):
        contribution = pool.of(allocation)
        amount = allocated_amount(allocation)
        if contribution is None:
            grants[allocation.id] = (0, "withdrawn")
            continue
        ident, group = (contribution.key, contribution.kind), group_of(contribution)
        own_free = whole_of(contribution) - used_own.get(ident, 0)
        group_free = pool.group_net.get(group, 0) - used_group.get(group, 0)
        granted = max(0, min(amount, own_free, group_free))
        used_own[ident] = used_own.get(ident, 0) + granted
        used_group[group] = used_group.get(group, 0) + granted
        grants[allocation.id] = (granted, "ok" if granted == amount else "reduced")
    return grants


def _value_of(commitment: Commitment, contribution: Booked, amount: int) -> int:
    """The value of `amount` (minutes or cents) of a contribution by the commitment's rules."""
    if contribution.kind in HOUR_KINDS:
        if commitment.hours_basis == "rate":
            return hours_value_at_rate(amount, commitment.hourly_rate_cents)
        return share_of_value(contribution.value_cents, amount, contribution.minutes)
    return amount


def _evaluate(commitment: Commitment, allocations: list[Allocation], grants: dict[int, tuple[int, str]],
              pool: Pool, approvals: list[Approval], today: dt.date) -> Summary:
    totals = {kind: KindTotal(kind) for kind in KIND_LABELS}
    lines: list[Line] = []
    used_per_person: dict[str, int] = {}
    for allocation in sorted(allocations, key=lambda a: (a.contribution_on, a.id)):
        contribution = pool.of(allocation)
        granted, status = grants.get(allocation.id, (0, "withdrawn"))
        amount = allocated_amount(allocation)
        if contribution is None:
            granted, status = 0, "withdrawn"
        elif not counts_kind(commitment, allocation.kind):
            status, granted = "not_counted", 0
        elif not commitment.period_start_on <= contribution.on <= commitment.period_end_on:
            status, granted = "outside_period", 0
        counted, value = granted, 0
        if granted and allocation.kind in HOUR_KINDS and commitment.max_minutes_per_person is not None:
            person = contribution.person or contribution.key
            counted = max(0, min(granted, commitment.max_minutes_per_person - used_per_person.get(person, 0)))
            used_per_person[person] = used_per_person.get(person, 0) + counted
            if counted < granted and status == "ok":
                status = "capped"
        if counted:
            value = _value_of(commitment, contribution, counted)
        lines.append(Line(allocation, contribution, allocation.kind, amount, counted, value, status,
                          pool.record(allocation)))
        total = totals[allocation.kind]
        total.allocated += amount
        total.counted += counted
        total.value_cents += value
        total.lines += 1
    return Summary(commitment, obligation_cents(commitment.base_cents, commitment.percentage_bp,
                                                commitment.cap_cents),
                   lines, totals, approvals, today)


def summaries(commitments: list[Commitment], pool: Pool | None = None,
              today: dt.date | None = None) -> list[Summary]:
    """Evaluate several commitments at once (one read of contributions and allocations)."""
    if not commitments:
        return []
    today = today or clock.today()
    company_ids = {c.company_id for c in commitments}
    if pool is None:
        pool = pool_for(company_ids)
    ids = [c.id for c in commitments]
    # Grants depend on every allocation of the companies involved (first allocated, first served).
    # The columns an evaluation reads (a thousand rows of timestamps cost more than the rest).
    every = Allocation.select(Allocation.id, Allocation.commitment, Allocation.company, Allocation.contribution_key,
                              Allocation.kind, Allocation.minutes, Allocation.cents, Allocation.contribution_on,
                              Allocation.description, Allocation.person)
    every = list(every.where(Allocation.company.in_(list(company_ids))))
    grants = _grants(every, pool)
    approvals = current_approvals(ids)
    by_commitment: dict[int, list[Allocation]] = {i: [] for i in ids}
    for allocation in every:
        if allocation.commitment_id in by_commitment:
            by_commitment[allocation.commitment_id].append(allocation)
    return [_evaluate(c, by_commitment[c.id], grants, pool, approvals[c.id], today) for c in commitments]


def summary(commitment: Commitment, today: dt.date | None = None) -> Summary:
    """The obligation, the claim by the commitment's rules, the approval and the gap."""
    return summaries([commitment], today=today)[0]
