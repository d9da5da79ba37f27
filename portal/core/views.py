"""Health check."""

from __future__ import annotations

import peewee
from flask import Blueprint, jsonify

from portal.core.db import database
from portal.core.security import csrf

bp = Blueprint("core", __name__)


@bp.get("/healthz")
@csrf.exempt
def healthz():
    try:
        database.execute_sql("SELECT 1")
    except (peewee.OperationalError, peewee.InterfaceError):
        return jsonify(status="degraded", database="unavailable"), 503
    return jsonify(status="ok", database="ok")
