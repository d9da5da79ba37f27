"""The background work the project leader watches: the hourly Stripe sync, and the page under
/leader/tasks that shows what waits on the queue and what failed, with a retry."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.core import tasks
from portal.core.forms import FlaskForm
from portal.core.security import leader_required
from portal.reconcile import service, stripe_sync

log = logging.getLogger("portal.reconcile")

bp = Blueprint("tasks", __name__)


@tasks.periodic(tasks.crontab(minute="5"))
def stripe_sync_hourly() -> None:
    """Every hour: what is new at Stripe, then match bank lines (as `portal stripe sync`)."""
    if not current_app.config.get("STRIPE_SECRET_KEY"):
        return  # no Stripe account configured: nothing to read
    result = stripe_sync.sync()
    if result.error:
        raise RuntimeError(f"Stripe could not be read completely: {result.error}")
    matched = service.auto_match()
    log.info("stripe sync: %d new balance transactions, %d new payouts, %d settled, %d bank lines matched",
             result.transactions_new, result.payouts_new, result.settled, matched)


# What each task does, in words the project leader knows; an unknown task shows its code name.
LABELS = {
    "portal.core.mail.deliver": _l("Sending an e-mail"),
    "portal.giving.service.sweep_receipts": _l("Sending receipts"),
    "portal.giving.service.sweep_receipts_regularly": _l("Sending receipts (regular check)"),
    "portal.enrollment.tasks.remind_daily": _l("VOG reminders (daily)"),
    "portal.enrollment.tasks.allowances_monthly": _l("Volunteer allowances (monthly)"),
    "portal.reconcile.jobs.stripe_sync_hourly": _l("Stripe sync (hourly)"),
}


class RetryForm(FlaskForm):
    """Only the CSRF token: the task is named in the URL."""


@bp.get("/leader/tasks")
@leader_required
def index():
    return render_template("reconcile/tasks.html", queued=tasks.queued_count(), failures=tasks.failures(),
                           labels=LABELS, form=RetryForm())


@bp.post("/leader/tasks/<task_id>/retry")
@leader_required
def retry(task_id: str):
    form = RetryForm()
    if not form.validate_on_submit():
        abort(400)
    if tasks.retry(task_id):
        flash(_("The task is queued again."), "success")
    else:
        flash(_("This task is no longer in the list of failed tasks."), "warning")
    return redirect(url_for("tasks.index"))
