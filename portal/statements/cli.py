"""`portal statements ...`: issue statements in bulk, list those needing correction."""

from __future__ import annotations

import click

from portal.accounts.models import Company
from portal.core.commands import with_app
from portal.statements import after_issue, periods, service
from portal.statements.models import Statement


@click.group("statements")
def group() -> None:
    """Contribution statements."""


@group.command("issue")
@click.option("--year", type=int, help="Calendar year, e.g. 2026.")
@click.option("--school-year", "school_year", help="School year instead, e.g. 2026-2027.")
@click.option("--company", "kvk", help="Only the company with this KvK number.")
@with_app
def issue(year: int | None, school_year: str | None, kvk: str | None) -> None:
    """Issue the period's statement for every company that has contributions and no statement yet.

    Running it again issues nothing twice: a company whose statement exists is skipped.
    """
    if (year is None) == (school_year is None):
        raise click.UsageError("give either --year or --school-year")
    try:
        period = periods.calendar_year(year) if year is not None else periods.school_year(periods.parse_school_year(school_year))
    except periods.PeriodError as error:
        raise click.BadParameter(str(error)) from error
    try:
        service.check_period_ended(period)
    except service.PeriodNotEnded as error:
        # A year still running gets no statement: exit non-zero, issue nothing.
        raise click.ClickException(str(error)) from error
    if kvk:
        company = Company.get_or_none(Company.kvk == kvk.strip())
        if company is None:
            raise click.ClickException(f"no company with KvK number {kvk}")
        companies = [company]
    else:
        companies = service.companies_with_contributions(period)
    with click.progressbar(length=len(companies), label=f"statements {period.slug}") as bar:
        result = service.issue_bulk(period, companies=companies, progress=lambda _company: bar.update(1))
    for statement in result.issued:
        click.echo(f"issued  {statement.number}  {statement.company.legal_name}")
    exists = sum(1 for _c, reason in result.skipped if reason == "exists")
    empty = sum(1 for _c, reason in result.skipped if reason == "empty")
    click.echo(f"{len(result.issued)} issued, {exists} already had a statement, {empty} without contributions")
    for company, reason in result.failed:
        click.echo(f"FAILED  {company.legal_name} ({company.kvk}): {reason}", err=True)
    if result.failed:
        raise SystemExit(1)


@group.command("check")
@with_app
def check() -> None:
    """List issued statements whose contributions changed since they were issued."""
    issued = list(Statement.select(Statement.id, Statement.number).where(Statement.status == "issued")
                  .order_by(Statement.number))
    flags = after_issue.flags_where(Statement.status == "issued")
    for statement in issued:
        if statement.id in flags:
            click.echo(f"{statement.number}: {', '.join(flags[statement.id].reasons())}")
    click.echo(f"{len(flags)} of {len(issued)} issued statements need a correction")
