"""Giving's input checks (amounts, text without control characters, e-mail addresses, schools)
and a donation's reference numbers and access keys (the RF reference a bank transfer names, and
the key that opens a donor's status page and PDFs without an account)."""

from __future__ import annotations

import hmac
import re
from hashlib import sha256
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from portal.core import money
from portal.giving.base import GivingError
from portal.giving.models import MAX_RECORDED_CENTS, MAX_STRIPE_CENTS, MIN_DONATION_CENTS, Donation

try:
    from portal.enrollment.models import School
except ImportError:  # pragma: no cover - the capability is part of the portal
    School = None


def max_cents(method: str) -> int:
    """The largest amount accepted for a method: the configured maximum, and Stripe's own limit."""
    configured = int(current_app.config.get("MAX_AMOUNT_CENTS") or money.DEFAULT_MAX_CENTS)
    limit = min(configured, MAX_RECORDED_CENTS)
    return min(limit, MAX_STRIPE_CENTS) if method == "stripe" else limit


def parse_money(text: str | None, field_name: str, *, max_cents: int) -> int:
    """What someone typed as integer cents (more than zero), or GivingError naming the field."""
    try:
        return money.parse_cents(text, max_cents=max_cents)
    except money.AmountError as error:
        raise GivingError(error.message, field_name) from error


def parse_amount(text: str | None, method: str) -> int:
    """What the donor typed as integer cents: at least EUR 0.50, at most the method's maximum."""
    cents = parse_money(text, "amount", max_cents=max_cents(method))
    check_amount(cents, method)
    return cents


def check_amount(cents: Any, method: str) -> None:
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise GivingError(_l("Please enter an amount such as 250 or 1.234,56."), "amount")
    if cents < MIN_DONATION_CENTS:
        raise GivingError(_l("The minimum amount is %(minimum)s.", minimum=money.format_eur(MIN_DONATION_CENTS)),
                          "amount")
    if cents > max_cents(method):
        raise GivingError(_l("The amount cannot be more than %(maximum)s.", maximum=money.format_eur(max_cents(method))),
                          "amount")


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_BUT_NEWLINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def check_no_control(value: str | None, field_name: str, *, multiline: bool = False) -> None:
    """Refuse control characters (exports and mail cannot carry them); a multi-line field keeps its
    line breaks."""
    if (CONTROL_BUT_NEWLINES if multiline else CONTROL).search(value or ""):
        if multiline:  # the same words as core's forms (portal/core/forms.py)
            raise GivingError(_l("Remove the invisible control characters from this text (line breaks are fine)."),
                              field_name)
        raise GivingError(_l("Remove the invisible control characters (such as a line break or tab) from this field."),
                          field_name)


def _text(value: str | None, limit: int, field_name: str, *, required: bool = False,
          multiline: bool = False) -> str:
    check_no_control(value, field_name, multiline=multiline)
    text = " ".join((value or "").split())
    if required and not text:
        raise GivingError(_l("This field is required."), field_name)
    if len(text) > limit:
        raise GivingError(_l("Use at most %(count)d characters.", count=limit), field_name)
    return text


def _email(value: str | None, field_name: str) -> str:
    text = (value or "").strip()
    if not text:
        raise GivingError(_l("This field is required."), field_name)
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise GivingError(_l("Enter a valid e-mail address, such as name@company.nl."), field_name) from exc


def schools() -> list[tuple[int, str]]:
    """Active project schools as (id, name), for earmarks and needs (empty without enrolment)."""
    if School is None:  # pragma: no cover - the capability is part of the portal
        return []
    return [(s.id, s.name) for s in School.select(School.id, School.name).where(School.is_active).order_by(School.name)]


def _school(school_id: int | None, field_name: str) -> tuple[int | None, str]:
    if school_id in (None, "", 0):
        return None, ""
    names = dict(schools())
    try:
        key = int(school_id)
    except (TypeError, ValueError):
        key = -1
    if key not in names:
        raise GivingError(_l("Choose a school from the list."), field_name)
    return key, names[key]


def rf_reference(donation_id: int, year: int) -> str:
    """A structured creditor reference (ISO 11649), unique because the donation id is."""
    body = f"{year:04d}{donation_id:06d}"
    reference = "RF" + mod_97_10.calc_check_digits(body + "RF") + body
    return iso11649.validate(reference)


def access_key(donation: Donation) -> str:
    """A key for the donor's own pages and PDFs when they are not logged in (the public page)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    message = f"giving-donation:{donation.id}:{donation.form_token}".encode()
    return hmac.new(secret, message, sha256).hexdigest()[:32]


def key_matches(donation: Donation, key: str | None) -> bool:
    return bool(key) and hmac.compare_digest(access_key(donation), str(key))
