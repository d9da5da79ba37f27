"""Figures for the HR dashboard and the project leader's panel, in a fixed number of queries
whatever the number of ambassadors, and the server-rendered SVG chart of hours per month."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import peewee
from babel.numbers import format_decimal
from flask_babel import gettext
from markupsafe import Markup, escape
from peewee import fn

from portal.core import clock, ledger
from portal.enrollment import reminders
from portal.enrollment.base import OPEN_STATUSES
from portal.enrollment.calendar import month_start
from portal.enrollment.models import STATUSES, Document, Enrolment, HoursEntry, School, SchoolYear
from portal.enrollment.reference import Calendars, current_school_year, school_years

PLANNING = ("matched", "active", "completed", "submitted", "intake")


@dataclass(slots=True)
class Placement:
    """The columns of an enrolment the dashboard needs: a thousand of these are cheap to build."""

    id: int
    employee_name: str
    job_title: str
    department: str
    status: str
    role_type: str
    school_year_id: int
    school_id: int | None
    weekday: int
    starts_on: dt.date
    ends_on: dt.date
    minutes_per_week: int
    sponsored_minutes_per_week: int
    hourly_cost_cents: int | None
    vog_status: str
    group_name: str
    school_name: str | None

    COLUMNS = ()  # filled below, in the order of the fields

    @property
    def has_sponsored_hours(self) -> bool:
        return self.sponsored_minutes_per_week > 0


Placement.COLUMNS = (Enrolment.id, Enrolment.employee_name, Enrolment.job_title, Enrolment.department,
                     Enrolment.status, Enrolment.role_type, Enrolment.school_year, Enrolment.school,
                     Enrolment.weekday, Enrolment.starts_on, Enrolment.ends_on, Enrolment.minutes_per_week,
                     Enrolment.sponsored_minutes_per_week, Enrolment.hourly_cost_cents, Enrolment.vog_status,
                     Enrolment.group_name, School.name)


@dataclass(kw_only=True)
class HourFigures:
    """The hour figures that one ambassador's line and the whole overview both carry."""

    planned_minutes: int = 0
    confirmed_minutes: int = 0
    confirmed_sponsored_minutes: int = 0
    value_cents: int = 0


@dataclass
class AmbassadorLine(HourFigures):
    enrolment: Placement
    school_name: str = ""
    reported_minutes: int = 0
    to_report: int = 0
    awaiting: int = 0
    rejected: int = 0
    documents: int = 0


@dataclass
class Todo:
    enrolment: Placement
    kind: str
    text: str
    urgent: bool = False
    who: str = "hr"         # whose move it is: "hr" (the reader), "employee" or "leader"


@dataclass
class Overview(HourFigures):
    year: SchoolYear | None
    years: list[SchoolYear]
    counts: dict[str, int]
    lines: list[AmbassadorLine]
    months: list[tuple[dt.date, int, int, int]]  # month, planned, awaiting, confirmed minutes
    todos: list[Todo] = field(default_factory=list)   # every open to-do, whoever's it is
    confirmed_volunteered_minutes: int = 0
    unvalued: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def my_todos(self) -> list[Todo]:
        """What HR can do itself (the panel's "Needs your action")."""
        return [todo for todo in self.todos if todo.who == "hr"]

    @property
    def waiting(self) -> list[Todo]:
        """Open steps of the employee or the project leader: shown apart, as waiting for them."""
        return [todo for todo in self.todos if todo.who != "hr"]

    @property
    def open_count(self) -> int:
        return sum(self.counts[s] for s in ("submitted", "intake", "matched", "active"))


