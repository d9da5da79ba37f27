"""The base of every form in the portal: what a text input may contain, in one place.

Every text field (StringField and its kinds: e-mail, search, text area; not passwords, which are
hashed and never shown, mailed or exported, nor hidden fields, which nobody types and whose
readers check them, such as the login's `next`) refuses control characters: they break
mail headers, spreadsheets and PDFs. A text area (a multi-line field) keeps its line breaks and
tabs. A text field the form marks as a number (`inputmode` numeric or decimal) takes the digits
0-9 only, not digits of other scripts (`١٢`) that Python's int() and Decimal() would accept.
The complaint is an error on the field, in the user's language (the field's other checks are not
run: one clear message), and the field keeps what was typed.

Capabilities import `FlaskForm` from here instead of from flask_wtf, and the fields and checks
they all share: `Date` (a date input with a translatable complaint) and the "This field is
required." checks `input_required()` / `data_required()`.
"""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm as _FlaskForm
from wtforms import DateField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, StopValidation

# The languages a person or company can choose, each named in itself (and marked so: a Dutch page
# that offers "English" says that word is English, for screen readers and the word checks).
LANGUAGE_CHOICES = [SelectChoice("nl", "Nederlands", render_kw={"lang": "nl"}),
                    SelectChoice("en", "English", render_kw={"lang": "en"})]

MULTILINE_ALLOWED = frozenset("\n\r\t")
LINE_SEPARATORS = frozenset("\u2028\u2029\u0085")
NUMERIC_INPUT_MODES = frozenset({"numeric", "decimal"})


def control_characters(text: str, *, multiline: bool = False) -> list[str]:
    """The control characters in `text` (C0, DEL, C1, and the Unicode line separators);
    line breaks and tabs are allowed when `multiline`."""
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    return [c for c in text if c not in allowed
            and (unicodedata.category(c) == "Cc" or c in LINE_SEPARATORS)]


def has_foreign_digits(text: str) -> bool:
    """True when `text` holds a digit other than 0-9 (Arabic-Indic, Devanagari, full-width ...)."""
    return any(c.isdigit() and not ("0" <= c <= "9") for c in text)


class NoControlCharacters:
    """Refuses control characters; a multi-line field keeps its line breaks and tabs."""

    field_flags: dict = {}

    def __init__(self, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, _form, field) -> None:
        if isinstance(field.data, str) and control_characters(field.data, multiline=self.multiline):
            if self.multiline:
                raise StopValidation(_l("Remove the invisible control characters from this text "
                                         "(line breaks are fine)."))
            raise StopValidation(_l("Remove the invisible control characters (such as a line break "
                                     "or tab) from this field."))


class PlainDigits:
    """Refuses digits of other scripts in a field meant for a number."""

    field_flags: dict = {}

    def __call__(self, _form, field) -> None:
        if isinstance(field.data, str) and has_foreign_digits(field.data):
            raise StopValidation(_l("Type the number with the digits 0 to 9."))


def text_checks(field) -> list:
    """The checks core adds to a bound field (empty for fields that are not text)."""
    if not isinstance(field, StringField) or isinstance(field, (PasswordField, HiddenField)):
        return []
    checks: list = [NoControlCharacters(multiline=isinstance(field, TextAreaField))]
    if (field.render_kw or {}).get("inputmode") in NUMERIC_INPUT_MODES:
        checks.append(PlainDigits())
    return checks


class FlaskForm(_FlaskForm):
    """flask_wtf's FlaskForm whose text fields refuse control characters (see the module)."""

    class Meta(_FlaskForm.Meta):
        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            checks = text_checks(field)
            if checks:
                # The class's validator list is shared by every instance: give this field its own.
                field.validators = [*checks, *field.validators]
            return field


def input_required() -> InputRequired:
    """'This field is required.' when nothing was typed (a bad date keeps its own complaint)."""
    return InputRequired(message=_l("This field is required."))


def data_required() -> DataRequired:
    """'This field is required.' when the field holds nothing (blank text counts as nothing)."""
    return DataRequired(message=_l("This field is required."))


class Date(DateField):
    """A date input whose complaint is translatable and says what to type."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            self.data = None
            raise ValueError(_l("Enter a valid date.")) from exc
