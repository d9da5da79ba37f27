"""Template filters and globals shared by every capability."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_request_context, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.core import audit_labels, contributions, hooks, money
from portal.core.i18n import LANGUAGES


@dataclass(frozen=True)
class MenuItem:
    label: str
    url: str
    weight: int = 50
    selected: bool | None = None    # set by menu(): one item of a menu at most is the current one

    def matches(self) -> bool:
        path = request.path
        return path == self.url or (self.url != "/" and path.startswith(self.url.rstrip("/") + "/"))

    @property
    def active(self) -> bool:
        return self.matches() if self.selected is None else self.selected


def main_menu(label, *, leader: tuple[str, int] | None = None, company: tuple[str, int] | None = None):
    """A capability's entry in the main menu, for hooks.MENU: `label` (lazy) linking to the
    (endpoint, weight) of the project leader's page, or of a company user's page."""
    def provider(name: str, _language: str, user) -> list[MenuItem]:
        if name != "main" or not user.is_authenticated:
            return []
        entry = leader if user.is_leader else company if user.company_id is not None else None
        return [MenuItem(str(label), url_for(entry[0]), entry[1])] if entry else []

    return provider


def current_language() -> str:
    return str(get_locale() or "nl")


def menu(name: str) -> list[MenuItem]:
    # Each capability answers hooks.MENU with (menu name, language, user) -> its MenuItems.
    items = [item for found in hooks.collect(hooks.MENU, name, current_language(), current_user) for item in found]
    items.sort(key=lambda item: item.weight)
    # "/leader" and "/leader/statements" both match the statements page: only the closest is current.
    matching = [item for item in items if has_request_context() and item.matches()]
    best = max(matching, key=lambda item: len(item.url), default=None)
    return [dataclasses.replace(item, selected=item is best) for item in items]


def format_hm(minutes: int, language: str) -> str:
    """Minutes as hours and minutes with the language's thousands separator: '1.234:05' (nl),
    '1,234:05' (en)."""
    sign = "-" if int(minutes) < 0 else ""
    hours, rest = divmod(abs(int(minutes)), 60)
    grouped = f"{hours:,}".replace(",", "." if language == "nl" else ",")
    return f"{sign}{grouped}:{rest:02d}"


def format_hours_unit(minutes: int, language: str | None = None) -> str:
    """Hours with their unit, the one format of screens and documents: '3:45 u' in Dutch, '3:45 h'
    in English (the unit comes from the catalogue of the language of the moment)."""
    unit = _("h")   # outside the f-string, where the catalogue's extractor finds it
    return f"{format_hm(minutes, language or current_language())} {unit}"


def same_page(**changes: Any) -> str:
    """This page's address with some query values changed (a page number): only the query's plain
    names are carried over, never ones url_for itself reads (`endpoint`, `_external`, `_scheme`...)."""
    values = {key: value for key, value in request.args.items()
              if key.isidentifier() and not key.startswith("_") and key not in ("endpoint", "values")}
    return url_for(request.endpoint, **{**values, **changes})


def home_url() -> str:
    if "content.home" in current_app.view_functions:
        language = current_language()
        return url_for("content.home_en") if language == "en" and "content.home_en" in current_app.view_functions else url_for("content.home")
    return "/"


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["eur"] = lambda cents: money.format_eur(cents, current_language())
    app.jinja_env.filters["hours_unit"] = lambda minutes: format_hours_unit(int(minutes or 0))
    app.jinja_env.filters["audit_action"] = audit_labels.action_label
    app.jinja_env.filters["audit_details"] = audit_labels.details
    app.jinja_env.filters["contribution_ref"] = contributions.key_label
    app.jinja_env.filters["date"] = lambda value, fmt="medium": format_date(value, fmt) if value else ""
    app.jinja_env.filters["datetime"] = lambda value, fmt="short": format_datetime(value, fmt) if value else ""
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES,
        current_language=current_language,
        main_menu=lambda: menu("main"),
        footer_menu=lambda: menu("footer"),
        home_url=home_url,
        same_page=same_page,
    )

    @app.context_processor
    def _request_globals():
        # Mail is also rendered outside a request (CLI commands, background sweeps).
        return {"current_path": request.full_path.rstrip("?")} if has_request_context() else {}
