"""SROI arithmetic on integer cents and minutes: the obligation, values at a rate or a share of a
value (each division rounds half-up once), and reading and writing percentages, hours and amounts.
"""

from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from portal.core.money import format_eur
from portal.core.templating import format_hours_unit
from portal.sroi.base import SroiError
from portal.sroi.models import HOUR_KINDS


def div_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up to a whole number, in integers only.

    For n >= 0 and d > 0: round_half_up(n / d) = floor(n / d + 1/2) = (2n + d) // (2d).
    """
    if denominator <= 0 or numerator < 0:
        raise ValueError("div_half_up needs numerator >= 0 and denominator > 0")
    return (2 * numerator + denominator) // (2 * denominator)


def obligation_cents(base_cents: int, percentage_bp: int, cap_cents: int | None = None) -> int:
    """The social-return obligation in whole cents.

        obligation = min(cap, round_half_up(base x bp / 10 000))
                   = min(cap, (2 x base x bp + 10 000) // 20 000)

    `bp` is the percentage in basis points (5 % = 500), so base x bp / 10 000 is the exact
    amount in cents; it is rounded half-up to the cent. A cap is itself whole cents, so
    capping before or after rounding gives the same result.
    """
    exact_rounded = div_half_up(base_cents * percentage_bp, 10_000)
    return exact_rounded if cap_cents is None else min(exact_rounded, cap_cents)


def hours_value_at_rate(minutes: int, rate_cents: int) -> int:
    """Value of `minutes` at `rate_cents` per hour: round_half_up(minutes x rate / 60)."""
    return div_half_up(minutes * rate_cents, 60)


def share_of_value(value_cents: int, part: int, whole: int) -> int:
    """The value of `part` of `whole` units worth `value_cents`: round_half_up(value x part / whole)."""
    if whole <= 0 or value_cents <= 0:
        return 0
    return div_half_up(value_cents * part, whole)


def parse_percentage_bp(text: str | None) -> int:
    """'5', '5 %', '2,5' or '2.25' -> basis points (500, 250, 225); more than 0, at most 100 %."""
    cleaned = (text or "").strip().rstrip("%").strip().replace(",", ".")
    if not cleaned:
        raise SroiError(_l("Please enter the percentage from the contract, such as 5."), "percentage")
    if not re.fullmatch(r"[-+]?\d{1,6}(\.\d{1,8})?", cleaned):
        raise SroiError(_l("Enter the percentage as a number, such as 5 or 2,5."), "percentage")
    value = Decimal(cleaned)
    if value <= 0 or value > 100:
        raise SroiError(_l("The percentage must be more than 0 and at most 100."), "percentage")
    basis_points = value * 100
    if basis_points != basis_points.to_integral_value():
        raise SroiError(_l("A percentage has at most two decimals, such as 2,25."), "percentage")
    return int(basis_points)


def format_percentage(basis_points: int, language: str = "nl") -> str:
    """500 -> '5%', 250 -> '2,5%' (Dutch) or '2.5%' (English)."""
    whole, fraction = divmod(int(basis_points), 100)
    text = str(whole) if fraction == 0 else f"{whole}.{fraction:02d}".rstrip("0")
    return (text.replace(".", ",") if language == "nl" else text) + "%"


def parse_minutes(text: str | None, *, field_name: str = "amount") -> int:
    """'7:30', '7,5', '7.25' or '8' hours -> whole minutes (more than zero)."""
    cleaned = (text or "").strip().lower()
    cleaned = re.sub(r"\s*(h|u|uur|hours?)$", "", cleaned)
    if not cleaned:
        raise SroiError(_l("Please enter a number of hours, such as 7:30."), field_name)
    clock = re.fullmatch(r"(\d{1,6}):([0-5]\d)", cleaned)
    if clock:
        minutes = int(clock.group(1)) * 60 + int(clock.group(2))
    elif re.fullmatch(r"\d{1,6}([.,]\d{1,2})?", cleaned):
        exact = Decimal(cleaned.replace(",", ".")) * 60
        if exact != exact.to_integral_value():
            raise SroiError(_l("Enter whole minutes, for example 7:20 instead of 7,33."), field_name)
        minutes = int(exact)
    else:
        raise SroiError(_l("Enter hours as 7:30 or 7,5."), field_name)
    if minutes <= 0:
        raise SroiError(_l("The number of hours must be more than zero."), field_name)
    return minutes


def format_minutes(minutes: int) -> str:
    """450 -> '7:30' (hours and minutes)."""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(int(minutes)), 60)
    return f"{sign}{hours:,}:{rest:02d}".replace(",", ".")


def format_amount(kind: str, amount: int, language: str = "nl") -> str:
    """An allocation amount for people: hours as h:mm, the rest in euros."""
    return format_hours_unit(amount, language) if kind in HOUR_KINDS else format_eur(amount, language)
