"""Count the SQL statements a piece of work sends, from peewee's debug log."""

from __future__ import annotations

import logging
import re
import threading


class QueryCounter(logging.Handler):
    """Collects the statements logged by the thread that made it: a background thread of the app
    (the receipt sender) may query meanwhile, and its queries are not the page's."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.thread = threading.get_ident()
        self.queries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.thread == self.thread and re.match(r"\(['\"]?\s*(SELECT|INSERT|UPDATE|DELETE|WITH)", message, re.I):
            self.queries.append(message)
