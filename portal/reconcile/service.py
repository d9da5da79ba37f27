"""The project leader's desk: bank import and matching, period close, totals, the attention
queue, the audit log and acting on behalf of a company user.

Service functions take plain arguments and return plain results; they never read
`flask.request`. Giving and enrolment are reached only through their service modules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import peewee
from flask import current_app
from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Company, CompanyIban, LoginSession, User
from portal.core import audit, clock, ledger, money
from portal.core.audit import AuditLog
from portal.core.contributions import KINDS, Contribution
from portal.core.db import atomic_write, database, utcnow
from portal.core.templating import current_language
from portal.reconcile import banks
from portal.reconcile.matching import (
    LineFacts,
    Match,
    OpenItem,
    OpenItems,
    outcome_of,
    rf_candidates,
)
from portal.reconcile.models import (
    BankLine,
    BankStatement,
    Correction,
    KnownIban,
    PeriodClose,
    StatementBalance,
    StripePayout,
)

INSERT_BATCH = 500
OPEN_ITEM_SOURCES = "portal.reconcile.open_item_sources"
SETTLERS = "portal.reconcile.settlers"


class ReconcileError(ValueError):
    """A refusal to show the project leader: str() is the translated message."""

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class PeriodClosed(ReconcileError):
    """The change falls in a closed period: only a correction may touch it."""


# --- periods ------------------------------------------------------------------------------

def _closed_months() -> set[dt.date]:
    return {row.month for row in ledger.closed_months()}


def _in_closed(on: dt.date, closed: set[dt.date]) -> bool:
    return ledger.month_of(on) in closed


def _refuse_if_closed(on: dt.date) -> None:
    if ledger.is_closed(on):
        raise PeriodClosed(_l("%(date)s lies in a closed period. Record a correction instead.", date=on.isoformat()))


def school_year_of(on: dt.date) -> str:
    """The school year a date belongs to, as '2026-2027' (years run from 1 August)."""
    first = on.year if on.month >= 8 else on.year - 1
    return f"{first}-{first + 1}"


def school_year_range(label: str) -> tuple[dt.date, dt.date]:
    match = re.fullmatch(r"(\d{4})-(\d{4})", label or "")
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise ReconcileError(_l("A school year is written as 2026-2027."))
    first = int(match.group(1))
    return dt.date(first, 8, 1), dt.date(first + 1, 7, 31)


def month_range(label: str) -> tuple[dt.date, dt.date]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", label or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ReconcileError(_l("A month is written as 2026-05."))
    start = dt.date(int(match.group(1)), int(match.group(2)), 1)
    following = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, following - dt.timedelta(days=1)


# --- open items ---------------------------------------------------------------------------

def register_open_item_source(app, source: Callable[[], Iterable[OpenItem]]) -> None:
    """Another capability (or a test) adds a function returning items that await a payment."""
    app.extensions.setdefault(OPEN_ITEM_SOURCES, []).append(source)


def register_settler(app, prefix: str, settle: Callable[..., str]) -> None:
    """settle(item, line, actor) -> settlement word, for items whose key starts with `prefix`."""
    app.extensions.setdefault(SETTLERS, {})[prefix] = settle


def _giving():
    try:
        from portal.giving import service as giving_service
    except ImportError:  # giving not installed in this build
        return None
    return giving_service


def _giving_open_requests() -> list[OpenItem]:
    """Pending payment requests, each for what is still to pay (a part paid already is off)."""
    giving = _giving()
    if giving is None:
        return []
    fetch = getattr(giving, "open_bank_requests", None)
    donations = fetch() if fetch else giving.desk().open_requests
    return [OpenItem(key=f"donation:{d.id}", kind="request",
                     amount_cents=getattr(d, "outstanding_cents", d.amount_cents), reference=d.reference or "",
                     company_id=d.company_id, label=f"{d.number} {d.donor_name}", aliases=(d.number,),
                     due_on=d.due_on, payer_name=getattr(d, "company_name", "") or d.donor_name)
            for d in donations]


def _payout_open_items() -> list[OpenItem]:
    return [OpenItem(key=f"payout:{p.payout_id}", kind="payout", amount_cents=p.amount_cents,
                     label=f"Stripe payout {p.payout_id}", aliases=(p.payout_id,), due_on=p.arrival_on)
            for p in StripePayout.select().where(StripePayout.bank_line.is_null() & (StripePayout.amount_cents > 0))]


def open_items() -> list[OpenItem]:
    items = _giving_open_requests() + _payout_open_items()
    for source in current_app.extensions.get(OPEN_ITEM_SOURCES, []):
        items.extend(source())
    return items


def known_ibans() -> dict[str, int | None]:
    """Payer accounts and their company: registered by the company in its profile, or learned from
    an earlier payment. An account that points to two companies points to none (None)."""
    found: dict[str, int | None] = {}
    for iban, company_id in CompanyIban.select(CompanyIban.iban, CompanyIban.company).tuples():
        found[iban] = company_id if found.get(iban, company_id) == company_id else None
    for iban, company_id in KnownIban.select(KnownIban.iban, KnownIban.company).tuples():
        if iban not in found:
            found[iban] = company_id
        elif found[iban] is not None and found[iban] != company_id:
            found[iban] = None
    return found


def open_index() -> OpenItems:
    return OpenItems(open_items(), known_ibans())


# Settlements after which the line's money is in giving's books: undone only by a correction.
MONEY_RECORDED = ("paid", "already_recorded", "part_recorded", "paid_with_surplus", "duplicate_payment",
                  "refund_recorded")


def _settle(item: OpenItem, line: BankLine, actor: User | None, keep_surplus: bool = False) -> str:
    prefix = item.key.split(":", 1)[0]
    custom = current_app.extensions.get(SETTLERS, {}).get(prefix)
    if custom is not None:
        return custom(item, line, actor)
    if prefix == "payout":
        payout_id = item.key.split(":", 1)[1]
        done = (StripePayout.update(bank_line=line.id)
                .where((StripePayout.payout_id == payout_id) & StripePayout.bank_line.is_null()).execute())
        return "payout_tied" if done else "payout_taken"
    if prefix == "donation":
        giving = _giving()
        if giving is None or not item.reference:
            return "unsupported"
        result = giving.record_bank_payment(item.reference, line.amount_cents, line.booked_on, actor, line.line_ref,
                                            keep_surplus=keep_surplus)
        return result.status
    return "unsupported"


def _line_facts(line: BankLine) -> LineFacts:
    return LineFacts(line.id, line.amount_cents, line.reference, line.counterparty_iban, line.counterparty_name,
                     line.description, line.end_to_end_id)


# --- import -------------------------------------------------------------------------------

@dataclass
class ImportResult:
    statement: BankStatement | None
    lines_total: int
    lines_new: int
    matched: int = 0
    format: str = ""
    continuity: list = field(default_factory=list)   # gaps and overlaps with the account's other statements
    breaks: list[dict] = field(default_factory=list)  # the same as facts, to store and render later
    earlier: BankStatement | None = None              # this file, or each of its statements, came in then

    @property
    def duplicate(self) -> bool:
        return self.lines_new == 0


def max_upload_bytes() -> int:
    return int(current_app.config.get("RECONCILE_MAX_UPLOAD_MB") or 10) * 1024 * 1024


def file_imported_before(data: bytes) -> BankStatement | None:
    """The statement this very file (the same bytes) was imported as, if it was."""
    return file_hash_imported_before(hashlib.sha256(data).hexdigest())


def file_hash_imported_before(sha: str) -> BankStatement | None:
    return BankStatement.select().where(BankStatement.sha256 == sha).order_by(BankStatement.id).first()


def imported_before_message(earlier: BankStatement):
    """Why a file added nothing: it, or each of its statements, came in with an earlier import."""
    return _l("This statement was imported before, on %(date)s (%(filename)s): nothing was added.",
              date=format_date(earlier.imported_at, "medium"), filename=earlier.filename or "?")


def statements_imported_before(heads: list[banks.StatementHead] | None) -> BankStatement | None:
    """The earlier import that holds every statement of a file (the same account, opening and
    closing balance and dates, as an export downloaded again gives them), or None."""
    if not heads:
        return None
    first: int | None = None
    for head in heads:
        same = ((StatementBalance.account_iban == head.account_iban[:34])
                & (StatementBalance.opening_cents == head.opening_cents)
                & (StatementBalance.closing_cents == head.closing_cents)
                & (StatementBalance.opening_on.is_null() if head.opening_on is None
                   else StatementBalance.opening_on == head.opening_on)
                & (StatementBalance.closing_on.is_null() if head.closing_on is None
                   else StatementBalance.closing_on == head.closing_on))
        found = StatementBalance.select(StatementBalance.statement).where(same).order_by(StatementBalance.id).first()
        if found is None:
            return None
        first = found.statement_id if first is None else min(first, found.statement_id)
    return BankStatement.get_or_none(BankStatement.id == first)


def import_statement(data: bytes, *, filename: str = "", actor: User | None = None, fmt: str = "auto",
                     encoding: str = "utf-8", match: bool = True, max_bytes: int | None = -1) -> ImportResult:
    """Parse and store a bank statement; lines already imported are skipped, new ones matched.

    A file imported before (the same bytes, or statements with the same account, balances and
    dates) is known before its transactions are read, and adds nothing. Raises
    banks.StatementError (nothing stored) when the file cannot be read.
    """
    limit = max_upload_bytes() if max_bytes == -1 else max_bytes
    opened = banks.open_statement(data, fmt=fmt, encoding=encoding, max_bytes=limit)
    sha = hashlib.sha256(data).hexdigest()
    earlier = file_hash_imported_before(sha) or statements_imported_before(opened.heads())
    if earlier is not None:
        return ImportResult(None, 0, 0, format=opened.format, earlier=earlier)
    parsed = opened.parse()
    return _store_statement(parsed, sha=sha, filename=filename, actor=actor, match=match)


def _known_fingerprints(fingerprints: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(fingerprints), INSERT_BATCH):
        chunk = fingerprints[start:start + INSERT_BATCH]
        known.update(row[0] for row in BankLine.select(BankLine.fingerprint)
                     .where(BankLine.fingerprint.in_(chunk)).tuples())
    return known


_LINE_FIELDS = (BankLine.statement, BankLine.fingerprint, BankLine.booked_on, BankLine.value_on,
                BankLine.amount_cents, BankLine.currency, BankLine.counterparty_iban, BankLine.counterparty_name,
                BankLine.description, BankLine.reference, BankLine.end_to_end_id, BankLine.bank_ref,
                BankLine.status, BankLine.match_method, BankLine.target, BankLine.company, BankLine.expected_cents,
                BankLine.outcome, BankLine.matched_by, BankLine.matched_at, BankLine.settlement, BankLine.note)


_LINE_NAMES = tuple(f.name for f in _LINE_FIELDS)


def _line_row(statement_id: int, line: banks.ParsedLine, match: Match | None, actor_id, now) -> tuple:
    facts = (statement_id, line.fingerprint, line.booked_on, line.value_on, line.amount_cents, line.currency[:3],
             line.counterparty_iban[:34], line.counterparty_name[:200], line.description, line.reference[:140],
             line.end_to_end_id[:140], line.bank_ref[:140])
    if match is None:
        return facts + ("unmatched", "", "", None, None, "", None, None, "", "")
    return facts + ("matched", match.method, match.item.key, match.item.company_id, match.expected_cents,
                    match.outcome, actor_id, now, "", "")


def _insert_lines(rows: list[tuple]) -> None:
    """Insert rows of _LINE_FIELDS in chunks, in the caller's transaction. The statement is
    insert_many's, run by the driver once per row (executemany): peewee building the SQL of 100,000
    rows value by value cost more than parsing the file."""
    # Only a fingerprint already stored is skipped (not SQLite's INSERT OR IGNORE, which would also
    # drop a row that breaks a CHECK, silently).
    sql, params = (BankLine.insert_many(rows[:1], fields=_LINE_FIELDS)
                   .on_conflict(conflict_target=[BankLine.fingerprint], action="NOTHING").sql())
    if len(params) != len(_LINE_FIELDS):
        raise RuntimeError("BankLine has a column the bulk insert does not name")
    cursor = database.cursor()
    for start in range(0, len(rows), INSERT_BATCH):
        cursor.executemany(sql, rows[start:start + INSERT_BATCH])


def _stored_line(line_id: int, statement_id: int, line: banks.ParsedLine, match: Match | None) -> BankLine:
    """The row just inserted, as a model (for the settlers), without reading it back. Its values are
    set as peewee keeps them (field name -> value, a foreign key as its id): setting them one by one
    through the model cost a third of storing 100,000 lines."""
    stored = BankLine(__no_default__=True)
    stored.__data__.update(dict(zip(_LINE_NAMES, _line_row(statement_id, line, match, None, None), strict=True)),
                           id=line_id)
    return stored


def id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Ids as [first, last] runs ([[7, 9], [12, 12]] for 7, 8, 9, 12): the audit row of an import
    names every line it added without growing by a number per line when they are consecutive."""
    runs: list[list[int]] = []
    for line_id in sorted(ids):
        if runs and runs[-1][1] + 1 == line_id:
            runs[-1][1] = line_id
        else:
            runs.append([line_id, line_id])
    return runs


