"""The `portal` command: database, accounts, demo data, backups and checks."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import ScriptInfo
from playhouse.migrations import Runner, template
from playhouse.schema_diff import diff_models

import portal
from portal import all_models, create_app
from portal import demo as demo_data
from portal.accounts import service as accounts
from portal.config import SETTINGS
from portal.content import check as content_checks
from portal.core import audit, ledger, tasks
from portal.core import backup as backups
from portal.core.commands import with_app
from portal.core.db import database
from portal.enrollment.views import bp as enrollment_bp
from portal.reconcile import bank_import, banks, line_matching
from portal.reconcile import stripe_sync as sync
from portal.statements.cli import group as statements_group

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """OnderwijsAmbassadeurs employer portal."""
    # Flask's own command groups (blueprints' `bp.cli`) and core/commands.with_app find the app
    # through this object; the factory is looked up when called (a test may put its own there).
    ctx.obj = ScriptInfo(create_app=lambda: portal.create_app())


# --- database ---------------------------------------------------------------------------

def runner():
    return Runner(database.obj, MIGRATIONS_DIR)


def upgrade_database() -> list[str]:
    """Apply every pending migration; returns the names applied."""
    return runner().up()


@main.group("db")
def db_group() -> None:
    """Database migrations."""


@db_group.command("upgrade")
@with_app
def db_upgrade() -> None:
    """Apply pending migrations."""
    applied = upgrade_database()
    click.echo("applied: " + ", ".join(applied) if applied else "database is up to date")


@db_group.command("status")
@with_app
def db_status() -> None:
    """List migrations and whether they are applied."""
    for migration in runner().status():
        state = f"applied {migration.applied:%Y-%m-%d %H:%M}" if migration.applied else "pending"
        click.echo(f"{migration.name:40} {state}")


@db_group.command("makemigration")
@click.argument("name")
@click.option("--module", "modules", multiple=True,
              help="Only the models of this module (e.g. portal.giving.models); default: all.")
@with_app
def db_makemigration(name: str, modules: tuple[str, ...]) -> None:
    """Write a migration for the difference between the models and the migrated database."""
    upgrade_database()
    models = [m for module in modules for m in importlib.import_module(module).MODELS] if modules else all_models()
    diff = diff_models(database.obj, models)
    if not diff:
        click.echo("models and database agree: nothing to write")
        return
    click.echo(runner().create(name, body=template(diff)))


# --- accounts ---------------------------------------------------------------------------

@main.command("create-leader")
@click.argument("email")
@click.option("--name", default="", help="The project leader's name.")
@click.password_option(help="Password (asked when not given).")
@with_app
def create_leader(email: str, name: str, password: str) -> None:
    """Create the project leader's account; TOTP is set up at first login."""
    upgrade_database()
    try:
        accounts.create_leader(email, password, name)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"project leader {email} created; log in to set up the authenticator app")


# --- demo data --------------------------------------------------------------------------

DEMO_PDF_SECONDS = 600


@main.command("demo")
@click.option("--scale", default=1, show_default=True, help="Make N times more data (for benchmarks).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has companies.")
@with_app
def demo(scale: int, if_empty: bool) -> None:
    """Fill an empty database with realistic demo data and print the logins."""
    if current_app.config["ENV"] == "production":
        raise click.ClickException("portal demo refuses to run with PORTAL_ENV=production")
    upgrade_database()
    if demo_data.has_data():
        if if_empty:
            click.echo("demo data already present; logins:")
            for line in demo_data.LOGIN_LINES:
                click.echo("  " + line)
            return
        raise click.ClickException("the database is not empty; demo data goes only into an empty database")
    # The statements of a scaled-up demo's largest company list tens of thousands of sessions: on a
    # busy machine they take longer to render than anyone would wait for a page.
    current_app.config["PDF_TIMEOUT_SECONDS"] = max(current_app.config["PDF_TIMEOUT_SECONDS"], DEMO_PDF_SECONDS)
    with click.progressbar(length=scale, label="demo data") as bar:
        logins = demo_data.fill(scale=scale, progress=bar.update)
    click.echo("Demo logins:")
    for line in logins:
        click.echo("  " + line)


# --- backups and checks -----------------------------------------------------------------

@main.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False))
@with_app
def backup(destination: str) -> None:
    """Make a consistent online copy of the SQLite database and check it."""
    try:
        result = backups.backup(database.obj, destination)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(result)


