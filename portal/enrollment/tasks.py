"""Enrolment's recurring work on the task queue: the same service functions as
`portal enrollment remind` and `portal enrollment allowances`, on a schedule of their own."""

from __future__ import annotations

import datetime as dt
import logging

from portal.core import clock, tasks
from portal.enrollment import allowance, reminders

log = logging.getLogger("portal.enrollment")


@tasks.periodic(tasks.crontab(minute="15", hour="5"))
def remind_daily() -> int:
    """Every morning (05:15 UTC): VOG reminders for placements starting within two weeks, each once."""
    count = reminders.send_vog_reminders()
    log.info("VOG reminders sent: %d", count)
    return count


@tasks.periodic(tasks.crontab(minute="30", hour="3", day="1"))
def allowances_monthly() -> int:
    """On the first of every month: the allowance lines of every active month up to last month."""
    upto = clock.today().replace(day=1) - dt.timedelta(days=1)
    count = allowance.build_ledger(None, upto)
    log.info("allowance lines added up to %s: %d", upto, count)
    return count