def _store_statement(parsed: banks.ParsedStatement, *, sha: str, filename: str, actor: User | None,
                     match: bool) -> ImportResult:
    """Store the new lines of a parsed file in one transaction, matched in memory beforehand, with
    one audit row for the import. Lines in a closed month are stored unmatched, as auto_match does."""
    lines = [line for line in parsed.lines if line.amount_cents != 0]
    known = _known_fingerprints([line.fingerprint for line in lines])
    new = [line for line in lines if line.fingerprint not in known]
    if not new:
        # The same statement again: nothing new, so no statement row either.
        return ImportResult(None, len(lines), 0, format=parsed.format)
    closed = _closed_months()
    open_lines = [i for i, line in enumerate(new) if not _in_closed(line.booked_on, closed)]
    matches: dict[int, Match] = {}
    if match and any(new[i].amount_cents > 0 for i in open_lines):
        index = open_index()
        found = index.match(LineFacts(i, new[i].amount_cents, new[i].reference, new[i].counterparty_iban,
                                      new[i].counterparty_name, new[i].description, new[i].end_to_end_id)
                            for i in open_lines if new[i].amount_cents > 0)
        matches = {m.line_id: m for m in found}
    actor_id = getattr(actor, "id", actor)
    now = utcnow()
    with atomic_write():
        statement = BankStatement.create(format=parsed.format, account_iban=parsed.account_iban[:34],
                                         number=parsed.number[:100], filename=(filename or "")[:255], sha256=sha,
                                         imported_by=actor_id)
        _insert_lines([_line_row(statement.id, line, matches.get(i), actor_id, now) for i, line in enumerate(new)])
        ids = dict(BankLine.select(BankLine.fingerprint, BankLine.id).where(BankLine.statement == statement.id)
                   .tuples())
        if not ids:
            # Another import stored these lines a moment ago.
            statement.delete_instance()
            return ImportResult(None, len(lines), 0, format=parsed.format)
        BankStatement.update(line_count=len(ids)).where(BankStatement.id == statement.id).execute()
        statement.line_count = len(ids)
        matched = _settle_new_lines(statement.id, new, matches, ids, actor)
        breaks = _store_balances(statement, parsed)
        methods: dict[str, int] = defaultdict(int)
        for i in matched:
            methods[matches[i].method] += 1
        audit.record("reconcile.statement_imported", actor=actor, obj=statement, format=parsed.format,
                     filename=filename, sha256=sha, lines=len(lines), new=len(ids), account=parsed.account_iban,
                     continuity=breaks, line_ids=id_ranges(ids.values()), matched=len(matched),
                     matched_ids=id_ranges(ids[new[i].fingerprint] for i in matched), methods=dict(methods))
    result = ImportResult(statement, len(lines), len(ids), len(matched), format=parsed.format,
                          continuity=[continuity_message(found) for found in breaks], breaks=breaks)
    if match:
        taken = set(matches)
        rest = [_stored_line(ids[new[i].fingerprint], statement.id, new[i], None) for i in open_lines
                if i not in taken and new[i].fingerprint in ids
                and (new[i].amount_cents > 0 or new[i].reference)
                and rf_candidates(new[i].reference, new[i].description, new[i].end_to_end_id)]
        if rest:
            result.matched += _record_settled_requests(rest, actor)
    return result


