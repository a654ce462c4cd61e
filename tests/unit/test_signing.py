"""Signing kernel (through the facade) against the vectors of reference/gateways.md."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine.signing as facade
from engine import _select
from engine.errors import ValidationError
from engine.signing import (
    constant_time_equal,
    engine_signature_header,
    engine_webhook_signature,
    hmac_sha256_hex,
    hmac_sha512_hex,
    paytm_generate_checksum,
    paytm_verify_checksum,
    payu_command_hash,
    payu_request_hash,
    payu_reverse_hash,
    razorpay_payment_signature,
    razorpay_webhook_signature,
    sha256_hex,
    sha512_hex,
    verify_razorpay_payment_signature,
    verify_razorpay_webhook_signature,
)

# ------------------------------------------------------------------------------ generic


def test_digests_match_hashlib() -> None:
    assert sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256_hex("abc") == sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert sha512_hex("₹") == hashlib.sha512("₹".encode()).hexdigest()
    assert hmac_sha512_hex("k", "m") == hmac.new(b"k", b"m", hashlib.sha512).hexdigest()
    assert hmac_sha256_hex(b"k", "m") == hmac_sha256_hex("k", b"m") == hmac.new(b"k", b"m", "sha256").hexdigest()


def test_hmac_rfc4231_case_2() -> None:
    key, data = "Jefe", "what do ya want for nothing?"
    assert hmac_sha256_hex(key, data) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert hmac_sha512_hex(key, data) == (
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a3"
        "4d4a6b4b636e070a38bce737"
    )


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [("abc", "abc", True), ("abc", b"abc", True), ("abc", "abd", False), ("abc", "ab", False),
     ("ü", "ü", True), ("ü", "u", False), ("", "", True), (b"\xff", b"\xff", True)],
)  # fmt: skip
def test_constant_time_equal(a: str | bytes, b: str | bytes, equal: bool) -> None:
    assert constant_time_equal(a, b) is equal


# ------------------------------------------------------------------------------ Razorpay (§2.4, §2.5)


@pytest.mark.parametrize(
    ("secret", "message", "expected"),
    [
        ("key_secret", "fake_order_id|fake_payment_id",
         "b2335e3b0801106b84a7faff035df56ecffde06918c9ddd1f0fafbb37a51cc89"),
        ("EnLs21M47BllR3X8PSFtjtbd", "pay_IDZNwZZFtnjyym|sub_ID6MOhgkcoHj9I",
         "601f383334975c714c91a7d97dd723eb56520318355863dcf3821c0d07a17693"),
        ("EnLs21M47BllR3X8PSFtjtbd", "plink_IH3cNucfVEgV68|TSsd1989|paid|pay_IH3d0ara9bSsjQ",
         "07ae18789e35093e51d0a491eb9922646f3f82773547e5b0f67ee3f2d3bf7d5b"),
    ],
)  # fmt: skip
def test_razorpay_published_vectors(secret: str, message: str, expected: str) -> None:
    assert hmac_sha256_hex(secret, message) == expected


def test_razorpay_payment_signature() -> None:
    expected = "b2335e3b0801106b84a7faff035df56ecffde06918c9ddd1f0fafbb37a51cc89"
    assert razorpay_payment_signature("fake_order_id", "fake_payment_id", "key_secret") == expected
    assert verify_razorpay_payment_signature("fake_order_id", "fake_payment_id", expected, "key_secret")


@pytest.mark.parametrize(
    "signature",
    ["", "b2335e3b0801106b84a7faff035df56ecffde06918c9ddd1f0fafbb37a51cc88",
     "B2335E3B0801106B84A7FAFF035DF56ECFFDE06918C9DDD1F0FAFBB37A51CC89", "ü" * 64, None, 123],
)  # fmt: skip
def test_razorpay_payment_signature_rejects(signature: object) -> None:
    order, payment = "fake_order_id", "fake_payment_id"
    assert not verify_razorpay_payment_signature(order, payment, signature, "key_secret")  # type: ignore[arg-type]


def test_razorpay_payment_signature_rejects_swapped_ids() -> None:
    good = razorpay_payment_signature("order_1", "pay_1", "s")
    assert not verify_razorpay_payment_signature("pay_1", "order_1", good, "s")
    assert not verify_razorpay_payment_signature("order_1", "pay_1", good, "other")


# tests/mocks/fake_payment_authorized_webhook.json of razorpay/razorpay-python (not shipped in the
# wheel), byte for byte: 971 bytes with the trailing newline; its sha256 is checked below.
RAZORPAY_WEBHOOK_BODY = (
    b'{\n  "event": "payment.authorized",\n  "entity": "event",\n  "contains": [\n    "payment"\n  ],\n'
    b'  "payload": {\n    "payment": {\n      "entity": {\n        "id": "pay_6koWN7bvxujzxM",\n'
    b'        "entity": "payment",\n        "amount": 1000000,\n        "currency": "INR",\n'
    b'        "status": "captured",\n        "order_id": "order_100000000order",\n'
    b'        "international": false,\n        "method": "card",\n        "amount_refunded": 0,\n'
    b'        "refund_status": null,\n        "captured": true,\n'
    b'        "description": "random description",\n        "card_id": "card_6koWNAT6LASUqy",\n'
    b'        "bank": null,\n        "wallet": null,\n        "vpa": null,\n        "email": "a@b.com",\n'
    b'        "contact": "+919999999999",\n        "notes": {\n'
    b'          "merchant_order_id": "random order id"\n        },\n        "fee": 23000,\n'
    b'        "service_tax": 3000,\n        "error_code": null,\n        "error_description": null,\n'
    b'        "created_at": 1479978483\n      }\n    }\n  },\n  "created_at": 1400826760\n}\n'
)
RAZORPAY_WEBHOOK_SIGNATURE = "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e9"


def test_razorpay_webhook_published_vector() -> None:
    assert len(RAZORPAY_WEBHOOK_BODY) == 971
    assert hashlib.sha256(RAZORPAY_WEBHOOK_BODY).hexdigest() == (
        "9cc0236491299f34a154292eaed46d94b010f44b22095c034f884ca6a1862bef"
    )
    assert razorpay_webhook_signature(RAZORPAY_WEBHOOK_BODY, "key_secret") == RAZORPAY_WEBHOOK_SIGNATURE
    assert verify_razorpay_webhook_signature(RAZORPAY_WEBHOOK_BODY, RAZORPAY_WEBHOOK_SIGNATURE, "key_secret")


def test_razorpay_webhook_rejects_tampering() -> None:
    sig = RAZORPAY_WEBHOOK_SIGNATURE
    assert not verify_razorpay_webhook_signature(RAZORPAY_WEBHOOK_BODY.rstrip(b"\n"), sig, "key_secret")
    assert not verify_razorpay_webhook_signature(RAZORPAY_WEBHOOK_BODY, sig, "other_secret")
    assert not verify_razorpay_webhook_signature(RAZORPAY_WEBHOOK_BODY, sig[:-1], "key_secret")
    assert not verify_razorpay_webhook_signature(RAZORPAY_WEBHOOK_BODY, None, "key_secret")  # type: ignore[arg-type]


def test_razorpay_agrees_with_official_sdk() -> None:
    utility = pytest.importorskip("razorpay.utility.utility")
    sdk = utility.Utility(client=None)
    body = RAZORPAY_WEBHOOK_BODY.decode()
    assert sdk.verify_webhook_signature(body, razorpay_webhook_signature(RAZORPAY_WEBHOOK_BODY, "wh"), "wh")
    sig = razorpay_payment_signature("order_X", "pay_Y", "sandbox_secret")
    assert sdk.verify_signature("order_X|pay_Y", sig, "sandbox_secret")


# ------------------------------------------------------------------------------ engine webhooks (§5)


def test_engine_webhook_signature_stripe_vector() -> None:
    expected = "13941114bb88ac44a76abcfddea5b92aa6182a4b63d8be3aae908a616083bd7e"
    body = b'{"id":"evt_test"}'
    assert engine_webhook_signature("whsec_test_secret", 1700000000, body) == expected
    assert engine_signature_header("whsec_test_secret", 1700000000, body) == f"t=1700000000,v1={expected}"


@given(secret=st.text(min_size=1), timestamp=st.integers(0, 2**40), body=st.binary())
def test_engine_webhook_signature_is_hmac_of_timestamp_dot_body(secret: str, timestamp: int, body: bytes) -> None:
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert engine_webhook_signature(secret, timestamp, body) == expected


@pytest.mark.parametrize("timestamp", ["1700000000", 1.7e9, True, None])
def test_engine_webhook_signature_rejects_bad_timestamp(timestamp: object) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        engine_webhook_signature("s", timestamp, b"{}")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ PayU (§3.2-3.4)

PAYU_SALT = "3sf0jURk"
PAYU_PARAMS = {
    "key": "C0Dr8m", "txnid": "12345", "amount": "10", "productinfo": "Shopping", "firstname": "Test",
    "email": "test@test.com", "udf2": "abc", "udf4": "15",
}  # fmt: skip
PAYU_REQUEST_HASH = (
    "ffcdbf04fa5beefdcc2dd476c18bc410f02b3968e7f4f54e8f43f1e1a310bb32"
    "e3b4dec9305232bb89db5b1d0c009a53bcace6f4bd8ec2f695baf3d43ba730ce"
)
PAYU_REVERSE_HASH = (
    "012af4d4cc8a3d93ef15ff56da20f74ac9f3f3d713f7d34fba17ff606793eda2"
    "69b807ef06dd5c9267ed3113d0cc1050dd2ebc2079cad68e03215c2593c61d4f"
)
PAYU_REVERSE_HASH_CHARGES = (
    "597a5f85fde83a520a2ed76ddeb107113aaf8c6a9749749629166a769158070d"
    "85cc111ef91f98ec14ac443c464fbcd558ae98af9c246b5980610ac1e1bc297c"
)


def test_payu_request_hash_published_vector() -> None:
    assert payu_request_hash(PAYU_PARAMS, PAYU_SALT) == PAYU_REQUEST_HASH
    # The documented hash string itself, to pin the separator count.
    assert sha512_hex("C0Dr8m|12345|10|Shopping|Test|test@test.com||abc||15|||||||3sf0jURk") == PAYU_REQUEST_HASH


def test_payu_request_hash_ignores_extra_fields_and_none_udfs() -> None:
    params = {**PAYU_PARAMS, "udf1": None, "surl": "https://x", "phone": "9999999999", "udf6": "zzz"}
    assert payu_request_hash(params, PAYU_SALT) == PAYU_REQUEST_HASH


def test_payu_request_hash_amount_is_hashed_verbatim() -> None:
    assert payu_request_hash({**PAYU_PARAMS, "amount": "10.00"}, PAYU_SALT) != PAYU_REQUEST_HASH


@pytest.mark.parametrize("field", ["key", "txnid", "amount", "productinfo", "firstname", "email"])
@pytest.mark.parametrize("value", [None, "", "<absent>"])
def test_payu_request_hash_requires_mandatory_fields(field: str, value: str | None) -> None:
    params: dict[str, str | None] = dict(PAYU_PARAMS)
    if value == "<absent>":
        del params[field]
    else:
        params[field] = value
    with pytest.raises(ValidationError) as info:
        payu_request_hash(params, PAYU_SALT)
    assert (info.value.code, info.value.param) == ("parameter_missing", field)


def test_payu_reverse_hash_derived_vectors() -> None:
    posted = {**PAYU_PARAMS, "status": "success", "mihpayid": "403993715521", "hash": "x"}
    assert payu_reverse_hash(posted, PAYU_SALT) == PAYU_REVERSE_HASH
    assert sha512_hex("3sf0jURk|success|||||||15||abc||test@test.com|Test|Shopping|10|12345|C0Dr8m") == (
        PAYU_REVERSE_HASH
    )
    assert payu_reverse_hash(posted, PAYU_SALT, "2.00") == PAYU_REVERSE_HASH_CHARGES
    assert payu_reverse_hash(posted, PAYU_SALT, "") == PAYU_REVERSE_HASH  # empty means no charges


def test_payu_reverse_hash_depends_on_status_and_is_lenient() -> None:
    assert payu_reverse_hash({**PAYU_PARAMS, "status": "failure"}, PAYU_SALT) != PAYU_REVERSE_HASH
    assert payu_reverse_hash(PAYU_PARAMS, PAYU_SALT) != PAYU_REVERSE_HASH  # no status: no raise, no match
    assert len(payu_reverse_hash({}, PAYU_SALT)) == 128


def test_payu_command_hash_derived_vector() -> None:
    assert payu_command_hash("C0Dr8m", "verify_payment", "12345", PAYU_SALT) == (
        "26e3f2b1fdc9c224abcd789fc54f067c08802e8739f25ca57b51b796b851a692"
        "cdc0568d1a89a644147a0d87be7ccc8a2b1da6cbfc0df515b1335ab055049fb6"
    )


# ------------------------------------------------------------------------------ Paytm (§1.2)

PAYTM_KEY = "abcdefghijklmnop"
PAYTM_DICT = {"MID": "TESTMID0001", "ORDERID": "ORD_1001"}
PAYTM_DICT_CHECKSUM = (
    "svZ/zwB6WVVB7XHNgdOG6mqQePIYeEdsMMNw/vuneTzQdZrWE1XeVhEnfDSNwq6o9pf2K/2qLBFeFGqepCWEKeH5/ftmezUpl+7evnoPNrA="
)
PAYTM_BODY = '{"mid":"TESTMID0001","orderId":"ORD_1001"}'
PAYTM_BODY_CHECKSUM = (
    "O5w8YSPb4D6PsERWLRjdz90VgORx0VwT4Hz+g13almy3hlHhZN6qEtv+MFcbav3IQ6/ZkQRv9ORQKEOGiVInJS5Gx3n3/sVOnZiieG7ovZ4="
)


@pytest.mark.parametrize(("params", "checksum"), [(PAYTM_DICT, PAYTM_DICT_CHECKSUM), (PAYTM_BODY, PAYTM_BODY_CHECKSUM)])
def test_paytm_derived_vectors(params: dict[str, str] | str, checksum: str) -> None:
    assert paytm_generate_checksum(params, PAYTM_KEY, "AbC1") == checksum
    assert paytm_verify_checksum(params, PAYTM_KEY, checksum)


def test_paytm_vector_plaintext() -> None:
    assert sha256_hex("TESTMID0001|ORD_1001|AbC1") == (
        "9c8ebaa8f2b6ca207e6b019a7d982688eccc7c8248acebd920f467a85a5d36fa"
    )
    assert sha256_hex(PAYTM_BODY + "|AbC1") == "dfeec8282d258c6cc1a0ddf8f52e83901ee6d63a95820a28356901cf9a528114"


def test_paytm_verify_ignores_checksumhash_without_mutating() -> None:
    posted = {**PAYTM_DICT, "CHECKSUMHASH": PAYTM_DICT_CHECKSUM}
    assert paytm_verify_checksum(posted, PAYTM_KEY, PAYTM_DICT_CHECKSUM)
    assert "CHECKSUMHASH" in posted


def test_paytm_canonical_sorting_and_null_rule() -> None:
    # Keys sorted by code point (upper case before lower case); None and "null" (any case) sign as "".
    params = {"b": "2", "A": "1", "c": None, "d": "NULL", "e": "Null"}
    expected = paytm_generate_checksum("1|2|||", PAYTM_KEY, "zZ9a")
    assert paytm_generate_checksum(params, PAYTM_KEY, "zZ9a") == expected


@pytest.mark.parametrize(
    ("params", "checksum"),
    [
        ({**PAYTM_DICT, "ORDERID": "ORD_1002"}, PAYTM_DICT_CHECKSUM),  # tampered field
        ({**PAYTM_DICT, "TXNAMOUNT": "1.00"}, PAYTM_DICT_CHECKSUM),  # added field
        (PAYTM_BODY.replace("1001", "1002"), PAYTM_BODY_CHECKSUM),
        (PAYTM_DICT, PAYTM_BODY_CHECKSUM),  # checksum of something else
        (PAYTM_DICT, PAYTM_DICT_CHECKSUM[:-4]),  # truncated
        (PAYTM_DICT, ""),
        (PAYTM_DICT, "not base64 !!"),
        (PAYTM_DICT, "ü" * 108),
        (PAYTM_DICT, base64.b64encode(b"\x00" * 15).decode()),  # not a whole block
        (PAYTM_DICT, base64.b64encode(b"\x00" * 80).decode()),  # bad padding after decrypt
        (PAYTM_DICT, None),
    ],
)
def test_paytm_verify_rejects(params: dict[str, str] | str, checksum: object) -> None:
    assert not paytm_verify_checksum(params, PAYTM_KEY, checksum)  # type: ignore[arg-type]


def test_paytm_verify_rejects_wrong_key() -> None:
    assert not paytm_verify_checksum(PAYTM_DICT, "ponmlkjihgfedcba", PAYTM_DICT_CHECKSUM)


def test_paytm_checksum_shape_and_randomness() -> None:
    first = paytm_generate_checksum(PAYTM_DICT, PAYTM_KEY)
    second = paytm_generate_checksum(PAYTM_DICT, PAYTM_KEY)
    assert len(first) == 108 and first != second  # random salt: never repeats
    assert paytm_verify_checksum(PAYTM_DICT, PAYTM_KEY, first)
    assert paytm_verify_checksum(PAYTM_DICT, PAYTM_KEY, second)


@given(
    params=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=20), max_size=6) | st.text(max_size=200),
    salt=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=4, max_size=4),
)
def test_paytm_round_trip(params: dict[str, str] | str, salt: str) -> None:
    checksum = paytm_generate_checksum(params, "sandboxmerchkey1", salt)
    assert paytm_verify_checksum(params, "sandboxmerchkey1", checksum)
    assert not paytm_verify_checksum(params, "sandboxmerchkey2", checksum)


@pytest.mark.parametrize("key", ["short", "a" * 17, ""])
def test_paytm_rejects_bad_key_size(key: str) -> None:
    with pytest.raises(ValueError, match="16, 24 or 32"):
        paytm_generate_checksum(PAYTM_DICT, key)
    with pytest.raises(ValueError, match="16, 24 or 32"):
        paytm_verify_checksum(PAYTM_DICT, key, PAYTM_DICT_CHECKSUM)


@pytest.mark.parametrize("key", ["a" * 24, "b" * 32])
def test_paytm_accepts_aes_192_and_256_keys(key: str) -> None:
    assert paytm_verify_checksum(PAYTM_DICT, key, paytm_generate_checksum(PAYTM_DICT, key))


@pytest.mark.parametrize("salt", ["", "abc", "abcde", "abcü"])
def test_paytm_rejects_bad_salt(salt: str) -> None:
    with pytest.raises(ValueError, match="salt"):
        paytm_generate_checksum(PAYTM_DICT, PAYTM_KEY, salt)


def test_paytm_agrees_with_independent_cryptography_decrypt() -> None:
    """Decrypt with `cryptography`'s own PKCS7 unpadder, independently of the kernel's code."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(PAYTM_KEY.encode()), modes.CBC(b"@@@@&&&&####$$$$")).decryptor()
    padded = decryptor.update(base64.b64decode(PAYTM_DICT_CHECKSUM)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    plaintext = (unpadder.update(padded) + unpadder.finalize()).decode()
    assert plaintext == "9c8ebaa8f2b6ca207e6b019a7d982688eccc7c8248acebd920f467a85a5d36faAbC1"


# ------------------------------------------------------------------------------ facade


def test_facade_reexports_kernel() -> None:
    kernel = _select.load_kernel("signing")
    assert facade.IMPLEMENTATION == _select.implementation_of(kernel)
    assert facade.IMPLEMENTATION in ("compiled", "pure")
    for name in facade.__all__:
        if name != "IMPLEMENTATION":
            assert getattr(facade, name) is getattr(kernel, name), name
