"""Type stubs of the compiled ``engine._fast._payu`` (re-exported by ``engine._fast.signing``)."""

from collections.abc import Mapping

def payu_request_hash(params: Mapping[str, str | None], salt: str) -> str:
    """sha512(key|txnid|amount|productinfo|firstname|email|udf1..udf5||||||SALT)."""

def payu_reverse_hash(params: Mapping[str, str | None], salt: str, additional_charges: str | None = None) -> str:
    """sha512([additionalCharges|]SALT|status||||||udf5..udf1|email|firstname|productinfo|amount|txnid|key)."""

def payu_command_hash(key: str, command: str, var1: str, salt: str) -> str:
    """sha512(key|command|var1|SALT)."""
