"""Changes after issue: whether an issued statement still matches, and what differs.

Whether an issued statement still matches is read from change marks it keeps, not from its
contributions: every change of value posts to the books (portal.core.ledger) in its own
transaction, so a posting of the company, newer than the statement's mark (`ledger_mark()`) and
dated in its period, is a change it does not show; its SROI allocations are compared with its
`sroi_mark` (`flags_where()`). `changes()` lists the differences line by line, for a statement's
own page and for statements issued before marks existed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import peewee
from flask_babel import force_locale

from portal.core import ledger
from portal.core.contributions import WORD_FIELDS, Contribution, contributions, describe
from portal.core.db import database, is_sqlite, unindexed
from portal.core.prepared import Prepared
from portal.sroi.models import Allocation, Commitment
from portal.statements import snapshots, sroi
from portal.statements.models import Statement

# A change in any field a statement keeps matters; the words that name a line (WORD_FIELDS, and an SROI
# claim line's description) do not: their shape changed between snapshot versions, and a school
# renamed changes no figure.
CLAIM_WORD_FIELDS = ("description",)


@dataclass(frozen=True)
class LineChange:
    """One difference between an issued statement and the contributions as they are now."""

    change: str            # "added", "removed" or "changed"
    key: str
    kind: str
    before: dict | None
    after: dict | None
    sroi: bool = False      # a line of an SROI claim (allocated minutes or cents, and their value)
    named: dict | None = None   # the contribution line that names an SROI claim line, when known

    @property
    def fields(self) -> list[str]:
        if self.before is None or self.after is None:
            return []
        names = (self.before.keys() | self.after.keys()) - {*WORD_FIELDS, *IDENTITY_FIELDS, "contribution_key"}
        return sorted(name for name in names if self.before.get(name) != self.after.get(name))

    @property
    def description(self) -> str:
        """The contribution in words, in the language of the moment (any snapshot version)."""
        line = self.named or self.after or self.before or {}
        return describe(line)


def _identity(line: dict, prefix: str) -> str:
    # One source row may yield several contributions under one key (an hours entry with a
    # sponsored and a volunteered part), so a line is known by its kind and its key.
    return f"{prefix}{line['kind']}|{line['key']}"


# Who a line's ambassador is names the line, as her name does: snapshots before version 3 have
# no key, and a line (one hours row) never moves to another person.
IDENTITY_FIELDS = ("person_key",)


def _values(line: dict, words: tuple[str, ...]) -> dict:
    return {name: value for name, value in line.items() if name not in words and name not in IDENTITY_FIELDS}


def _compare(frozen: list[dict], current: list[dict], prefix: str = "", *, words: tuple[str, ...] = WORD_FIELDS,
             names: dict[tuple[str, str], dict] | None = None) -> list[LineChange]:
    before = {_identity(line, prefix): line for line in frozen}
    after = {_identity(line, prefix): line for line in current}
    found = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None and _values(old, words) == _values(new, words):
            continue
        line = new or old
        change = "added" if old is None else "removed" if new is None else "changed"
        named = None
        if names is not None:
            named = names.get((line["kind"], line.get("contribution_key") or line["key"]))
        found.append(LineChange(change, line["key"], line["kind"], old, new, sroi=names is not None, named=named))
    return found


def _claim_lines(claims: list[dict]) -> list[dict]:
    return [{**line, "key": f"{claim['commitment']}|{line['key']}", "contribution_key": line["key"]}
            for claim in claims for line in claim["lines"]]


def changes(statement: Statement, current: list[Contribution] | None = None,
            claims: list[sroi.SroiClaim] | None = None) -> list[LineChange]:
    """What differs between the statement's frozen lines and today's contributions and SROI claims
    of its period, line by line (a statement's own page; the flags use the change marks)."""
    snapshot = snapshots.snapshot_of(statement)
    if current is None:
        current = contributions(statement.company_id, statement.period_start, statement.period_end)
    lines = [snapshots.line_of(c) for c in current
             if c.company_id == statement.company_id and statement.period_start <= c.on <= statement.period_end]
    found = _compare(snapshot["lines"], lines, words=WORD_FIELDS)
    if claims is None:
        with force_locale(snapshot["language"]):
            claims = sroi.claims(statement.company_id, statement.period_start, statement.period_end)
    with force_locale(snapshot["language"]):
        current_claims = [snapshots.claim_of(claim) for claim in claims]
    # A claim line is named by its contribution's line (now, or as the statement kept it).
    names = {(line["kind"], line["key"]): line for line in [*snapshot["lines"], *lines]}
    found.extend(_compare(_claim_lines(snapshot["sroi"]), _claim_lines(current_claims), "sroi:",
                          words=CLAIM_WORD_FIELDS, names=names))
    return found


# --- change marks ----------------------------------------------------------------------------

def ledger_mark(company_id: int) -> int:
    """The company's last posting in the books, once every posting begun before now has committed.

    Postings take their ids when they start, not when they commit: on PostgreSQL a posting with
    a lower id can still be uncommitted while a higher one is visible, and a mark read then
    would hide it for ever. Each posting holds the books' lock shared until it commits; taking
    it exclusively for one read waits for those, and is let go at once (before this statement
    holds any row, so nothing waits on it in turn). SQLite's writers already run one at a time.
    """
    if is_sqlite():
        return ledger.last_posting_id(company_id)
    database.execute_sql("SELECT pg_advisory_lock(%s)", (ledger.LOCK_KEY,))
    try:
        return ledger.last_posting_id(company_id)
    finally:
        database.execute_sql("SELECT pg_advisory_unlock(%s)", (ledger.LOCK_KEY,))


@dataclass(frozen=True)
class Flag:
    """Why an issued statement needs a correction."""

    contributions: bool = False             # a change of value dated in its period was posted after issue
    sroi: bool = False                      # its period's SROI allocations (or their rules) changed after issue
    lines: tuple[LineChange, ...] = ()      # issued before change marks: its lines that differ now

    def reasons(self) -> list[str]:
        found = ["contributions changed"] if self.contributions else []
        found += ["SROI allocations changed"] if self.sroi else []
        found += [f"{len(self.lines)} changed line(s)"] if self.lines else []
        return found


# Up to this many statements are named in the query; more are read by their id range.
MAX_NAMED = 1000


def correction_flags(statements: Iterable[Statement]) -> dict[int, Flag]:
    """The issued statements among these that need a correction, in a fixed number of queries
    whatever their number (see flags_where)."""
    issued = [s for s in statements if s.status == "issued"]
    ids = sorted({s.id for s in issued})
    if not ids:
        return {}
    # Statements are found through the statement_marks index (status, company, marks, period: all
    # the flags read), never through their rows: on SQLite a read of a row walks its documents
    # (megabytes). The unary plus keeps SQLite's planner off the ids and the company's own index.
    companies = {s.company_id for s in issued}
    by_id = unindexed(Statement.id)

    def named(condition: peewee.Expression) -> peewee.Expression:
        return condition & _company_is(min(companies)) if len(companies) == 1 else condition

    if len(ids) <= MAX_NAMED:
        return flags_where(named(by_id.in_(ids)))
    wanted = set(ids)
    found = flags_where(named(by_id.between(ids[0], ids[-1])), wanted)
    return {statement_id: flag for statement_id, flag in found.items() if statement_id in wanted}


def flags_where(condition: peewee.Expression, wanted: set[int] | None = None) -> dict[int, Flag]:
    """The issued statements matching `condition` that no longer match the books, by id.

    A statement needs a correction when a posting of its company newer than its `ledger_mark` is
    dated inside its period (one EXISTS query for all of them), or when the SROI allocations of
    its period are no longer what its `sroi_mark` says (one GROUP BY query). A statement issued
    before marks existed is compared line by line, its period only, as it always was.

    Not seen: a change dated outside the period that alters what an allocation inside it may
    claim through its netting group (a person's hours, one payment and its refunds, first
    allocated first served); a statement's own page compares its claims in full. `wanted`, when
    given, limits the line-by-line comparison to those statements.
    """
    issued = (Statement.status == "issued") & condition
    return _flags(_changed(issued), _reallocated(issued) if sroi.uses_adapter() else (), _unmarked(issued), wanted)


def company_flags(company_id: int) -> dict[int, Flag]:
    """`correction_flags` of all the company's statements (its dashboard's card), by prepared queries."""
    return _flags(_COMPANY_CHANGED(company=company_id),
                  _COMPANY_REALLOCATED(company=company_id) if sroi.uses_adapter() else (),
                  _COMPANY_UNMARKED(company=company_id), None)


def _flags(changed: Iterable[tuple], reallocated: Iterable[tuple], unmarked: Iterable[Statement],
           wanted: set[int] | None) -> dict[int, Flag]:
    changed = {row[0] for row in changed}
    allocations = {row[0] for row in reallocated}
    flags = {statement_id: Flag(contributions=statement_id in changed, sroi=statement_id in allocations)
             for statement_id in changed | allocations}
    for statement in unmarked:
        if wanted is not None and statement.id not in wanted:
            continue
        found = changes(statement)
        if found:
            flags[statement.id] = Flag(lines=tuple(found))
    return flags


def _changed(issued: peewee.Expression) -> peewee.Query:
    """The marked statements with a posting of their company, newer than their mark, in their period."""
    posting = ledger.Posting
    # The company's postings newer than the mark are few, those of the period many: they are found
    # through the (company, id) index. SQLite's planner, without statistics, would walk the period
    # through the (company, dated_on) index; the unary plus keeps that index out of it.
    dated_on = unindexed(posting.dated_on)
    later = (posting.select(peewee.SQL("1"))
             .where((posting.company_id == Statement.company) & (posting.id > Statement.ledger_mark)
                    & dated_on.between(Statement.period_start, Statement.period_end)
                    & posting.kind.in_(ledger.CONTRIBUTION_KINDS)))
    return Statement.select(Statement.id).where(issued & Statement.ledger_mark.is_null(False) & peewee.fn.EXISTS(later)).tuples()


def _reallocated(issued: peewee.Expression) -> peewee.Query:
    """The statements whose period's SROI allocations are no longer what their mark says."""
    return (Statement.select(Statement.id)
            .join(Allocation, peewee.JOIN.LEFT_OUTER,
                  on=((Allocation.company == Statement.company)
                      & Allocation.contribution_on.between(Statement.period_start, Statement.period_end)))
            .join(Commitment, peewee.JOIN.LEFT_OUTER, on=(Commitment.id == Allocation.commitment))
            .where(issued & Statement.sroi_mark.is_null(False))
            .group_by(Statement.id, Statement.sroi_mark)
            .having(sroi.mark_expression() != Statement.sroi_mark).tuples())


def _unmarked(issued: peewee.Expression) -> peewee.Query:
    """The statements issued before marks existed, with what a line-by-line comparison reads."""
    return Statement.select(Statement.id, Statement.company, Statement.period_start, Statement.period_end,
                            Statement.snapshot).where(issued & Statement.ledger_mark.is_null())


def _company_is(company) -> peewee.Expression:
    """One company's statements, found through the statement_marks index (see correction_flags)."""
    return unindexed(Statement.company) == company


def _of_company(company) -> peewee.Expression:
    return (Statement.status == "issued") & _company_is(company)


_COMPANY_CHANGED = Prepared(lambda company: _changed(_of_company(company)))
_COMPANY_REALLOCATED = Prepared(lambda company: _reallocated(_of_company(company)))
_COMPANY_UNMARKED = Prepared(lambda company: _unmarked(_of_company(company)))


def needs_correction(statement: Statement) -> bool:
    """True when an issued statement no longer matches the contributions it lists."""
    return statement.status == "issued" and statement.id in correction_flags([statement])


def count_needing_correction() -> int:
    """How many issued statements need a correction (the leader's dashboard)."""
    return len(flags_where(Statement.id.is_null(False)))

