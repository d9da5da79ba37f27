"""The programme's clock.

The programme runs in Utrecht, so every business date (a due date, a delivery date, "today" in a
form's check) is the date in Europe/Amsterdam, whatever time zone the server runs in. Between
midnight in Amsterdam and midnight UTC the two dates differ: code that asked ``date.today()`` on
a UTC server disagreed with code that asked Amsterdam, and an SROI approval dated today was refused
as "in the future" until 01:00 or 02:00. Ask this module instead.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def now() -> dt.datetime:
    """The current moment, aware, in Europe/Amsterdam."""
    return dt.datetime.now(AMSTERDAM)


def today() -> dt.date:
    """Today's business date: the date in Europe/Amsterdam."""
    return now().date()