def company_overview(company_id: int, *, year_id: int | None = None, today: dt.date | None = None) -> Overview:
    """Everything the HR dashboard shows, in a fixed number of queries whose cost does not grow with
    past school years.

    The placements shown are those of the chosen school year (default: the current one); on the
    current year's page also the later ones and any placement of an earlier year still in progress,
    so that every to-do is there. Their hours are read for them alone. The counts per status are a
    grouped count of all placements; the sponsored value to date comes from the ledger's totals."""
    today = today or clock.today()
    years = school_years()                                                            # query 1
    current = current_school_year(today, years)
    year = next((y for y in years if y.id == year_id), None) or current
    counts = Counter({status: 0 for status in STATUSES})
    unvalued = 0
    unpriced = (Enrolment.sponsored_minutes_per_week > 0) & Enrolment.hourly_cost_cents.is_null()
    per_status = (Enrolment.select(Enrolment.status, fn.COUNT(Enrolment.id),             # query 2
                                   fn.SUM(peewee.Case(None, [(unpriced, 1)], 0)))
                  .where(Enrolment.company == company_id).group_by(Enrolment.status).tuples())
    for status, count, without_rate in per_status:
        counts[status] = count
        unvalued += int(without_rate or 0) if status != "withdrawn" else 0
    shown = Enrolment.school_year == (year.id if year else 0)
    if year is not None and current is not None and year.id == current.id:
        shown |= (Enrolment.starts_on > year.ends_on) | Enrolment.status.in_(OPEN_STATUSES)
    shown &= Enrolment.company == company_id
    enrolments = [Placement(*row) for row in                                             # query 3
                  Enrolment.select(*Placement.COLUMNS)
                  .join(School, peewee.JOIN.LEFT_OUTER, on=(Enrolment.school == School.id))
                  .where(shown)
                  .order_by(Enrolment.starts_on.desc(), Enrolment.employee_name).tuples()]
    used = {e.school_year_id for e in enrolments}
    calendars = Calendars([y for y in years if y.id in used])                         # query 4 (if any)
    past = peewee.Case(None, [(HoursEntry.worked_on <= today, 1)], 0)
    aggregates = (HoursEntry.select(HoursEntry.enrolment, HoursEntry.status, fn.SUM(past),  # query 5
                                    fn.COUNT(HoursEntry.id), fn.SUM(HoursEntry.minutes),
                                    fn.SUM(HoursEntry.sponsored_minutes), fn.SUM(HoursEntry.volunteered_minutes),
                                    fn.SUM(HoursEntry.value_cents))
                  .join(Enrolment, on=(HoursEntry.enrolment == Enrolment.id))
                  .where(shown)
                  .group_by(HoursEntry.enrolment, HoursEntry.status).tuples())
    documents = dict(Document.select(Document.enrolment, fn.COUNT(Document.id))          # query 6
                     .join(Enrolment, on=(Document.enrolment == Enrolment.id))
                     .where(shown).group_by(Document.enrolment).tuples())
    value = ledger.totals(by=(), company_id=company_id, kinds=("hours_sponsored",))     # query 7

    lines = {e.id: AmbassadorLine(e, e.school_name or "", documents=documents.get(e.id, 0))
             for e in enrolments}
    overview = Overview(year, years, counts, [], [], unvalued=unvalued,
                        value_cents=int(value[0]["value_cents"]) if value else 0)
    in_year = {e.id for e in enrolments if year is not None and e.school_year_id == year.id}
    for enrolment_id, status, past_count, count, minutes, sponsored, volunteered, value_cents in aggregates:
        line = lines.get(enrolment_id)
        if line is None:
            continue
        minutes, sponsored, volunteered, value_cents = (int(x or 0) for x in (minutes, sponsored, volunteered,
                                                                               value_cents))
        if status == "confirmed":
            line.confirmed_minutes += minutes
            line.confirmed_sponsored_minutes += sponsored
            line.value_cents += value_cents
            if enrolment_id in in_year:  # the year's figures, beside the year's planned hours
                overview.confirmed_minutes += minutes
                overview.confirmed_sponsored_minutes += sponsored
                overview.confirmed_volunteered_minutes += volunteered
        elif status in ("reported", "absent"):
            line.reported_minutes += minutes
            line.awaiting += count
        elif status == "rejected":
            line.rejected += count
            line.to_report += count
        elif status == "planned":
            line.to_report += int(past_count or 0)

    texts = _todo_texts()
    planned_by_month: dict[dt.date, int] = defaultdict(int)
    sessions_per_month: dict[int, Counter] = {}  # by id() of the shared, cached session tuples
    for enrolment in enrolments:
        line = lines[enrolment.id]
        if enrolment.status != "withdrawn" and enrolment.school_year_id in calendars.years:
            sessions = calendars.sessions(enrolment)
            line.planned_minutes = len(sessions) * enrolment.minutes_per_week
            overview.planned_minutes += line.planned_minutes if year is None or enrolment.school_year_id == year.id else 0
            if year is not None and enrolment.school_year_id == year.id:
                per_month = sessions_per_month.get(id(sessions))
                if per_month is None:
                    per_month = sessions_per_month[id(sessions)] = Counter(month_start(day) for day in sessions)
                for month, count in per_month.items():
                    planned_by_month[month] += count * enrolment.minutes_per_week
        overview.todos.extend(_todos(line, today, texts))
    overview.lines = list(lines.values())
    overview.todos.sort(key=lambda t: (not t.urgent, t.enrolment.starts_on, t.enrolment.employee_name))

    if year is not None:
        awaiting_by_month: dict[dt.date, int] = defaultdict(int)
        confirmed_by_month: dict[dt.date, int] = defaultdict(int)
        per_day = (HoursEntry.select(HoursEntry.worked_on, HoursEntry.status, fn.SUM(HoursEntry.minutes))  # query 8
                   .where((HoursEntry.company == company_id) & (HoursEntry.worked_on >= year.starts_on)
                          & (HoursEntry.worked_on <= year.ends_on)
                          & HoursEntry.status.in_(("reported", "absent", "confirmed")))
                   .group_by(HoursEntry.worked_on, HoursEntry.status).tuples())
        for day, status, minutes in per_day:
            target = confirmed_by_month if status == "confirmed" else awaiting_by_month
            target[month_start(day)] += int(minutes or 0)
        month = month_start(year.starts_on)
        while month <= year.ends_on:
            overview.months.append((month, planned_by_month[month], awaiting_by_month[month], confirmed_by_month[month]))
            month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return overview


