"""The compiled kernels (``engine._fast``) against their pure twins (``engine._pyref``): same answers.

Every property feeds both implementations the same inputs — empty, huge, unicode, lone surrogates,
malformed, digits with spaces, wrong types, subclasses — and requires the same result or the same
exception (type, message, args; for ``ValidationError`` also code, param, status and body). The
signing properties run once per digest backend of the compiled module (OpenSSL when built with
it, and the ``hashlib`` fallback). The published vectors of ``reference/gateways.md`` pass in both.

Skipped only when the compiled modules are not built and ``ENGINE_EXPECT_COMPILED`` is not set.
"""

from __future__ import annotations

import base64
import enum
import inspect
import os
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._pyref import signing as pure_signing
from engine._pyref import validation as pure_validation
from engine._pyref.currency import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR
from engine.errors import EngineError
from tests.unit.test_signing import (
    PAYTM_BODY,
    PAYTM_BODY_CHECKSUM,
    PAYTM_DICT,
    PAYTM_DICT_CHECKSUM,
    PAYTM_KEY,
    PAYU_PARAMS,
    PAYU_REQUEST_HASH,
    PAYU_REVERSE_HASH,
    PAYU_REVERSE_HASH_CHARGES,
    PAYU_SALT,
    RAZORPAY_WEBHOOK_BODY,
    RAZORPAY_WEBHOOK_SIGNATURE,
)  # fmt: skip

try:
    from engine._fast import signing as fast_signing
    from engine._fast import validation as fast_validation
except ImportError:
    if os.environ.get("ENGINE_EXPECT_COMPILED") == "1":
        raise
    pytest.skip("compiled kernels not built (and ENGINE_EXPECT_COMPILED is not set)", allow_module_level=True)

BACKENDS = ("openssl", "hashlib") if fast_signing.OPENSSL_BUILT else ("hashlib",)
# More examples than hypothesis' default 100: these properties are the compiled kernels' contract.
# No deadline: inputs reach 100k characters and the machine may be busy.
PROPERTY = settings(max_examples=300, deadline=None)


# ------------------------------------------------------------------------------ comparing outcomes


def outcome(fn: Callable[..., object], *args: object) -> tuple[object, ...]:
    """What a call did: ``("returned", type, value)`` or ``("raised", type, str, args[, error fields])``."""
    try:
        result = fn(*args)
    except Exception as exc:
        detail: tuple[object, ...] = ("raised", type(exc), str(exc), exc.args)
        if isinstance(exc, EngineError):
            detail += (exc.code, exc.param, exc.message, exc.status, exc.decline_code, exc.to_dict())
        return detail
    return ("returned", type(result), result)


def same(pure: object, fast: object, name: str, *args: object) -> tuple[object, ...]:
    """Assert that ``name(*args)`` behaves identically in both modules; returns the outcome."""
    expected = outcome(getattr(pure, name), *args)
    assert outcome(getattr(fast, name), *args) == expected, (name, args)
    return expected


def same_validation(name: str, *args: object) -> tuple[object, ...]:
    return same(pure_validation, fast_validation, name, *args)


def backends() -> Iterator[str]:
    """Each digest backend of the compiled signing module in turn (restored afterwards)."""
    try:
        for backend in BACKENDS:
            fast_signing._set_backend(backend)
            yield backend
    finally:
        fast_signing._set_backend(BACKENDS[0])


def same_signing(name: str, *args: object) -> tuple[object, ...]:
    results = {backend: same(pure_signing, fast_signing, name, *args) for backend in backends()}
    return results[BACKENDS[0]]


# ------------------------------------------------------------------------------ inputs


class Text(str):
    """A ``str`` subclass: the compiled fast paths take exact ``str`` only."""


class Number(int):
    """An ``int`` subclass."""


