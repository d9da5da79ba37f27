"""`portal enrollment ...`: VOG reminders, volunteer allowance lines and the seeded reference
data, as commands of the enrolment blueprint's command group."""

from __future__ import annotations

import datetime as dt

import click

from portal.core import clock
from portal.core.db import database, release
from portal.enrollment import allowance, reference, reminders
from portal.enrollment.web import _parse_month, bp


@bp.cli.command("remind")
def remind_command() -> None:
    """Mail VOG reminders for placements starting within two weeks (each one once)."""
    database.connect(reuse_if_open=True)  # links are built on PORTAL_BASE_URL (core/urls.py)
    try:
        count = reminders.send_vog_reminders()
    finally:
        release()
    click.echo(f"VOG reminders sent: {count}")


@bp.cli.command("allowances")
@click.option("--month", help="Build the ledger up to this month (YYYY-MM); default: last month.")
def allowances_command(month: str | None) -> None:
    """Add the allowance lines of every active month up to a month."""
    database.connect(reuse_if_open=True)
    try:
        upto = _parse_month(month) if month else clock.today().replace(day=1) - dt.timedelta(days=1)
        if upto is None:
            raise click.BadParameter("use YYYY-MM", param_hint="--month")
        count = allowance.build_ledger(None, upto)
    finally:
        release()
    click.echo(f"allowance lines added: {count}")


@bp.cli.command("seed")
def seed_command() -> None:
    """Insert the seeded school year and allowance limits when missing."""
    database.connect(reuse_if_open=True)
    try:
        reference.seed_reference_data()
    finally:
        release()
    click.echo("reference data present")