def _todo_texts() -> dict:
    """The to-do texts translated once per page (gettext without arguments leaves %(count)d)."""
    return {
        "report": (gettext("Report %(count)d session"), gettext("Report %(count)d sessions")),
        "vog_not_requested": gettext("VOG not requested yet"),
        "vog_refused": gettext("VOG refused: talk to the project leader"),
        "vog_late": gettext("VOG requested but not received; the start is near"),
        "documents": gettext("CV or motivation letter not uploaded yet"),
        "not_started": gettext("The start date has passed: the project leader still has to mark the placement as started"),
    }


def _report_text(texts: dict, count: int) -> str:
    # English and Dutch both use the singular for exactly one.
    return texts["report"][0 if count == 1 else 1] % {"count": count}


def _todos(line: AmbassadorLine, today: dt.date, texts: dict[str, str]) -> list[Todo]:
    """What HR should do for one ambassador; `texts` come from _todo_texts()."""
    enrolment = line.enrolment
    todos: list[Todo] = []
    if enrolment.status in ("completed", "withdrawn"):
        if line.to_report:
            todos.append(Todo(enrolment, "hours", _report_text(texts, line.to_report)))
        return todos
    starts_in = (enrolment.starts_on - today).days
    if enrolment.vog_status in ("not_requested", "refused"):
        todos.append(Todo(enrolment, "vog", texts["vog_" + enrolment.vog_status], urgent=starts_in <= 30))
    elif enrolment.vog_status == "requested" and starts_in <= 14:
        todos.append(Todo(enrolment, "vog", texts["vog_late"], urgent=True))
    if enrolment.status in ("submitted", "intake") and line.documents < 2:
        # The employee uploads her CV and letter on her own pages; starting is the leader's step.
        todos.append(Todo(enrolment, "documents", texts["documents"], who="employee"))
    if enrolment.status == "matched" and starts_in <= 0:
        todos.append(Todo(enrolment, "start", texts["not_started"], who="leader"))
    elif line.to_report:
        todos.append(Todo(enrolment, "hours", _report_text(texts, line.to_report), urgent=line.rejected > 0))
    return todos


@dataclass
class LeaderFigures:
    counts: dict[str, int]
    awaiting: int
    vog_missing: int
    start_passed: int


