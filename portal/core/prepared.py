"""Queries whose SQL is built once and run many times.

peewee turns a query into SQL afresh on every run, walking every column and condition; for the
dashboards' queries that costs more than SQLite takes to answer them (measured on the typical
company's dashboard, scale-20 demo data: 7.4 of its 16.9 ms of CPU were spent writing the SQL of its
22 queries, which SQLite answered in 3 ms). A `Prepared` query is built once per kind of database,
with a named `Param` where each run's values go, and each run binds its values to the kept SQL and
reads the rows as the query itself would (the same rows, models or tuples, converted by the same
fields).

    PER_STATUS = Prepared(lambda company: Enrolment.select(Enrolment.status, fn.COUNT(Enrolment.id))
                          .where(Enrolment.company == company).group_by(Enrolment.status).tuples())
    rows = PER_STATUS(company=company_id)

The builder must give the same query for the same shape: everything that varies from run to run
is a parameter (named in the call, handed to the builder as a `Param`), or part of the shape
(positional, hashable arguments handed to the builder as they are, one SQL kept per shape). A
parameter's value is passed to the database as it is, so give it as the column holds it (an id,
not a model). An INSERT gets the defaults of the fields it leaves out when it is built: give a
field whose default moves (a time) as a parameter. Under tests (`VERIFY`) every run builds the
query again and fails if its SQL or fixed values differ from the kept ones, or if a named value is
not used.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import peewee

from portal.core.db import database

# Tests set this: each run then checks that the builder still gives the kept SQL.
VERIFY = False
# A query keeps at most this many shapes' SQL; past it, it starts again (a shape should be one of a few).
MAX_SHAPES = 256


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where a run's value goes among a kept query's values."""

    name: str


class Param(peewee.Node):
    """A named value of a prepared query: the database's placeholder, bound at each run."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def __sql__(self, ctx: peewee.Context) -> peewee.Context:
        return ctx.value(_Slot(self.name), converter=False)


class Prepared:
    """A query built by `build(*shape, **params)`, its SQL kept per kind of database and shape."""

    def __init__(self, build: Callable[..., peewee.Query]):
        self._build = build
        self._kept: dict[tuple, tuple[peewee.Query, str, tuple]] = {}

    def _compile(self, shape: tuple, names: list[str]) -> tuple[peewee.Query, str, tuple]:
        query = self._build(*shape, **{name: Param(name) for name in names})
        sql, values = database.get_sql_context().sql(query).query()
        used = {value.name for value in values if isinstance(value, _Slot)}
        if used != set(names):
            raise TypeError(f"a prepared query's values {sorted(names)} do not match its parameters {sorted(used)}")
        return query, sql, tuple(values)

    def __call__(self, *shape: Hashable, **params: Any) -> peewee.CursorWrapper:
        """The rows, as iterating the query would give them (read them before the next query)."""
        query, cursor = self._run(shape, params)
        return query._get_cursor_wrapper(cursor)  # noqa: SLF001 - peewee's own row conversion for this query

    def rowcount(self, *shape: Hashable, **params: Any) -> int:
        """Run an INSERT, UPDATE or DELETE; the number of rows it wrote."""
        return self._run(shape, params)[1].rowcount

    def _run(self, shape: tuple, params: dict[str, Any]) -> tuple[peewee.Query, Any]:
        key = (type(database.obj), shape, tuple(sorted(params)))
        kept = self._kept.get(key)
        if kept is None or VERIFY:
            fresh = self._compile(shape, sorted(params))
            if kept is not None and fresh[1:] != kept[1:]:
                raise AssertionError(f"a prepared query changed between runs of one shape:\n{kept[1]}\n{fresh[1]}")
            if len(self._kept) >= MAX_SHAPES:
                self._kept.clear()
            kept = self._kept.setdefault(key, fresh)
        query, sql, values = kept
        return query, database.execute_sql(sql, [params[v.name] if isinstance(v, _Slot) else v for v in values])

    def first(self, *shape: Hashable, **params: Any) -> Any:
        """The first row, or None."""
        return next(iter(self(*shape, **params)), None)
