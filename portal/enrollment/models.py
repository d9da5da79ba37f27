"""Tables of the enrolment capability: schools, school calendars, enrolments, the hours
register, the allowance ledger and the employee's documents and access links.

Durations are integer minutes and money integer cents. Status moves are conditional
updates in the service; the CHECK constraints here (repeated by hand in the migration)
keep the database honest even when code is wrong.
"""

from __future__ import annotations

import peewee

from portal.accounts.models import Company, User
from portal.core.db import BaseModel, check_in, utcnow

STATUSES = ("submitted", "intake", "matched", "active", "completed", "withdrawn")
ROLE_TYPES = ("class", "thematic")
HALVES = ("first", "second")
DURATIONS = ("full", "half")
FUNDING_MODELS = ("sponsored", "volunteer", "mixed")
VOG_STATUSES = ("not_requested", "requested", "received", "refused")
CLOSURE_KINDS = ("holiday", "day_off")
DOCUMENT_KINDS = ("cv", "motivation")
ENTRY_KINDS = ("planned", "extra", "reversal", "correction")
ENTRY_STATUSES = ("planned", "reported", "absent", "confirmed", "rejected")
LANGUAGES = ("nl", "en")
ALLOWANCE_DECISIONS = ("fixed_monthly", "reduce", "do_not_pay")

MIN_WEEK_MINUTES = 6 * 60
MAX_WEEK_MINUTES = 8 * 60
MAX_SESSION_MINUTES = 12 * 60


class School(BaseModel):
    """A project school; the BRIN code is stored compact ("05KO" or "05KO01")."""

    name = peewee.CharField(max_length=200)
    brin = peewee.CharField(max_length=6, unique=True)
    street = peewee.CharField(max_length=200, default="")
    postcode = peewee.CharField(max_length=7, default="")
    city = peewee.CharField(max_length=100, default="Utrecht")
    coordinator_name = peewee.CharField(max_length=200, default="")
    coordinator_email = peewee.CharField(max_length=254, default="")
    is_active = peewee.BooleanField(default=True)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "enrollment_school"

    def __str__(self) -> str:
        return self.name


class SchoolYear(BaseModel):
    """A school year's calendar: first and last school day, the half-year split and the allowance."""

    name = peewee.CharField(max_length=20, unique=True)
    region = peewee.CharField(max_length=40, default="Midden")
    starts_on = peewee.DateField()
    ends_on = peewee.DateField()
    half_starts_on = peewee.DateField()
    allowance_monthly_cents = peewee.BigIntegerField(
        default=16000, constraints=[peewee.Check("allowance_monthly_cents >= 0 AND allowance_monthly_cents <= 100000")])

    class Meta:
        table_name = "enrollment_school_year"
        constraints = [peewee.SQL("CHECK (starts_on < half_starts_on AND half_starts_on <= ends_on)")]

    def __str__(self) -> str:
        return self.name


class Closure(BaseModel):
    """A holiday or day off: for every school of the year, or for one school only."""

    school_year = peewee.ForeignKeyField(SchoolYear, backref="closures", on_delete="CASCADE")
    school = peewee.ForeignKeyField(School, null=True, backref="closures", on_delete="CASCADE")
    kind = peewee.CharField(max_length=10, constraints=[check_in("kind", CLOSURE_KINDS)])
    name = peewee.CharField(max_length=100)
    starts_on = peewee.DateField()
    ends_on = peewee.DateField()

    class Meta:
        table_name = "enrollment_closure"
        constraints = [peewee.SQL("CHECK (starts_on <= ends_on)")]


class AllowanceCap(BaseModel):
    """The tax-free volunteer allowance limits of one calendar year (Belastingdienst)."""

    year = peewee.IntegerField(unique=True, constraints=[peewee.Check("year BETWEEN 2000 AND 2100")])
    per_month_cents = peewee.BigIntegerField(constraints=[peewee.Check("per_month_cents > 0")])
    per_year_cents = peewee.BigIntegerField(constraints=[peewee.Check("per_year_cents > 0")])
    per_hour_cents = peewee.BigIntegerField(constraints=[peewee.Check("per_hour_cents > 0")])
    per_hour_under_21_cents = peewee.BigIntegerField(constraints=[peewee.Check("per_hour_under_21_cents > 0")])
    source = peewee.CharField(max_length=300, default="")

    class Meta:
        table_name = "enrollment_allowance_cap"


