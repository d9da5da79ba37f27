"""Tables of the statements capability: the number counter and the issued statements.

A statement row is written once, in the transaction that takes its number, and its
document columns (number, snapshot, PDF, hash, code) and its change marks never change
afterwards: the migrations add database triggers that refuse such updates and every DELETE.
Only the status may move on (issued -> superseded by a correction, or issued -> void with a
reason). Contributions are named in the snapshot by their stable `key`, never by foreign keys.

The change marks say, without reading a single contribution, whether an issued statement
still matches the books (see service.correction_flags): `ledger_mark` is the company's last
posting in the ledger when the statement was issued, `sroi_mark` what the SROI allocations of
its period were then. A statement issued before marks existed has neither (NULL).
"""

from __future__ import annotations

import peewee

from portal.accounts.models import Company, User
from portal.core.db import BaseModel, utcnow

PERIOD_KINDS = ("calendar_year", "school_year", "custom")
STATUSES = ("issued", "superseded", "void")
NUMBER_PREFIX = "OA"


class StatementCounter(BaseModel):
    """The last number used in one year; its row is the lock that makes numbers gapless."""

    year = peewee.IntegerField(unique=True, constraints=[peewee.Check("year BETWEEN 2000 AND 9999")])
    last_number = peewee.IntegerField(default=0, constraints=[peewee.Check("last_number >= 0")])

    class Meta:
        table_name = "statement_counter"


class Statement(BaseModel):
    """One issued contribution statement: frozen data, the PDF bytes and their SHA-256."""

    number = peewee.CharField(max_length=20, unique=True)
    year = peewee.IntegerField()
    sequence = peewee.IntegerField(constraints=[peewee.Check("sequence > 0")])
    company = peewee.ForeignKeyField(Company, backref="statements", on_delete="RESTRICT")
    period_kind = peewee.CharField(max_length=16, constraints=[
        peewee.Check("period_kind IN ('calendar_year', 'school_year', 'custom')")])
    period_start = peewee.DateField()
    period_end = peewee.DateField()
    language = peewee.CharField(max_length=2)
    issued_on = peewee.DateField()
    issued_at = peewee.DateTimeField(default=utcnow)
    issued_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    replaces = peewee.ForeignKeyField("self", null=True, unique=True, backref="+", on_delete="RESTRICT")
    snapshot = peewee.TextField()
    pdf = peewee.BlobField()
    pdf_sha256 = peewee.CharField(max_length=64)
    pdf_size = peewee.IntegerField(constraints=[peewee.Check("pdf_size > 0")])
    # Printed on the PDF, as is the PDF itself: keeping it in clear text here adds no exposure.
    verification_code = peewee.CharField(max_length=16)
    status = peewee.CharField(max_length=12, default="issued", constraints=[
        peewee.Check("status IN ('issued', 'superseded', 'void')")])
    status_changed_at = peewee.DateTimeField(null=True)
    void_reason = peewee.TextField(default="")
    voided_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    # The change marks (migration 0009); NULL on statements issued before them.
    ledger_mark = peewee.BigIntegerField(null=True)
    sroi_mark = peewee.CharField(max_length=255, null=True)

    class Meta:
        table_name = "statement"
        indexes = ((("year", "sequence"), True),)
        constraints = [
            peewee.SQL("CHECK (period_end >= period_start)"),
            peewee.SQL("CHECK (status <> 'void' OR void_reason <> '')"),
        ]

    @property
    def pdf_bytes(self) -> bytes:
        # PostgreSQL drivers may hand back a memoryview; callers always get bytes.
        return bytes(self.pdf)


RUN_STATUSES = ("queued", "running", "done", "failed")


class StatementRun(BaseModel):
    """The project leader's request to issue a period's statements for every company (migration
    0017), done on the task queue: queued, running, then done with its counts (or failed with the
    error that stopped it). One run of a period waits or runs at a time (a partial unique index);
    running one again issues nothing twice (a company's statement of the period is skipped)."""

    period_kind = peewee.CharField(max_length=16, constraints=[
        peewee.Check("period_kind IN ('calendar_year', 'school_year', 'custom')")])
    period_start = peewee.DateField()
    period_end = peewee.DateField()
    status = peewee.CharField(max_length=10, default="queued", constraints=[
        peewee.Check("status IN ('queued', 'running', 'done', 'failed')")])
    requested_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    requested_at = peewee.DateTimeField(default=utcnow)
    started_at = peewee.DateTimeField(null=True)
    finished_at = peewee.DateTimeField(null=True)
    issued = peewee.IntegerField(default=0, constraints=[peewee.Check("issued >= 0")])
    skipped = peewee.IntegerField(default=0, constraints=[peewee.Check("skipped >= 0")])
    failed = peewee.IntegerField(default=0, constraints=[peewee.Check("failed >= 0")])
    # JSON: {"skipped": {"exists": n, "empty": n}, "failed": [{"company_id", "company", "reason"}],
    # "numbers": [...]}; `error`: what stopped a failed run.
    outcome = peewee.TextField(default="")
    error = peewee.TextField(default="")

    class Meta:
        table_name = "statement_run"
        constraints = [peewee.SQL("CHECK (period_end >= period_start)")]


MODELS = (StatementCounter, Statement, StatementRun)


# At most one current statement per company and period; a correction supersedes the old one
# in the same transaction, and a void one frees the period for a new statement.
Statement.add_index(Statement.index(Statement.company, Statement.period_start, Statement.period_end,
                                    unique=True, name="statement_one_issued_per_period")
                    .where(Statement.status == "issued"))

# A statement's documents (snapshot, pdf: megabytes) sit in its row before these columns; on SQLite a
# read of a column behind them walks the documents' overflow pages. The register's counts per year
# and status and the correction flags (status, company, period and change marks) read these indexes
# alone instead.
Statement.add_index(Statement.index(Statement.year, Statement.status, name="statement_year_status"))
Statement.add_index(Statement.index(Statement.status, Statement.company, Statement.ledger_mark, Statement.period_start,
                                    Statement.period_end, Statement.sroi_mark, name="statement_marks"))

# At most one run per period queued or running: a second request while it waits is refused.
StatementRun.add_index(StatementRun.index(StatementRun.period_start, StatementRun.period_end,
                                          unique=True, name="statement_run_one_active_per_period")
                       .where(StatementRun.status.in_(("queued", "running"))))