class Month(enum.IntEnum):
    DEC = 12


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        candidate = body + check
        total = sum(int(d) for d in candidate[-1::-2]) + sum((2 * int(d)) % 9 or (9 if d == "9" else 0)
                                                             for d in candidate[-2::-2])  # fmt: skip
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


@st.composite
def pans(draw: st.DrawFn) -> str:
    """Luhn-valid numbers starting inside (or next to) one of the specification's brand ranges."""
    brand, lo, hi = draw(st.sampled_from(pure_validation._BRAND_RULES))
    prefix = str(draw(st.integers(int(lo) - 1, int(hi) + 1))).zfill(len(lo))
    issued = st.sampled_from(sorted(pure_validation.BRAND_LENGTHS[brand]))
    length = max(draw(st.one_of(issued, issued, st.integers(11, 20))), len(prefix) + 1)
    body = prefix + draw(st.text("0123456789", min_size=length, max_size=length))
    return _luhn_complete(body[: length - 1])


def opaque(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """``strategy`` as one branch: hypothesis flattens nested ``one_of`` (through ``map`` too), so a
    ``one_of`` with many branches would otherwise drown its siblings; a tuple is never flattened."""
    return st.tuples(strategy).map(lambda one: one[0])


def often(strategy: st.SearchStrategy[object], times: int = 3) -> list[st.SearchStrategy[object]]:
    """``times`` distinct copies of ``strategy`` for a ``one_of`` (a repeated object would count once)."""
    return [opaque(strategy) for _ in range(times)]


surrogate_text = st.lists(
    st.one_of(st.text(max_size=3), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)), min_size=1, max_size=4
).map("".join)
huge = st.builds(
    lambda ch, n: ch * n,
    st.sampled_from(["4", "0", "a", "A", "ü", "@", "|", "₹"]),
    st.sampled_from([300, 5000, 100_000]),
)
junk = opaque(st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.binary(max_size=20), st.builds(bytearray, st.binary(max_size=8)),
    st.lists(st.integers(), max_size=2), st.builds(Text, st.text(max_size=20)), st.builds(Number, st.integers()),
))  # fmt: skip
texts = opaque(st.one_of(
    st.just(""), st.text(max_size=40), st.text("0123456789", max_size=25), st.from_regex(r"[0-9][0-9 \-]{0,23}", fullmatch=True),
    st.text("0123456789\u0661\u0664\uff11 ", max_size=20), surrogate_text, huge,
))  # fmt: skip
anything = opaque(st.one_of(texts, junk))
ints = opaque(st.one_of(
    st.integers(-5, 40), st.integers(1990, 2060), st.integers(), st.sampled_from([2**63, -(2**63), 2**62, 10**30]),
    st.builds(Number, st.integers(1, 12)), st.just(Month.DEC), st.booleans(),
))  # fmt: skip
ascii_text = st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=40)


# ------------------------------------------------------------------------------ module shape


@pytest.mark.parametrize(("pure", "fast"), [(pure_validation, fast_validation), (pure_signing, fast_signing)])
def test_compiled_module_has_every_public_function_with_the_same_signature(pure: object, fast: object) -> None:
    for name, value in vars(pure).items():
        if name.startswith("_") or not callable(value) or getattr(value, "__module__", None) != pure.__name__:
            continue
        compiled = getattr(fast, name)
        expected = [(p.name, p.kind, p.default) for p in inspect.signature(value).parameters.values()]
        assert [(p.name, p.kind, p.default) for p in inspect.signature(compiled).parameters.values()] == expected
        assert compiled.__doc__, name


def test_compiled_validation_reexports_the_constants() -> None:
    for name in (
        "BRAND_LENGTHS",
        "CARD_BRANDS",
        "PAN_MIN_LENGTH",
        "PAN_MAX_LENGTH",
        "MAX_EXPIRY_YEARS_AHEAD",
        "VPA_MAX_LENGTH",
    ):
        assert getattr(fast_validation, name) == getattr(pure_validation, name), name


# ------------------------------------------------------------------------------ validation