class Enrolment(BaseModel):
    """One employee put forward by one company for one placement period."""

    company = peewee.ForeignKeyField(Company, backref="enrolments", on_delete="RESTRICT")
    created_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    employee_name = peewee.CharField(max_length=200)
    employee_email = peewee.CharField(max_length=254, index=True)
    job_title = peewee.CharField(max_length=200)
    department = peewee.CharField(max_length=200, default="")
    language = peewee.CharField(max_length=2, default="nl", constraints=[check_in("language", LANGUAGES)])
    role_type = peewee.CharField(max_length=10, constraints=[check_in("role_type", ROLE_TYPES)])
    school_year = peewee.ForeignKeyField(SchoolYear, backref="enrolments", on_delete="RESTRICT")
    start_half = peewee.CharField(max_length=6, constraints=[check_in("start_half", HALVES)])
    duration = peewee.CharField(max_length=4, constraints=[check_in("duration", DURATIONS)])
    starts_on = peewee.DateField()
    ends_on = peewee.DateField()
    weekday = peewee.SmallIntegerField(constraints=[peewee.Check("weekday BETWEEN 0 AND 4")])
    minutes_per_week = peewee.IntegerField(
        constraints=[peewee.Check(f"minutes_per_week BETWEEN {MIN_WEEK_MINUTES} AND {MAX_WEEK_MINUTES}")])
    funding = peewee.CharField(max_length=10, constraints=[check_in("funding", FUNDING_MODELS)])
    sponsored_minutes_per_week = peewee.IntegerField()
    hourly_cost_cents = peewee.BigIntegerField(
        null=True, constraints=[peewee.Check("hourly_cost_cents IS NULL OR hourly_cost_cents >= 0")])
    under_21 = peewee.BooleanField(default=False)
    vog_status = peewee.CharField(max_length=14, default="not_requested", constraints=[check_in("vog_status", VOG_STATUSES)])
    vog_requested_on = peewee.DateField(null=True)
    vog_received_on = peewee.DateField(null=True)
    status = peewee.CharField(max_length=10, default="submitted", constraints=[check_in("status", STATUSES)])
    status_changed_at = peewee.DateTimeField(default=utcnow)
    withdrawn_reason = peewee.TextField(default="")
    school = peewee.ForeignKeyField(School, null=True, backref="enrolments", on_delete="RESTRICT")
    group_name = peewee.CharField(max_length=60, default="")
    teacher_name = peewee.CharField(max_length=200, default="")
    matched_at = peewee.DateTimeField(null=True)
    payout_iban = peewee.CharField(max_length=34, default="")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "enrollment_enrolment"
        # The leader's counts (per status, open ones without a VOG, matched ones past their start)
        # read only the placements of the statuses they ask for, however many years lie behind them.
        # HR's dashboard counts a company's placements per status (those without an hourly cost
        # apart) and sums a school year's planned hours per shared calendar from indexes alone.
        indexes = ((("company", "status", "sponsored_minutes_per_week", "hourly_cost_cents"), False),
                   (("company", "school_year", "status", "school", "weekday", "starts_on", "ends_on", "role_type",
                     "minutes_per_week"), False),
                   (("status", "vog_status", "starts_on"), False))
        constraints = [
            peewee.SQL("CHECK (starts_on <= ends_on)"),
            peewee.SQL("CHECK ((funding = 'sponsored' AND sponsored_minutes_per_week = minutes_per_week)"
                       " OR (funding = 'volunteer' AND sponsored_minutes_per_week = 0)"
                       " OR (funding = 'mixed' AND sponsored_minutes_per_week > 0"
                       " AND sponsored_minutes_per_week < minutes_per_week))"),
            peewee.SQL("CHECK (status <> 'withdrawn' OR withdrawn_reason <> '')"),
            peewee.SQL("CHECK (vog_status <> 'received' OR vog_received_on IS NOT NULL)"),
        ]

    @property
    def has_sponsored_hours(self) -> bool:
        return self.sponsored_minutes_per_week > 0

    @property
    def has_volunteered_hours(self) -> bool:
        return self.sponsored_minutes_per_week < self.minutes_per_week


