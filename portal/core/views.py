"""Health check, and what the capabilities' views share: a refusal shown on its form (`apply_error`),
a download response (`attachment`) and one page of a long list (`page_of`, shown with the `pager`
macro of templates/macros/pager.html)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import peewee
from flask import Blueprint, Response, flash, jsonify, request

from portal.core.db import database
from portal.core.security import csrf

bp = Blueprint("core", __name__)


def apply_error(form, error, names: Mapping[str, str] | None = None) -> None:
    """A refusal (an error with a `field`) shown beside the form's field it is about, else flashed above
    the form; `names` gives the form's name of a field the service calls otherwise."""
    field = getattr(form, (names or {}).get(error.field, error.field), None) if error.field else None
    if field is not None:
        field.errors = list(field.errors) + [str(error)]
    else:
        flash(str(error), "error")


def attachment(data: bytes, mimetype: str, filename: str) -> Response:
    """A download: `data` as `mimetype`, saved by the browser as `filename` (a name without quotes)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of a long list: its rows, its number and how many pages there are."""

    rows: list
    number: int
    count: int
    total: int


def page_of(rows: list | peewee.SelectQuery, argument: str = "page", size: int = PAGE_SIZE) -> Page:
    """The page of `rows` that the request's `argument` asks for (the first, or the last one there
    is). A query is counted and read one page at a time in SQL; a list is sliced."""
    total = rows.count() if isinstance(rows, peewee.SelectQuery) else len(rows)
    count = max(1, -(-total // size))
    number = min(max(request.args.get(argument, 1, type=int) or 1, 1), count)
    if isinstance(rows, peewee.SelectQuery):
        return Page(list(rows.paginate(number, size)), number, count, total)
    return Page(rows[(number - 1) * size:number * size], number, count, total)


@bp.get("/healthz")
@csrf.exempt
def healthz():
    try:
        database.execute_sql("SELECT 1")
    except (peewee.OperationalError, peewee.InterfaceError):
        return jsonify(status="degraded", database="unavailable"), 503
    return jsonify(status="ok", database="ok")