@PROPERTY
@given(st.one_of(*often(pans()), anything))
def test_card_number_functions(number: object) -> None:
    for name in ("luhn_valid", "card_brand", "validate_card_number"):
        same_validation(name, number)


@PROPERTY
@given(ints, ints, st.one_of(st.integers(2000, 2050), ints, junk), st.one_of(st.integers(1, 12), ints, junk))
def test_validate_expiry(month: object, year: object, today_year: object, today_month: object) -> None:
    same_validation("validate_expiry", month, year, today_year, today_month)


@PROPERTY
@given(
    st.one_of(st.text("0123456789", max_size=6), anything),
    st.one_of(st.sampled_from(sorted(pure_validation.CARD_BRANDS)), anything),
)
def test_validate_cvc(cvc: object, brand: object) -> None:
    same_validation("validate_cvc", cvc, brand)


@PROPERTY
@given(
    st.one_of(*often(pans()), anything), st.one_of(*often(st.integers(1, 12)), st.integers(0, 13), ints),
    st.one_of(*often(st.integers(2024, 2047)), ints),
    st.one_of(*often(st.text("0123456789", min_size=3, max_size=4)), anything),
    st.integers(2024, 2026), st.integers(1, 12),
)  # fmt: skip
def test_validate_card(number: object, month: object, year: object, cvc: object, ty: int, tm: int) -> None:
    same_validation("validate_card", number, month, year, cvc, ty, tm)


@PROPERTY
@given(st.one_of(st.from_regex(r"[a-zA-Z0-9.\-_@ ]{0,70}@[a-zA-Z0-9@\-]{0,70}", fullmatch=True), anything))
def test_validate_vpa(vpa: object) -> None:
    same_validation("validate_vpa", vpa)


@PROPERTY
@given(
    st.one_of(
        st.from_regex(r"[A-Za-z0-9_ \-]{0,24}", fullmatch=True),
        st.from_regex(r"[A-Z]{4}0[A-Z0-9]{6}", fullmatch=True),
        anything,
    )
)
def test_bank_ifsc_wallet(code: object) -> None:
    same_validation("validate_bank_code", code)
    same_validation("validate_ifsc", code)
    same_validation("validate_ifsc", code, "bank_account.ifsc")
    same_validation("validate_wallet_provider", code)
    same_validation("validate_wallet_provider", code.lower() if isinstance(code, str) else code)


@PROPERTY
@given(
    st.one_of(st.integers(-3, 3), st.integers(MAX_AMOUNT_MINOR - 2, MAX_AMOUNT_MINOR + 2), ints, junk),
    st.one_of(st.sampled_from(sorted(CURRENCY_EXPONENTS)), st.sampled_from(["inr", "XYZ", "INR ", ""]), anything),
)  # fmt: skip
def test_validate_amount(amount: object, currency: object) -> None:
    same_validation("validate_amount", amount, currency)


# ------------------------------------------------------------------------------ signing

keys = st.one_of(
    st.text(max_size=30), st.binary(max_size=200), st.sampled_from(["sandbox_secret", b"k" * 64, "k" * 200]), anything
)
messages = st.one_of(st.text(), st.binary(), huge, anything)


@PROPERTY
@given(keys, messages)
def test_digests_and_hmacs(key: object, message: object) -> None:
    for name in ("hmac_sha256_hex", "hmac_sha512_hex"):
        same_signing(name, key, message)
    for name in ("sha256_hex", "sha512_hex"):
        same_signing(name, message)


@PROPERTY
@given(
    st.one_of(st.text(max_size=70), st.binary(max_size=70), anything),
    st.one_of(st.text(max_size=70), st.binary(max_size=70), anything),
)
def test_constant_time_equal(a: object, b: object) -> None:
    same_signing("constant_time_equal", a, b)
    same_signing("constant_time_equal", a, a)


