"""Figures for the HR dashboard and the project leader's panel, in a fixed number of queries
whatever the number of ambassadors (their chart of hours per month: portal.enrollment.chart)."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import peewee
from flask_babel import gettext
from peewee import fn

from portal.core import clock, ledger
from portal.core.prepared import Prepared
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
    lines: list[AmbassadorLine]          # a line per placement shown; none on the dashboard's card
    months: list[tuple[dt.date, int, int, int]]  # month, planned, awaiting, confirmed minutes
    todos: list[Todo] = field(default_factory=list)   # every open to-do, whoever's it is (the card: see below)
    confirmed_volunteered_minutes: int = 0
    unvalued: int = 0
    # On the dashboard's card, `todos` holds only the first CARD_TODOS of each kind, in order, and
    # this counts them all: (HR's, the others'). None: `todos` is complete.
    todo_counts: tuple[int, int] | None = None

    @property
    def my_todo_count(self) -> int:
        """How many to-dos are HR's own, whether `todos` lists them all or not."""
        return len(self.my_todos) if self.todo_counts is None else self.todo_counts[0]

    @property
    def waiting_count(self) -> int:
        return len(self.waiting) if self.todo_counts is None else self.todo_counts[1]

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
    """Everything the HR overview (/ambassadors) shows, a line per placement, in a fixed number of
    queries whose cost does not grow with past school years.

    The placements shown are those of the chosen school year (default: the current one); on the
    current year's page also the later ones and any placement of an earlier year still in progress,
    so that every to-do is there. Their hours are read for them alone. The counts per status are a
    grouped count of all placements; the sponsored value to date comes from the ledger's totals."""
    today = today or clock.today()
    years = school_years()                                                            # query 1
    current = current_school_year(today, years)
    year = next((y for y in years if y.id == year_id), None) or current
    overview = headline(company_id, year, years)                                     # queries 2 and 3
    shown = _shown(company_id, year, current)
    enrolments = [Placement(*row) for row in                                             # query 4
                  Enrolment.select(*Placement.COLUMNS)
                  .join(School, peewee.JOIN.LEFT_OUTER, on=(Enrolment.school == School.id))
                  .where(shown)
                  .order_by(Enrolment.starts_on.desc(), Enrolment.employee_name).tuples()]
    used = {e.school_year_id for e in enrolments}
    calendars = Calendars([y for y in years if y.id in used])                         # query 5 (if any)
    past = peewee.Case(None, [(HoursEntry.worked_on <= today, 1)], 0)
    aggregates = (HoursEntry.select(HoursEntry.enrolment, HoursEntry.status, fn.SUM(past),  # query 6
                                    fn.COUNT(HoursEntry.id), fn.SUM(HoursEntry.minutes),
                                    fn.SUM(HoursEntry.sponsored_minutes), fn.SUM(HoursEntry.value_cents))
                  .join(Enrolment, on=(HoursEntry.enrolment == Enrolment.id))
                  .where(shown)
                  .group_by(HoursEntry.enrolment, HoursEntry.status).tuples())
    documents = _documents(shown)                                                     # query 7

    lines = {e.id: AmbassadorLine(e, e.school_name or "", documents=documents.get(e.id, 0))
             for e in enrolments}
    for enrolment_id, status, past_count, count, minutes, sponsored, value_cents in aggregates:
        line = lines.get(enrolment_id)
        if line is None:
            continue
        minutes, sponsored, value_cents = (int(x or 0) for x in (minutes, sponsored, value_cents))
        if status == "confirmed":
            line.confirmed_minutes += minutes
            line.confirmed_sponsored_minutes += sponsored
            line.value_cents += value_cents
        else:
            _count_open(line, status, count, past_count, minutes)

    texts = todo_texts()
    planned_by_month: dict[dt.date, int] = defaultdict(int)
    for enrolment in enrolments:
        line = lines[enrolment.id]
        if enrolment.status != "withdrawn" and enrolment.school_year_id in calendars.years:
            sessions = calendars.sessions(enrolment)
            line.planned_minutes = len(sessions) * enrolment.minutes_per_week
            if year is not None and enrolment.school_year_id == year.id:
                overview.planned_minutes += line.planned_minutes
                plan(planned_by_month, sessions, enrolment.minutes_per_week)
        overview.todos.extend(_todos(line, today, texts))
    overview.lines = list(lines.values())
    sort_todos(overview)
    year_hours(overview, company_id, planned_by_month)                               # query 8
    return overview


# The placements per status, and those of them with sponsored hours but no hourly cost.
_PER_STATUS = Prepared(lambda company: Enrolment.select(
    Enrolment.status, fn.COUNT(Enrolment.id),
    fn.SUM(peewee.Case(None, [((Enrolment.sponsored_minutes_per_week > 0) & Enrolment.hourly_cost_cents.is_null(), 1)], 0)))
    .where(Enrolment.company == company).group_by(Enrolment.status).tuples())


def headline(company_id: int, year: SchoolYear | None, years: list[SchoolYear]) -> Overview:
    """An overview with the counts per status (those without an hourly cost apart) and the
    sponsored value to date: two queries."""
    counts = Counter({status: 0 for status in STATUSES})
    unvalued = 0
    per_status = _PER_STATUS(company=company_id)
    for status, count, without_rate in per_status:
        counts[status] = count
        unvalued += int(without_rate or 0) if status != "withdrawn" else 0
    value = ledger.totals(by=(), company_id=company_id, kinds=("hours_sponsored",))
    return Overview(year, years, counts, [], [], unvalued=unvalued,
                    value_cents=int(value[0]["value_cents"]) if value else 0)


