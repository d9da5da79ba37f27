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
from portal.core.db import is_sqlite
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
    overview = _headline(company_id, year, years)                                     # queries 2 and 3
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

    texts = _todo_texts()
    planned_by_month: dict[dt.date, int] = defaultdict(int)
    for enrolment in enrolments:
        line = lines[enrolment.id]
        if enrolment.status != "withdrawn" and enrolment.school_year_id in calendars.years:
            sessions = calendars.sessions(enrolment)
            line.planned_minutes = len(sessions) * enrolment.minutes_per_week
            if year is not None and enrolment.school_year_id == year.id:
                overview.planned_minutes += line.planned_minutes
                _plan(planned_by_month, sessions, enrolment.minutes_per_week)
        overview.todos.extend(_todos(line, today, texts))
    overview.lines = list(lines.values())
    _sort_todos(overview)
    _year_hours(overview, company_id, planned_by_month)                               # query 8
    return overview


def company_panel(company_id: int, *, today: dt.date | None = None) -> Overview:
    """What the dashboard's card shows of `company_overview` for the current school year (its
    figures, chart and to-dos; no lines), without a line per placement: the year's planned sessions
    are counted once per shared calendar, weekday and period, and only the placements with something
    to do are read. Its cost follows the to-dos and the year's days, not the ambassadors."""
    today = today or clock.today()
    years = school_years()                                                            # query 1
    year = current_school_year(today, years)
    overview = _headline(company_id, year, years)                                     # queries 2 and 3
    planned_by_month: dict[dt.date, int] = defaultdict(int)
    if year is not None:
        in_year = (Enrolment.company == company_id) & (Enrolment.school_year == year.id)
        shared = (Enrolment.school_year, Enrolment.school, Enrolment.weekday, Enrolment.starts_on,
                  Enrolment.ends_on, Enrolment.role_type)
        calendars = Calendars([year])                                                 # query 4
        for *key, minutes_per_week in (Enrolment.select(*shared, fn.SUM(Enrolment.minutes_per_week))  # query 5
                                       .where(in_year & (Enrolment.status != "withdrawn"))
                                       .group_by(*shared).tuples()):
            sessions = calendars.sessions(_Shared(*key))
            overview.planned_minutes += len(sessions) * int(minutes_per_week)
            _plan(planned_by_month, sessions, int(minutes_per_week))
    overview.todos, overview.todo_counts = _card_todos(company_id, _shown(company_id, year, year), today)  # 6-10
    _sort_todos(overview)
    _year_hours(overview, company_id, planned_by_month)                               # query 11
    return overview


@dataclass(frozen=True)
class _Shared:
    """What placements with the same sessions share (the key of `Calendars.sessions`)."""

    school_year_id: int
    school_id: int | None
    weekday: int
    starts_on: dt.date
    ends_on: dt.date
    role_type: str


def _headline(company_id: int, year: SchoolYear | None, years: list[SchoolYear]) -> Overview:
    """An overview with the counts per status (those without an hourly cost apart) and the
    sponsored value to date: two queries."""
    counts = Counter({status: 0 for status in STATUSES})
    unvalued = 0
    unpriced = (Enrolment.sponsored_minutes_per_week > 0) & Enrolment.hourly_cost_cents.is_null()
    per_status = (Enrolment.select(Enrolment.status, fn.COUNT(Enrolment.id),
                                   fn.SUM(peewee.Case(None, [(unpriced, 1)], 0)))
                  .where(Enrolment.company == company_id).group_by(Enrolment.status).tuples())
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


# The card lists the first eight to-dos; of each kind it reads no more than these, and counts the rest.
CARD_TODOS = 8
# Within one placement, its to-dos in the order _todos gives them.
KIND_ORDER = {"vog": 0, "documents": 1, "start": 2, "hours": 3}