def _settle_new_lines(statement_id: int, new: list[banks.ParsedLine], matches: dict[int, Match],
                      ids: dict[str, int], actor: User | None) -> list[int]:
    """Settle each line stored matched (giving records the payment, a payout is tied); the settlements
    are written per kind in bulk, payer accounts learned in one go. The indexes of the settled lines."""
    settled: list[int] = []
    by_settlement: dict[str, list[int]] = defaultdict(list)
    learned: dict[str, int] = {}
    for i, found in matches.items():
        line_id = ids.get(new[i].fingerprint)
        if line_id is None:
            continue  # stored by another import a moment ago, matched there
        line = _stored_line(line_id, statement_id, new[i], found)
        by_settlement[_settle(found.item, line, actor)[:30]].append(line_id)
        if line.counterparty_iban and found.item.company_id is not None and found.item.kind == "request":
            learned.setdefault(line.counterparty_iban, found.item.company_id)
        settled.append(i)
    for settlement, line_ids in by_settlement.items():
        for start in range(0, len(line_ids), INSERT_BATCH):
            BankLine.update(settlement=settlement).where(BankLine.id.in_(line_ids[start:start + INSERT_BATCH])).execute()
    rows = [(iban, company_id, utcnow()) for iban, company_id in learned.items()]
    for start in range(0, len(rows), INSERT_BATCH):
        KnownIban.insert_many(rows[start:start + INSERT_BATCH], fields=(KnownIban.iban, KnownIban.company,
                                                                        KnownIban.learned_at)).on_conflict_ignore().execute()
    return settled


def _store_balances(statement: BankStatement, parsed: banks.ParsedStatement) -> list[dict]:
    """Keep each account's opening and closing balance of the file, and say where it does not
    follow on from the account's statements before or after it (a gap or an overlap)."""
    messages: list[dict] = []
    for part in parsed.parts:
        if part.opening_cents is None or part.closing_cents is None or not part.account_iban:
            continue
        account = part.account_iban[:34]
        same = StatementBalance.select().where(
            (StatementBalance.account_iban == account) & (StatementBalance.opening_cents == part.opening_cents)
            & (StatementBalance.closing_cents == part.closing_cents) & (StatementBalance.opening_on == part.opening_on)
            & (StatementBalance.closing_on == part.closing_on))
        if same.exists():
            continue   # this statement came before, in another file
        of_account = StatementBalance.select().where((StatementBalance.account_iban == account)
                                                     & StatementBalance.closing_on.is_null(False))
        if part.closing_on is not None:
            before = (of_account.where(StatementBalance.closing_on <= part.closing_on)
                      .order_by(StatementBalance.closing_on.desc(), StatementBalance.id.desc()).first())
            after = (of_account.where(StatementBalance.closing_on > part.closing_on)
                     .order_by(StatementBalance.closing_on, StatementBalance.id).first())
            if before is not None:
                messages.extend(_follows(before, part, account))
            if after is not None:
                messages.extend(_follows(part, after, account))
        StatementBalance.create(statement=statement.id, account_iban=account, number=part.number[:100],
                                opening_cents=part.opening_cents, closing_cents=part.closing_cents,
                                opening_on=part.opening_on, closing_on=part.closing_on)
    return messages


def _follows(earlier, later, account: str) -> list[dict]:
    """The break when `later` does not open where `earlier` closed (either is a stored
    StatementBalance or a parsed part: both have the same fields), as facts."""
    overlap = bool(later.opening_on and earlier.closing_on and later.opening_on < earlier.closing_on)
    if earlier.closing_cents == later.opening_cents and not overlap:
        return []
    return [{"kind": "overlap" if overlap else "gap", "account": account, "earlier": earlier.number or "?",
             "later": later.number or "?", "closing_cents": earlier.closing_cents,
             "closed_on": earlier.closing_on.isoformat() if earlier.closing_on else "?",
             "opening_cents": later.opening_cents,
             "opened_on": later.opening_on.isoformat() if later.opening_on else "?"}]


def continuity_message(found: dict):
    """A gap or an overlap between two statements of an account, in the reader's language."""
    language = current_language()
    facts = {key: found[key] for key in ("account", "earlier", "later", "closed_on", "opened_on")}
    facts.update(closing=money.format_eur(found["closing_cents"], language),
                 opening=money.format_eur(found["opening_cents"], language))
    if found["kind"] == "overlap":
        return _l("Statements %(earlier)s and %(later)s of %(account)s overlap: %(later)s opens on %(opened_on)s "
                  "at %(opening)s, before %(earlier)s closed on %(closed_on)s at %(closing)s. Lines already "
                  "imported were skipped; check that none is missing or counted twice.", **facts)
    return _l("Statement %(later)s of %(account)s opens at %(opening)s (%(opened_on)s), but statement "
              "%(earlier)s closed at %(closing)s (%(closed_on)s): a statement between them is missing. "
              "Import it so that no payment is overlooked.", **facts)


# --- matching -----------------------------------------------------------------------------

def auto_match(actor: User | None = None, *, statement_id: int | None = None, index: OpenItems | None = None) -> int:
    """Match unmatched credit lines (of one statement, or all) against the open items; then a
    transfer naming a request already paid is recorded as a duplicate payment (a surplus), and a
    debit naming a request with a surplus as its refund."""
    query = BankLine.select().where((BankLine.status == "unmatched")
                                    & ((BankLine.amount_cents > 0) | (BankLine.reference != "")))
    if statement_id is not None:
        query = query.where(BankLine.statement == statement_id)
    closed = _closed_months()
    lines = {line.id: line for line in query.order_by(BankLine.booked_on, BankLine.id)
             if not _in_closed(line.booked_on, closed)}
    if not lines:
        return 0
    index = index or open_index()
    matches = index.match(_line_facts(line) for line in lines.values() if line.amount_cents > 0)
    recorded = _record_matches(matches, lines, actor)
    taken = {match.line_id for match in matches}
    return recorded + _record_settled_requests([line for line in lines.values() if line.id not in taken], actor)


