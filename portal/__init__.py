"""The OnderwijsAmbassadeurs employer portal."""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from flask import Flask

from portal import config as portal_config

# Every capability contributes one blueprint `bp` from its views module, in this order.
BLUEPRINTS = (
    "portal.core.views",
    "portal.accounts.views",
    "portal.enrollment.views",
    "portal.content.views",
    "portal.sroi.views",
    "portal.statements.views",
    "portal.giving.views",
    "portal.contact.views",
    "portal.reconcile.views",
    "portal.reconcile.jobs",
)

# Modules that declare background work (core/tasks.py), imported before the app's queue is built.
TASK_MODULES = (
    "portal.core.audit",
    "portal.core.mail",
    "portal.giving.service",
    "portal.giving.webhooks",
    "portal.enrollment.tasks",
    "portal.reconcile.jobs",
    "portal.statements.bulk",
)

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

    from portal.accounts import auth
    from portal.core import db, errors, i18n, security, tasks, templating

    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    templating.init_app(app)
    errors.init_app(app)

    for module_name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(module_name).bp)
    for module_name in TASK_MODULES:
        importlib.import_module(module_name)
    tasks.init_app(app)
    return app
