"""Obligation, valuation and parsing arithmetic: integers only, half-up rounding, exact against Decimal."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.sroi import arithmetic, service
from portal.sroi.models import MAX_BASE_CENTS


def decimal_obligation(base_cents: int, bp: int, cap_cents: int | None) -> int:
    exact = Decimal(base_cents) * Decimal(bp) / Decimal(10_000)
    rounded = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return rounded if cap_cents is None else min(rounded, cap_cents)


@pytest.mark.parametrize(("base", "bp", "cap", "expected"), [
    (100_000_000, 500, None, 5_000_000),        # 5 % of EUR 1,000,000 = EUR 50,000
    (123_456_789, 500, None, 6_172_839),        # 6,172,839.45 cents -> down
    (123_456_790, 500, None, 6_172_840),        # 6,172,839.50 cents -> half up
    (1, 5_000, None, 1),                        # 0.5 cent -> 1 cent
    (1, 4_999, None, 0),                        # 0.4999 cent -> 0
    (999, 1, None, 0),                          # 0.0999 cent
    (100_000_000, 10_000, None, 100_000_000),   # 100 %
    (100_000_000, 700, 3_000_000, 3_000_000),   # 7 % = 70,000 capped at 30,000
    (100_000_000, 200, 3_000_000, 2_000_000),   # under the cap
    (MAX_BASE_CENTS, 10_000, None, MAX_BASE_CENTS),
])
def test_obligation_examples(base, bp, cap, expected):
    assert arithmetic.obligation_cents(base, bp, cap) == expected


@given(st.integers(1, MAX_BASE_CENTS), st.integers(1, 10_000),
       st.one_of(st.none(), st.integers(1, MAX_BASE_CENTS)))
def test_obligation_matches_decimal_half_up(base, bp, cap):
    result = arithmetic.obligation_cents(base, bp, cap)
    assert result == decimal_obligation(base, bp, cap)
    assert isinstance(result, int)
    assert 0 <= result <= base


@given(st.integers(0, 10**15), st.integers(1, 10**6))
def test_div_half_up_matches_decimal(numerator, denominator):
    expected = int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert arithmetic.div_half_up(numerator, denominator) == expected


def test_div_half_up_refuses_what_it_does_not_define():
    with pytest.raises(ValueError):
        arithmetic.div_half_up(-1, 3)
    with pytest.raises(ValueError):
        arithmetic.div_half_up(1, 0)


@given(st.integers(0, 600_000), st.integers(1, 1_000_000))
def test_hours_at_rate_is_minutes_times_rate_over_sixty_half_up(minutes, rate):
    expected = int((Decimal(minutes) * rate / 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert arithmetic.hours_value_at_rate(minutes, rate) == expected


def test_hours_at_utrecht_rate():
    assert arithmetic.hours_value_at_rate(280 * 60, 10_000) == 2_800_000   # 280 h x EUR 100 = EUR 28,000
    assert arithmetic.hours_value_at_rate(1, 10_000) == 167                # one minute: 166.67 cents -> 167


@given(st.integers(1, 10**9), st.integers(1, 10**6), st.data())
def test_share_of_value_never_exceeds_the_whole(value, whole, data):
    part = data.draw(st.integers(0, whole))
    share = arithmetic.share_of_value(value, part, whole)
    assert 0 <= share <= value
    assert arithmetic.share_of_value(value, whole, whole) == value


@pytest.mark.parametrize(("text", "bp"), [
    ("5", 500), ("5%", 500), (" 5 % ", 500), ("2,5", 250), ("2.25", 225), ("100", 10_000), ("0,01", 1),
    ("7.00", 700),
])
def test_percentage_parsing(text, bp):
    assert service.parse_percentage_bp(text) == bp


@pytest.mark.parametrize(("text", "message"), [
    ("", "Please enter the percentage"),
    ("0", "more than 0 and at most 100"),
    ("-5", "more than 0 and at most 100"),
    ("100,01", "more than 0 and at most 100"),
    ("250", "more than 0 and at most 100"),
    ("2.125", "at most two decimals"),
    ("five", "as a number"),
    ("1e2", "as a number"),
    ("NaN", "as a number"),
])
def test_percentage_refusals(request_context, text, message):
    with pytest.raises(service.SroiError) as caught:
        service.parse_percentage_bp(text)
    assert message in str(caught.value)


@given(st.integers(1, 10_000))
def test_percentage_round_trip(bp):
    for language in ("nl", "en"):
        assert service.parse_percentage_bp(service.format_percentage(bp, language)) == bp


def test_percentage_formatting():
    assert service.format_percentage(500, "nl") == "5%"
    assert service.format_percentage(250, "nl") == "2,5%"
    assert service.format_percentage(225, "en") == "2.25%"


@pytest.mark.parametrize(("text", "minutes"), [
    ("7:30", 450), ("7,5", 450), ("7.25", 435), ("8", 480), ("10 h", 600), ("0:01", 1), ("1.000:00", None),
])
def test_minutes_parsing(request_context, text, minutes):
    if minutes is None:
        with pytest.raises(service.SroiError):
            service.parse_minutes(text)
    else:
        assert service.parse_minutes(text) == minutes


@pytest.mark.parametrize("text", ["", "0", "0:00", "7:60", "7,33", "-1", "abc"])
def test_minutes_refusals(request_context, text):
    with pytest.raises(service.SroiError):
        service.parse_minutes(text)


@given(st.integers(1, 600_000))
def test_minutes_round_trip(minutes):
    assert service.parse_minutes(service.format_minutes(minutes).replace(".", "")) == minutes