def _line_reference(line: BankLine) -> str:
    found = rf_candidates(line.reference, line.description, line.end_to_end_id)
    return found[0] if found else ""


def _record_settled_requests(lines: list[BankLine], actor: User | None) -> int:
    """Lines whose RF reference names a payment request that is no longer open: a credit is a
    duplicate payment, a debit may be the refund of a surplus."""
    giving = _giving()
    if giving is None or not hasattr(giving, "bank_request"):
        return 0
    recorded = 0
    for line in lines:
        reference = _line_reference(line)
        donation = giving.bank_request(reference) if reference else None
        if donation is None:
            continue
        if line.amount_cents > 0 and donation.status == "paid":
            recorded += _match_to_request(line, donation, actor, method="reference") is not None
        elif line.amount_cents < 0 and giving.bank_balance(donation).surplus_cents > 0:
            recorded += _match_to_request(line, donation, actor, method="reference") is not None
    return recorded


def _match_to_request(line: BankLine, donation, actor: User | None, *, method: str, note: str = "",
                      keep_surplus: bool = False) -> str | None:
    """Record a line for a payment request outside the open items (already paid: a duplicate
    payment; a debit: a refund of its surplus). The settlement, or None when giving refused it
    (an issue is open then) and the line stays unmatched."""
    giving = _giving()
    with atomic_write():
        if line.amount_cents > 0:
            result = giving.record_bank_payment(donation.reference, line.amount_cents, line.booked_on, actor,
                                                line.line_ref, keep_surplus=keep_surplus)
            expected, outcome = 0, "over"
        else:
            result = giving.record_bank_refund(donation.reference, -line.amount_cents, line.booked_on, actor,
                                               line.line_ref)
            expected, outcome = line.amount_cents, "exact"
        if result.status not in MONEY_RECORDED:
            return None
        moved = (BankLine.update(status="matched", match_method=method, target=f"donation:{donation.id}",
                                 company=donation.company_id, expected_cents=expected, outcome=outcome,
                                 settlement=result.status[:30], note=(note or "")[:1000],
                                 matched_by=getattr(actor, "id", actor), matched_at=utcnow())
                 .where((BankLine.id == line.id) & (BankLine.status == "unmatched")).execute())
        if not moved:
            raise ReconcileError(_l("This line was matched a moment ago."))
        audit.record("reconcile.line_matched", actor=actor, company=donation.company_id, obj=line,
                     target=f"donation:{donation.id}", method=method, outcome=outcome,
                     amount_cents=line.amount_cents, expected_cents=expected, settlement=result.status, note=note)
    return result.status


MATCH_BATCH = 500


def _record_matches(matches: list[Match], lines: dict[int, BankLine], actor: User | None) -> int:
    """Store matches in batches: each match with its settlement and audit row, all or nothing per batch."""
    recorded = 0
    now = utcnow()
    for start in range(0, len(matches), MATCH_BATCH):
        with atomic_write():
            for match in matches[start:start + MATCH_BATCH]:
                line = lines[match.line_id]
                moved = (BankLine.update(status="matched", match_method=match.method, target=match.item.key,
                                         company=match.item.company_id, expected_cents=match.expected_cents,
                                         outcome=match.outcome, matched_by=getattr(actor, "id", actor), matched_at=now)
                         .where((BankLine.id == line.id) & (BankLine.status == "unmatched")).execute())
                if not moved:
                    continue
                settlement = _settle(match.item, line, actor)
                BankLine.update(settlement=settlement[:30]).where(BankLine.id == line.id).execute()
                _learn_iban(line, match.item)
                audit.record("reconcile.line_matched", actor=actor, company=match.item.company_id, obj=line,
                             target=match.item.key, method=match.method, outcome=match.outcome,
                             amount_cents=line.amount_cents, expected_cents=match.expected_cents,
                             settlement=settlement)
                recorded += 1
    return recorded


def _learn_iban(line: BankLine, item: OpenItem) -> None:
    if line.counterparty_iban and item.company_id is not None and item.kind == "request":
        KnownIban.insert(iban=line.counterparty_iban, company=item.company_id).on_conflict_ignore().execute()


def _line_for_change(line_id: int) -> BankLine:
    line = BankLine.get_or_none(BankLine.id == line_id)
    if line is None:
        raise ReconcileError(_l("This bank line does not exist."))
    _refuse_if_closed(line.booked_on)
    return line


def match_line(line_id: int, target: str, actor: User, note: str = "", keep_surplus: bool = False) -> BankLine:
    """Match one line by hand to an open item named by key, reference, number or payout id. As on
    import: less than the request is a part payment, more settles it with a surplus to refund (or
    to keep, `keep_surplus`, when the company agreed); a request already paid takes the line as a
    duplicate payment, and a debit naming a request with a surplus is its refund."""
    line = _line_for_change(line_id)
    if line.status != "unmatched":
        raise ReconcileError(_l("This line is already matched or set aside."))
    index = open_index()
    item = index.lookup(target) if line.amount_cents > 0 else None
    if item is None:
        giving = _giving()
        donation = giving.bank_request(_typed_reference(target, index)) if giving is not None else None
        if donation is not None and (line.amount_cents < 0 or donation.status == "paid"):
            if line.amount_cents < 0 and giving.bank_balance(donation).surplus_cents < -line.amount_cents:
                raise ReconcileError(_l("%(number)s has no surplus of %(amount)s to refund.", number=donation.number,
                                        amount=money.format_eur(-line.amount_cents, current_language())))
            if _match_to_request(line, donation, actor, method="manual", note=note, keep_surplus=keep_surplus) is None:
                raise ReconcileError(_l("%(number)s cannot take this line; an issue is open for it.",
                                        number=donation.number))
            return BankLine.get_by_id(line.id)
        if line.amount_cents <= 0:
            raise ReconcileError(_l("Money paid out matches only the refund of a surplus: name its request's reference."))
        raise ReconcileError(_l("No open item answers to %(target)s.", target=(target or "")[:60]))
    match = Match(line.id, item, "manual", outcome_of(line.amount_cents, item.amount_cents), item.amount_cents)
    with atomic_write():
        moved = (BankLine.update(status="matched", match_method="manual", target=item.key, company=item.company_id,
                                 expected_cents=item.amount_cents, outcome=match.outcome, note=(note or "")[:1000],
                                 matched_by=actor.id, matched_at=utcnow())
                 .where((BankLine.id == line.id) & (BankLine.status == "unmatched")).execute())
        if not moved:
            raise ReconcileError(_l("This line was matched a moment ago."))
        settlement = _settle(item, line, actor, keep_surplus=keep_surplus)
        BankLine.update(settlement=settlement[:30]).where(BankLine.id == line.id).execute()
        _learn_iban(line, item)
        audit.record("reconcile.line_matched", actor=actor, company=item.company_id, obj=line, target=item.key,
                     method="manual", outcome=match.outcome, amount_cents=line.amount_cents,
                     expected_cents=item.amount_cents, settlement=settlement, note=note)
    return BankLine.get_by_id(line.id)


