"""Forms of the accounts capability; every message is translatable."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length, ValidationError

from portal.core.forms import LANGUAGE_CHOICES, FlaskForm

ROLE_CHOICES = [SelectChoice("member", _l("Member")), SelectChoice("admin", _l("Administrator"))]
POSTCODE = re.compile(r"^([1-9][0-9]{3})\s?(?!SA|SD|SS)([A-Z]{2})$")


def normalise_postcode(value: str) -> str:
    """'1234ab' -> '1234 AB'; raises ValueError for anything that is not a Dutch postcode."""
    match = POSTCODE.match((value or "").strip().upper())
    if not match:
        raise ValueError(value)
    return f"{match.group(1)} {match.group(2)}"


def _required():
    return DataRequired(message=_l("This field is required."))


def _email():
    return Email(message=_l("Enter a valid e-mail address, such as name@company.nl."), check_deliverability=False)


class KvkField(StringField):
    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data:
            self.data = re.sub(r"[\s.]", "", self.data)


def validate_kvk(_form, field):
    if not re.fullmatch(r"\d{8}", field.data or ""):
        raise ValidationError(_l("A KvK number has exactly 8 digits."))


def validate_postcode(_form, field):
    try:
        field.data = normalise_postcode(field.data)
    except ValueError as exc:
        raise ValidationError(_l("Enter a Dutch postcode, such as 3511 AB.")) from exc


class RegisterForm(FlaskForm):
    legal_name = StringField(_l("Legal name of the company"), [_required(), Length(max=200)], render_kw={"autocomplete": "organization"})
    kvk = KvkField(_l("KvK number"), [_required(), validate_kvk])
    street = StringField(_l("Street and number"), [_required(), Length(max=200)], render_kw={"autocomplete": "street-address"})
    postcode = StringField(_l("Postcode"), [_required(), validate_postcode], render_kw={"autocomplete": "postal-code"})
    city = StringField(_l("City"), [_required(), Length(max=100)], render_kw={"autocomplete": "address-level2"})
    billing_email = EmailField(_l("Billing e-mail address"), [_required(), _email(), Length(max=254)])
    language = RadioField(_l("Preferred language"), choices=LANGUAGE_CHOICES, default="nl")
    admin_name = StringField(_l("Your name"), [_required(), Length(max=200)], render_kw={"autocomplete": "name"})
    admin_email = EmailField(_l("Your e-mail address"), [_required(), _email(), Length(max=254)], render_kw={"autocomplete": "email"})
    password = PasswordField(_l("Password"), [_required(), Length(max=256)], render_kw={"autocomplete": "new-password"})


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), [_required(), Length(max=254)], render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), [_required(), Length(max=256)], render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class TotpForm(FlaskForm):
    code = StringField(_l("6-digit code from your authenticator app"), [_required(), Length(max=10)], render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class ForgotForm(FlaskForm):
    email = EmailField(_l("E-mail address"), [_required(), Length(max=254)], render_kw={"autocomplete": "username"})


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), [_required(), Length(max=256)], render_kw={"autocomplete": "new-password"})


class AcceptInviteForm(FlaskForm):
    name = StringField(_l("Your name"), [_required(), Length(max=200)])
    password = PasswordField(_l("Choose a password"), [_required(), Length(max=256)], render_kw={"autocomplete": "new-password"})


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), [_required(), Length(max=256)], render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), [_required(), Length(max=256)], render_kw={"autocomplete": "new-password"})


class InviteForm(FlaskForm):
    name = StringField(_l("Name (optional)"), [Length(max=200)])
    email = EmailField(_l("E-mail address"), [_required(), _email(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="member")


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class CompanyIbanForm(FlaskForm):
    iban = StringField(_l("IBAN of an account your company pays from"), [_required(), Length(max=60)],
                       render_kw={"autocomplete": "off", "spellcheck": "false", "placeholder": "NL91 ABNA 0417 1643 00"})


class ConfirmActionForm(FlaskForm):
    """A form with only a CSRF token, for buttons that change state."""

    confirm = BooleanField(default=True)
