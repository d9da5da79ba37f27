"""Health check, and what the capabilities' views share: a refusal shown on its form (`apply_error`)
and a download response (`attachment`)."""

from __future__ import annotations

from collections.abc import Mapping

import peewee
from flask import Blueprint, Response, flash, jsonify

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


@bp.get("/healthz")
@csrf.exempt
def healthz():
    try:
        database.execute_sql("SELECT 1")
    except (peewee.OperationalError, peewee.InterfaceError):
        return jsonify(status="degraded", database="unavailable"), 503
    return jsonify(status="ok", database="ok")
