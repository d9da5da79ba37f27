"""Forms of the project leader's desk."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.core.forms import FlaskForm


class ImportForm(FlaskForm):
    statement = FileField(_l("Bank statement file"), [FileRequired(_l("Choose a file."))])
    format = SelectField(_l("Format"), choices=[
        SelectChoice("auto", _l("Recognise automatically")), SelectChoice("camt053", "CAMT.053 (XML)"),
        SelectChoice("mt940", "MT940"), SelectChoice("csv", _l("CSV or ABN AMRO TXT"))], default="auto")
    encoding = SelectField(_l("Character encoding (MT940 and CSV)"), choices=[
        SelectChoice("utf-8", "UTF-8"), SelectChoice("cp1252", "Windows-1252")], default="utf-8")


class PasteForm(FlaskForm):
    references = TextAreaField(_l("References"), [DataRequired(_l("Paste at least one reference.")),
                                                  Length(max=40_000)])
    paid_on = DateField(_l("Paid on"), [DataRequired(_l("Enter the date the money arrived."))])


class CloseForm(FlaskForm):
    explanation = TextAreaField(_l("Explanation of differences"), [Optional(), Length(max=5000)])


class CorrectionForm(FlaskForm):
    on = DateField(_l("Date"), [DataRequired(_l("Enter a date."))])
    amount = StringField(_l("Amount (negative to reduce)"), [DataRequired(_l("Enter an amount.")), Length(max=40)])
    subject = StringField(_l("Concerns (e.g. a bank line or donation)"), [Optional(), Length(max=100)])
    reason = TextAreaField(_l("Reason"), [DataRequired(_l("A correction needs a reason.")), Length(max=5000)])
