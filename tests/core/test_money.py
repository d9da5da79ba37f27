"""money.py: the one place where typed text becomes integer cents and cents become text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from portal.core.money import (
    DEFAULT_MAX_CENTS,
    AmountError,
    cents_to_decimal,
    decimal_to_cents,
    format_eur,
    format_plain,
    parse_cents,
)


@pytest.fixture(autouse=True)
def english(app):
    """Messages are lazy strings; render them in English inside a request."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.mark.parametrize("typed, cents", [
    # Dutch notation
    ("1.234,56", 123456), ("1234,56", 123456), ("0,05", 5), ("12,5", 1250), ("€ 12", 1200),
    ("€12,-", 1200), ("12,-", 1200), ("1.000.000", 100_000_000), ("1 234,56", 123456),
    ("1\u00a0234,56", 123456), ("EUR 250", 25000), ("250 eur", 25000),
    # English notation
    ("1,234.56", 123456), ("1234.56", 123456), ("0.05", 5), ("€1,234.56", 123456), ("1,000,000.00", 100_000_000),
    # Plain
    ("12", 1200), ("  7  ", 700), ("+5", 500), ("0,01", 1),
    # One separator followed by exactly three digits groups thousands, in both notations
    ("1.234", 123400), ("1,234", 123400), ("12.345", 1234500),
    # Trailing zeros beyond cents are still whole cents
    ("1,230", 123000), ("1.50", 150), ("0.500", 50),
])
def test_dutch_english_and_plain_amounts_are_understood(typed, cents):
    assert parse_cents(typed) == cents


@pytest.mark.parametrize("typed, message", [
    ("-5", "cannot be negative"), ("-0,01", "cannot be negative"), ("€ -12", "cannot be negative"),
    ("", "Please enter an amount."), ("   ", "Please enter an amount."), ("€", "Please enter an amount."),
    (None, "Please enter an amount."),
    ("NaN", "such as 250 or 1.234,56"), ("nan", "such as 250 or 1.234,56"), ("Infinity", "such as 250 or 1.234,56"),
    ("inf", "such as 250 or 1.234,56"), ("1e9", "such as 250 or 1.234,56"), ("12abc", "such as 250 or 1.234,56"),
    ("1,2,3", "such as 250 or 1.234,56"), ("1.2.3", "such as 250 or 1.234,56"), ("1,23,456", "such as 250 or 1.234,56"),
    ("1.234.56", "such as 250 or 1.234,56"), ("12 34", "such as 250 or 1.234,56"), ("0x10", "such as 250 or 1.234,56"),
    ("1" * 41, "such as 250 or 1.234,56"), ("9" * 10_000, "such as 250 or 1.234,56"),
    ("١٢٣", "such as 250 or 1.234,56"),  # Arabic-Indic digits: Decimal() would take them
    ("0,001", "at most two decimals"), ("0.001", "at most two decimals"), ("1,234.567", "at most two decimals"),
    ("12,3456", "at most two decimals"), ("1234.567", "at most two decimals"), ("012.345", "at most two decimals"),
    ("0 001", "such as 250 or 1.234,56"),
    ("0", "more than zero"), ("0,00", "more than zero"), ("0.00", "more than zero"),
    ("1.000.000,01", "cannot be more than € 1.000.000,00"), ("99999999", "cannot be more than"),
])
def test_what_money_cannot_be_is_refused_with_a_message_a_person_understands(typed, message):
    with pytest.raises(AmountError) as refused:
        parse_cents(typed)
    assert message in str(refused.value)


def test_the_maximum_is_configurable_and_inclusive():
    assert parse_cents("500", max_cents=50_000) == 50_000
    with pytest.raises(AmountError, match="cannot be more than"):
        parse_cents("500,01", max_cents=50_000)
    assert parse_cents("1.000.000") == DEFAULT_MAX_CENTS


