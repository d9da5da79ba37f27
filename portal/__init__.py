"""The OnderwijsAmbassadeurs employer portal."""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from flask import Flask

from portal import config as portal_config

# Every capability with tables lists them in MODELS in its models module, in this order.
MODEL_MODULES = (
    "portal.core.audit",
    "portal.core.ledger",
    "portal.accounts.models",
    "portal.enrollment.models",
    "portal.sroi.models",
    "portal.statements.models",
    "portal.giving.models",
    "portal.contact.models",
    "portal.reconcile.models",
)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def all_models() -> list:
    """Every peewee model of the portal, in dependency order."""
    from peewee import sort_models

    models = []
    for module_name in MODEL_MODULES:
        models.extend(importlib.import_module(module_name).MODELS)
    return sort_models(models)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the portal: the only place an app is made."""
    app = Flask(
        __name__,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder="static",
        instance_path=os.environ.get("PORTAL_INSTANCE_DIR") or os.path.join(ROOT, "instance"),
    )
    app.config.update(portal_config.load(app.instance_path))
    if test_config:
        app.config.update(test_config)
    portal_config.check_production(app.config)
    secure = bool(app.config["SECURE_COOKIES"])
    app.config.update(
        SESSION_COOKIE_NAME="__Host-portal" if secure else "portal_session",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=app.config.get("MAX_CONTENT_LENGTH") or 12 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        TEMPLATES_AUTO_RELOAD=app.config["ENV"] == "development",
    )
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    # Imported here, as the app is built (its config first), explicitly: each capability's blueprint,
    # registered below in order, and the modules that declare background work (core/tasks.py: audit,
    # mail, giving's service and webhooks, enrolment's tasks, reconcile's jobs, statements' bulk),
    # imported before the app's queue is built.
    from portal.accounts import auth
    from portal.accounts import views as accounts
    from portal.contact import views as contact
    from portal.content import views as content
    from portal.core import audit, db, errors, i18n, mail, security, tasks, templating  # noqa: F401
    from portal.core import views as core
    from portal.enrollment import tasks as enrollment_tasks  # noqa: F401
    from portal.enrollment import views as enrollment
    from portal.giving import service as giving_service  # noqa: F401
    from portal.giving import views as giving
    from portal.giving import webhooks  # noqa: F401
    from portal.reconcile import jobs as reconcile_jobs
    from portal.reconcile import views as reconcile
    from portal.sroi import views as sroi
    from portal.statements import bulk  # noqa: F401
    from portal.statements import views as statements

    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    templating.init_app(app)
    errors.init_app(app)

    for capability in (core, accounts, enrollment, content, sroi, statements, giving, contact, reconcile,
                       reconcile_jobs):
        app.register_blueprint(capability.bp)
    tasks.init_app(app)
    return app
