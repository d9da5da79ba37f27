"""Demo data: the named demo companies get the statements of the (ended) years they contributed in.

Runs last (after enrolment, giving and SROI filled in their contributions). At --scale the
extra companies get none: the benchmark issues those itself and times it.
"""

from __future__ import annotations

from portal.core import clock
from portal.core.contributions import contributions
from portal.statements import periods, service

NAMED_COMPANIES = 3


def fill(context) -> None:
    today = clock.today()
    for company in context.companies[:NAMED_COMPANIES]:
        # Years that have ended: a running year gets no statement (only an interim overview).
        years = sorted({c.on.year for c in contributions(company.id, None, today) if c.on.year < today.year})
        for year in years[-2:]:
            period = periods.calendar_year(year)
            if service.current_statement(company.id, period) is None:
                try:
                    service.issue(company, period, context.admins.get(company.id), today=today, via="demo")
                except service.NothingToIssue:
                    continue