class EnrolmentSlot(BaseModel):
    """The half school years an enrolment occupies: the UNIQUE index refuses overlapping
    enrolments of the same person, even when two requests race. Removed on withdrawal."""

    enrolment = peewee.ForeignKeyField(Enrolment, backref="slots", on_delete="CASCADE")
    company = peewee.ForeignKeyField(Company, backref="+", on_delete="RESTRICT")
    employee_email = peewee.CharField(max_length=254)
    school_year = peewee.ForeignKeyField(SchoolYear, backref="+", on_delete="RESTRICT")
    half = peewee.CharField(max_length=6, constraints=[check_in("half", HALVES)])

    class Meta:
        table_name = "enrollment_slot"
        indexes = ((("company", "employee_email", "school_year", "half"), True),)


class AccessLink(BaseModel):
    """A single-use link mailed to the employee; using it opens an AmbassadorSession."""

    enrolment = peewee.ForeignKeyField(Enrolment, backref="access_links", on_delete="CASCADE")
    token_hash = peewee.CharField(max_length=64, unique=True)
    created_at = peewee.DateTimeField(default=utcnow)
    expires_at = peewee.DateTimeField()
    used_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "enrollment_access_link"


class AmbassadorSession(BaseModel):
    """The employee's browser session: the cookie holds a random token whose SHA-256 is here."""

    enrolment = peewee.ForeignKeyField(Enrolment, backref="+", on_delete="CASCADE")
    token_hash = peewee.CharField(max_length=64, unique=True)
    created_at = peewee.DateTimeField(default=utcnow)
    expires_at = peewee.DateTimeField()

    class Meta:
        table_name = "enrollment_ambassador_session"


class Document(BaseModel):
    """A CV or motivation letter; the bytes live in UPLOAD_DIR under `stored_name`."""

    enrolment = peewee.ForeignKeyField(Enrolment, backref="documents", on_delete="CASCADE")
    company = peewee.ForeignKeyField(Company, backref="+", on_delete="RESTRICT")
    kind = peewee.CharField(max_length=10, constraints=[check_in("kind", DOCUMENT_KINDS)])
    stored_name = peewee.CharField(max_length=64, unique=True)
    original_name = peewee.CharField(max_length=200)
    size_bytes = peewee.IntegerField(constraints=[peewee.Check("size_bytes > 0")])
    sha256 = peewee.CharField(max_length=64)
    pages = peewee.IntegerField(default=0)
    uploaded_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "enrollment_document"
        indexes = ((("enrolment", "kind"), True),)


class HoursEntry(BaseModel):
    """One line of the hours register.

    `planned` rows come from the calendar, `extra` rows are sessions added by the
    ambassador or HR. A confirmed row is never changed: a `reversal` row cancels it
    (negative minutes, same date) and an optional `correction` row states the right hours.
    `dedupe_key` makes generation and corrections idempotent; `locked_at` is set by the
    statements capability (`hours.lock_entries`) when the row is on an issued statement.
    """

    enrolment = peewee.ForeignKeyField(Enrolment, backref="hours", on_delete="RESTRICT")
    company = peewee.ForeignKeyField(Company, backref="+", on_delete="RESTRICT")
    worked_on = peewee.DateField()
    kind = peewee.CharField(max_length=10, constraints=[check_in("kind", ENTRY_KINDS)])
    status = peewee.CharField(max_length=10, constraints=[check_in("status", ENTRY_STATUSES)])
    minutes = peewee.IntegerField(
        constraints=[peewee.Check(f"minutes BETWEEN -{MAX_SESSION_MINUTES} AND {MAX_SESSION_MINUTES}")])
    sponsored_minutes = peewee.IntegerField()
    volunteered_minutes = peewee.IntegerField()
    hourly_cost_cents = peewee.BigIntegerField(null=True)
    value_cents = peewee.BigIntegerField(default=0)
    dedupe_key = peewee.CharField(max_length=40, unique=True)
    corrects = peewee.ForeignKeyField("self", null=True, backref="corrections", on_delete="RESTRICT")
    note = peewee.TextField(default="")
    reported_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    reported_via = peewee.CharField(max_length=10, default="")
    reported_at = peewee.DateTimeField(null=True)
    decided_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    decided_at = peewee.DateTimeField(null=True)
    decision_reason = peewee.TextField(default="")
    created_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = peewee.DateTimeField(default=utcnow)
    locked_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "enrollment_hours_entry"
        # The HR overview sums a company's days and each placement's hours from these indexes
        # alone (covering: no row is read), however many rows a school year holds; its card reads
        # the year's confirmed and awaiting hours, and its to-dos a company's sessions still to
        # report (planned and past, or rejected), from the entries of those statuses and no others.
        indexes = (
            (("company", "worked_on", "status", "minutes", "sponsored_minutes", "volunteered_minutes"), False),
            (("company", "status", "worked_on", "enrolment", "minutes", "sponsored_minutes", "volunteered_minutes"),
             False),
            (("status",), False),
        )
        constraints = [
            peewee.SQL("CHECK (sponsored_minutes + volunteered_minutes = minutes)"),
            peewee.SQL("CHECK (kind = 'reversal' OR (minutes >= 0 AND value_cents >= 0))"),
            peewee.SQL("CHECK (kind <> 'reversal' OR (minutes <= 0 AND value_cents <= 0))"),
            peewee.SQL("CHECK ((kind IN ('reversal', 'correction')) = (corrects_id IS NOT NULL))"),
            peewee.SQL("CHECK (status <> 'rejected' OR decision_reason <> '')"),
        ]


