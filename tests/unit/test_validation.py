"""Validation kernel (through the facade), and the compiled/pure kernel selection."""

from __future__ import annotations

import sys
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine.validation as facade
from engine import _select
from engine._pyref import validation as pyref
from engine.errors import ValidationError
from engine.money import MAX_AMOUNT_MINOR
from engine.validation import (
    card_brand,
    luhn_valid,
    validate_amount,
    validate_bank_code,
    validate_card,
    validate_card_number,
    validate_cvc,
    validate_expiry,
    validate_ifsc,
    validate_vpa,
    validate_wallet_provider,
)

NUMBER = "payment_method.card.number"
MONTH = "payment_method.card.exp_month"
YEAR = "payment_method.card.exp_year"
CVC = "payment_method.card.cvc"


def naive_luhn(number: str) -> bool:
    """Textbook Luhn, written independently of the kernel's table-driven one."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def pan(prefix: str, length: int) -> str:
    """A Luhn-valid number of ``length`` digits starting with ``prefix`` (zero-filled)."""
    body = prefix + "0" * (length - len(prefix) - 1)
    for check in "0123456789":
        if naive_luhn(body + check):
            return body + check
    raise AssertionError("unreachable")


def raises(code: str, param: str, secret: str | None = None) -> _Raises:
    """``pytest.raises(ValidationError)`` that also checks ``code``, ``param`` and no echo of ``secret``."""
    return _Raises(code, param, secret)


class _Raises:
    """``with raises(code, param, secret):`` asserts the code, the param and that ``secret`` is not echoed."""

    def __init__(self, code: str, param: str, secret: str | None) -> None:
        self.code, self.param, self.secret = code, param, secret

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> bool:
        assert isinstance(exc, ValidationError), f"expected ValidationError({self.code}), got {exc!r}"
        assert (exc.code, exc.param) == (self.code, self.param)
        if self.secret:
            assert self.secret not in exc.message
            assert self.secret not in str(exc)
            assert self.secret not in repr(exc.to_dict())
        return True


# ---------------------------------------------------------------------------------------- Luhn

SANDBOX_CARDS = {
    "4111111111111111": "visa",
    "4242424242424242": "visa",
    "5555555555554444": "mastercard",
    "6521111111111110": "rupay",
    "4000000000000002": "visa",
    "4000000000009995": "visa",
    "4000000000000069": "visa",
    "4000000000003220": "visa",
    "4000000000000119": "visa",
    "4000000000000259": "visa",
}


@pytest.mark.parametrize("number", [*SANDBOX_CARDS, "378282246310005", "6011111111111117", "79927398713"])
def test_luhn_valid(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111112",
        "79927398710",
        "",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "abc",
        "\u0664\u0661\u0661\u0661",
        None,
        4111,
    ],
)
def test_luhn_invalid(number: object) -> None:
    assert not luhn_valid(number)  # type: ignore[arg-type]


@given(st.text(alphabet="0123456789", min_size=1, max_size=25))
def test_luhn_matches_textbook(digits: str) -> None:
    assert luhn_valid(digits) == naive_luhn(digits)


@given(
    body=st.text(alphabet="0123456789", min_size=11, max_size=18),
    position=st.integers(min_value=0),
    delta=st.integers(min_value=1, max_value=9),
)
def test_luhn_generated_numbers_and_single_digit_errors(body: str, position: int, delta: int) -> None:
    number = next(body + c for c in "0123456789" if naive_luhn(body + c))
    assert luhn_valid(number)
    i = position % len(number)
    mutated = number[:i] + str((int(number[i]) + delta) % 10) + number[i + 1 :]
    assert not luhn_valid(mutated)  # Luhn catches every single-digit error


# ---------------------------------------------------------------------------------------- brands


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        *SANDBOX_CARDS.items(),
        (pan("4", 13), "visa"),
        (pan("4", 19), "visa"),
        (pan("51", 16), "mastercard"),
        (pan("55", 16), "mastercard"),
        (pan("2221", 16), "mastercard"),
        (pan("2720", 16), "mastercard"),
        (pan("34", 15), "amex"),
        (pan("37", 15), "amex"),
        (pan("300", 14), "diners"),
        (pan("305", 14), "diners"),
        (pan("36", 14), "diners"),
        (pan("38", 16), "diners"),
        (pan("39", 19), "diners"),
        (pan("6011", 16), "discover"),
        (pan("622126", 16), "discover"),
        (pan("622925", 19), "discover"),
        (pan("644", 16), "discover"),
        (pan("649", 16), "discover"),
        (pan("65", 16), "rupay"),  # RuPay wins the shared 65 prefix at RuPay's length...
        (pan("65", 19), "discover"),  # ...and Discover keeps the lengths RuPay does not issue
        (pan("3528", 16), "jcb"),
        (pan("3589", 19), "jcb"),
        (pan("353", 16), "rupay"),  # RuPay-JCB co-branded ranges go to RuPay
        (pan("356", 16), "rupay"),
        (pan("353", 17), "jcb"),
        (pan("60", 16), "rupay"),
        (pan("81", 16), "rupay"),
        (pan("82", 16), "rupay"),
        (pan("508", 16), "rupay"),
        (pan("508", 18), "maestro"),
        (pan("50", 12), "maestro"),
        (pan("56", 16), "maestro"),
        (pan("58", 19), "maestro"),
        (pan("622125", 16), "maestro"),  # just outside Discover's range: Maestro's "6" catch-all
        (pan("63", 16), "maestro"),
        (pan("67", 16), "maestro"),
    ],
)
def test_card_brand(number: str, brand: str) -> None:
    assert card_brand(number) == brand
    assert validate_card_number(number) == brand


@pytest.mark.parametrize(
    "number", [pan("1", 16), pan("2220", 16), pan("2721", 16), pan("306", 14), pan("3527", 16),
               pan("3590", 16), pan("59", 16), pan("7", 16), pan("80", 16), pan("9", 16), pan("0", 16)],
)  # fmt: skip
def test_unsupported_brand(number: str) -> None:
    assert card_brand(number) is None
    with raises("card_brand_unsupported", NUMBER, number):
        validate_card_number(number)


@pytest.mark.parametrize(("prefix", "brand"), [("4", "visa"), ("37", "amex"), ("6521", "rupay"), ("2", None)])
def test_card_brand_on_partial_numbers(prefix: str, brand: str | None) -> None:
    assert card_brand(prefix) == brand


@pytest.mark.parametrize("number", ["", "4111 1111", "x", None, 4111111111111111])
def test_card_brand_non_digits(number: object) -> None:
    assert card_brand(number) is None  # type: ignore[arg-type]


@given(st.text(max_size=25))
def test_card_brand_never_raises(text: str) -> None:
    assert card_brand(text) in {None, *pyref.CARD_BRANDS}


# ---------------------------------------------------------------------------------------- number


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("4111 1111 1111 1111", "invalid_number"),
        ("4111-1111-1111-1111", "invalid_number"),
        ("411111111111111a", "invalid_number"),
        ("41111111111", "invalid_number"),  # 11 digits
        ("4" + "1" * 19, "invalid_number"),  # 20 digits
        ("", "invalid_number"),
        (" 4111111111111111", "invalid_number"),
        ("4111111111111111\n", "invalid_number"),
        ("\u0664" + "\u0661" * 15, "invalid_number"),  # Arabic-Indic digits
        (pan("4", 14), "invalid_number"),  # visa issues 13, 16, 19
        (pan("51", 15), "invalid_number"),  # mastercard is 16 only
        (pan("34", 16), "invalid_number"),  # amex is 15 only
        (pan("3528", 15), "invalid_number"),
        ("4111111111111112", "incorrect_number"),
        ("5555555555554440", "incorrect_number"),
        ("6521111111111111", "incorrect_number"),
    ],
)
def test_validate_card_number_errors(number: str, code: str) -> None:
    with raises(code, NUMBER, number.strip() or None):
        validate_card_number(number)


@pytest.mark.parametrize("number", [None, 4111111111111111, b"4111111111111111"])
def test_validate_card_number_wrong_type(number: object) -> None:
    with raises("invalid_number", NUMBER):
        validate_card_number(number)  # type: ignore[arg-type]


@given(st.text(alphabet="0123456789", min_size=12, max_size=19))
def test_validate_card_number_digit_strings(number: str) -> None:
    try:
        brand = validate_card_number(number)
    except ValidationError as exc:
        assert exc.code in {"invalid_number", "incorrect_number", "card_brand_unsupported"}
        assert exc.param == NUMBER and number not in exc.message
    else:
        assert brand == card_brand(number) and luhn_valid(number)


# ---------------------------------------------------------------------------------------- expiry / cvc

TODAY = (2025, 6)


@pytest.mark.parametrize(("month", "year"), [(6, 2025), (12, 2025), (1, 2026), (7, 2045), (12, 2045), (1, 2030)])
def test_validate_expiry_ok(month: int, year: int) -> None:
    assert validate_expiry(month, year, *TODAY) is None


@pytest.mark.parametrize(
    ("month", "year", "code", "param"),
    [
        (0, 2026, "invalid_expiry_month", MONTH),
        (13, 2026, "invalid_expiry_month", MONTH),
        (-1, 2026, "invalid_expiry_month", MONTH),
        ("12", 2026, "invalid_expiry_month", MONTH),
        (True, 2026, "invalid_expiry_month", MONTH),
        (None, 2026, "invalid_expiry_month", MONTH),
        (12.0, 2026, "invalid_expiry_month", MONTH),
        (1, 2024, "invalid_expiry_year", YEAR),  # last year
        (1, 26, "invalid_expiry_year", YEAR),  # two-digit year
        (1, 2046, "invalid_expiry_year", YEAR),  # > 20 years ahead
        (1, "2026", "invalid_expiry_year", YEAR),
        (1, True, "invalid_expiry_year", YEAR),
        (1, 20260, "invalid_expiry_year", YEAR),
        (5, 2025, "expired_card", MONTH),  # last month
        (1, 2025, "expired_card", MONTH),
    ],
)
def test_validate_expiry_errors(month: object, year: object, code: str, param: str) -> None:
    with raises(code, param):
        validate_expiry(month, year, *TODAY)  # type: ignore[arg-type]


@pytest.mark.parametrize(("cvc", "brand"), [("123", "visa"), ("000", "rupay"), ("1234", "amex")])
def test_validate_cvc_ok(cvc: str, brand: str) -> None:
    assert validate_cvc(cvc, brand) is None


@pytest.mark.parametrize(
    ("cvc", "brand"),
    [("1234", "visa"), ("12", "visa"), ("123", "amex"), ("12a", "visa"), ("", "visa"), (" 123", "visa"),
     ("\u0661\u0662\u0663", "visa"), (None, "visa"), (123, "visa"), ("12345", "amex")],
)  # fmt: skip
def test_validate_cvc_errors(cvc: object, brand: str) -> None:
    with raises("invalid_cvc", CVC, cvc if isinstance(cvc, str) and cvc.strip() else None):
        validate_cvc(cvc, brand)  # type: ignore[arg-type]


def test_validate_card_ok() -> None:
    assert validate_card("6521111111111110", 6, 2025, "123", *TODAY) == "rupay"
    assert validate_card(pan("37", 15), 1, 2030, "1234", *TODAY) == "amex"


@pytest.mark.parametrize(
    ("args", "code", "param"),
    [
        (("4111111111111112", 13, 2000, "9"), "incorrect_number", NUMBER),  # number checked first
        (("4111111111111111", 13, 2000, "9"), "invalid_expiry_month", MONTH),
        (("4111111111111111", 5, 2025, "9"), "expired_card", MONTH),
        (("4111111111111111", 6, 2025, "9876"), "invalid_cvc", CVC),  # visa wants 3
        ((pan("34", 15), 6, 2025, "987"), "invalid_cvc", CVC),  # amex wants 4
    ],
)
def test_validate_card_errors(args: tuple[str, int, int, str], code: str, param: str) -> None:
    number, month, year, cvc = args
    with raises(code, param, number):
        validate_card(number, month, year, cvc, *TODAY)
    with raises(code, param, cvc):
        validate_card(number, month, year, cvc, *TODAY)


# ---------------------------------------------------------------------------------------- other methods


@pytest.mark.parametrize(
    ("vpa", "normalised"),
    [("success@upi", "success@upi"), ("John.Doe-1_x@OkHDFCbank", "john.doe-1_x@okhdfcbank"),
     ("ab@cd", "ab@cd"), ("9876543210@paytm", "9876543210@paytm"),
     ("ab@c" + "d" * 64, None), ("a" * 190 + "@" + "b" * 64, None)],
)  # fmt: skip
def test_validate_vpa_ok(vpa: str, normalised: str | None) -> None:
    assert validate_vpa(vpa) == (normalised or vpa.lower())


@pytest.mark.parametrize(
    "vpa",
    ["a@upi", "success@u", "success@1upi", "success@up-i", "success", "@upi", "a b@upi", "succ@ss@upi",
     "success@upi\n", "success@upi ", "", "a" * 250 + "@" + "b" * 10, "a" * 10 + "@" + "b" * 66,
     "ü1@upi", None, 42],
)  # fmt: skip
def test_validate_vpa_errors(vpa: object) -> None:
    with raises("invalid_vpa", "payment_method.upi.vpa"):
        validate_vpa(vpa)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["HDFC", "SB", "SBI_RETAIL", "A" * 20, "ICIC0"])
def test_validate_bank_code_ok(code: str) -> None:
    assert validate_bank_code(code) is None


@pytest.mark.parametrize("code", ["H", "A" * 21, "hdfc", "HDFC BANK", "HDFC-1", "", None, "ÄBC"])
def test_validate_bank_code_errors(code: object) -> None:
    with raises("invalid_bank_code", "payment_method.netbanking.bank_code"):
        validate_bank_code(code)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["HDFC0001234", "SBIN0ABC123"])
def test_validate_ifsc_ok(code: str) -> None:
    assert validate_ifsc(code) is None


@pytest.mark.parametrize("code", ["HDFC1001234", "hdfc0001234", "HDF00001234", "HDFC000123", "HDFC00012345", None])
def test_validate_ifsc_errors(code: object) -> None:
    with raises("invalid_ifsc", "ifsc"):
        validate_ifsc(code)  # type: ignore[arg-type]
    with raises("invalid_ifsc", "bank_account.ifsc"):
        validate_ifsc(code, param="bank_account.ifsc")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["paytm", "phonepe", "a1", "x" * 32])
def test_validate_wallet_provider_ok(name: str) -> None:
    assert validate_wallet_provider(name) is None


@pytest.mark.parametrize("name", ["p", "x" * 33, "PayTM", "amazon_pay", "amazon pay", "", None])
def test_validate_wallet_provider_errors(name: object) -> None:
    with raises("invalid_wallet_provider", "payment_method.wallet.provider"):
        validate_wallet_provider(name)  # type: ignore[arg-type]


@pytest.mark.parametrize(("amount", "currency"), [(1, "INR"), (MAX_AMOUNT_MINOR, "JPY"), (100, "KWD")])
def test_validate_amount_ok(amount: int, currency: str) -> None:
    assert validate_amount(amount, currency) is None


@pytest.mark.parametrize(
    ("amount", "currency", "code", "param"),
    [
        (0, "INR", "amount_too_small", "amount"),
        (-100, "INR", "amount_too_small", "amount"),
        (MAX_AMOUNT_MINOR + 1, "INR", "amount_too_large", "amount"),
        (True, "INR", "invalid_amount", "amount"),
        (10.0, "INR", "invalid_amount", "amount"),
        ("100", "INR", "invalid_amount", "amount"),
        (None, "INR", "invalid_amount", "amount"),
        (100, "inr", "currency_unsupported", "currency"),
        (100, "XYZ", "currency_unsupported", "currency"),
        (100, None, "currency_unsupported", "currency"),
        (100, ["INR"], "currency_unsupported", "currency"),
    ],
)
def test_validate_amount_errors(amount: object, currency: object, code: str, param: str) -> None:
    with raises(code, param):
        validate_amount(amount, currency)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- kernel selection


def test_facade_reexports_kernel() -> None:
    kernel = _select.load_kernel("validation")
    assert facade.IMPLEMENTATION == _select.implementation_of(kernel)
    for name in facade.__all__:
        if name != "IMPLEMENTATION":
            assert getattr(facade, name) is getattr(kernel, name), name


def test_load_kernel_prefers_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("engine._fast.validation")
    monkeypatch.setitem(sys.modules, "engine._fast.validation", fake)
    monkeypatch.delenv(_select.NO_EXTENSIONS_ENV, raising=False)
    assert _select.load_kernel("validation") is fake
    assert _select.implementation_of(fake) == "compiled"
    for value in ("0", "", "true"):  # only exactly "1" disables
        monkeypatch.setenv(_select.NO_EXTENSIONS_ENV, value)
        assert _select.load_kernel("validation") is fake
    monkeypatch.setenv(_select.NO_EXTENSIONS_ENV, "1")
    assert _select.load_kernel("validation") is pyref
    assert _select.implementation_of(pyref) == "pure"


def test_load_kernel_falls_back_when_compiled_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "engine._fast.validation", None)  # import of it raises ImportError
    monkeypatch.delenv(_select.NO_EXTENSIONS_ENV, raising=False)
    assert _select.load_kernel("validation") is pyref


def test_load_kernel_unknown_name() -> None:
    with pytest.raises(ModuleNotFoundError):
        _select.load_kernel("no_such_kernel")
