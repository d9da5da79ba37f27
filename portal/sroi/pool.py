"""What SROI commitments can use: the contributions in the books (core.ledger's postings), summed
per key and kind, and what each netting group adds up to; and the words that describe them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import peewee
from flask_babel import get_locale

from portal.core.contributions import what_words
from portal.core.db import request_cache, unindexed
from portal.core.ledger import Posting
from portal.enrollment.models import Enrolment, School
from portal.giving import service as giving_service
from portal.giving.models import Donation, MaterialPledge
from portal.sroi.base import KIND_LABELS
from portal.sroi.models import ALLOCATABLE_KINDS, HOUR_KINDS, Allocation, Commitment

# A contribution is known by its key and kind together: one hours row can be partly sponsored
# and partly volunteered, and the enrolment capability posts both halves under the same key.
# Corrections arrive as separate negative contributions (reversed hours, a refund), so
# contributions are also netted per group (the hours of one person of one kind; the money
# under one payment reference): nothing counts beyond what a group nets to.
#
# Contributions are read from the books (core.ledger's postings): the postings of one key and
# kind, summed in SQL; a contribution whose postings net to no line (a refund that failed, a
# withdrawal) is gone. A company's pool holds only what its commitments can use: what is dated
# inside one of their periods (and money after it under a payment reference of the period: a
# later refund or chargeback nets with its donation) and what is already allocated. Netting groups are summed over the pool:
# a reversal or correction of hours is dated on its session's day, so it lies in the pool with
# the session; hours of the same person dated outside every period (which no commitment can
# use) do not widen the group.

Ident = tuple[str, str]


def whole_of(contribution) -> int:
    """What can be allocated of a contribution: minutes for hours, cents of its own value otherwise."""
    return contribution.minutes if contribution.kind in HOUR_KINDS else contribution.value_cents


def allocated_amount(allocation: Allocation) -> int:
    return allocation.minutes if allocation.kind in HOUR_KINDS else allocation.cents


def group_of(contribution) -> str:
    """The netting group: corrections of a contribution fall in the same group as the original."""
    if contribution.kind in HOUR_KINDS:
        return f"{contribution.kind}|{contribution.company_id}|person|{contribution.person or contribution.key}"
    if contribution.kind == "money" and contribution.reference:
        return f"money|{contribution.company_id}|reference|{contribution.reference}"
    return f"{contribution.kind}|{contribution.company_id}|key|{contribution.key}"


# The words of a contribution are made when it is shown, in the reader's language, from the
# facts of its postings: the source says what happened, in core's codes the words are the statements'.
SOURCE_WHATS = {"hours.reversal": "hours_reversal", "hours.correction": "hours_correction",
                "donation.paid": "donation", "refund.succeeded": "refund",
                "dispute.withdrawn": "chargeback", "dispute.reinstated": "chargeback_reversed"}


class Facts:
    """What the words of a pool's contributions need from the capabilities that recorded them:
    the school of an enrolment, a donation's number, classification and earmark, a pledge's
    quantity and description. Read in three queries the first time a contribution is shown."""

    def __init__(self) -> None:
        self.subjects: dict[str, set[int]] = {"hours": set(), "money": set(), "material": set()}
        self._read = False
        self.schools: dict[int, str] = {}
        self.donations: dict[int, Donation] = {}
        self.pledges: dict[int, tuple[int, str]] = {}
        self._said: dict[tuple[str, str, str], str] = {}

    def add(self, contribution: Booked) -> None:
        if contribution.subject_id is not None:
            kind = "hours" if contribution.kind in HOUR_KINDS else contribution.kind
            self.subjects.setdefault(kind, set()).add(contribution.subject_id)

    def read(self) -> Facts:
        if not self._read:
            self._read = True
            schools = (Enrolment.select(Enrolment.id, School.name)
                       .join(School, peewee.JOIN.LEFT_OUTER, on=(Enrolment.school == School.id))
                       .where(Enrolment.id.in_(sorted(self.subjects["hours"]))))
            self.schools = {enrolment: name for enrolment, name in schools.tuples() if name}
            donations = (Donation.select(Donation.id, Donation.classification, Donation.earmark_school,
                                         Donation.earmark_purpose)
                         .where(Donation.id.in_(sorted(self.subjects["money"]))))
            self.donations = {donation.id: donation for donation in donations}
            pledges = (MaterialPledge.select(MaterialPledge.id, MaterialPledge.quantity, MaterialPledge.description)
                       .where(MaterialPledge.id.in_(sorted(self.subjects["material"]))))
            self.pledges = {pledge: (quantity, text) for pledge, quantity, text in pledges.tuples()}
        return self

    def describe(self, contribution: Booked) -> str:
        """A contribution in words, in the language of the moment (a request's, or a forced one)."""
        said = (contribution.key, contribution.kind, str(get_locale()))
        if said not in self._said:   # a page names a contribution more than once
            self._said[said] = self._words(contribution)
        return self._said[said]

    def _words(self, contribution: Booked) -> str:
        facts = self.read()
        subject = contribution.subject_id
        if contribution.kind in HOUR_KINDS:
            parts = [KIND_LABELS[contribution.kind], what_words(SOURCE_WHATS.get(contribution.source, "")),
                     facts.schools.get(subject)]
        elif contribution.kind == "money":
            donation = facts.donations.get(subject)
            label = what_words(SOURCE_WHATS.get(contribution.source, "")) or str(KIND_LABELS["money"])
            parts = [f"{label} {donation.number}" if donation is not None else label]
            if donation is not None and contribution.source == "donation.paid":
                parts.append(giving_service.donation_description(donation))
        else:
            pledge = facts.pledges.get(subject)
            parts = [f"{pledge[0]} × {pledge[1]}" if pledge else KIND_LABELS.get(contribution.kind, contribution.kind)]
        return " · ".join(str(part) for part in parts if part)


@dataclass(frozen=True)
class Booked:
    """One contribution as the ledger holds it: the postings of one key and kind, summed."""

    kind: str
    key: str
    company_id: int
    on: dt.date             # the business date (the earliest of its postings)
    minutes: int            # hours: what the postings add up to
    value_cents: int        # what it is worth (for hours, at the employer's cost)
    lines: int = 1          # more than 0 while the contribution stands (a failed refund brings it to 0)
    person: str = ""        # the ambassador, for hours
    reference: str = ""     # the payment reference that ties a donation's corrections to it
    source: str = ""        # what was posted: hours.confirmed, donation.paid, refund.succeeded...
    subject_id: int | None = None   # the enrolment (hours), donation (money) or pledge (materials)
    facts: Facts | None = field(default=None, compare=False, repr=False)

    @property
    def description(self) -> str:
        if self.facts is None:
            return str(KIND_LABELS.get(self.kind, self.kind))
        return self.facts.describe(self)


@dataclass
class Pool:
    """Contributions a set of commitments can use, by (key, kind), and what each netting group adds up to."""

    live: dict[Ident, Booked]
    group_net: dict[str, int]
    gone: dict[Ident, Booked] = field(default_factory=dict)   # allocated, but their postings net to nothing

    def get(self, key: str, kind: str) -> Booked | None:
        return self.live.get((key, kind))

    def of(self, allocation: Allocation) -> Booked | None:
        contribution = self.live.get((allocation.contribution_key, allocation.kind))
        if contribution is None or contribution.company_id != allocation.company_id:
            return None
        return contribution

    def record(self, allocation: Allocation) -> Booked | None:
        """What the books say of an allocated contribution, even one withdrawn since (for its words)."""
        ident = (allocation.contribution_key, allocation.kind)
        found = self.live.get(ident) or self.gone.get(ident)
        return found if found is not None and found.company_id == allocation.company_id else None


def make_pool(found: Iterable) -> Pool:
    """A pool of contributions given one by one (anything with the fields group_of and whole_of
    read): for callers that hold contributions of their own; SROI's pages read pool_for()."""
    live: dict[Ident, object] = {}
    group_net: dict[str, int] = {}
    for contribution in found:
        ident = (contribution.key, contribution.kind)
        if ident in live:  # a source reporting one identity twice: count it once, summed
            earlier = live[ident]
            contribution = replace(earlier, minutes=earlier.minutes + contribution.minutes,
                                   value_cents=earlier.value_cents + contribution.value_cents)
            group_net[group_of(earlier)] -= whole_of(earlier)
        live[ident] = contribution
        group_net[group_of(contribution)] = group_net.get(group_of(contribution), 0) + whole_of(contribution)
    return Pool(live, group_net)


def _scope(companies: tuple[int, ...]) -> peewee.CompoundSelectQuery:
    """(company_id, key, kind) of every contribution the companies' commitments can use: posted
    with a date inside one of their periods, or already allocated; and money posted after a
    period under the payment reference of money of the period (a later refund or chargeback of
    one of its donations, which nets with it)."""

    def dated(*columns, later: bool = False) -> peewee.ModelSelect:
        period = Commitment.alias("sroi_period")
        window = (Posting.dated_on > period.period_end_on) if later else (Posting.dated_on <= period.period_end_on)
        found = (Posting.select(*columns)
                 .from_(peewee.Join(period, Posting, peewee.JOIN.CROSS))   # each period, then its postings
                 .where((Posting.company_id == period.company)
                        # booked_on >= dated_on always: the (company, booked_on) index starts here
                        & (Posting.booked_on >= period.period_start_on)
                        & (Posting.dated_on >= period.period_start_on) & window
                        & Posting.kind.in_(("money",) if later else ALLOCATABLE_KINDS)))
        return found.where(period.company.in_(companies))

    references = dated(Posting.company_id, Posting.reference).where(
        (Posting.kind == "money") & (Posting.reference != ""))
    later = dated(Posting.company_id, Posting.key, Posting.kind, later=True).where(
        (Posting.reference != "") & peewee.Tuple(Posting.company_id, Posting.reference).in_(references))
    allocated = Allocation.select(Allocation.company.alias("company_id"), Allocation.contribution_key.alias("key"),
                                  Allocation.kind.alias("kind")).where(Allocation.company.in_(companies))
    return dated(Posting.company_id, Posting.key, Posting.kind) | later | allocated


def _by_key(keys) -> peewee.Expression:
    """Postings of the (company_id, key, kind) rows of `keys`, found through the (key, kind) index.
    Read without statistics, SQLite's planner would rather walk the postings (a company's whole
    history): a CROSS JOIN keeps the keys the outer loop there (PostgreSQL plans it as any join),
    and `unindexed` (a unary plus on SQLite) keeps the (company, booked_on) index out of the lookup."""
    return ((unindexed(Posting.company_id) == keys.c.company_id)
            & (Posting.key == keys.c.key) & (Posting.kind == keys.c.kind))


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _read_pool(companies: tuple[int, ...]) -> Pool:
    """One query: the contributions in scope, each summed over all its postings (in SQL). The
    netting groups are summed from them: a person's hours of one kind, the money under one
    payment reference, each within what the commitments can use."""
    facts = Facts()
    keys = _scope(companies).alias("sroi_keys")
    first_source = peewee.fn.MIN(peewee.Case(None, [(Posting.lines > 0, Posting.source)], None))
    rows = (Posting.select(Posting.company_id, Posting.kind, Posting.key, peewee.fn.MIN(Posting.dated_on),
                           peewee.fn.SUM(Posting.lines), peewee.fn.SUM(Posting.minutes),
                           peewee.fn.SUM(Posting.value_cents), peewee.fn.MAX(Posting.person),
                           peewee.fn.MAX(Posting.reference), first_source, peewee.fn.MAX(Posting.subject_id))
            .from_(peewee.Join(keys, Posting, peewee.JOIN.CROSS))   # the keys first, then their postings
            .where(_by_key(keys))
            .group_by(Posting.company_id, Posting.kind, Posting.key))
    live: dict[Ident, Booked] = {}
    gone: dict[Ident, Booked] = {}
    group_net: dict[str, int] = {}
    for company, kind, key, on, lines, minutes, value, person, reference, source, subject in rows.tuples():
        found = Booked(kind=kind, key=key, company_id=company, on=_as_date(on), minutes=int(minutes or 0),
                       value_cents=int(value or 0), lines=int(lines or 0), person=person or "",
                       reference=reference or "", source=source or "", subject_id=subject, facts=facts)
        facts.add(found)
        if found.lines > 0:
            live[(key, kind)] = found
            group = group_of(found)
            group_net[group] = group_net.get(group, 0) + whole_of(found)
        else:
            gone[(key, kind)] = found
    return Pool(live, group_net, gone)


def pool_for(company_id: int | Iterable[int]) -> Pool:
    """What the commitments of a company, or of several companies, can use.

    A page that evaluates several panels (a dashboard) reads it once: the pool is kept for the
    rest of a GET request, and forgotten by every write transaction."""
    ids = company_id if isinstance(company_id, int) else tuple(sorted(set(company_id)))
    cache = request_cache()
    if cache is not None and ("sroi.pool", ids) in cache:
        return cache[("sroi.pool", ids)]
    pool = _read_pool((ids,) if isinstance(ids, int) else ids)
    if cache is not None:
        cache[("sroi.pool", ids)] = pool
    return pool