@PROPERTY
@given(
    st.one_of(st.text(max_size=30), anything),
    st.one_of(st.text(max_size=30), anything),
    keys,
    st.integers(0, 3),
    anything,
)
def test_razorpay(order_id: object, payment_id: object, secret: object, tamper: int, other: object) -> None:
    signature = same_signing("razorpay_payment_signature", order_id, payment_id, secret)
    good = signature[2] if signature[0] == "returned" else ""
    candidates = [good, good.upper(), good[:-1], str(good).encode(), other]
    same_signing("verify_razorpay_payment_signature", order_id, payment_id, candidates[tamper], secret)
    same_signing("verify_razorpay_payment_signature", order_id, payment_id, other, secret)
    body = order_id if isinstance(order_id, str | bytes) else str(order_id).encode()
    webhook = same_signing("razorpay_webhook_signature", body, secret)
    same_signing("verify_razorpay_webhook_signature", body, webhook[2] if webhook[0] == "returned" else other, secret)
    same_signing("verify_razorpay_webhook_signature", body, other, secret)


@PROPERTY
@given(keys, st.one_of(st.integers(0, 2**40), st.integers(), st.sampled_from([2**63, -1, 0]), ints, junk), messages)
def test_engine_webhook_signature(secret: object, timestamp: object, body: object) -> None:
    same_signing("engine_webhook_signature", secret, timestamp, body)
    same_signing("engine_signature_header", secret, timestamp, body)


payu_value = st.one_of(st.text(max_size=12), st.just(""), st.none(), st.just(0), surrogate_text, anything)
payu_text = st.one_of(
    st.text(min_size=1, max_size=12), st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1)
)
payu_optional = st.one_of(payu_text, st.just(""), st.none())
payu_fields = ["udf1", "udf2", "udf3", "udf4", "udf5", "status", "hash", "surl"]
payu_params = st.one_of(
    *often(st.builds(lambda base, extra: {**base, **extra}, st.fixed_dictionaries({name: payu_text for name in PAYU_PARAMS}),
                     st.dictionaries(st.sampled_from(payu_fields), payu_optional, max_size=8))),
    st.builds(lambda base, extra: {**base, **extra}, st.fixed_dictionaries({name: payu_text for name in PAYU_PARAMS}),
              st.dictionaries(st.sampled_from([*PAYU_PARAMS, *payu_fields]), payu_value, max_size=3)),
    st.dictionaries(st.sampled_from([*PAYU_PARAMS, *payu_fields]), payu_value, max_size=14),
    anything,
)  # fmt: skip


@PROPERTY
@given(
    payu_params,
    st.one_of(*often(st.text(max_size=10)), anything),
    st.one_of(st.none(), st.just(""), st.just("2.00"), payu_text, anything),
)
def test_payu(params: object, salt: object, charges: object) -> None:
    same_signing("payu_request_hash", params, salt)
    same_signing("payu_reverse_hash", params, salt)
    same_signing("payu_reverse_hash", params, salt, charges)


@PROPERTY
@given(
    st.one_of(st.text(max_size=12), anything),
    st.one_of(st.sampled_from(["verify_payment", "cancel_refund_transaction"]), anything),
    st.one_of(st.text(max_size=40), anything),
    st.one_of(st.text(max_size=10), anything),
)
def test_payu_command(key: object, command: object, var1: object, salt: object) -> None:
    same_signing("payu_command_hash", key, command, var1, salt)


paytm_value = st.one_of(
    st.text(max_size=12), st.sampled_from(["null", "NULL", "Null", "nuLL", "nul", "null ", ""]), st.none()
)
paytm_params = st.one_of(
    *often(st.dictionaries(st.text(max_size=8), paytm_value, max_size=6)), *often(st.text(max_size=200), 2),
    st.dictionaries(st.text(max_size=8), st.one_of(paytm_value, anything), max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), st.text(max_size=4), max_size=3), huge, anything,
)  # fmt: skip
paytm_good_key = st.one_of(
    st.sampled_from([PAYTM_KEY, "k" * 24, "k" * 32, "ü" * 8]),
    st.text(st.characters(max_codepoint=127), min_size=16, max_size=16),
)
paytm_keys = st.one_of(*often(paytm_good_key), st.sampled_from(["short", "", "ü" * 16]), anything)
paytm_good_salt = st.text(st.characters(min_codepoint=0, max_codepoint=127), min_size=4, max_size=4)
paytm_salts = st.one_of(*often(paytm_good_salt), st.text(max_size=5), anything)


