"""Forms of the SROI capability: they parse what people type; the service decides what is allowed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.core import clock
from portal.core.forms import Date, FlaskForm, data_required, input_required
from portal.core.money import AmountError, parse_cents
from portal.sroi import evidence, service
from portal.sroi.models import ALLOCATABLE_KINDS, BASE_TYPES, MAX_BASE_CENTS, MAX_RATE_CENTS


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _amount(field, *, required: bool, max_cents: int, allow_zero: bool = False) -> int | None:
    text = (field.data or "").strip()
    if not text:
        if required:
            raise ValidationError(_l("Please enter an amount."))
        return None
    try:
        return parse_cents(text, max_cents=max_cents, allow_zero=allow_zero)
    except AmountError as error:
        raise ValidationError(str(error)) from error


class CommitmentForm(FlaskForm):
    template = SelectField(_l("Valuation table to start from"), validate_choice=False)
    authority = StringField(_l("Contracting authority"), [data_required(), Length(max=200)],
                            render_kw={"placeholder": "Gemeente Utrecht"})
    contract_reference = StringField(_l("Contract reference"), [data_required(), Length(max=100)])
    description = TextAreaField(_l("What the contract is about"), [Optional(), Length(max=2000)])
    base_type = SelectField(_l("The percentage is taken of"),
                            choices=[SelectChoice(code, service.BASE_TYPE_LABELS[code]) for code in BASE_TYPES])
    base_amount = StringField(_l("Base amount (EUR)"), render_kw={"inputmode": "decimal"})
    percentage = StringField(_l("Social-return percentage"), render_kw={"inputmode": "decimal"})
    cap_amount = StringField(_l("Cap on the obligation (EUR, optional)"), render_kw={"inputmode": "decimal"})
    period_start_on = Date(_l("Contract period starts"), [input_required()])
    period_end_on = Date(_l("Contract period ends"), [input_required()])
    deadline_on = Date(_l("Deadline for meeting the obligation"), [input_required()])
    buyer_contact_name = StringField(_l("Contact at the buyer (name)"), [Optional(), Length(max=200)])
    buyer_contact_email = StringField(_l("Contact's e-mail address"), [Optional(), Length(max=254)])
    buyer_contact_phone = StringField(_l("Contact's phone number"), [Optional(), Length(max=40)])
    reason = TextAreaField(_l("Reason for the correction"), [Optional(), Length(max=1000)])

    base_cents: int | None = None
    percentage_bp: int | None = None
    cap_cents: int | None = None

    def validate_base_amount(self, field):
        self.base_cents = _amount(field, required=True, max_cents=MAX_BASE_CENTS)

    def validate_percentage(self, field):
        try:
            self.percentage_bp = service.parse_percentage_bp(field.data)
        except service.SroiError as error:
            raise ValidationError(str(error)) from error

    def validate_cap_amount(self, field):
        self.cap_cents = _amount(field, required=False, max_cents=MAX_BASE_CENTS)

    def to_input(self) -> service.CommitmentInput:
        return service.CommitmentInput(
            authority=self.authority.data or "", contract_reference=self.contract_reference.data or "",
            description=self.description.data or "", base_type=self.base_type.data,
            base_cents=self.base_cents, percentage_bp=self.percentage_bp, cap_cents=self.cap_cents,
            period_start_on=self.period_start_on.data, period_end_on=self.period_end_on.data,
            deadline_on=self.deadline_on.data, buyer_contact_name=self.buyer_contact_name.data or "",
            buyer_contact_email=self.buyer_contact_email.data or "",
            buyer_contact_phone=self.buyer_contact_phone.data or "")

    def fill_from(self, commitment, language: str) -> None:
        for name in ("authority", "contract_reference", "description", "base_type", "period_start_on",
                     "period_end_on", "deadline_on", "buyer_contact_name", "buyer_contact_email",
                     "buyer_contact_phone"):
            getattr(self, name).data = getattr(commitment, name)
        self.base_amount.data = plain_amount(commitment.base_cents, language)
        self.percentage.data = service.format_percentage(commitment.percentage_bp, language).rstrip("%")
        self.cap_amount.data = plain_amount(commitment.cap_cents, language) if commitment.cap_cents else ""


def plain_amount(cents: int, language: str) -> str:
    """Cents as a number someone would type: '1234,56' (Dutch) or '1234.56'."""
    whole, rest = divmod(int(cents), 100)
    text = f"{whole}" if rest == 0 else f"{whole}.{rest:02d}"
    return text.replace(".", ",") if language == "nl" else text


class RulesForm(FlaskForm):
    counts_hours_sponsored = BooleanField(_l("Sponsored hours count"))
    counts_hours_volunteered = BooleanField(_l("Volunteered hours count"))
    counts_money = BooleanField(_l("Money counts, at the amount paid"))
    counts_materials = BooleanField(_l("Materials count, at their confirmed value"))
    hours_basis = RadioField(_l("Sponsored hours are valued at"), choices=[
        SelectChoice("rate", _l("A rate per hour from the buyer's table (Utrecht: EUR 100)")),
        SelectChoice("employer_cost", _l("The employer's own cost, as registered with the hours")),
    ], default="rate")
    hourly_rate = StringField(_l("Rate per hour (EUR)"), render_kw={"inputmode": "decimal"})
    max_hours_per_person = StringField(_l("At most this many hours per person (optional)"),
                                       render_kw={"inputmode": "decimal"})
    reason = TextAreaField(_l("Reason for the correction"), [Optional(), Length(max=1000)])

    hourly_rate_cents: int | None = None
    max_minutes_per_person: int | None = None

    def validate_hourly_rate(self, field):
        self.hourly_rate_cents = _amount(field, required=self.hours_basis.data == "rate",
                                         max_cents=MAX_RATE_CENTS)

    def validate_max_hours_per_person(self, field):
        text = (field.data or "").strip()
        if not text:
            self.max_minutes_per_person = None
            return
        try:
            self.max_minutes_per_person = service.parse_minutes(text)
        except service.SroiError as error:
            raise ValidationError(str(error)) from error

    def to_input(self) -> service.RulesInput:
        return service.RulesInput(
            counts_hours_sponsored=self.counts_hours_sponsored.data,
            counts_hours_volunteered=self.counts_hours_volunteered.data,
            counts_money=self.counts_money.data, counts_materials=self.counts_materials.data,
            hours_basis=self.hours_basis.data, hourly_rate_cents=self.hourly_rate_cents,
            max_minutes_per_person=self.max_minutes_per_person)

    def fill_from(self, commitment, language: str) -> None:
        for name in ("counts_hours_sponsored", "counts_hours_volunteered", "counts_money", "counts_materials",
                     "hours_basis"):
            getattr(self, name).data = getattr(commitment, name)
        self.hourly_rate.data = plain_amount(commitment.hourly_rate_cents, language) if commitment.hourly_rate_cents else ""
        self.max_hours_per_person.data = (service.format_minutes(commitment.max_minutes_per_person)
                                          if commitment.max_minutes_per_person else "")


class AllocationForm(FlaskForm):
    key = HiddenField(validators=[data_required(), Length(max=64)])
    kind = HiddenField(validators=[data_required(), Length(max=20)])
    amount = StringField(_l("Amount to count toward this commitment"), [Length(max=40)])


class ApprovalForm(FlaskForm):
    amount = StringField(_l("Amount the buyer approved (EUR)"), render_kw={"inputmode": "decimal"})
    approved_on = Date(_l("Date of the buyer's approval"), [input_required()], default=clock.today)
    reference = StringField(_l("The buyer's reference (letter, e-mail or report number)"),
                            [data_required(), Length(max=100)])
    note = TextAreaField(_l("Note (optional)"), [Optional(), Length(max=2000)])
    evidence = FileField(_l("The buyer's letter (PDF, PNG or JPEG, at most 5 MB)"),
                         render_kw={"accept": "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"})
    exceeds_reason = TextAreaField(_l("Why the buyer approved more than the claim or the obligation"),
                                   [Optional(), Length(max=1000)])

    amount_cents: int | None = None
    letter = None   # the checked upload (evidence.Evidence), or None when no file was sent

    def validate_amount(self, field):
        self.amount_cents = _amount(field, required=True, max_cents=MAX_BASE_CENTS, allow_zero=True)

    def validate_evidence(self, field):
        upload = field.data
        data = upload.read(evidence.MAX_EVIDENCE_BYTES + 1) if upload and getattr(upload, "filename", "") else b""
        if not data and self.letter_optional:
            self.letter = None
            return
        try:
            self.letter = evidence.check(data, getattr(upload, "filename", ""))
        except evidence.EvidenceError as error:
            raise ValidationError(str(error)) from error

    letter_optional = False


class CorrectionForm(ApprovalForm):
    evidence = FileField(_l("A new letter from the buyer (optional: otherwise the original's letter is kept)"),
                         render_kw={"accept": "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"})
    reason = TextAreaField(_l("Reason for the correction"), [data_required(), Length(max=1000)])
    letter_optional = True


class ReviewForm(FlaskForm):
    decision = HiddenField(validators=[data_required(), AnyOf(("confirm", "reject"))])
    reason = TextAreaField(_l("Reason for rejecting (the company reads it)"), [Optional(), Length(max=1000)])


class BulkForm(FlaskForm):
    kinds = MultiCheckboxField(_l("Kinds of contribution"), choices=[
        SelectChoice(kind, service.KIND_LABELS[kind]) for kind in ALLOCATABLE_KINDS])
    start_on = Date(_l("From"), [input_required()])
    end_on = Date(_l("To"), [input_required()])
    rule = RadioField(_l("How much to allocate"), choices=[
        SelectChoice("all", _l("Everything still free of each contribution")),
        SelectChoice("gap", _l("Only what is needed to cover the obligation (oldest contributions first)")),
    ], default="all")
    fingerprint = HiddenField(validators=[Optional(), Length(max=64)])


class ConfirmForm(FlaskForm):
    fingerprint = HiddenField(validators=[data_required(), Length(max=64)])
