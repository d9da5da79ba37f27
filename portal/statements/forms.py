"""Forms of the statements capability: they parse what people type; periods.py decides what is allowed."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.core.forms import Date, FlaskForm
from portal.statements import periods

PERIOD_KIND_CHOICES = (
    SelectChoice("calendar_year", _l("Calendar year (for the tax return)")),
    SelectChoice("school_year", _l("School year (August to July, for the programme)")),
    SelectChoice("custom", _l("Other period")),
)


class PeriodForm(FlaskForm):
    """Which period a statement covers. Used for the preview (GET) and for issuing (POST)."""

    kind = RadioField(_l("Period"), choices=PERIOD_KIND_CHOICES, default="calendar_year",
                      validators=[DataRequired(message=_l("Choose a period."))])
    year = SelectField(_l("Calendar year"), coerce=int, validators=[Optional()])
    school_year = SelectField(_l("School year"), coerce=int, validators=[Optional()])
    start = Date(_l("First day"), validators=[Optional()])
    end = Date(_l("Last day"), validators=[Optional()])

    def __init__(self, *args, today: dt.date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        years = periods.year_choices(today)
        self.year.choices = [SelectChoice(y, str(y)) for y in years]
        current_school = periods.school_year_of(today)
        school_years = range(current_school, max(periods.EARLIEST_YEAR, current_school - 6) - 1, -1)
        self.school_year.choices = [SelectChoice(y, f"{y}-{y + 1}") for y in school_years]
        # The latest period that has ended is chosen first: its statement can be issued (one that
        # is still running only has an interim overview).
        if self.year.data is None:
            self.year.data = today.year - 1
        if self.school_year.data is None:
            self.school_year.data = current_school - 1

    def period(self) -> periods.Period | None:
        """The chosen period, or None with the complaint attached to the field concerned."""
        try:
            if self.kind.data == "calendar_year":
                return periods.calendar_year(self.year.data)
            if self.kind.data == "school_year":
                return periods.school_year(self.school_year.data)
            return periods.custom(self.start.data, self.end.data)
        except periods.PeriodError as error:
            target = getattr(self, error.field or "kind", self.kind)
            target.errors = list(target.errors) + [str(error)]
            return None


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class VoidForm(FlaskForm):
    reason = TextAreaField(_l("Reason for withdrawing"), validators=[
        DataRequired(message=_l("Give the reason for withdrawing this statement.")),
        Length(max=1000, message=_l("Keep the reason under 1000 characters."))])


class VerifyForm(FlaskForm):
    """Anyone with the document: the number and code printed on it, optionally the PDF itself."""

    number = StringField(_l("Statement number"), validators=[Length(max=20)],
                         render_kw={"autocomplete": "off", "placeholder": "OA-2026-0001"})
    code = StringField(_l("Verification code"), validators=[Length(max=32)],
                       render_kw={"autocomplete": "off", "autocapitalize": "characters"})
    document = FileField(_l("The PDF you received (optional)"))

    class Meta:
        csrf = False  # a read-only check; GET links from the QR code carry no token