@PROPERTY
@given(paytm_params, paytm_keys, paytm_salts.filter(lambda salt: salt is not None))  # None: random salt, below
def test_paytm_generate_with_salt(params: object, key: object, salt: object) -> None:
    same_signing("paytm_generate_checksum", params, key, salt)


@PROPERTY
@given(paytm_params, paytm_keys, paytm_salts, st.integers(0, 5), anything)
def test_paytm_verify(params: object, key: object, salt: object, tamper: int, other: object) -> None:
    generated = outcome(pure_signing.paytm_generate_checksum, params, key, salt)
    good = generated[2] if generated[0] == "returned" else PAYTM_DICT_CHECKSUM
    raw = base64.b64decode(good)
    candidates = [good, good[:-4], base64.b64encode(raw[:-16]).decode(), base64.b64encode(raw[:16] + bytes(16)).decode(),
                  good.replace("=", ""), other]  # fmt: skip
    same_signing("paytm_verify_checksum", params, key, candidates[tamper])
    if isinstance(params, dict):
        same_signing("paytm_verify_checksum", {**params, "CHECKSUMHASH": good}, key, good)


@PROPERTY
@given(
    st.one_of(
        st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=12), st.none()), max_size=6),
        st.text(max_size=200),
    )
)
def test_paytm_random_salt_cross_verifies(params: dict[str, str | None] | str) -> None:
    for _ in backends():
        by_fast = fast_signing.paytm_generate_checksum(params, PAYTM_KEY)
        by_pure = pure_signing.paytm_generate_checksum(params, PAYTM_KEY)
        assert len(by_fast) == 108 and by_fast != fast_signing.paytm_generate_checksum(params, PAYTM_KEY)
        assert pure_signing.paytm_verify_checksum(params, PAYTM_KEY, by_fast)
        assert fast_signing.paytm_verify_checksum(params, PAYTM_KEY, by_pure)


def salt_of(checksum: str) -> str:
    """The 4-character salt sealed inside a PaytmChecksum (decrypted with the pure twin's cipher)."""
    return pure_signing._paytm_cipher(PAYTM_KEY.encode()).decryptor().update(base64.b64decode(checksum))[64:68].decode()


def test_paytm_random_salt_alphabet() -> None:
    """The compiled salt is 4 of [A-Za-z0-9], like the pure twin's; every symbol shows up."""
    seen: set[str] = set()
    for _ in range(400):
        seen.update(salt_of(fast_signing.paytm_generate_checksum("x", PAYTM_KEY)))
    assert seen == set(pure_signing._PAYTM_SALT_ALPHABET)


@pytest.mark.skipif(not hasattr(os, "fork") or not fast_signing.OPENSSL_BUILT, reason="POSIX and OpenSSL only")
def test_paytm_salt_pool_is_dropped_in_a_forked_child() -> None:
    """Salts come from a pool of CSPRNG bytes; a forked child must not hand out the parent's."""

    def salts() -> str:
        return "".join(salt_of(fast_signing.paytm_generate_checksum("x", PAYTM_KEY)) for _ in range(8))

    salts()  # the parent's pool now holds unused bytes
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        os.write(write, salts().encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)
    assert len(child) == 32 and child != salts()


# ------------------------------------------------------------------------------ published vectors (reference/gateways.md)

BOTH = pytest.mark.parametrize("kernel", [pure_signing, fast_signing], ids=["pure", "compiled"])


