"""The HR dashboard's card: what it shows of `dashboard.company_overview` for the current school
year (its figures, chart and to-dos; no line per placement), in a fixed number of prepared queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import peewee
from peewee import fn

from portal.core import clock
from portal.core.db import is_sqlite
from portal.core.prepared import Prepared
from portal.enrollment.base import OPEN_STATUSES
from portal.enrollment.dashboard import (
    Overview,
    Placement,
    Todo,
    headline,
    plan,
    report_text,
    sort_todos,
    todo_texts,
    year_hours,
)
from portal.enrollment.models import Document, Enrolment, HoursEntry, School
from portal.enrollment.reference import Calendars, current_school_year, school_years

# The card lists the first eight to-dos; of each kind it reads no more than these, and counts the rest.
CARD_TODOS = 8


def company_panel(company_id: int, *, today: dt.date | None = None) -> Overview:
    """The card's overview, without a line per placement: the year's planned sessions are counted
    once per shared calendar, weekday and period, and only the placements with something to do are
    read. Its cost follows the to-dos and the year's days, not the ambassadors."""
    today = today or clock.today()
    years = school_years()                                                            # query 1
    year = current_school_year(today, years)
    overview = headline(company_id, year, years)                                     # queries 2 and 3
    planned_by_month: dict[dt.date, int] = defaultdict(int)
    if year is not None:    # else there are no school years, and so no placements
        calendars = Calendars([year])                                                 # query 4
        for *key, minutes_per_week in _PLANNED(company=company_id, year=year.id):    # query 5
            sessions = calendars.sessions(_Shared(*key))
            overview.planned_minutes += len(sessions) * int(minutes_per_week)
            plan(planned_by_month, sessions, int(minutes_per_week))
        overview.todos, overview.todo_counts = _card_todos(company_id, year, today)   # queries 6-10
        sort_todos(overview)
    year_hours(overview, company_id, planned_by_month)                               # query 11
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


_SHARED = (Enrolment.school_year, Enrolment.school, Enrolment.weekday, Enrolment.starts_on,
           Enrolment.ends_on, Enrolment.role_type)
# The year's minutes a week per group of placements with the same sessions.
_PLANNED = Prepared(lambda company, year: Enrolment.select(*_SHARED, fn.SUM(Enrolment.minutes_per_week))
                    .where((Enrolment.company == company) & (Enrolment.school_year == year)
                           & (Enrolment.status != "withdrawn"))
                    .group_by(*_SHARED).tuples())


_IN_PROGRESS = Enrolment.status.in_(OPEN_STATUSES)
_REQUESTED = Enrolment.vog_status == "requested"


def _flag(condition: peewee.Node) -> peewee.Node:
    return peewee.Case(None, [(condition, 1)], 0)


def _shown(company, year, year_ends) -> peewee.Expression:
    """The card's placements, those of `dashboard._shown` for the current year: the year's, later
    ones, and those of earlier years still in progress."""
    return (((Enrolment.school_year == year) | (Enrolment.starts_on > year_ends) | Enrolment.status.in_(OPEN_STATUSES))
            & (Enrolment.company == company))


def _open(company) -> peewee.Expression:
    """The company's placements in progress: all of them are among the card's (`_shown`), so a to-do
    that only a placement in progress can have is looked for among these alone (read through the
    (company, status) index, not among every placement of every year)."""
    return (Enrolment.company == company) & _IN_PROGRESS


def _first(shown: peewee.Expression, condition: peewee.Expression, urgent: peewee.Node, *extra: peewee.Node,
           joined=None) -> peewee.Query:
    """The first CARD_TODOS placements among `shown` meeting `condition`, as (id, urgent, count, *extra),
    in the to-dos' order; count is how many meet it (counted over the whole result before the limit)."""
    # Names in Python's order (by code point): SQLite's own; PostgreSQL's "C" collation, not the database's.
    name = Enrolment.employee_name if is_sqlite() else peewee.NodeList((Enrolment.employee_name, peewee.SQL('COLLATE "C"')))
    query = Enrolment.select(Enrolment.id, urgent, fn.COUNT(peewee.SQL("*")).over(), *extra)
    if joined is not None:
        query = query.join(joined, on=(joined.c.enrolment_id == Enrolment.id))
    return (query.where(shown & condition).order_by(urgent.desc(), Enrolment.starts_on, name, Enrolment.id)
            .limit(CARD_TODOS).tuples())


