"""The one Jinja environment for printed documents (templates in the top-level `invoices/`), and
the way their HTML becomes PDF bytes.

Receipts and invoices (giving), SROI reports and statements all render their HTML here, and
`to_pdf()` hands it to core/pdf. The environment is an overlay of the app's: it keeps the app's
i18n (gettext), filters and autoescape, and its loader sees only invoices/. It is built once per
app and kept in `app.extensions`.
"""

from __future__ import annotations

import os
from typing import Any

from flask import current_app
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

INVOICES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                            "invoices")
ENV_KEY = "portal.core.pdf_templates"


def environment() -> Environment:
    env = current_app.extensions.get(ENV_KEY)
    if env is None:
        # An overlay keeps the app's i18n (gettext), filters and autoescape; the loader sees only invoices/.
        env = current_app.jinja_env.overlay(loader=FileSystemLoader(INVOICES_DIR), autoescape=True)
        current_app.extensions[ENV_KEY] = env
    return env


def render(template: str, context: dict[str, Any]) -> str:
    """The HTML of one document template in invoices/."""
    return environment().get_template(template).render(context)


def stylesheet(name: str) -> Markup:
    """Our own print CSS from invoices/, to inline (our file: no user text in it)."""
    with open(os.path.join(INVOICES_DIR, name), encoding="utf-8") as handle:
        return Markup(handle.read())  # noqa: S704 - our file, not user input


def to_pdf(html: str) -> bytes:
    """PDF bytes of a document's HTML, through core/pdf (fetching nothing from outside).

    core/pdf is imported here, on the first document, not with this module: it imports WeasyPrint,
    which takes a second or more and logs its own stylesheet parsing, and most processes (a web
    worker that serves no PDF, every CLI command) never render one."""
    from portal.core import pdf

    return pdf.render_pdf(html)
