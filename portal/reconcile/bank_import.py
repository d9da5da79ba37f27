"""Bank statements in: a file read by `banks`, known when it came before (the same bytes, or the
same statements), its new lines stored in bulk (matched in memory beforehand, settled in the same
transaction), and each account's balances kept, with a gap or an overlap between its statements
named for the project leader.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from portal.accounts.models import User
from portal.core import audit, money
from portal.core.db import atomic_write, database, utcnow
from portal.core.templating import current_language
from portal.reconcile import banks
from portal.reconcile.line_matching import record_settled_requests
from portal.reconcile.matching import LineFacts, Match, rf_candidates
from portal.reconcile.models import BankLine, BankStatement, KnownIban, StatementBalance
from portal.reconcile.service import closed_months, in_closed, open_index, settle

INSERT_BATCH = 500


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
    closed = closed_months()
    open_lines = [i for i, line in enumerate(new) if not in_closed(line.booked_on, closed)]
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
            result.matched += record_settled_requests(rest, actor)
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
        by_settlement[settle(found.item, line, actor)[:30]].append(line_id)
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