def _typed_reference(target: str, index: OpenItems) -> str:
    """The RF reference a person typed (compact or in groups), or the reference of the request
    whose number (G-000123) was typed."""
    text = (target or "").strip()
    found = rf_candidates(text)
    if found:
        return found[0]
    if text.startswith("donation:") or re.fullmatch(r"G-\d+", text, re.IGNORECASE):
        giving = _giving()
        digits = re.sub(r"\D", "", text)
        donation = giving.Donation.get_or_none(giving.Donation.id == int(digits)) if digits and giving else None
        return donation.reference or "" if donation is not None and donation.method == "bank" else ""
    return ""


def unmatch_line(line_id: int, actor: User, reason: str) -> BankLine:
    """Undo a match made by mistake: the line waits in the queue again. Money the match recorded in
    giving's books (a payment, a part, a duplicate, a refund) is taken back through giving, which
    posts the reversal to the ledger dated as the original: in a closed month the ledger books it
    in the first open month. Refused when later money of the same request depends on it."""
    reason = (reason or "").strip()
    if not reason:
        raise ReconcileError(_l("Say why the match is undone."))
    line = BankLine.get_or_none(BankLine.id == line_id)
    if line is None:
        raise ReconcileError(_l("This bank line does not exist."))
    if line.status != "matched":
        raise ReconcileError(_l("This line is not matched."))
    giving = _giving() if line.settlement in MONEY_RECORDED else None
    if line.settlement in MONEY_RECORDED and giving is None:
        raise ReconcileError(_l("This line paid %(target)s; record a correction instead.", target=line.target))
    with atomic_write():
        moved = (BankLine.update(status="unmatched", match_method="", target="", company=None, expected_cents=None,
                                 outcome="", settlement="", matched_by=None, matched_at=None)
                 .where((BankLine.id == line.id) & (BankLine.status == "matched")).execute())
        if not moved:
            raise ReconcileError(_l("This line was changed a moment ago."))
        undone = ""
        if giving is not None:
            try:
                undone = giving.undo_bank_line(line.line_ref, actor, reason).status
            except giving.GivingError as error:
                raise ReconcileError(error.message) from error
        if line.target.startswith("payout:"):
            StripePayout.update(bank_line=None).where(StripePayout.bank_line == line.id).execute()
        audit.record("reconcile.line_unmatched", actor=actor, company=line.company_id, obj=line, target=line.target,
                     method=line.match_method, settlement=line.settlement, giving=undone, reason=reason)
    return BankLine.get_by_id(line.id)


def not_undoable(lines: Iterable[BankLine]) -> set[int]:
    """Of these matched lines, the ones whose match unmatch_line would refuse to undo (later money of
    the same request depends on it), so the page can say so instead of offering the button."""
    giving = _giving()
    recorded = {line.line_ref: line.id for line in lines if line.settlement in MONEY_RECORDED}
    if not recorded:
        return set()
    if giving is None or not hasattr(giving, "bank_lines_not_undoable"):
        return set(recorded.values())
    return {recorded[ref] for ref in giving.bank_lines_not_undoable(recorded)}


