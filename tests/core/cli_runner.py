"""Run the `portal` command in-process with click's CliRunner, against the test's database."""

from __future__ import annotations

import os

from click.testing import CliRunner, Result

from portal.core.db import database


def run_portal(app, *args: str, input: str | None = None, **env: str) -> Result:
    """`portal ARGS` with PORTAL_* pointing at the app's database, outbox and a scratch instance.

    The command builds its own app (as it does in production), which re-initialises the shared
    database proxy with the same URL; the test's connection is closed first so nothing is held.
    """
    if not database.is_closed():
        database.close()
    scratch = os.path.join(os.path.dirname(app.config["OUTBOX_DIR"]), "cli-instance")
    environment = {
        "PORTAL_ENV": "development",
        "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
        "PORTAL_INSTANCE_DIR": scratch,
        "PORTAL_OUTBOX_DIR": app.config["OUTBOX_DIR"],
        "PORTAL_PASSWORD_HASH_MEMORY_KIB": str(app.config["PASSWORD_HASH_MEMORY_KIB"]),
        "PORTAL_SECRET_KEY": app.config["SECRET_KEY"],
        "PORTAL_SMTP_HOST": "",
    }
    environment.update(env)
    from portal.cli import main

    return CliRunner().invoke(main, list(args), input=input, env=environment, catch_exceptions=False)