def test_zero_is_allowed_only_when_asked():
    assert parse_cents("0", allow_zero=True) == 0
    assert parse_cents("0,00", allow_zero=True) == 0


@pytest.mark.parametrize("value, message", [
    (Decimal("NaN"), "such as 250"), (Decimal("sNaN"), "such as 250"), (Decimal("Infinity"), "such as 250"),
    (Decimal("-Infinity"), "such as 250"), (Decimal("-1"), "cannot be negative"), (Decimal("0.005"), "two decimals"),
    (Decimal("1000000.01"), "cannot be more than"), (Decimal("0"), "more than zero"),
])
def test_decimal_to_cents_refuses_what_money_cannot_be(value, message):
    with pytest.raises(AmountError, match=message):
        decimal_to_cents(value)


def test_decimal_to_cents_is_exact():
    assert decimal_to_cents(Decimal("0.10")) == 10
    assert decimal_to_cents(Decimal("1E+2")) == 10_000
    assert decimal_to_cents(Decimal("19.990")) == 1999
    assert isinstance(decimal_to_cents(Decimal("1.1")), int)


@pytest.mark.parametrize("cents, dutch, english", [
    (0, "€ 0,00", "€0.00"), (5, "€ 0,05", "€0.05"), (123456, "€ 1.234,56", "€1,234.56"),
    (100_000_000, "€ 1.000.000,00", "€1,000,000.00"), (-1250, "€ -12,50", "-€12.50"),
])
def test_amounts_are_formatted_for_people(cents, dutch, english):
    assert format_eur(cents) == dutch
    assert format_eur(cents, "nl") == dutch
    assert format_eur(cents, "en") == english


def test_nothing_formats_as_nothing():
    assert format_eur(None) == ""


def test_machine_readable_amounts_are_exact():
    assert format_plain(123456) == "1234.56"
    assert format_plain(5) == "0.05"
    assert cents_to_decimal(10) == Decimal("0.10")
    assert sum(cents_to_decimal(10) for _ in range(10)) == Decimal("1.00")


def test_the_template_filter_formats_in_the_readers_language(app):
    from flask_babel import refresh

    template = app.jinja_env.from_string("{{ amount|eur }}")  # a variable: Jinja folds constants at compile time
    for language, expected in (("en", "€1,234.56"), ("nl", "€ 1.234,56")):
        with app.test_request_context(headers={"Accept-Language": language}):
            refresh()  # the locale is cached in `g`, which the test's app context shares
            assert template.render(amount=123456) == expected


# --- properties ---------------------------------------------------------------------------

CENTS = st.integers(min_value=0, max_value=DEFAULT_MAX_CENTS)


@given(CENTS, st.sampled_from(["nl", "en"]))
def test_formatting_then_parsing_gives_the_same_cents(cents, language):
    assert parse_cents(format_eur(cents, language), allow_zero=True) == cents


@given(CENTS)
def test_plain_amounts_round_trip(cents):
    assert parse_cents(format_plain(cents), allow_zero=True) == cents


@given(st.integers(min_value=0, max_value=DEFAULT_MAX_CENTS // 100))
def test_whole_euros_typed_without_separators_are_whole_euros(euros):
    assert parse_cents(str(euros), allow_zero=True) == euros * 100


@given(st.text(max_size=60))
def test_any_text_is_either_valid_cents_or_a_clear_refusal(text):
    try:
        cents = parse_cents(text, allow_zero=True)
    except AmountError as refused:
        assert str(refused)
    else:
        assert isinstance(cents, int) and 0 <= cents <= DEFAULT_MAX_CENTS


@given(st.decimals(allow_nan=True, allow_infinity=True))
@example(Decimal("5149999999999999999999999992.833"))  # more digits than the decimal context: once crashed
def test_any_decimal_is_either_exact_cents_or_a_refusal(value):
    try:
        cents = decimal_to_cents(value, allow_zero=True)
    except AmountError:
        return
    assert Decimal(cents) / 100 == value
