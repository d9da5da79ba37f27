"""Forms of the contact capability: the public contact form, the leader's reply, and the cost
calculator (a GET form without a CSRF token: it changes nothing).

Core's FlaskForm refuses control characters in every text field (the message keeps its line
breaks). The service decides what is allowed; the form carries what people type, so a refused
message comes back exactly as typed.
"""

from __future__ import annotations

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
from wtforms.validators import Email, InputRequired, Length, Optional

from portal.contact.models import MAX_EMAIL, MAX_MESSAGE, MAX_NAME, MAX_ORGANISATION, MAX_REPLY
from portal.contact.service import QUESTION_LABELS
from portal.core.forms import FlaskForm


def _required():
    return InputRequired(message=_l("This field is required."))


def _at_most(maximum: int):
    return Length(max=maximum, message=_l("Use at most %(max)d characters.", max=maximum))


class ContactForm(FlaskForm):
    name = StringField(_l("Your name"), [_required(), _at_most(MAX_NAME)], render_kw={"autocomplete": "name"})
    organisation = StringField(_l("Organisation (optional)"), [Optional(), _at_most(MAX_ORGANISATION)],
                               render_kw={"autocomplete": "organization"})
    email = EmailField(_l("Your e-mail address"),
                       [_required(), _at_most(MAX_EMAIL),
                        Email(message=_l("Enter a valid e-mail address, such as name@company.nl."))],
                       render_kw={"autocomplete": "email"})
    question_type = RadioField(_l("What is your question about?"),
                               choices=[SelectChoice(code, label) for code, label in QUESTION_LABELS.items()],
                               validators=[InputRequired(message=_l("Choose what your question is about."))],
                               validate_choice=False)
    message = TextAreaField(_l("Your message"), [_required(), _at_most(MAX_MESSAGE)], render_kw={"rows": 8})
    # The honeypot: hidden from people (and from screen readers); a program that fills in every
    # field fills this one too. Its name reads like a real field on purpose.
    website = StringField(_l("Leave this field empty"), render_kw={"autocomplete": "off", "tabindex": "-1"})
    form_token = HiddenField()


class ReplyForm(FlaskForm):
    reply = TextAreaField(_l("Your reply"), [_required(), _at_most(MAX_REPLY)], render_kw={"rows": 10})


class CostForm(FlaskForm):
    """The calculator: read from the query string, so it works without JavaScript and a result can
    be bookmarked or shared."""

    class Meta:
        csrf = False

    school_year = SelectField(_l("School year"), validate_choice=False)
    period = SelectField(_l("Period"), validate_choice=False)
    weekday = SelectField(_l("Day of the week"), validate_choice=False)
    hours_per_week = StringField(_l("Hours per week at school"), render_kw={"inputmode": "decimal"})
    sponsored_hours_per_week = StringField(_l("Of which paid by the employer (sponsored)"),
                                           render_kw={"inputmode": "decimal"})
    hourly_cost = StringField(_l("Your hourly cost per employee (EUR)"),
                              render_kw={"inputmode": "decimal", "autocomplete": "off"})