def ignore_line(line_id: int, actor: User, reason: str) -> BankLine:
    """Set a line aside (bank costs, a transfer between own accounts) with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ReconcileError(_l("Say why the line needs no match."))
    line = _line_for_change(line_id)
    with atomic_write():
        moved = (BankLine.update(status="ignored", note=reason[:1000], matched_by=actor.id, matched_at=utcnow())
                 .where((BankLine.id == line.id) & (BankLine.status == "unmatched")).execute())
        if not moved:
            raise ReconcileError(_l("Only an unmatched line can be set aside."))
        audit.record("reconcile.line_ignored", actor=actor, obj=line, reason=reason, amount_cents=line.amount_cents)
    return BankLine.get_by_id(line.id)


def restore_line(line_id: int, actor: User) -> BankLine:
    line = _line_for_change(line_id)
    with atomic_write():
        moved = (BankLine.update(status="unmatched", note="", matched_by=None, matched_at=None)
                 .where((BankLine.id == line.id) & (BankLine.status == "ignored")).execute())
        if not moved:
            raise ReconcileError(_l("Only a line set aside can be brought back."))
        audit.record("reconcile.line_restored", actor=actor, obj=line)
    return BankLine.get_by_id(line.id)


@dataclass
class PastedResult:
    reference: str
    status: str          # paid, matched_line, unknown_reference, amount_mismatch, invalid, ...
    target: str = ""


def mark_references_paid(text: str, actor: User, paid_on: dt.date) -> list[PastedResult]:
    """Mark a pasted list of references paid: one per line, optionally followed by an amount.

    Where an unmatched bank line carries the reference it is matched to it; otherwise the
    request is recorded paid on `paid_on` for its full amount.
    """
    _refuse_if_closed(paid_on)
    entries = [raw.strip() for raw in re.split(r"[\r\n,;]+", text or "") if raw.strip()]
    if not entries:
        raise ReconcileError(_l("Paste at least one reference."))
    if len(entries) > 1000:
        raise ReconcileError(_l("Paste at most 1,000 references at a time."))
    index = open_index()
    results: list[PastedResult] = []
    for entry in entries:
        reference = banks.clean_reference(entry.split()[0] if entry.split() else entry)
        if not entry.upper().startswith("RF") or not reference.startswith("RF"):
            item = index.lookup(entry.split()[0])
        else:
            item = index.by_ref.get(reference)
        if item is None:
            results.append(PastedResult(entry[:60], "unknown_reference"))
            continue
        line = (BankLine.select().where((BankLine.reference == item.reference) & (BankLine.status == "unmatched")
                                        & (BankLine.amount_cents > 0)).first() if item.reference else None)
        if line is not None and not ledger.is_closed(line.booked_on):
            line = match_line(line.id, item.key, actor, note="pasted")
            results.append(PastedResult(entry[:60], f"line:{line.settlement}", item.key))
            continue
        if item.kind != "request" or not item.reference:
            results.append(PastedResult(entry[:60], "unsupported", item.key))
            continue
        giving = _giving()
        outcome = giving.mark_paid_by_bank(item.reference, item.amount_cents - item.matched_cents, paid_on, actor,
                                           f"pasted:{item.reference}:{paid_on.isoformat()}")
        results.append(PastedResult(entry[:60], outcome.status, item.key))
    with atomic_write():
        audit.record("reconcile.references_pasted", actor=actor, paid_on=paid_on.isoformat(),
                     results={r.reference: r.status for r in results})
    return results


# --- surpluses: paid beyond the request ----------------------------------------------------

@dataclass
class Surplus:
    donation: Any
    company: str
    received_cents: int
    surplus_cents: int
    refunded_cents: int


def surpluses() -> list[Surplus]:
    """Requests paid beyond what they asked, with what is still to refund or keep."""
    giving = _giving()
    if giving is None:
        return []
    found = giving.surplus_requests()
    names = dict(Company.select(Company.id, Company.legal_name)
                 .where(Company.id.in_({d.company_id for d, _b in found if d.company_id})).tuples()) if found else {}
    # A request paid exactly before a duplicate arrived holds that first payment outside its parts.
    return [Surplus(d, names.get(d.company_id, d.donor_name),
                    b.received_cents + (d.amount_cents if b.parts_cents == 0 and d.status == "paid" else 0),
                    b.surplus_cents, b.refunded_cents) for d, b in found]


def keep_surplus(donation_id: int, actor: User) -> None:
    """The company agreed that its surplus stays as a gift: giving counts it (and posts it)."""
    giving = _giving()
    try:
        giving.keep_surplus(donation_id, actor)
    except giving.GivingError as error:
        raise ReconcileError(error.message) from error


# --- the queue ----------------------------------------------------------------------------

@dataclass
class Candidate:
    """An open item offered for a bank line, with why it is offered (codes, worded by the page)."""

    item: OpenItem
    reasons: tuple[str, ...] = ()    # "reference", "amount", "account", "name"
    company: str = ""

    @property
    def remaining_cents(self) -> int:
        return self.item.amount_cents - self.item.matched_cents


@dataclass
class QueueLine:
    line: BankLine
    suggestions: list[OpenItem]
    closed: bool
    candidates: list[Candidate] = field(default_factory=list)


def _reasons(line: BankLine, item: OpenItem, known: dict[str, int | None]) -> tuple[str, ...]:
    from portal.reconcile.matching import name_likeness

    found = []
    if item.reference and item.reference.upper() in {r.upper() for r in rf_candidates(
            line.reference, line.description, line.end_to_end_id)}:
        found.append("reference")
    if item.amount_cents - item.matched_cents == abs(line.amount_cents):
        found.append("amount")
    company = known.get(line.counterparty_iban) if line.counterparty_iban else None
    if company is not None and item.company_id == company:
        found.append("account")
    if line.counterparty_name and item.payer_name and name_likeness(line.counterparty_name, item.payer_name) >= 0.6:
        found.append("name")
    return tuple(found)


def _candidate(line: BankLine, item: OpenItem, index: OpenItems) -> Candidate:
    return Candidate(item, _reasons(line, item, index.known_ibans), item.payer_name)


def line_queue(status: str = "unmatched", *, credits_only: bool = False, limit: int = 100,
               offset: int = 0) -> tuple[list[QueueLine], int]:
    """The lines of the queue, newest first; an unmatched credit comes with its best candidates."""
    query = BankLine.select().where(BankLine.status == status)
    if credits_only:
        query = query.where(BankLine.amount_cents > 0)
    total = query.count()
    rows = list(query.order_by(BankLine.booked_on.desc(), BankLine.id.desc()).limit(limit).offset(offset))
    index = open_index() if status == "unmatched" and rows else None
    closed = _closed_months()
    found = []
    for line in rows:
        suggestions = index.suggestions(_line_facts(line)) if index and line.amount_cents > 0 else []
        found.append(QueueLine(line, suggestions, _in_closed(line.booked_on, closed),
                               [_candidate(line, item, index) for item in suggestions]))
    return found, total


SEARCH_LIMIT = 10


def search_open_items(line_id: int, text: str, limit: int = SEARCH_LIMIT) -> list[Candidate]:
    """Open items for a line that a person looks for by number (G-000123), RF reference, company name
    or amount ("250", "1.234,56"): each word must fit; the same amount as the line ranks first."""
    line = BankLine.get_or_none(BankLine.id == line_id)
    words = (text or "").strip().lower().split()[:6]
    if line is None or not words:
        return []
    index = open_index()
    compact = "".join(words).upper()

    def amount_of(word: str) -> int | None:
        try:
            return money.parse_cents(word)
        except money.AmountError:
            return None

    amounts = {word: amount_of(word) for word in words}
    found = []
    for item in index.by_key.values():
        if item.matched_cents >= item.amount_cents:
            continue
        haystack = " ".join((item.label, item.payer_name, item.key, *item.aliases)).lower()
        reference = (item.reference or "").upper()
        fits = bool(reference) and len(compact) >= 4 and compact in reference
        if not fits:
            fits = all(word in haystack or (amounts[word] is not None and amounts[word] == item.amount_cents)
                       for word in words)
        if fits:
            found.append(_candidate(line, item, index))
    found.sort(key=lambda c: (c.remaining_cents != abs(line.amount_cents), -len(c.reasons),
                              c.item.due_on or dt.date.max, c.item.key))
    return found[:limit]


def statements(limit: int = 50) -> list[BankStatement]:
    return list(BankStatement.select().order_by(BankStatement.id.desc()).limit(limit))


# --- totals, queue of attention, charts ---------------------------------------------------

@dataclass
class KindTotals:
    count: int = 0
    minutes: int = 0
    value_cents: int = 0
    gross_cents: int = 0
    fee_cents: int = 0
    net_cents: int = 0

    def add(self, c: Contribution) -> None:
        self.count += 1
        self.minutes += c.minutes
        self.value_cents += c.value_cents
        self.gross_cents += c.gross_cents
        self.fee_cents += c.fee_cents
        self.net_cents += c.net_cents

    def add_sums(self, row: dict) -> None:
        """Add a row of the ledger's totals (lines and sums)."""
        self.count += int(row["lines"])
        for name in ("minutes", "value_cents", "gross_cents", "fee_cents", "net_cents"):
            setattr(self, name, getattr(self, name) + int(row[name]))


@dataclass
class Totals:
    by_year: dict[str, dict[str, KindTotals]] = field(default_factory=dict)
    by_company: dict[int, dict[str, KindTotals]] = field(default_factory=dict)
    companies: dict[int, str] = field(default_factory=dict)
    overall: dict[str, KindTotals] = field(default_factory=dict)


def totals() -> Totals:
    """The desk's figures, from the ledger's maintained totals (a few rows per month and company,
    however many contributions there are): per school year, per company and overall."""
    result = Totals(overall={kind: KindTotals() for kind in KINDS})
    for row in ledger.totals(by=("month", "kind")):
        year = result.by_year.setdefault(school_year_of(row["month"]), {k: KindTotals() for k in KINDS})
        year[row["kind"]].add_sums(row)
        result.overall[row["kind"]].add_sums(row)
    for row in ledger.totals(by=("company_id", "kind")):
        result.by_company.setdefault(row["company_id"], {k: KindTotals() for k in KINDS})[row["kind"]].add_sums(row)
    if result.by_company:
        result.companies = dict(Company.select(Company.id, Company.legal_name)
                                .where(Company.id.in_(list(result.by_company))).tuples())
    result.by_year = dict(sorted(result.by_year.items(), reverse=True))
    return result


@dataclass
class Attention:
    label: Any
    count: int
    url: str = ""
    level: str = "warn"


def attention() -> list[Attention]:
    """What needs the project leader: each item says how many and where to look."""
    found: list[Attention] = []
    unmatched = BankLine.select().where((BankLine.status == "unmatched") & (BankLine.amount_cents > 0)).count()
    found.append(Attention(_l("Bank lines received but not matched"), unmatched, "reconcile.queue"))
    partial = BankLine.select().where((BankLine.status == "matched") & (BankLine.outcome != "exact")).count()
    found.append(Attention(_l("Partial payments and over-payments"), partial, "reconcile.matched"))
    unpaid_payouts = (StripePayout.select().where(StripePayout.bank_line.is_null() & (StripePayout.status == "paid"))
                      .count())
    found.append(Attention(_l("Stripe payouts without their bank line"), unpaid_payouts, "reconcile.stripe"))
    unbalanced = (StripePayout.select().where(StripePayout.items_known
                                              & (StripePayout.items_net_cents != StripePayout.amount_cents)).count())
    found.append(Attention(_l("Stripe payouts that do not add up"), unbalanced, "reconcile.stripe", "danger"))
    giving = _giving()
    if giving is not None and hasattr(giving, "surplus_requests"):
        found.append(Attention(_l("Surpluses to refund or keep"), len(giving.surplus_requests()),
                               "reconcile.surpluses"))
    if giving is not None:
        days = int(current_app.config.get("PENDING_ALERT_DAYS") or 14)
        counts = giving.attention_counts(clock.today())   # counted in SQL, whatever the history
        found.append(Attention(_l("Donations pending longer than %(days)d days", days=days),
                               counts["pending_long"], "giving.leader"))
        found.append(Attention(_l("Payment requests past their due date"), counts["overdue"], "giving.leader"))
        found.append(Attention(_l("Flagged Stripe events and payment issues (amount mismatch, disputes)"),
                               counts["issues"], "giving.leader", "danger"))
        found.append(Attention(_l("Materials pledged but not yet delivered"), counts["pledges"], "giving.leader"))
    try:
        from portal.enrollment import service as enrollment_service
    except ImportError:
        enrollment_service = None
    if enrollment_service is not None:
        found.append(Attention(_l("Hours awaiting confirmation"), enrollment_service.awaiting_confirmation_count(),
                               "enrollment.leader_hours"))
        found.append(Attention(_l("Enrolments without a VOG"), enrollment_service.vog_missing().count(),
                               "enrollment.leader_reminders"))
    for item in found:
        if item.url and item.url not in current_app.view_functions:
            item.url = ""
    return found


