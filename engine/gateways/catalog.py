"""What the payment methods offer in detail: card brands, netbanking banks, wallet providers,
and per-method amount limits -- the vocabulary of ``GatewayCapabilities``.

Bank codes are the engine's: the first four letters of the bank's IFSC (what Razorpay's
netbanking ``bank`` field takes). The connectors pass a code through as they always did (Juspay
prefixes ``NB_``); a gateway whose own code table differs (PayU's ``HDFB``, Paytm's ``ICICI``)
needs a mapping in its builder before production use -- the sandbox accepts any code.
Wallet providers are lower-case names, upper-cased by the connectors that want that.
"""

from __future__ import annotations

from typing import Final

# Brands as engine.validation names them. Discover and JCB cards are not issued for Indian
# acquiring in practice; none of the four gateways is declared to take them.
CARD_BRANDS: Final = frozenset({"visa", "mastercard", "rupay", "amex", "diners", "maestro"})

# (code, display name), in the order a checkout shows them.
BANKS: Final[tuple[tuple[str, str], ...]] = (
    ("HDFC", "HDFC Bank"),
    ("ICIC", "ICICI Bank"),
    ("SBIN", "State Bank of India"),
    ("UTIB", "Axis Bank"),
    ("KKBK", "Kotak Mahindra Bank"),
    ("YESB", "Yes Bank"),
    ("PUNB", "Punjab National Bank"),
    ("BARB", "Bank of Baroda"),
)
BANK_CODES: Final = frozenset(code for code, _ in BANKS)
BANK_NAMES: Final = dict(BANKS)

# Wallets each gateway documents (lower-case).
RAZORPAY_WALLETS: Final = frozenset(
    {"airtelmoney", "amazonpay", "freecharge", "jiomoney", "mobikwik", "olamoney", "payzapp", "phonepe"}
)
PAYTM_WALLETS: Final = frozenset({"paytm"})
PAYU_WALLETS: Final = frozenset({"amazonpay", "phonepe", "paytm", "mobikwik", "freecharge", "jiomoney", "airtelmoney"})
JUSPAY_WALLETS: Final = frozenset({"amazonpay", "freecharge", "mobikwik", "paytm", "phonepe", "jiomoney", "olamoney"})

# NPCI's per-transaction UPI limit: INR 1,00,000 (in paise). UPI is INR only.
MAX_AMOUNT_BY_METHOD: Final[dict[str, int]] = {"upi": 100_000_00}
