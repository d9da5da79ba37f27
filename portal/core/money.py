"""The only place where text or Decimal becomes integer cents, and cents become text (and
where a typed quantity becomes a whole number: `parse_quantity`).

Amounts live as integer cents everywhere else. Users may type Dutch ("1.234,56"),
English ("1,234.56" or "1234.56") or plain ("12") amounts, with or without a euro sign.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from portal.core.errors import UserError

DEFAULT_MAX_CENTS = 100_000_000  # EUR 1,000,000; the app passes PORTAL_MAX_AMOUNT_CENTS


class AmountError(UserError):
    """User text that is not an acceptable amount; str() is a message for the user."""


# Grouped thousands ("1.234.567", "1 234") or plain digits, each with optional decimals.
_SHAPE = re.compile(r"^(0|[1-9]\d{0,2}([.,\s]\d{3})*)([.,]\d+)?$|^\d+([.,]\d+)?$", re.ASCII)


def _normalise(text: str) -> str:
    """Turn the user's notation into a plain `1234.56` string, or raise AmountError."""
    cleaned = text.strip().replace("€", "").replace("EUR", "").replace("eur", "").strip()
    cleaned = cleaned.replace("\u00a0", " ").replace("'", "")
    if cleaned.endswith((",-", ".-")):
        cleaned = cleaned[:-2]
    if not cleaned:
        raise AmountError(_l("Please enter an amount."))
    if cleaned.startswith("-"):
        raise AmountError(_l("The amount cannot be negative."))
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    if not _SHAPE.match(cleaned):
        raise AmountError(_l("Please enter an amount such as 250 or 1.234,56."))
    digits = cleaned.replace(" ", "")
    last_comma, last_dot = digits.rfind(","), digits.rfind(".")
    separator_at = max(last_comma, last_dot)
    if separator_at == -1:
        return digits
    tail = digits[separator_at + 1:]
    both = last_comma != -1 and last_dot != -1
    repeated = digits.count(digits[separator_at]) > 1
    # One separator followed by exactly three digits ("1.234", "1,234") is a thousands
    # separator in both notations; anything else after the last separator is decimals.
    # Thousands are grouped only after a first group of 1-3 digits that is not a zero
    # ("0.001" and "1234.567" are three decimals, not 1 and 1,234,567 euros).
    first_group = re.split(r"[.,]", digits, maxsplit=1)[0]
    groups_thousands = 1 <= len(first_group) <= 3 and not first_group.startswith("0")
    if not both and (repeated or (len(tail) == 3 and groups_thousands)):
        if len(tail) != 3:
            raise AmountError(_l("Please enter an amount such as 250 or 1.234,56."))
        return digits.replace(",", "").replace(".", "")
    integer = re.sub(r"[.,]", "", digits[:separator_at])
    return f"{integer}.{tail}"


def parse_cents(text: str | None, *, max_cents: int = DEFAULT_MAX_CENTS, allow_zero: bool = False) -> int:
    """Parse what a user typed into integer cents, or raise AmountError with a clear message."""
    if text is None:
        raise AmountError(_l("Please enter an amount."))
    if len(text) > 40:
        raise AmountError(_l("Please enter an amount such as 250 or 1.234,56."))
    plain = _normalise(str(text))
    try:
        value = Decimal(plain)
    except InvalidOperation as exc:
        raise AmountError(_l("Please enter an amount such as 250 or 1.234,56.")) from exc
    return decimal_to_cents(value, max_cents=max_cents, allow_zero=allow_zero)


def decimal_to_cents(value: Decimal, *, max_cents: int = DEFAULT_MAX_CENTS, allow_zero: bool = False) -> int:
    """Convert an exact Decimal amount in euros to cents, refusing what money cannot be."""
    if not value.is_finite():
        raise AmountError(_l("Please enter an amount such as 250 or 1.234,56."))
    if value < 0:
        raise AmountError(_l("The amount cannot be negative."))
    # The limit first: quantize() cannot hold an amount with more digits than the decimal context.
    if value * 100 > max_cents:
        raise AmountError(_l("The amount cannot be more than %(maximum)s.", maximum=format_eur(max_cents)))
    if value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise AmountError(_l("An amount has at most two decimals (whole cents)."))
    cents = int(value * 100)
    if cents == 0 and not allow_zero:
        raise AmountError(_l("The amount must be more than zero."))
    return cents


def cents_to_decimal(cents: int) -> Decimal:
    """Exact euros for cents (for exports and PDFs that want a number, never a float)."""
    return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def format_eur(cents: int | None, language: str = "nl") -> str:
    """Format cents for people: '€ 1.234,56' in Dutch, '€1,234.56' in English. A negative amount
    as each language writes it: '€ -4,29' in Dutch (the sign beside the number), '-€4.29' in English."""
    if cents is None:
        return ""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    grouped = f"{whole:,}"
    if language == "nl":
        return f"€ {sign}{grouped.replace(',', '.')},{rest:02d}"
    return f"{sign}€{grouped}.{rest:02d}"


def format_plain(cents: int) -> str:
    """Cents as a plain machine-readable amount '1234.56' (CSV exports)."""
    return str(cents_to_decimal(cents))


# Whole numbers people type as a quantity: the digits 0-9 only. int() and Decimal() also take
# digits of other scripts ("١٢", "１２"), underscores ("1_000") and signs; a quantity takes none.
_WHOLE = re.compile(r"[0-9]{1,9}", re.ASCII)


def parse_quantity(text: object, *, maximum: int) -> int:
    """A quantity from 1 to `maximum`, typed with the digits 0-9; AmountError with a message otherwise."""
    cleaned = "" if text is None else str(text).strip()
    if not _WHOLE.fullmatch(cleaned):
        raise AmountError(_l("Enter a whole number."))
    number = int(cleaned)
    if not 1 <= number <= maximum:
        raise AmountError(_l("Enter a number from 1 to %(maximum)d.", maximum=maximum))
    return number