@main.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@with_app
def audit_verify() -> None:
    """Check the hash chain of the audit log, and that every anchored head is still there."""
    report = audit.verify()
    if report.ok:
        click.echo(f"audit log intact: {report.rows} rows, {report.anchors} anchors")
        return
    click.echo(f"audit log BROKEN at row {report.broken_at}: {report.reason}", err=True)
    sys.exit(1)


@main.group("ledger")
def ledger_group() -> None:
    """The books every capability posts to."""


@ledger_group.command("check")
@with_app
def ledger_check() -> None:
    """Recompute every total from the postings and the postings from the capabilities' rows."""
    problems = ledger.check()
    if not problems:
        click.echo("ledger agrees with its postings and with every capability's rows")
        return
    for problem in problems:
        click.echo(problem, err=True)
    click.echo(f"ledger check: {len(problems)} difference(s)", err=True)
    sys.exit(1)


# --- content ----------------------------------------------------------------------------

@main.group("content")
def content_group() -> None:
    """The markdown pages in content/."""


@content_group.command("check")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--content-dir", type=click.Path(file_okay=False), default=None,
              help="Check this folder instead of PORTAL_CONTENT_DIR.")
def content_check(strict: bool, content_dir: str | None) -> None:
    """Validate every page (schema, links, anchors, translations, alt text, no raw HTML)."""
    logging.getLogger("portal.content").setLevel(logging.CRITICAL)  # the list below says it all
    problems = content_checks.check(create_app(), content_dir)
    for problem in problems:
        click.echo(str(problem))
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    click.echo(f"content check: {errors} error(s), {warnings} warning(s)")
    if errors or (strict and warnings):
        sys.exit(1)


@main.group("stripe")
def stripe_group() -> None:
    """Stripe reconciliation."""


@stripe_group.command("sync")
@with_app
def stripe_sync() -> None:
    """Fetch new balance transactions and payouts, tie payouts, settle missed payments, match."""
    result = sync.sync()
    if result.error:
        raise click.ClickException(f"Stripe could not be read completely: {result.error}")
    matched = line_matching.auto_match()
    click.echo(f"{result.transactions_new} new balance transactions, {result.payouts_new} new payouts, "
               f"{result.payouts_tied} payouts tied, {result.settled} payments settled, {matched} bank lines matched")


# --- background work --------------------------------------------------------------------

@main.command("worker")
@click.option("--workers", default=1, show_default=True, help="Tasks run side by side (threads).")
def worker(workers: int) -> None:
    """Run the task queue: e-mails, receipts, reminders, the Stripe sync and the other periodic jobs.

    Ctrl-C (SIGINT) lets running tasks finish; SIGTERM stops at once (what was running is retried by
    its periodic sweep, or lost when it has none: see core/tasks.py)."""
    app = create_app()
    queue = tasks.queue(app)
    click.echo(f"portal worker: {workers} worker(s), queue {_without_password(queue.location)}, "
               f"{len(queue.wrappers)} tasks")
    tasks.consumer(app, workers=workers).run()


def _without_password(location: str) -> str:
    parts = urlsplit(location)
    if not parts.password:
        return location
    return location.replace(f":{parts.password}@", ":***@", 1)


@main.group("reconcile")
def reconcile_group() -> None:
    """Bank statements."""


@reconcile_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", default="auto", type=click.Choice(["auto", "camt053", "mt940", "csv"]))
@click.option("--encoding", default="utf-8", type=click.Choice(["utf-8", "cp1252"]))
@with_app
def reconcile_import(path: str, fmt: str, encoding: str) -> None:
    """Import a bank statement file (re-importing adds nothing) and match its lines."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        result = bank_import.import_statement(data, filename=os.path.basename(path), fmt=fmt, encoding=encoding)
    except banks.StatementError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{result.lines_new} new lines of {result.lines_total}; {result.matched} matched")


@main.command("config")
def show_config() -> None:
    """Print the PORTAL_* settings as a markdown table (used in the README)."""
    click.echo("| variable | default | meaning |\n|---|---|---|")
    for setting in SETTINGS:
        default = setting.default if setting.default != "" else "(empty)"
        click.echo(f"| `{setting.env}` | `{default}` | {setting.help} |")


# --- capabilities' command groups -------------------------------------------------------

main.add_command(statements_group)

enrollment_bp.cli.help = "Enrolments: VOG reminders, volunteer allowances, reference data."
main.add_command(enrollment_bp.cli, "enrollment")
