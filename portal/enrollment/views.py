"""Enrolment pages: HR (company users), the employee's own pages (through a single-use link)
and the project leader's desk. Thin: parse, call the service, render or redirect.

The blueprint and the helpers its pages share live in web.py; the pages in hr_views.py,
ambassador_views.py, leader_views.py and leader_school_views.py, the commands in cli.py.
This module wires the blueprint into the app: menus, panels, filters, the contribution
source and the page for an upload that is too large."""

from __future__ import annotations

import datetime as dt
import functools

from babel.dates import format_date
from flask import current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.core import hooks
from portal.core.templating import current_language, main_menu
from portal.enrollment import (
    ambassador_views,
    base,
    card,
    chart,
    cli,
    dashboard,
    documents,
    hours,
    hr_views,
    leader_school_views,
    leader_views,
    reference,
)
from portal.enrollment.web import bp

# Importing these registers their pages and commands on bp.
PAGE_MODULES = (hr_views, ambassador_views, leader_views, leader_school_views, cli)

MONTH_NAMES = {
    "nl": ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


# --- wiring: menus, panels, filters, the contribution source ------------------------

def format_hours(minutes: int | None, language: str | None = None) -> str:
    """Minutes as hours for people: '7,5' in Dutch, '7.5' in English, '1.234,25' / '1,234.25'.

    Hand-rolled (two decimals at most, rounded half up) because a dashboard shows thousands.
    """
    if minutes is None:
        return ""
    language = language or current_language()
    hundredths = (abs(int(minutes)) * 100 + 30) // 60
    whole, fraction = divmod(hundredths, 100)
    grouped = f"{whole:,}"
    decimals = "" if fraction == 0 else (f"{fraction // 10}" if fraction % 10 == 0 else f"{fraction:02d}")
    if language == "nl":
        text = grouped.replace(",", ".") + ("," + decimals if decimals else "")
    else:
        text = grouped + ("." + decimals if decimals else "")
    return ("-" if minutes < 0 and hundredths else "") + text


LABELS = {"status": base.STATUS_LABELS, "role": base.ROLE_LABELS, "funding": base.FUNDING_LABELS,
          "vog": base.VOG_LABELS, "duration": base.DURATION_LABELS, "weekday": base.WEEKDAY_LABELS,
          "closure": base.CLOSURE_LABELS, "document": documents.KIND_LABELS}


class Labels:
    """`enrollment_labels.status["active"]` in templates: translated once per request, not per row."""

    def __getattr__(self, name: str):
        if name not in LABELS:
            raise AttributeError(name)
        cache = g.setdefault("enrollment_labels", {})
        if name not in cache:
            table = LABELS[name]
            cache[name] = ({k: str(v) for k, v in table.items()} if isinstance(table, dict)
                           else [str(v) for v in table])
        return cache[name]


@functools.lru_cache(maxsize=4096)
def _format_day(day: dt.date, language: str) -> str:
    return format_date(day, "medium", locale=language)


def format_day(day: dt.date | None, language: str | None = None) -> str:
    """A date as the core `date` filter writes it, cached: long tables repeat the same dates."""
    return _format_day(day, language or current_language()) if day else ""


@bp.record_once
def _wire(state):
    app = state.app

    hooks.connect(app, hooks.MENU, main_menu(_l("Ambassadors"), leader=("enrollment.leader_enrolments", 85),
                                             company=("enrollment.overview", 82)))
    hooks.connect(app, hooks.CONTRIBUTIONS, hours.contributions)
    hooks.connect(app, hooks.COMPANY_PANELS, lambda company: hooks.Panel(
        "enrollment/panel.html", 20, {"enr": card.company_panel(company.id)}))
    hooks.connect(app, hooks.LEADER_PANELS, lambda: hooks.Panel(
        "enrollment/leader_panel.html", 20, {"enr_leader": dashboard.leader_figures()}))
    app.jinja_env.filters["minutes_as_hours"] = format_hours
    app.jinja_env.filters["closure_name"] = reference.closure_name
    app.jinja_env.globals.update(
        enrollment_chart=_chart,
        enrollment_labels=Labels(),
    )
    app.jinja_env.filters["enrollment_date"] = format_day


def _chart(overview: dashboard.Overview):
    language = current_language()
    return chart.hours_chart(
        overview.months, title=_("Hours per month, school year %(year)s", year=overview.year.name if overview.year else ""),
        labels={"planned": _("Planned"), "confirmed": _("Confirmed"), "awaiting": _("Awaiting confirmation")},
        month_names=MONTH_NAMES.get(language, MONTH_NAMES["en"]), language=language)


@bp.errorhandler(413)
def _too_large(_error):
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if request.path.startswith("/ambassador/"):
        back_url = url_for("enrollment.ambassador_home")
    elif request.path.startswith("/ambassadors/import"):
        back_url = url_for("enrollment.import_csv")
    else:
        back_url = url_for("accounts.dashboard")
    return render_template("enrollment/too_large.html", limit_mb=limit // (1024 * 1024), back_url=back_url,
                           sent_mb=(request.content_length or 0) / (1024 * 1024)), 413