def leader_figures(today: dt.date | None = None) -> LeaderFigures:
    """The project leader's panel: four counting queries, whatever the number of rows."""
    today = today or clock.today()
    counts = Counter({status: 0 for status in STATUSES})
    for status, count in Enrolment.select(Enrolment.status, fn.COUNT(Enrolment.id)).group_by(Enrolment.status).tuples():
        counts[status] = count
    # The lists' own order is of no use to a count.
    return LeaderFigures(counts, reminders.awaiting_confirmation_count(), reminders.vog_missing(today).order_by().count(),
                         reminders.start_passed_not_active(today).order_by().count())


# --- the SVG chart -----------------------------------------------------------------------

COLOURS = {"planned": "#cfd8d3", "awaiting": "#f2b134", "confirmed": "#0b5d4b", "axis": "#556070", "grid": "#e3e8e1"}


def _hours(minutes: int, language: str) -> str:
    return format_decimal(round(minutes / 60, 1), format="#,##0.#", locale=language)


def hours_chart(months: list[tuple[dt.date, int, int, int]], *, title: str, labels: dict[str, str],
                month_names: list[str], language: str = "nl") -> Markup:
    """Bars per month: planned (light), awaiting confirmation (amber) and confirmed (green)."""
    width, height = 720, 260
    left, right, top, bottom = 48, 12, 16, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(p, a + c) for _m, p, a, c in months] + [60])
    step_hours = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 10**9)
                      if peak / 60 / s <= 5)
    scale_top = max(step_hours * 60 * (int(peak / 60 / step_hours) + 1), 60)
    slot = plot_w / max(len(months), 1)
    bar = slot * 0.36

    def y(minutes: int) -> float:
        return top + plot_h - plot_h * minutes / scale_top

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-labelledby="hours-chart-title" class="chart" preserveAspectRatio="xMidYMid meet">',
             f'<title id="hours-chart-title">{escape(title)}</title>']
    tick = 0
    while tick <= scale_top:
        ty = y(tick)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{COLOURS["grid"]}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11" fill="{COLOURS["axis"]}">{escape(_hours(tick, language))}</text>')
        tick += step_hours * 60
    for index, (month, planned, awaiting, confirmed) in enumerate(months):
        x0 = left + index * slot + slot * 0.12
        parts.append(f'<rect x="{x0:.1f}" y="{y(planned):.1f}" width="{bar:.1f}" height="{y(0) - y(planned):.1f}" '
                     f'fill="{COLOURS["planned"]}"><title>{escape(labels["planned"])}: {escape(_hours(planned, language))}</title></rect>')
        x1 = x0 + bar + slot * 0.04
        parts.append(f'<rect x="{x1:.1f}" y="{y(confirmed):.1f}" width="{bar:.1f}" height="{y(0) - y(confirmed):.1f}" '
                     f'fill="{COLOURS["confirmed"]}"><title>{escape(labels["confirmed"])}: {escape(_hours(confirmed, language))}</title></rect>')
        if awaiting:
            parts.append(f'<rect x="{x1:.1f}" y="{y(confirmed + awaiting):.1f}" width="{bar:.1f}" '
                         f'height="{y(confirmed) - y(confirmed + awaiting):.1f}" fill="{COLOURS["awaiting"]}">'
                         f'<title>{escape(labels["awaiting"])}: {escape(_hours(awaiting, language))}</title></rect>')
        label = month_names[month.month - 1]
        parts.append(f'<text x="{left + index * slot + slot / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                     f'font-size="11" fill="{COLOURS["axis"]}">{escape(label)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="{COLOURS["axis"]}"/>')
    legend_x = left
    for key in ("planned", "confirmed", "awaiting"):
        parts.append(f'<rect x="{legend_x}" y="{height - 20}" width="12" height="12" fill="{COLOURS[key]}"/>')
        parts.append(f'<text x="{legend_x + 17}" y="{height - 10}" font-size="12" fill="{COLOURS["axis"]}">{escape(labels[key])}</text>')
        legend_x += 28 + 7 * len(labels[key])
    parts.append("</svg>")
    # Every piece of text above went through escape(); numbers are formatted by us.
    return Markup("".join(parts))  # noqa: S704
