"""Money: ISO 4217 exponents and the two decimal-string conversions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import money
from engine.errors import ValidationError
from engine.money import MAX_AMOUNT_MINOR, exponent, from_decimal_string, to_decimal_string


@pytest.mark.parametrize(
    ("currency", "expected"),
    [
        *((code, 2) for code in "INR USD EUR GBP AED SGD AUD CAD".split()),
        *((code, 0) for code in "JPY KRW".split()),
        *((code, 3) for code in "KWD BHD OMR JOD TND".split()),
    ],
)
def test_exponent_known(currency: str, expected: int) -> None:
    assert exponent(currency) == expected


@pytest.mark.parametrize("currency", ["inr", "Inr", "XXX", "IN", "INRR", "", " INR", None, 356, ["INR"]])
def test_exponent_rejects(currency: object) -> None:
    with pytest.raises(ValidationError) as info:
        exponent(currency)  # type: ignore[arg-type]
    assert info.value.code == "currency_unsupported"
    assert info.value.param == "currency"


def test_every_table_entry_is_three_uppercase_letters() -> None:
    for code, exp in money.CURRENCY_EXPONENTS.items():
        assert len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()
        assert exp in (0, 2, 3)


def test_max_amount() -> None:
    assert MAX_AMOUNT_MINOR == 99_999_999_999
    assert to_decimal_string(MAX_AMOUNT_MINOR, "INR") == "999999999.99"


def test_is_supported_currency() -> None:
    assert money.is_supported_currency("INR")
    assert not money.is_supported_currency("inr")
    assert not money.is_supported_currency(["INR"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1000, "INR", "10.00"),
        (1, "INR", "0.01"),
        (0, "INR", "0.00"),
        (150, "USD", "1.50"),
        (123456789, "INR", "1234567.89"),
        (5, "JPY", "5"),
        (0, "JPY", "0"),
        (1000, "KWD", "1.000"),
        (1, "BHD", "0.001"),
        (1234567, "OMR", "1234.567"),
    ],
)
def test_conversion_table(minor: int, currency: str, text: str) -> None:
    assert to_decimal_string(minor, currency) == text
    assert from_decimal_string(text, currency) == minor


@pytest.mark.parametrize("amount", [-1, 1.0, "100", True, None])
def test_to_decimal_string_rejects_amount(amount: object) -> None:
    with pytest.raises(ValidationError) as info:
        to_decimal_string(amount, "INR")  # type: ignore[arg-type]
    assert (info.value.code, info.value.param) == ("invalid_amount", "amount")


def test_to_decimal_string_rejects_currency() -> None:
    with pytest.raises(ValidationError) as info:
        to_decimal_string(100, "usd")
    assert (info.value.code, info.value.param) == ("currency_unsupported", "currency")


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("10", "INR"),  # missing decimals
        ("10.0", "INR"),  # too few
        ("10.000", "INR"),  # too many
        ("10.", "INR"),
        (".50", "INR"),
        ("-1.00", "INR"),  # sign
        ("+1.00", "INR"),
        ("1e3", "JPY"),  # exponent notation
        ("1E3", "JPY"),
        ("1.0e2", "INR"),
        ("5.0", "JPY"),  # decimals for a zero-exponent currency
        ("5.", "JPY"),
        ("", "INR"),
        ("", "JPY"),
        (" 1.00", "INR"),  # whitespace
        ("1.00 ", "INR"),
        ("1.00\n", "INR"),
        ("1,000.00", "INR"),  # separators
        ("1_000.00", "INR"),
        ("01.00", "INR"),  # leading zero
        ("007", "JPY"),
        ("\u0661\u0660.\u0660\u0660", "INR"),  # Arabic-Indic digits (str.isdigit accepts them)
        ("1.00.00", "INR"),
        ("1.000", "INR"),
        ("1.00", "KWD"),
        ("NaN", "INR"),
        ("inf", "JPY"),
        (100, "INR"),
        (None, "INR"),
    ],
)
def test_from_decimal_string_rejects(text: object, currency: str) -> None:
    with pytest.raises(ValidationError) as info:
        from_decimal_string(text, currency)  # type: ignore[arg-type]
    assert (info.value.code, info.value.param) == ("invalid_amount", "amount")


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("1000000000.00", "INR"),
        ("100000000000", "JPY"),
        ("9" * 5000 + ".00", "INR"),
        ("100000000.000", "KWD"),
    ],
)
def test_from_decimal_string_too_large(text: str, currency: str) -> None:
    with pytest.raises(ValidationError) as info:
        from_decimal_string(text, currency)
    assert (info.value.code, info.value.param) == ("amount_too_large", "amount")


def test_from_decimal_string_unknown_currency() -> None:
    with pytest.raises(ValidationError) as info:
        from_decimal_string("1.00", "XYZ")
    assert (info.value.code, info.value.param) == ("currency_unsupported", "currency")


def test_message_does_not_echo_long_input() -> None:
    with pytest.raises(ValidationError) as info:
        exponent("4111111111111111")
    assert "4111111111111111" not in info.value.message


@given(
    amount=st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR),
    currency=st.sampled_from(sorted(money.CURRENCY_EXPONENTS)),
)
def test_round_trip(amount: int, currency: str) -> None:
    text = to_decimal_string(amount, currency)
    assert from_decimal_string(text, currency) == amount
    exp = exponent(currency)
    if exp:
        assert len(text.partition(".")[2]) == exp
    else:
        assert "." not in text


@given(text=st.text(max_size=20), currency=st.sampled_from(["INR", "JPY", "KWD"]))
def test_parse_is_canonical(text: str, currency: str) -> None:
    """Whatever parses must format back to the same text: one spelling per amount."""
    try:
        minor = from_decimal_string(text, currency)
    except ValidationError:
        return
    assert to_decimal_string(minor, currency) == text