def monthly_series(months: int = 12, today: dt.date | None = None) -> dict[str, Any]:
    """Contributions per month by kind over the last `months` months (money in cents, hours in
    minutes), from the ledger's totals."""
    today = today or clock.today()
    keys: list[str] = []
    year, month = today.year, today.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    keys.reverse()
    series = {kind: dict.fromkeys(keys, 0) for kind in KINDS}
    for row in ledger.totals(by=("month", "kind"), start=dt.date.fromisoformat(keys[0] + "-01")):
        key = f"{row['month']:%Y-%m}"
        if key in series[row["kind"]]:
            series[row["kind"]][key] += row["minutes"] if row["kind"].startswith("hours") else row["value_cents"]
    return {"months": keys, "series": series}


# --- period close -------------------------------------------------------------------------

@dataclass
class PeriodSummary:
    kind: str
    starts_on: dt.date
    ends_on: dt.date
    totals: dict[str, KindTotals]
    bank_expected_cents: int
    bank_actual_cents: int
    stripe_expected_cents: int
    stripe_actual_cents: int
    unmatched_count: int
    unmatched_cents: int
    ignored_cents: int
    closed: PeriodClose | None = None

    @property
    def expected_cents(self) -> int:
        return self.bank_expected_cents + self.stripe_expected_cents

    @property
    def actual_cents(self) -> int:
        return self.bank_actual_cents + self.stripe_actual_cents

    @property
    def difference_cents(self) -> int:
        return self.actual_cents - self.expected_cents

    def as_dict(self) -> dict[str, Any]:
        return {
            "totals": {k: vars(v) for k, v in self.totals.items()},
            "bank_expected_cents": self.bank_expected_cents, "bank_actual_cents": self.bank_actual_cents,
            "stripe_expected_cents": self.stripe_expected_cents, "stripe_actual_cents": self.stripe_actual_cents,
            "unmatched_count": self.unmatched_count, "unmatched_cents": self.unmatched_cents,
            "ignored_cents": self.ignored_cents,
        }


def period_range(kind: str, label: str) -> tuple[dt.date, dt.date]:
    if kind == "month":
        return month_range(label)
    if kind == "school_year":
        return school_year_range(label)
    raise ReconcileError(_l("Close a month or a school year."))


def period_summary(kind: str, label: str) -> PeriodSummary:
    """Expected (what the books say was received) against actual (what the bank and Stripe show).

    Expected comes from the ledger's totals booked in the period. Actual counts every bank line
    matched to a donation, also one that paid too little or too much: such a line is a
    difference to explain, never left out of both sides."""
    start, end = period_range(kind, label)
    kinds = {k: KindTotals() for k in KINDS}
    bank_expected = stripe_expected = 0
    for row in ledger.totals(by=("kind", "method"), start=start, end=end):
        kinds.setdefault(row["kind"], KindTotals()).add_sums(row)
        if row["kind"] == "money" and row["method"] == "bank":
            bank_expected += row["gross_cents"]
        elif row["kind"] == "money" and row["method"] == "stripe":
            stripe_expected += row["net_cents"]
    in_period = (BankLine.booked_on >= start) & (BankLine.booked_on <= end)
    bank_actual = (BankLine.select(peewee.fn.COALESCE(peewee.fn.SUM(BankLine.amount_cents), 0))
                   .where(in_period & (BankLine.status == "matched") & BankLine.target.startswith("donation:")).scalar())
    stripe_actual = (StripePayout.select(peewee.fn.COALESCE(peewee.fn.SUM(StripePayout.items_net_cents), 0))
                     .where(StripePayout.items_known & (StripePayout.arrival_on >= start)
                            & (StripePayout.arrival_on <= end)).scalar())
    unmatched = BankLine.select(peewee.fn.COUNT(BankLine.id), peewee.fn.COALESCE(peewee.fn.SUM(BankLine.amount_cents), 0)) \
        .where(in_period & (BankLine.status == "unmatched") & (BankLine.amount_cents > 0)).tuples().first()
    ignored = (BankLine.select(peewee.fn.COALESCE(peewee.fn.SUM(BankLine.amount_cents), 0))
               .where(in_period & (BankLine.status == "ignored")).scalar())
    closed = PeriodClose.get_or_none((PeriodClose.starts_on == start) & (PeriodClose.ends_on == end))
    return PeriodSummary(kind, start, end, kinds, int(bank_expected), int(bank_actual or 0), int(stripe_expected),
                         int(stripe_actual or 0), int(unmatched[0] or 0), int(unmatched[1] or 0), int(ignored or 0),
                         closed)


def items_keeping_open(kind: str, label: str) -> list[ledger.OpenItem]:
    """What keeps the months of a period from closing, from every capability."""
    start, end = period_range(kind, label)
    return [item for month in ledger.months(start, end) if not ledger.is_closed(month)
            for item in ledger.items_keeping_open(month)]


@ledger.open_items.connect
def _open_bank_lines(_sender, *, start: dt.date, end: dt.date) -> list[ledger.OpenItem]:
    """Credit lines nobody matched, and lines matched to a request they did not pay exactly."""
    rows = (BankLine.select().where((BankLine.booked_on >= start) & (BankLine.booked_on <= end)
                                    & (((BankLine.status == "unmatched") & (BankLine.amount_cents > 0))
                                       | ((BankLine.status == "matched") & BankLine.outcome.in_(("partial", "over")))))
            .order_by(BankLine.booked_on, BankLine.id))
    items = []
    for line in rows:
        what = (_l("unmatched bank line") if line.status == "unmatched"
                else _l("bank line that did not pay its request exactly"))
        items.append(ledger.OpenItem(
            f"bank_line:{line.id}", f"{what} {format_date(line.booked_on, 'medium')} "
                                    f"{money.format_eur(line.amount_cents, current_language())} "
                                    f"{line.counterparty_name}".strip(), line.amount_cents))
    return items


@dataclass
class LatePosting:
    posting: ledger.Posting
    company: str


def late_postings(start: dt.date, end: dt.date, limit: int = 200) -> list[LatePosting]:
    """Changes dated in an earlier, closed month that the ledger booked in this period (first 200)."""
    postings = list(ledger.corrections(start, end).limit(limit))
    names = dict(Company.select(Company.id, Company.legal_name)
                 .where(Company.id.in_({p.company_id for p in postings})).tuples()) if postings else {}
    return [LatePosting(p, names.get(p.company_id, "")) for p in postings]