def _card_todos(company_id: int, shown: peewee.Expression, today: dt.date) -> tuple[list[Todo], tuple[int, int]]:
    """The first CARD_TODOS to-dos of each kind among the placements `shown`, in the to-dos' order,
    and how many there are of HR's and of the others': the conditions of `_todos`, asked in SQL (a
    query a kind, and one for the placements named), so that a company with a thousand sessions to
    report reads eight of them."""
    texts = _todo_texts()
    # Names in Python's order (by code point): SQLite's own; PostgreSQL's "C" collation, not the database's.
    name = Enrolment.employee_name if is_sqlite() else peewee.NodeList((Enrolment.employee_name, peewee.SQL('COLLATE "C"')))

    def first(condition: peewee.Expression, urgent: peewee.Node, *extra: peewee.Node, joined=None):
        """The first CARD_TODOS placements meeting `condition`, as (id, urgent, *extra), and how many
        meet it (counted over the whole result before the limit, in the same query)."""
        query = Enrolment.select(Enrolment.id, urgent, fn.COUNT(peewee.SQL("*")).over(), *extra)
        if joined is not None:
            query = query.join(joined, on=(joined.c.enrolment_id == Enrolment.id))
        rows = list(query.where(shown & condition).order_by(urgent.desc(), Enrolment.starts_on, name, Enrolment.id)
                    .limit(CARD_TODOS).tuples())
        return [(row[0], bool(row[1]), *row[3:]) for row in rows], (rows[0][2] if rows else 0)

    def flag(condition):
        return peewee.Case(None, [(condition, 1)], 0)

    in_progress = Enrolment.status.in_(OPEN_STATUSES)
    started = (Enrolment.status == "matched") & (Enrolment.starts_on <= today)
    requested = Enrolment.vog_status == "requested"
    vog = in_progress & (Enrolment.vog_status.in_(("not_requested", "refused"))
                         | (requested & (Enrolment.starts_on <= today + dt.timedelta(days=14))))
    vogs, vog_count = first(vog, flag(requested | (Enrolment.starts_on <= today + dt.timedelta(days=30))))
    uploaded = (Document.select(fn.COUNT(Document.id)).where(Document.enrolment == Enrolment.id))
    missing, missing_count = first(Enrolment.status.in_(("submitted", "intake")) & (uploaded < 2), flag(False))
    starts, start_count = first(started, flag(False))

    # Sessions to report: rejected, or planned and past (each read through the (company, status, day) index).
    mine = HoursEntry.company == company_id
    entries = (HoursEntry.select(HoursEntry.enrolment, HoursEntry.status).where(mine & (HoursEntry.status == "rejected"))
               + HoursEntry.select(HoursEntry.enrolment, HoursEntry.status)
               .where(mine & (HoursEntry.status == "planned") & (HoursEntry.worked_on <= today))).alias("entries")
    per_placement = (peewee.Select([entries], [
        entries.c.enrolment_id,
        fn.SUM(peewee.Case(None, [(entries.c.status == "rejected", 1)], 0)).alias("rejected"),
        fn.COUNT(peewee.SQL("*")).alias("to_report")]).group_by(entries.c.enrolment_id).alias("open_hours"))
    # A placement past its start and not yet started has that to-do instead (_todos' elif).
    reports, report_count = first(~started, flag((per_placement.c.rejected > 0) & in_progress),
                                  per_placement.c.to_report, joined=per_placement)

    ids = {row[0] for found in (vogs, missing, starts, reports) for row in found}
    placements = {row[0]: Placement(*row) for row in Enrolment.select(*Placement.COLUMNS)
                  .join(School, peewee.JOIN.LEFT_OUTER, on=(Enrolment.school == School.id))
                  .where(Enrolment.id.in_(sorted(ids))).tuples()} if ids else {}
    todos = [Todo(placements[i], "vog", texts["vog_late"] if placements[i].vog_status == "requested"
                  else texts["vog_" + placements[i].vog_status], urgent) for i, urgent in vogs]
    todos += [Todo(placements[i], "documents", texts["documents"], who="employee") for i, _urgent in missing]
    todos += [Todo(placements[i], "start", texts["not_started"], who="leader") for i, _urgent in starts]
    todos += [Todo(placements[i], "hours", _report_text(texts, int(to_report)), urgent)
              for i, urgent, to_report in reports]
    return todos, (vog_count + report_count, missing_count + start_count)


def _plan(planned_by_month: dict[dt.date, int], sessions: tuple[dt.date, ...], minutes_per_week: int) -> None:
    for month, count in _sessions_per_month(sessions).items():
        planned_by_month[month] += count * minutes_per_week


@functools.lru_cache(maxsize=256)
def _sessions_per_month(sessions: tuple[dt.date, ...]) -> Counter:
    return Counter(month_start(day) for day in sessions)


def _sort_todos(overview: Overview) -> None:
    overview.todos.sort(key=lambda t: (not t.urgent, t.enrolment.starts_on, t.enrolment.employee_name, t.enrolment.id,
                                       KIND_ORDER[t.kind]))


def _year_hours(overview: Overview, company_id: int, planned_by_month: dict[dt.date, int]) -> None:
    """The year's confirmed hours (sponsored and volunteered apart) and its months with their planned,
    awaiting and confirmed minutes, from the company's hours worked in the year (one grouped query,
    read from an index). The figures and the chart count the same hours."""
    year = overview.year
    if year is None:
        return
    awaiting_by_month: dict[dt.date, int] = defaultdict(int)
    confirmed_by_month: dict[dt.date, int] = defaultdict(int)
    per_day = (HoursEntry.select(HoursEntry.worked_on, HoursEntry.status, fn.SUM(HoursEntry.minutes),
                                 fn.SUM(HoursEntry.sponsored_minutes), fn.SUM(HoursEntry.volunteered_minutes))
               .where((HoursEntry.company == company_id) & (HoursEntry.worked_on >= year.starts_on)
                      & (HoursEntry.worked_on <= year.ends_on)
                      & HoursEntry.status.in_(("reported", "absent", "confirmed")))
               .group_by(HoursEntry.worked_on, HoursEntry.status).tuples())
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