def _started(today) -> peewee.Expression:
    return (Enrolment.status == "matched") & (Enrolment.starts_on <= today)


# VOG: not asked or refused, or asked and not in while the start is two weeks away (urgent within a month).
_VOGS = Prepared(lambda company, soon, near: _first(
    _open(company),
    Enrolment.vog_status.in_(("not_requested", "refused")) | (_REQUESTED & (Enrolment.starts_on <= soon)),
    _flag(_REQUESTED | (Enrolment.starts_on <= near))))
# Documents: fewer than two uploaded before the intake is done.
_MISSING = Prepared(lambda company: _first(
    _open(company),
    Enrolment.status.in_(("submitted", "intake"))
    & (Document.select(fn.COUNT(Document.id)).where(Document.enrolment == Enrolment.id) < 2),
    _flag(False)))
# Start: matched and past its start date.
_STARTS = Prepared(lambda company, today: _first(_open(company), _started(today), _flag(False)))


def _reports(company, year, year_ends, today) -> peewee.Query:
    """Sessions to report: rejected, or planned and past (each read through the (company, status,
    day) index); a placement past its start and not yet started has that to-do instead (_todos' elif)."""
    mine = HoursEntry.company == company
    entries = (HoursEntry.select(HoursEntry.enrolment, HoursEntry.status).where(mine & (HoursEntry.status == "rejected"))
               + HoursEntry.select(HoursEntry.enrolment, HoursEntry.status)
               .where(mine & (HoursEntry.status == "planned") & (HoursEntry.worked_on <= today))).alias("entries")
    per_placement = (peewee.Select([entries], [
        entries.c.enrolment_id,
        fn.SUM(peewee.Case(None, [(entries.c.status == "rejected", 1)], 0)).alias("rejected"),
        fn.COUNT(peewee.SQL("*")).alias("to_report")]).group_by(entries.c.enrolment_id).alias("open_hours"))
    return _first(_shown(company, year, year_ends), ~_started(today), _flag((per_placement.c.rejected > 0) & _IN_PROGRESS),
                  per_placement.c.to_report, joined=per_placement)


_REPORTS = Prepared(_reports)


def _card_todos(company_id: int, year, today: dt.date) -> tuple[list[Todo], tuple[int, int]]:
    """The first CARD_TODOS to-dos of each kind among the card's placements, in the to-dos' order,
    and how many there are of HR's and of the others': the conditions of `dashboard._todos`, asked
    in SQL (a query a kind, and one for the placements named), so that a company with a thousand
    sessions to report reads eight of them."""
    texts = todo_texts()

    def first(rows) -> tuple[list[tuple], int]:
        rows = list(rows)
        return [(row[0], bool(row[1]), *row[3:]) for row in rows], (rows[0][2] if rows else 0)

    vogs, vog_count = first(_VOGS(company=company_id, soon=today + dt.timedelta(days=14),
                                  near=today + dt.timedelta(days=30)))
    missing, missing_count = first(_MISSING(company=company_id))
    starts, start_count = first(_STARTS(company=company_id, today=today))
    reports, report_count = first(_REPORTS(company=company_id, year=year.id, year_ends=year.ends_on, today=today))

    ids = {row[0] for found in (vogs, missing, starts, reports) for row in found}
    placements = {row[0]: Placement(*row) for row in Enrolment.select(*Placement.COLUMNS)
                  .join(School, peewee.JOIN.LEFT_OUTER, on=(Enrolment.school == School.id))
                  .where(Enrolment.id.in_(sorted(ids))).tuples()} if ids else {}
    todos = [Todo(placements[i], "vog", texts["vog_late"] if placements[i].vog_status == "requested"
                  else texts["vog_" + placements[i].vog_status], urgent) for i, urgent in vogs]
    todos += [Todo(placements[i], "documents", texts["documents"], who="employee") for i, _urgent in missing]
    todos += [Todo(placements[i], "start", texts["not_started"], who="leader") for i, _urgent in starts]
    todos += [Todo(placements[i], "hours", report_text(texts, int(to_report)), urgent)
              for i, urgent, to_report in reports]
    return todos, (vog_count + report_count, missing_count + start_count)
