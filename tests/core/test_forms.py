"""Issue 15 items 5 and 15: every form's text inputs refuse control characters (a multi-line field
keeps its line breaks), and number fields refuse digits of other scripts (`١٢`). One mechanism in
portal/core/forms.py, which every capability's forms inherit; quantities are parsed in one place
(portal.core.money.parse_quantity)."""

from __future__ import annotations

import html
import importlib
import inspect

import flask_wtf
import pytest
from wtforms import EmailField, HiddenField, PasswordField, StringField, TextAreaField

from portal.accounts.models import User
from portal.core import forms as core_forms
from portal.core.money import AmountError, parse_cents, parse_quantity

EN = {"Accept-Language": "en"}
SINGLE_LINE = "Remove the invisible control characters (such as a line break or tab) from this field."
MULTI_LINE = "Remove the invisible control characters from this text (line breaks are fine)."
FOREIGN_DIGITS = "Type the number with the digits 0 to 9."
# Capabilities whose forms come from portal.core.forms; giving and enrollment switch in their own change.
SWITCHED = ("portal.accounts.forms", "portal.sroi.forms", "portal.statements.forms", "portal.reconcile.forms",
            "portal.enrollment.forms")


class Sample(core_forms.FlaskForm):
    class Meta:
        csrf = False

    name = StringField("Name")
    email = EmailField("E-mail")
    token = HiddenField()
    note = TextAreaField("Note")
    password = PasswordField("Password")
    quantity = StringField("Quantity", render_kw={"inputmode": "numeric"})
    amount = StringField("Amount", render_kw={"inputmode": "decimal"})


def validated(app, **data) -> Sample:
    with app.test_request_context("/", method="POST", data=data, headers=EN):
        form = Sample()
        form.validate()
        return form


@pytest.mark.parametrize("bad", ["Kees\r\nBcc: x@example.org", "a\tb", "nul\x00", "bell\x07", "del\x7f",
                                 "c1\x85", "vt\x0b", "sep\u2028", "esc\x1b[31m"])
@pytest.mark.parametrize("name", ["name", "email"])
def test_a_single_line_field_refuses_control_characters_and_keeps_what_was_typed(app, name, bad):
    form = validated(app, **{name: bad})
    assert getattr(form, name).errors == [SINGLE_LINE]
    assert getattr(form, name).data == bad


def test_a_multi_line_field_keeps_line_breaks_and_tabs_but_refuses_the_rest(app):
    assert validated(app, note="line one\r\nline two\n\tindented").errors == {}
    form = validated(app, note="line one\x0bline two")
    assert form.note.errors == [MULTI_LINE] and form.note.data == "line one\x0bline two"
    assert validated(app, note="form feed\x0c").note.errors == [MULTI_LINE]


def test_ordinary_text_is_fine(app):
    form = validated(app, name="Zoë d'Ancona – Ünal 株式会社", email="zoe@example.nl", note="Hallo,\n\nGroet",
                     quantity="12", amount="1.234,56")
    assert form.errors == {}


def test_passwords_and_hidden_fields_are_left_alone(app):
    """Nobody types a hidden field, and its reader checks it (the login's `next` goes through safe_next)."""
    assert validated(app, password="a\tb", token="/\n/evil.example").errors == {}


@pytest.mark.parametrize("typed", ["١٢", "１２", "۳", "१२", "1٢"])
@pytest.mark.parametrize("name", ["quantity", "amount"])
def test_a_number_field_refuses_digits_of_other_scripts(app, name, typed):
    form = validated(app, **{name: typed})
    assert getattr(form, name).errors == [FOREIGN_DIGITS] and getattr(form, name).data == typed


def test_digits_of_other_scripts_are_fine_in_text_that_is_not_a_number(app):
    assert validated(app, name="شركة ١٢").errors == {}


@pytest.mark.parametrize("module_name", SWITCHED)
def test_the_capabilities_forms_inherit_the_core_checks(module_name):
    module = importlib.import_module(module_name)
    forms = [cls for _, cls in inspect.getmembers(module, inspect.isclass)
             if issubclass(cls, flask_wtf.FlaskForm) and cls.__module__ == module_name]
    assert forms
    assert [cls.__name__ for cls in forms if not issubclass(cls, core_forms.FlaskForm)] == []


def test_an_invitation_with_a_line_break_in_the_name_is_an_error_on_the_field(app, make_company, login, outbox):
    company = make_company("Acme")
    admin = login(app.test_client(), company.admin)
    response = admin.post("/team", data={"email": "nieuw@acme.nl", "role": "member",
                                         "name": "Nina\r\nBcc: all@example.org"}, headers=EN)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and SINGLE_LINE in page
    assert "Nina" in page  # what was typed comes back
    assert not User.select().where(User.email == "nieuw@acme.nl").exists()
    assert outbox.messages == []


def test_a_registration_with_a_control_character_in_the_company_name_is_refused(app, client):
    response = client.post("/register", data={
        "legal_name": "Kanaal\x0b B.V.", "kvk": "87654321", "street": "Oudegracht 1", "postcode": "3511 AB",
        "city": "Utrecht", "billing_email": "f@kanaal.example", "language": "en", "admin_name": "Kees",
        "admin_email": "kees@kanaal.example", "password": "schoolbord-tulpenveld-kraan-19"}, headers=EN)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and SINGLE_LINE in page and "Kanaal" in page
    assert not User.select().where(User.email == "kees@kanaal.example").exists()


def test_an_sroi_percentage_in_arabic_indic_digits_is_refused(app):
    from portal.sroi.forms import CommitmentForm

    with app.test_request_context("/", method="POST", headers=EN,
                                  data={"percentage": "١٢", "base_amount": "١٠٠٠", "hourly_rate": "1"}):
        form = CommitmentForm(meta={"csrf": False})
        form.validate()
        assert form.percentage.errors == [FOREIGN_DIGITS]
        assert form.base_amount.errors == [FOREIGN_DIGITS]


# --- quantities: one parser in core -----------------------------------------------------------

@pytest.mark.parametrize("typed, number", [("1", 1), ("12", 12), (" 40 ", 40), (100_000, 100_000)])
def test_a_quantity_is_a_whole_number_in_the_digits_0_to_9(typed, number):
    assert parse_quantity(typed, maximum=100_000) == number


@pytest.mark.parametrize("typed", ["١٢", "１２", "۱۲", "१२", "1_000", "+5", "-1", "1.5", "1e3", "", None, "twelve"])
def test_anything_else_is_not_a_quantity(app, typed):
    with app.test_request_context("/", headers=EN):
        with pytest.raises(AmountError) as refused:
            parse_quantity(typed, maximum=100_000)
        assert str(refused.value) == "Enter a whole number."


@pytest.mark.parametrize("typed", ["0", "100001"])
def test_a_quantity_is_from_1_to_the_maximum(app, typed):
    with app.test_request_context("/", headers=EN):
        with pytest.raises(AmountError) as refused:
            parse_quantity(typed, maximum=100_000)
        assert str(refused.value) == "Enter a number from 1 to 100000."


@pytest.mark.parametrize("typed", ["١٢", "１２,50"])
def test_amounts_in_other_scripts_are_refused_too(typed):
    with pytest.raises(AmountError):
        parse_cents(typed)
