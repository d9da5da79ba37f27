"""SROI on the dashboards: a company's deadline warnings, the leader's counts and her overview of
every commitment of every company.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.accounts.models import Company
from portal.core import clock
from portal.sroi.approval_records import approval_sums
from portal.sroi.commitments import company_commitments
from portal.sroi.figures import listed
from portal.sroi.models import Commitment
from portal.sroi.valuation import Summary, warning_of


def deadline_warnings(company_id: int, today: dt.date | None = None) -> list[Summary]:
    """Commitments whose deadline is near or past while part of the obligation is not approved.
    Which ones warn is known from the sums of their approvals; their claim is read from the kept figures."""
    today = today or clock.today()
    commitments = company_commitments(company_id)
    sums = approval_sums(company_id)
    warned = [c for c in commitments if warning_of(c, sums.get(c.id, (0, 0))[0], today)]
    return listed(warned, today=today)


def leader_counts(today: dt.date | None = None) -> dict[str, int]:
    """The leader's panel: commitments, companies with one, deadlines that warn and approvals waiting
    for her confirmation; from the commitments and the sums of their approvals (two queries),
    without evaluating a claim."""
    today = today or clock.today()
    commitments = list(Commitment.select())
    sums = approval_sums(None)
    return {"commitments": len(commitments), "companies": len({c.company_id for c in commitments}),
            "warnings": sum(1 for c in commitments if warning_of(c, sums.get(c.id, (0, 0))[0], today)),
            "reviews": sum(waiting for _approved, waiting in sums.values())}


@dataclass
class LeaderRow:
    company: Company
    summary: Summary


def leader_commitments():
    """Every commitment of every company, deadline first (a query: the overview reads a page of it)."""
    return (Commitment.select(Commitment, Company).join(Company)
            .order_by(Commitment.deadline_on, Company.legal_name, Commitment.id))


def leader_overview(commitments: list[Commitment], today: dt.date | None = None) -> list[LeaderRow]:
    """These commitments (of any company), with what the programme's contributions count for."""
    return [LeaderRow(s.commitment.company, s) for s in listed(commitments, today=today)]