def close_period(kind: str, label: str, actor: User, explanation: str = "",
                 explanations: dict[str, str] | None = None, today: dt.date | None = None) -> PeriodClose:
    """Close a month or school year that has ended: a difference between expected and actual needs an
    explanation, and so does each open item (unmatched or inexact bank lines, open payment issues,
    unconfirmed hours). The ledger books anything dated in it later in the first open month."""
    summary = period_summary(kind, label)
    explanation = (explanation or "").strip()
    if summary.closed is not None:
        raise ReconcileError(_l("This period is already closed."))
    if (summary.difference_cents or summary.unmatched_count) and not explanation:
        raise ReconcileError(_l("Expected and actual differ, or lines are unmatched: explain the difference before closing."))
    with atomic_write():
        try:
            ledger.close_months(summary.starts_on, summary.ends_on, actor_id=actor.id, explanations=explanations,
                                today=today)
        except ledger.LedgerError as exc:
            raise ReconcileError(str(exc)) from exc
        try:
            with database.atomic():
                period = PeriodClose.create(kind=kind, starts_on=summary.starts_on, ends_on=summary.ends_on,
                                            expected_cents=summary.expected_cents, actual_cents=summary.actual_cents,
                                            totals=json.dumps(summary.as_dict(), sort_keys=True),
                                            explanation=explanation[:5000], closed_by=actor.id)
        except peewee.IntegrityError as exc:
            raise ReconcileError(_l("This period is already closed.")) from exc
        audit.record("reconcile.period_closed", actor=actor, obj=period, kind=kind, starts_on=summary.starts_on,
                     ends_on=summary.ends_on, expected_cents=summary.expected_cents,
                     actual_cents=summary.actual_cents, explanation=explanation)
    return period


def add_correction(period_id: int, on: dt.date, amount_cents: int, subject: str, reason: str,
                   actor: User) -> Correction:
    """Record a change to a closed period beside it (the period itself stays as closed)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReconcileError(_l("A correction needs a reason."))
    period = PeriodClose.get_or_none(PeriodClose.id == period_id)
    if period is None:
        raise ReconcileError(_l("This period is not closed."))
    if not period.starts_on <= on <= period.ends_on:
        raise ReconcileError(_l("The correction's date must lie in the period it corrects."))
    with atomic_write():
        correction = Correction.create(period=period.id, on=on, amount_cents=int(amount_cents),
                                       subject=(subject or "")[:100], reason=reason[:5000], created_by=actor.id)
        audit.record("reconcile.correction_added", actor=actor, obj=correction, period=period.id, on=on,
                     amount_cents=amount_cents, subject=subject, reason=reason)
    return correction


def closed_periods() -> list[PeriodClose]:
    return list(PeriodClose.select().order_by(PeriodClose.starts_on.desc()))


# --- the audit log ------------------------------------------------------------------------

@dataclass
class AuditFilters:
    action: str = ""
    actor_id: int | None = None
    actor: str = ""  # part of a name or e-mail address
    company_id: int | None = None
    object_type: str = ""
    object_id: str = ""
    start: dt.date | None = None
    end: dt.date | None = None


def audit_rows(filters: AuditFilters, *, limit: int = 100, offset: int = 0) -> tuple[list[AuditLog], int]:
    query = AuditLog.select(AuditLog.id, AuditLog.at, AuditLog.actor_id, AuditLog.company_id, AuditLog.action,
                            AuditLog.object_type, AuditLog.object_id, AuditLog.details)
    if filters.action:
        query = query.where(AuditLog.action.startswith(filters.action))
    if filters.actor_id is not None:
        query = query.where(AuditLog.actor_id == filters.actor_id)
    if filters.actor:
        people = User.select(User.id).where(User.name.contains(filters.actor) | User.email.contains(filters.actor))
        query = query.where(AuditLog.actor_id.in_(people))
    if filters.company_id is not None:
        query = query.where(AuditLog.company_id == filters.company_id)
    if filters.object_type:
        query = query.where(AuditLog.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditLog.object_id == filters.object_id)
    if filters.start:
        query = query.where(AuditLog.at >= dt.datetime.combine(filters.start, dt.time.min))
    if filters.end:
        query = query.where(AuditLog.at < dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min))
    total = query.count()
    return list(query.order_by(AuditLog.id.desc()).limit(limit).offset(offset)), total


@dataclass(frozen=True)
class AuditNames:
    """Who and which company the rows of one audit page name, looked up for that page only."""

    people: dict[int, User]
    companies: dict[int, str]


def audit_names(rows: Iterable[AuditLog]) -> AuditNames:
    rows = list(rows)
    actor_ids = {row.actor_id for row in rows if row.actor_id is not None}
    company_ids = {row.company_id for row in rows if row.company_id is not None}
    people = {user.id: user for user in User.select(User.id, User.name, User.email, User.role)
              .where(User.id.in_(actor_ids))} if actor_ids else {}
    companies = {row.id: row.legal_name for row in Company.select(Company.id, Company.legal_name)
                 .where(Company.id.in_(company_ids))} if company_ids else {}
    return AuditNames(people, companies)


def audit_companies() -> list[tuple[int, str]]:
    """Every company by name, for the audit log's filter."""
    return [(row.id, row.legal_name) for row in Company.select(Company.id, Company.legal_name).order_by(Company.legal_name, Company.id)]


# --- acting on behalf of a company user ---------------------------------------------------

def start_acting(login_session: LoginSession, leader: User, user_id: int) -> User:
    """Let the leader's session act as a company user (for support), audited."""
    if leader.role != "leader" or login_session.user_id != leader.id or not login_session.mfa_passed:
        raise ReconcileError(_l("Only the project leader can act on behalf of a user."))
    target = User.get_or_none((User.id == user_id) & User.company.is_null(False) & (User.is_active == True))  # noqa: E712
    if target is None:
        raise ReconcileError(_l("This user does not exist or is not active."))
    with atomic_write():
        moved = (LoginSession.update(acting_for=target.id)
                 .where((LoginSession.id == login_session.id) & LoginSession.acting_for.is_null()).execute())
        if not moved:
            raise ReconcileError(_l("You are already acting on behalf of someone. Stop that first."))
        audit.record("leader.acting_started", actor=leader, company=target.company_id, obj=target,
                     user_email=target.email, session=login_session.id)
    return target


def stop_acting(login_session: LoginSession) -> User | None:
    """End acting on behalf of a user; returns the user it was, or None when not acting."""
    with atomic_write():
        current = LoginSession.get_or_none(LoginSession.id == login_session.id)
        if current is None or current.acting_for_id is None:
            return None
        target = User.get_by_id(current.acting_for_id)
        moved = (LoginSession.update(acting_for=None)
                 .where((LoginSession.id == current.id) & (LoginSession.acting_for == target.id)).execute())
        if moved:
            audit.record("leader.acting_stopped", actor=current.user_id, company=target.company_id, obj=target,
                         user_email=target.email, session=current.id)
    return target


def company_users(company_id: int) -> list[User]:
    return list(User.select().where((User.company == company_id) & (User.is_active == True))  # noqa: E712
                .order_by(User.role, User.email))


def group_by_company(lines: Iterable[BankLine]) -> dict[int | None, list[BankLine]]:
    grouped: dict[int | None, list[BankLine]] = defaultdict(list)
    for line in lines:
        grouped[line.company_id].append(line)
    return grouped