@BOTH
@pytest.mark.parametrize("backend", BACKENDS)
def test_published_vectors(kernel: object, backend: str) -> None:
    fast_signing._set_backend(backend)
    try:
        k = kernel
        # §2.4 Razorpay checkout, subscription and payment-link signatures; §2.5 the webhook.
        assert k.razorpay_payment_signature("fake_order_id", "fake_payment_id", "key_secret") == (
            "b2335e3b0801106b84a7faff035df56ecffde06918c9ddd1f0fafbb37a51cc89"
        )
        assert k.hmac_sha256_hex("EnLs21M47BllR3X8PSFtjtbd", "pay_IDZNwZZFtnjyym|sub_ID6MOhgkcoHj9I") == (
            "601f383334975c714c91a7d97dd723eb56520318355863dcf3821c0d07a17693"
        )
        assert k.hmac_sha256_hex(
            "EnLs21M47BllR3X8PSFtjtbd", "plink_IH3cNucfVEgV68|TSsd1989|paid|pay_IH3d0ara9bSsjQ"
        ) == ("07ae18789e35093e51d0a491eb9922646f3f82773547e5b0f67ee3f2d3bf7d5b")
        assert k.razorpay_webhook_signature(RAZORPAY_WEBHOOK_BODY, "key_secret") == RAZORPAY_WEBHOOK_SIGNATURE
        assert k.verify_razorpay_webhook_signature(RAZORPAY_WEBHOOK_BODY, RAZORPAY_WEBHOOK_SIGNATURE, "key_secret")
        # §3.2-3.4 PayU request (published), reverse and command (derived) hashes.
        assert k.payu_request_hash(PAYU_PARAMS, PAYU_SALT) == PAYU_REQUEST_HASH
        posted = {**PAYU_PARAMS, "status": "success"}
        assert k.payu_reverse_hash(posted, PAYU_SALT) == PAYU_REVERSE_HASH
        assert k.payu_reverse_hash(posted, PAYU_SALT, "2.00") == PAYU_REVERSE_HASH_CHARGES
        assert k.payu_command_hash("C0Dr8m", "verify_payment", "12345", PAYU_SALT) == (
            "26e3f2b1fdc9c224abcd789fc54f067c08802e8739f25ca57b51b796b851a692"
            "cdc0568d1a89a644147a0d87be7ccc8a2b1da6cbfc0df515b1335ab055049fb6"
        )
        # §1.2 PaytmChecksum (derived vectors, fixed salt).
        assert k.paytm_generate_checksum(PAYTM_DICT, PAYTM_KEY, "AbC1") == PAYTM_DICT_CHECKSUM
        assert k.paytm_generate_checksum(PAYTM_BODY, PAYTM_KEY, "AbC1") == PAYTM_BODY_CHECKSUM
        assert k.paytm_verify_checksum(PAYTM_DICT, PAYTM_KEY, PAYTM_DICT_CHECKSUM)
        assert k.paytm_verify_checksum(PAYTM_BODY, PAYTM_KEY, PAYTM_BODY_CHECKSUM)
        # §4.7 Juspay return-URL signature: base64 of the HMAC-SHA256 the kernel computes.
        juspay = k.hmac_sha256_hex("resp_key_123", "order_id%3Dord_1%26status%3DCHARGED%26status_id%3D21")
        assert base64.b64encode(bytes.fromhex(juspay)).decode() == "yxeqe+ZCkFmTRnRrO25UcFF+kz1N0xBGsqqPyyM92eo="
        # §5 Stripe-style engine webhook signature.
        assert k.engine_signature_header("whsec_test_secret", 1700000000, b'{"id":"evt_test"}') == (
            "t=1700000000,v1=13941114bb88ac44a76abcfddea5b92aa6182a4b63d8be3aae908a616083bd7e"
        )
    finally:
        fast_signing._set_backend(BACKENDS[0])
