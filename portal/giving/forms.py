"""Forms of the giving capability: they carry what people type; the service decides what is allowed.

Core's FlaskForm refuses control characters in every text field (a text area keeps its line
breaks) and digits of other scripts where a number is typed.

Amounts stay text here and are parsed once, by the service through core/money, so a refused
amount comes back exactly as typed with a message beside it.
"""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from wtforms import (
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from portal.accounts.forms import KvkField
from portal.core.forms import LANGUAGE_CHOICES, Date, FlaskForm, input_required

CLASSIFICATION_CHOICES = [
    SelectChoice("gift", _l("Gift: nothing in return")),
    SelectChoice("sponsoring", _l("Sponsoring: with a counter-performance (for example being named as a sponsor)")),
]
METHOD_CHOICES = [
    SelectChoice("stripe", _l("Pay online now (iDEAL, card or SEPA direct debit)")),
    SelectChoice("bank", _l("Bank transfer: send me a payment request")),
]


def new_token() -> str:
    return secrets.token_urlsafe(24)


class DonationForm(FlaskForm):
    amount = StringField(_l("Amount (EUR)"), render_kw={"inputmode": "decimal", "autocomplete": "off"})
    classification = RadioField(_l("What kind of contribution is this?"), choices=CLASSIFICATION_CHOICES,
                                validators=[input_required()], validate_choice=False)
    earmark_school = SelectField(_l("For a school (optional)"), validate_choice=False, coerce=str)
    earmark_purpose = StringField(_l("For a purpose (optional)"), [Optional(), Length(max=300)],
                                  render_kw={"placeholder": _l("for example: reading books for group 3")})
    method = RadioField(_l("How do you want to pay?"), choices=METHOD_CHOICES, default="stripe",
                        validators=[input_required()], validate_choice=False)
    form_token = HiddenField()


class PublicDonationForm(DonationForm):
    company_name = StringField(_l("Legal name of the company"), [input_required(), Length(max=200)],
                               render_kw={"autocomplete": "organization"})
    kvk = KvkField(_l("KvK number"), [input_required()], render_kw={"inputmode": "numeric"})
    contact_name = StringField(_l("Your name"), [Optional(), Length(max=200)], render_kw={"autocomplete": "name"})
    contact_email = EmailField(_l("Your e-mail address"), [input_required(), Length(max=254)],
                               render_kw={"autocomplete": "email"})
    language = RadioField(_l("Language for the receipt"), choices=LANGUAGE_CHOICES, default="nl",
                          validate_choice=False)


class PledgeForm(FlaskForm):
    need = SelectField(_l("For a need of a school"), validate_choice=False, coerce=str)
    description = StringField(_l("What do you offer?"), [Optional(), Length(max=500)])
    quantity = StringField(_l("Quantity"), [input_required()], render_kw={"inputmode": "numeric"})
    declared_value = StringField(_l("Total value (EUR)"), render_kw={"inputmode": "decimal"})
    classification = RadioField(_l("What kind of contribution is this?"), choices=CLASSIFICATION_CHOICES,
                                validators=[input_required()], validate_choice=False)
    form_token = HiddenField()


class NeedForm(FlaskForm):
    item = StringField(_l("Item"), [input_required(), Length(max=200)])
    description = TextAreaField(_l("Description"), [Optional(), Length(max=2000)])
    quantity = StringField(_l("Quantity"), [input_required()], render_kw={"inputmode": "numeric"})
    school = SelectField(_l("School"), validate_choice=False, coerce=str)
    needed_by = Date(_l("Needed by (optional)"), [Optional()])


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Reason (sent to the company)"), [input_required(), Length(max=1000)])


class DeliverForm(FlaskForm):
    on = Date(_l("Delivered on"), [input_required()])


class ConfirmValueForm(FlaskForm):
    value = StringField(_l("Market value at receipt (EUR)"), [input_required()], render_kw={"inputmode": "decimal"})
    on = Date(_l("Valued on"), [input_required()])


class ResolveForm(FlaskForm):
    resolution = TextAreaField(_l("What was done"), [input_required(), Length(max=1000)])


class BankPaymentForm(FlaskForm):
    reference = StringField(_l("Payment reference (RF…)"), [input_required(), Length(max=60)])
    amount = StringField(_l("Amount received (EUR)"), [input_required()], render_kw={"inputmode": "decimal"})
    paid_on = Date(_l("Date on the bank statement"), [input_required()])
    bank_line_ref = StringField(_l("Bank statement line (unique reference)"), [input_required(), Length(max=200)])
    # Issue 13: what to do when the amount is not exactly what is still open on the request.
    difference = RadioField(_l("If the amount differs from the request"), choices=[
        SelectChoice("refuse", _l("Record nothing and open an issue")),
        SelectChoice("record", _l("Record what arrived: less is a part payment (the request stays open for the "
                                  "rest), more settles it with a surplus to refund")),
        SelectChoice("keep", _l("Record what arrived and keep a surplus as a gift (the company agreed)"))],
        default="refuse")


class ConfirmForm(FlaskForm):
    """A bare POST with a CSRF token (accept, withdraw, close)."""
