"""What every `portal` subcommand shares, wherever it is defined (portal/cli.py and the
capabilities' command groups such as statements/cli.py): running inside the app with a
database connection.

The app comes from the `ScriptInfo` that the `portal` group puts on the click context (its
`create_app`), so nothing here imports the factory.
"""

from __future__ import annotations

import functools

import click
from flask.cli import ScriptInfo

from portal.core.db import database, release


def with_app(fn):
    """Run the command inside an application context with a database connection."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        info = click.get_current_context().find_object(ScriptInfo)
        if info is None or info.create_app is None:
            raise click.UsageError("run this command through the `portal` command")
        app = info.create_app()
        with app.app_context():  # url_for builds on PORTAL_BASE_URL (core/urls.py)
            database.connect(reuse_if_open=True)
            try:
                return fn(*args, **kwargs)
            finally:
                release()

    return wrapper
