"""Template filters and globals shared by every capability."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, has_request_context, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

from portal.core import money
from portal.core.i18n import LANGUAGES


@dataclass(frozen=True)
class MenuItem:
    label: str
    url: str
    weight: int = 50

    @property
    def active(self) -> bool:
        return request.path == self.url or (self.url != "/" and request.path.startswith(self.url + "/"))


# A provider gets (menu name, language, user) and returns MenuItems; capabilities add theirs.
MenuProvider = Callable[[str, str, object], list[MenuItem]]


def register_menu_provider(app: Flask, provider: MenuProvider) -> None:
    app.extensions.setdefault("portal.menus", []).append(provider)


def current_language() -> str:
    return str(get_locale() or "nl")


def menu(name: str) -> list[MenuItem]:
    items: list[MenuItem] = []
    for provider in current_app.extensions.get("portal.menus", []):
        items.extend(provider(name, current_language(), current_user))
    return sorted(items, key=lambda item: item.weight)


def home_url() -> str:
    if "content.home" in current_app.view_functions:
        language = current_language()
        return url_for("content.home_en") if language == "en" and "content.home_en" in current_app.view_functions else url_for("content.home")
    return "/"


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["eur"] = lambda cents: money.format_eur(cents, current_language())
    app.jinja_env.filters["date"] = lambda value, fmt="medium": format_date(value, fmt) if value else ""
    app.jinja_env.filters["datetime"] = lambda value, fmt="short": format_datetime(value, fmt) if value else ""
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES,
        current_language=current_language,
        main_menu=lambda: menu("main"),
        footer_menu=lambda: menu("footer"),
        home_url=home_url,
    )

    @app.context_processor
    def _request_globals():
        # Mail is also rendered outside a request (CLI commands, background sweeps).
        return {"current_path": request.full_path.rstrip("?")} if has_request_context() else {}
