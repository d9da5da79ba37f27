"""What each commitment's allocations count for, kept per company, for the pages that list
commitments: the company's SROI page, the dashboard's deadlines and the leader's overview.

Evaluating a commitment reads every contribution its company's commitments can use and every
allocation of the company (valuation.summaries): a cost that grows with the company's history.
A company's per-kind totals are therefore kept (`sroi_figures`) with the mark they were computed
at: the version of the arithmetic below, the company's SROI revision (raised by `touch()` in the
transaction of every change of a commitment or an allocation) and its count of postings in the
ledger (raised by every posting: hours confirmed or corrected, a donation paid or refunded...).
A list page reads the kept totals and both marks in a fixed number of queries, and evaluates
again only the companies whose marks moved, keeping the new totals. The marks are read before
the figures are computed, so a change that lands in between leaves them stale, never wrong.
A commitment's own page evaluates it line by line, as before.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable

import peewee

from portal.core import clock, ledger
from portal.core.db import atomic_write
from portal.sroi.approval_records import current_approvals
from portal.sroi.arithmetic import obligation_cents
from portal.sroi.base import KIND_LABELS
from portal.sroi.models import Commitment, Figures
from portal.sroi.valuation import KindTotal, Summary, summaries

log = logging.getLogger(__name__)

# Raise it when the valuation's arithmetic changes: every kept figure is then computed again.
VERSION = 1


def touch(company_id: int) -> None:
    """A commitment or an allocation of the company changed: its kept figures no longer hold.
    Runs inside the transaction of the change."""
    Figures.insert(company=company_id, revision=1).on_conflict(
        conflict_target=[Figures.company], update={Figures.revision: Figures.revision + 1}).execute()


def _mark(revision: int, postings: int) -> str:
    return f"{VERSION}:{revision}:{postings}"


def _encode(found: Iterable[Summary]) -> str:
    return json.dumps({str(s.commitment.id): {kind: [t.allocated, t.counted, t.value_cents, t.lines]
                                              for kind, t in s.totals.items()} for s in found}, sort_keys=True)


def _decode(text: str) -> dict[int, dict[str, KindTotal]]:
    return {int(commitment): {kind: KindTotal(kind, *figures) for kind, figures in kinds.items()}
            for commitment, kinds in json.loads(text).items()}


def _compute(companies: list[int], marks: dict[int, str]) -> dict[int, dict[str, KindTotal]]:
    """Evaluate every commitment of these companies (their pool and allocations read once) and keep
    the totals under the marks read before."""
    evaluated = summaries(list(Commitment.select().where(Commitment.company.in_(companies))))
    per_company: dict[int, list[Summary]] = {company: [] for company in companies}
    for found in evaluated:
        per_company[found.commitment.company_id].append(found)
    try:
        with atomic_write():
            (Figures.insert_many([{"company": company, "revision": 0, "computed": marks[company],
                                   "figures": _encode(found)} for company, found in per_company.items()])
             .on_conflict(conflict_target=[Figures.company],
                          update={Figures.computed: peewee.EXCLUDED.computed, Figures.figures: peewee.EXCLUDED.figures})
             .execute())
    except peewee.OperationalError as error:   # the database busy with a long write: shown now, kept next time
        log.warning("SROI figures of companies %s not kept: %s", companies, error)
    return {found.commitment.id: found.totals for found in evaluated}


def listed(commitments: list[Commitment], today: dt.date | None = None) -> list[Summary]:
    """The three amounts of each commitment (of any companies) and its totals per kind, from the
    kept figures of their companies (a Summary without its lines)."""
    if not commitments:
        return []
    today = today or clock.today()
    per_company: dict[int, set[int]] = {}
    for commitment in commitments:
        per_company.setdefault(commitment.company_id, set()).add(commitment.id)
    companies = sorted(per_company)
    postings = ledger.posting_counts(companies)
    kept = {row.company_id: row for row in Figures.select(Figures.company, Figures.revision, Figures.computed,
                                                          Figures.figures).where(Figures.company.in_(companies))}
    marks = {company: _mark(kept[company].revision if company in kept else 0, postings.get(company, 0))
             for company in companies}
    totals: dict[int, dict[str, KindTotal]] = {}
    stale = []
    for company, ids in per_company.items():
        row = kept.get(company)
        found = _decode(row.figures) if row is not None and row.computed == marks[company] else {}
        if not ids <= found.keys():
            stale.append(company)
        totals.update(found)
    if stale:
        totals.update(_compute(sorted(stale), marks))
    approvals = current_approvals(c.id for c in commitments)
    return [Summary(c, obligation_cents(c.base_cents, c.percentage_bp, c.cap_cents), [],
                    totals.get(c.id) or {kind: KindTotal(kind) for kind in KIND_LABELS}, approvals[c.id], today)
            for c in commitments]
