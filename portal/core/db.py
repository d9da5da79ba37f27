"""The one database proxy, the base model and the per-request connection."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from urllib.parse import unquote, urlparse

import peewee
from flask import Flask, g, has_app_context, has_request_context, request
from playhouse.pool import PooledSqliteDatabase

database = peewee.DatabaseProxy()

BUSY_TIMEOUT_SECONDS = 10
SQLITE_PRAGMAS = (
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("synchronous", "full"),
    ("cache_size", -64000),
    ("busy_timeout", BUSY_TIMEOUT_SECONDS * 1000),
)
# A SQLite file's connections are kept open between requests (a pool per process): opening one,
# setting its pragmas and checkpointing the WAL when the last one closes cost more than a small
# request itself. `release()` closes them all, for whoever copies or replaces the file.
SQLITE_POOL_SIZE = 32


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


def check_in(column: str, values: tuple[str, ...]) -> peewee.Check:
    """The CHECK that keeps a text column to its known values (`column IN ('a', 'b')`)."""
    return peewee.Check(f"{column} IN ({', '.join(repr(v) for v in values)})")


def dated(column: peewee.Field, start: dt.date | None, end: dt.date | None) -> peewee.Expression:
    """The condition that `column` holds a date from `start` to `end` (None leaves that side open)."""
    condition = column.is_null(False)
    if start is not None:
        condition &= column >= start
    if end is not None:
        condition &= column <= end
    return condition


def utcnow() -> dt.datetime:
    """Naive UTC now: the convention for every `*_at` column."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class PostgresqlDatabase(peewee.PostgresqlDatabase):
    """PostgreSQL that runs SQL without parameters verbatim, as SQLite does.

    peewee passes an empty tuple for "no parameters", and psycopg 3 then parses the text for
    placeholders, so a literal `%` (a PL/pgSQL `RAISE ... '%'`, a LIKE pattern) fails with
    "incomplete placeholder". Passing None tells psycopg there is nothing to substitute.
    """

    def _connect(self):
        connection = super()._connect()
        try:
            import psycopg
        except ImportError:  # psycopg2 does not parse a query without parameters
            return connection
        if isinstance(connection, psycopg.Connection):
            connection.cursor_factory = _verbatim_cursor_class()
        return connection


@functools.cache
def _verbatim_cursor_class():
    import psycopg

    class VerbatimCursor(psycopg.Cursor):
        def execute(self, query, params=None, **kwargs):
            return super().execute(query, params if params else None, **kwargs)

    return VerbatimCursor


def make_database(url: str) -> peewee.Database:
    """Build (not connect) the database a PORTAL_DATABASE_URL names."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else ":memory:"
        if not path or path == ":memory:":  # each connection would be a database of its own
            return peewee.SqliteDatabase(":memory:", pragmas=SQLITE_PRAGMAS, timeout=BUSY_TIMEOUT_SECONDS)
        # The pool's `timeout` is how long a thread waits for a free connection; SQLite's own
        # busy timeout is the pragma above. A pooled connection serves one thread at a time, but
        # not always the thread that opened it.
        return PooledSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, max_connections=SQLITE_POOL_SIZE,
                                    timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
    if parsed.scheme in {"postgres", "postgresql"}:
        return PostgresqlDatabase(
            parsed.path.lstrip("/"),
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or None,
            port=parsed.port or None,
            prefer_psycopg3=True,
        )
    raise ValueError(f"unsupported database URL scheme {parsed.scheme!r}: use sqlite:/// or postgresql://")


def release(db: peewee.Database | None = None) -> None:
    """Close every connection of the database (all of a pool's), so its file is whole on disk."""
    db = db or database.obj
    if db is None:
        return
    if hasattr(db, "close_all"):
        db.close_all()
    elif not db.is_closed():
        db.close()


def is_sqlite(db: peewee.Database | None = None) -> bool:
    db = db or database.obj
    return isinstance(db, peewee.SqliteDatabase)


def unindexed(column: peewee.Node) -> peewee.Node:
    """The column as SQLite's planner may not look it up through an index (a unary plus), for a
    query whose better index SQLite, without statistics, would pass over; the column itself on
    PostgreSQL."""
    return peewee.NodeList((peewee.SQL("+"), column), glue="") if is_sqlite() else column


# What a request read and may read again (contributions, above all) is kept in `g` under this
# name; every write transaction drops it on the way in and on the way out, so a read after a
# write, or after a rolled-back write, is never served from before it.
READ_CACHE = "portal_read_cache"


def forget_reads() -> None:
    if has_app_context():
        g.pop(READ_CACHE, None)


def request_cache() -> dict | None:
    """The current page's store of reads, or None where reads are not kept: outside a request (the
    CLI, background work) and in a request that is not a GET or HEAD (a form post reads afresh)."""
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return None
    return g.setdefault(READ_CACHE, {})


@contextlib.contextmanager
def atomic_write():
    """A transaction for read-then-write: IMMEDIATE on SQLite, so no other writer slips in."""
    forget_reads()
    try:
        with (database.atomic("IMMEDIATE") if is_sqlite() else database.atomic()) as transaction:
            yield transaction
    finally:
        forget_reads()


def init_app(app: Flask) -> None:
    database.initialize(make_database(app.config["DATABASE_URL"]))

    # peewee connects on the first query of a request (so /healthz can report a database
    # that is down); the connection is closed when the request ends.
    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        if not database.is_closed():
            database.close()
