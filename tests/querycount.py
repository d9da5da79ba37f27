"""Count the SQL statements a piece of work sends, from peewee's debug log."""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def logged_queries(handler: logging.Handler | None = None):
    """Collect what peewee logs inside the block (a QueryCounter unless another handler is given)."""
    handler = handler or QueryCounter()
    logger = logging.getLogger("peewee")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def measured_get(client, path: str, handler: logging.Handler | None = None):
    """GET `path` twice (the first warms caches and the session's last-seen touch) and return the
    handler holding the second request's queries, and that response (which must be a 200)."""
    client.get(path)
    with logged_queries(handler) as found:
        response = client.get(path)
    assert response.status_code == 200, path
    return found, response