def _shown(company_id: int, year: SchoolYear | None, current: SchoolYear | None) -> peewee.Expression:
    """The placements of a year's page: the year's, and on the current year's page also the later
    ones and those of earlier years still in progress."""
    shown = Enrolment.school_year == (year.id if year else 0)
    if year is not None and current is not None and year.id == current.id:
        shown |= (Enrolment.starts_on > year.ends_on) | Enrolment.status.in_(OPEN_STATUSES)
    return shown & (Enrolment.company == company_id)


def _documents(placements: peewee.Expression) -> dict[int, int]:
    return dict(Document.select(Document.enrolment, fn.COUNT(Document.id))
                .join(Enrolment, on=(Document.enrolment == Enrolment.id))
                .where(placements).group_by(Document.enrolment).tuples())


def _count_open(line: AmbassadorLine, status: str, count: int, past_count: int | None, minutes: int = 0) -> None:
    """Add a placement's hours of one status that are not confirmed to its line's counts."""
    if status in ("reported", "absent"):
        line.reported_minutes += minutes
        line.awaiting += count
    elif status == "rejected":
        line.rejected += count
        line.to_report += count
    elif status == "planned":
        line.to_report += int(past_count or 0)


# Within one placement, its to-dos in the order _todos gives them.
KIND_ORDER = {"vog": 0, "documents": 1, "start": 2, "hours": 3}


def plan(planned_by_month: dict[dt.date, int], sessions: tuple[dt.date, ...], minutes_per_week: int) -> None:
    for month, count in _sessions_per_month(sessions).items():
        planned_by_month[month] += count * minutes_per_week


@functools.lru_cache(maxsize=256)
def _sessions_per_month(sessions: tuple[dt.date, ...]) -> Counter:
    return Counter(month_start(day) for day in sessions)


def sort_todos(overview: Overview) -> None:
    overview.todos.sort(key=lambda t: (not t.urgent, t.enrolment.starts_on, t.enrolment.employee_name, t.enrolment.id,
                                       KIND_ORDER[t.kind]))


# The company's hours worked from `first` to `last` per day and status (confirmed, or awaiting it).
_PER_DAY = Prepared(lambda company, first, last: HoursEntry.select(
    HoursEntry.worked_on, HoursEntry.status, fn.SUM(HoursEntry.minutes),
    fn.SUM(HoursEntry.sponsored_minutes), fn.SUM(HoursEntry.volunteered_minutes))
    .where((HoursEntry.company == company) & (HoursEntry.worked_on >= first) & (HoursEntry.worked_on <= last)
           & HoursEntry.status.in_(("reported", "absent", "confirmed")))
    .group_by(HoursEntry.worked_on, HoursEntry.status).tuples())


def year_hours(overview: Overview, company_id: int, planned_by_month: dict[dt.date, int]) -> None:
    """The year's confirmed hours (sponsored and volunteered apart) and its months with their planned,
    awaiting and confirmed minutes, from the company's hours worked in the year (one grouped query,
    read from an index). The figures and the chart count the same hours."""
    year = overview.year
    if year is None:
        return
    awaiting_by_month: dict[dt.date, int] = defaultdict(int)
    confirmed_by_month: dict[dt.date, int] = defaultdict(int)
    per_day = _PER_DAY(company=company_id, first=year.starts_on, last=year.ends_on)
    for day, status, minutes, sponsored, volunteered in per_day:
        if status == "confirmed":
            confirmed_by_month[month_start(day)] += int(minutes or 0)
            overview.confirmed_minutes += int(minutes or 0)
            overview.confirmed_sponsored_minutes += int(sponsored or 0)
            overview.confirmed_volunteered_minutes += int(volunteered or 0)
        else:
            awaiting_by_month[month_start(day)] += int(minutes or 0)
    month = month_start(year.starts_on)
    while month <= year.ends_on:
        overview.months.append((month, planned_by_month[month], awaiting_by_month[month], confirmed_by_month[month]))
        month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def todo_texts() -> dict:
    """The to-do texts translated once per page (gettext without arguments leaves %(count)d)."""
    return {
        "report": (gettext("Report %(count)d session"), gettext("Report %(count)d sessions")),
        "vog_not_requested": gettext("VOG not requested yet"),
        "vog_refused": gettext("VOG refused: talk to the project leader"),
        "vog_late": gettext("VOG requested but not received; the start is near"),
        "documents": gettext("CV or motivation letter not uploaded yet"),
        "not_started": gettext("The start date has passed: the project leader still has to mark the placement as started"),
    }


def report_text(texts: dict, count: int) -> str:
    # English and Dutch both use the singular for exactly one.
    return texts["report"][0 if count == 1 else 1] % {"count": count}


def _todos(line: AmbassadorLine, today: dt.date, texts: dict[str, str]) -> list[Todo]:
    """What HR should do for one ambassador; `texts` come from todo_texts()."""
    enrolment = line.enrolment
    todos: list[Todo] = []
    if enrolment.status in ("completed", "withdrawn"):
        if line.to_report:
            todos.append(Todo(enrolment, "hours", report_text(texts, line.to_report)))
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
        todos.append(Todo(enrolment, "hours", report_text(texts, line.to_report), urgent=line.rejected > 0))
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
