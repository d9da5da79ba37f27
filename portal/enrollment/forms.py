"""Forms of the enrolment capability. The rules live in the service (one validation for the
form and the CSV import); these forms carry CSRF, labels, hints and the submitted text."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.core.forms import LANGUAGE_CHOICES, FlaskForm
from portal.enrollment.base import (
    CLOSURE_LABELS,
    DURATION_LABELS,
    FUNDING_LABELS,
    ROLE_LABELS,
    VOG_LABELS,
    WEEKDAY_LABELS,
)

WEEKDAY_CHOICES = [SelectChoice(name, label) for name, label in zip(("monday", "tuesday", "wednesday", "thursday",
                                                                       "friday"), WEEKDAY_LABELS, strict=True)]


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs (a label table's items) as the options of a select."""
    return [SelectChoice(value, label) for value, label in pairs]


def _required():
    return DataRequired(message=_l("This field is required."))


def _select(label, options, **kwargs):
    return SelectField(label, choices=options, validate_choice=False, **kwargs)


class EnrolmentForm(FlaskForm):
    employee_name = StringField(_l("Employee's name"), render_kw={"autocomplete": "off", "maxlength": 200})
    employee_email = EmailField(_l("Employee's e-mail address"), render_kw={"autocomplete": "off", "maxlength": 254})
    job_title = StringField(_l("Job title"), render_kw={"maxlength": 200})
    department = StringField(_l("Department (optional)"), render_kw={"maxlength": 200})
    language = _select(_l("Language for the employee's e-mails"), LANGUAGE_CHOICES)
    role_type = _select(_l("Type of ambassador"), choices(ROLE_LABELS.items()))
    start = _select(_l("Start"), [])
    duration = _select(_l("Duration"), choices(DURATION_LABELS.items()))
    weekday = _select(_l("Weekday at school"), WEEKDAY_CHOICES)
    hours_per_week = StringField(_l("Hours per week"), render_kw={"inputmode": "decimal", "maxlength": 5})
    funding = _select(_l("How the hours are paid"), choices(FUNDING_LABELS.items()))
    sponsored_hours_per_week = StringField(_l("Hours per week the employer sponsors (mixed only)"),
                                           render_kw={"inputmode": "decimal", "maxlength": 5})
    hourly_cost = StringField(_l("Employer's hourly cost (EUR)"), render_kw={"inputmode": "decimal", "maxlength": 20})
    vog_status = _select(_l("VOG (certificate of conduct)"), choices(VOG_LABELS.items()))
    vog_date = StringField(_l("VOG date (requested or received)"), render_kw={"placeholder": "2026-08-15", "maxlength": 10})
    under_21 = _select(_l("Younger than 21?"), choices([("no", _l("No")), ("yes", _l("Yes"))]))


class CsvForm(FlaskForm):
    file = FileField(_l("CSV file"), render_kw={"accept": ".csv,text/csv"})


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Reason for withdrawal"), [_required(), Length(max=1000)])


class MoveForm(FlaskForm):
    to = HiddenField()
    reason = TextAreaField(_l("Reason (required for a withdrawal)"), [Optional(), Length(max=1000)])


class MatchForm(FlaskForm):
    school = _select(_l("School"), [])
    group_name = StringField(_l("Group or class"), [Length(max=60)], render_kw={"placeholder": "groep 5b"})
    teacher_name = StringField(_l("Teacher"), [Length(max=200)])


class VogForm(FlaskForm):
    vog_status = _select(_l("VOG status"), choices(VOG_LABELS.items()))
    vog_date = DateField(_l("Date"), [Optional()])


class ExtraSessionForm(FlaskForm):
    worked_on = DateField(_l("Date"), [_required()])
    hours = StringField(_l("Hours"), [_required()], render_kw={"inputmode": "decimal", "maxlength": 5})
    note = StringField(_l("Note (optional)"), [Length(max=500)])


class DecideForm(FlaskForm):
    reason = TextAreaField(_l("Reason (required to reject)"), [Length(max=500)])


class CorrectForm(FlaskForm):
    # Shown on the enrolment page beside the extra-session and withdrawal forms: ids of its own
    # (the posted names stay `hours` and `reason`).
    hours = StringField(_l("Correct hours (empty: cancel the session)"), render_kw={"inputmode": "decimal", "maxlength": 5},
                        id="correct-hours")
    reason = TextAreaField(_l("Why"), [_required(), Length(max=500)], id="correct-reason")


class SchoolForm(FlaskForm):
    name = StringField(_l("Name"), [_required(), Length(max=200)])
    brin = StringField(_l("BRIN code"), [_required(), Length(max=10)], render_kw={"placeholder": "05KO"})
    street = StringField(_l("Street and number"), [Length(max=200)])
    postcode = StringField(_l("Postcode"), [Length(max=7)])
    city = StringField(_l("City"), [Length(max=100)], default="Utrecht")
    coordinator_name = StringField(_l("Internal coordinator (ic)"), [Length(max=200)])
    coordinator_email = EmailField(_l("Coordinator's e-mail address"), [Optional(), Length(max=254)])
    is_active = _select(_l("Takes ambassadors"), choices([("1", _l("Yes")), ("0", _l("No"))]))


class SchoolYearForm(FlaskForm):
    name = StringField(_l("Name"), [_required(), Length(max=20)], render_kw={"placeholder": "2027-2028"})
    region = StringField(_l("Region"), [Length(max=40)], default="Midden")
    starts_on = DateField(_l("First school day"), [_required()])
    ends_on = DateField(_l("Last school day"), [_required()])
    half_starts_on = DateField(_l("Second half starts on"), [_required()])
    allowance = StringField(_l("Volunteer allowance per active month (EUR)"), [_required()], default="160,00")


class ClosureForm(FlaskForm):
    # Shown on the school-year page below the school year's own form: ids of its own (the posted
    # names stay `kind`, `name`, `starts_on`, `ends_on` and `school`).
    kind = _select(_l("Kind"), choices(CLOSURE_LABELS.items()), id="closure-kind")
    name = StringField(_l("Name"), [_required(), Length(max=100)], id="closure-name")
    starts_on = DateField(_l("First day"), [_required()], id="closure-starts_on")
    ends_on = DateField(_l("Last day"), [_required()], id="closure-ends_on")
    school = _select(_l("For"), [], id="closure-school")


class CapForm(FlaskForm):
    year = IntegerField(_l("Calendar year"), [_required(), NumberRange(2000, 2100)])
    per_month = StringField(_l("Per month (EUR)"), [_required()])
    per_year = StringField(_l("Per year (EUR)"), [_required()])
    per_hour = StringField(_l("Per hour, 21 and older (EUR)"), [_required()])
    per_hour_under_21 = StringField(_l("Per hour, under 21 (EUR)"), [_required()])
    source = StringField(_l("Source"), [Length(max=300)])


class AllowanceForm(FlaskForm):
    month_from = StringField(_l("From month"), render_kw={"placeholder": "2026-09"})
    month_to = StringField(_l("To month"), render_kw={"placeholder": "2027-07"})


class UploadForm(FlaskForm):
    kind = _select(_l("Document"), choices([("cv", _l("CV")), ("motivation", _l("Motivation letter"))]))
    file = FileField(_l("PDF file (at most 5 MB)"), render_kw={"accept": "application/pdf,.pdf"})


class IbanForm(FlaskForm):
    iban = StringField(_l("Your IBAN (for the volunteer allowance)"), [Length(max=42)])


class LinkRequestForm(FlaskForm):
    email = EmailField(_l("Your e-mail address"), [_required(), Length(max=254)])