HoursEntry.add_index(HoursEntry.index(HoursEntry.enrolment, HoursEntry.worked_on, HoursEntry.status, HoursEntry.minutes,
                                      HoursEntry.sponsored_minutes, HoursEntry.volunteered_minutes,
                                      HoursEntry.value_cents, name="hours_entry_enrolment_sums"))


class AllowanceLine(BaseModel):
    """The volunteer allowance owed for one active month of one placement.

    `amount_cents` is the school year's monthly allowance; `payable_cents` what will be paid
    when the project leader decided otherwise (NULL: the full amount; 0: not paid). A line
    with a warning is paid only after a `decision` (who, when, why and on how many confirmed
    minutes). `minutes` are the confirmed volunteered minutes the line stands on (NULL for
    lines built before migration 0016); a reversal of those hours after export sets
    `blocked_at`: the line is then never paid again.
    """

    enrolment = peewee.ForeignKeyField(Enrolment, backref="allowance_lines", on_delete="RESTRICT")
    company = peewee.ForeignKeyField(Company, backref="+", on_delete="RESTRICT")
    month = peewee.DateField()
    amount_cents = peewee.BigIntegerField(constraints=[peewee.Check("amount_cents > 0")])
    status = peewee.CharField(max_length=10, default="open", constraints=[check_in("status", ("open", "exported"))])
    export_batch = peewee.CharField(max_length=40, default="")
    created_at = peewee.DateTimeField(default=utcnow)
    exported_at = peewee.DateTimeField(null=True)
    minutes = peewee.IntegerField(null=True, constraints=[peewee.Check("minutes IS NULL OR minutes >= 0")])
    payable_cents = peewee.BigIntegerField(
        null=True, constraints=[peewee.Check("payable_cents IS NULL OR payable_cents >= 0")])
    decision = peewee.CharField(max_length=16, null=True, constraints=[peewee.Check(
        f"decision IS NULL OR decision IN ({', '.join(repr(v) for v in ALLOWANCE_DECISIONS)})")])
    decision_reason = peewee.TextField(null=True)
    decided_by_id = peewee.IntegerField(null=True)  # a user id, kept when the user is removed (as in the audit log)
    decided_at = peewee.DateTimeField(null=True)
    decided_minutes = peewee.IntegerField(null=True)
    blocked_at = peewee.DateTimeField(null=True)
    blocked_reason = peewee.TextField(null=True)

    class Meta:
        table_name = "enrollment_allowance_line"
        indexes = ((("enrolment", "month"), True),)


class Reminder(BaseModel):
    """A reminder that was sent; the UNIQUE index sends each one once."""

    enrolment = peewee.ForeignKeyField(Enrolment, backref="+", on_delete="CASCADE")
    kind = peewee.CharField(max_length=20)
    sent_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "enrollment_reminder"
        indexes = ((("enrolment", "kind"), True),)


MODELS = (School, SchoolYear, Closure, AllowanceCap, Enrolment, EnrolmentSlot, AccessLink,
          AmbassadorSession, Document, HoursEntry, AllowanceLine, Reminder)
