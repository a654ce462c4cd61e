"""What the OpenAPI document says each route answers: the body Struct of every status.

Handlers answer pre-encoded bytes (the exact bytes the idempotency record replays), so the
framework cannot infer the bodies; every route declares them here instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import msgspec

# Litestar 2 exports no public name for its msgspec Struct schema plugin; this one extends it.
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from engine.services.pages import MAX_PAGE
from engine.views import ErrorObject, PaymentObject

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Schema
    from litestar.typing import FieldDefinition

_ERRORS = {
    400: "Invalid request: the error names the offending `param`.",
    401: "Missing or invalid API key.",
    402: "The payment method was declined (`card_error`, with `decline_code` and `payment_id`).",
    403: "Not allowed for this key.",
    404: "No such object (another merchant's objects are absent too).",
    409: "The object's state forbids this, or a request with this `Idempotency-Key` is in flight.",
    413: "Request body over `MAX_BODY_BYTES`.",
    422: "This `Idempotency-Key` was used with a different request.",
    429: "This merchant is over its rate limit (`rate_limit_error`); retry after `Retry-After` seconds.",
    500: "Internal error: nothing reached the gateway (safe to retry).",
    502: "The gateway failed or did not answer (`gateway_error`); `outcome_pending` codes are resumable.",
    503: (
        "Busy, nothing done: the process is at `MAX_INFLIGHT` (`overloaded`), no database connection"
        " was free (`service_unavailable`), every suitable gateway is unavailable or at its bulkhead"
        " (`gateways_unavailable`, `gateway_busy`); retry after `Retry-After` seconds."
    ),
}
READ_ERRORS = (400, 401, 404, 429, 503)
WRITE_ERRORS = (400, 401, 404, 409, 413, 422, 429, 503)
GATEWAY_ERRORS = (402, 500, 502, 503)


def responses(status: int, body: type | None, description: str, *errors: int) -> dict[int, ResponseSpec]:
    """The success status with its body (``None``: not JSON), and each error status with the
    error object."""
    specs = {status: ResponseSpec(data_container=body, description=description, generate_examples=False)}
    for code in errors:
        specs[code] = ResponseSpec(data_container=ErrorObject, description=_ERRORS[code])
    return specs


class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """Structs that refuse unknown fields say so in the document: ``additionalProperties: false``.

    That is every request body (``engine.commands.Strict``: an unknown field is a 400
    ``parameter_unknown``) and every response object (nothing undocumented is ever sent), which the
    stock plugin leaves open. Registered in the app's ``plugins``, it comes before the stock one.
    """

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return super().is_plugin_supported_field(field_definition) and bool(
            field_definition.type_.__struct_config__.forbid_unknown_fields
        )

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


class MerchantObject(msgspec.Struct, forbid_unknown_fields=True):
    """A merchant account."""

    id: str
    object: Literal["merchant"]
    name: str
    sandbox: bool
    created_at: str


class MerchantCreated(msgspec.Struct, forbid_unknown_fields=True):
    """The new merchant, its secret API key and its publishable key (both shown only here,
    stored only hashed)."""

    merchant: MerchantObject
    api_key: str
    publishable_key: str


class RoutingObject(msgspec.Struct, forbid_unknown_fields=True):
    """The gateways payments try, in order, and every gateway configured for the merchant."""

    object: Literal["routing"]
    gateways: list[str]
    available: list[str]


class WebhookAck(msgspec.Struct, forbid_unknown_fields=True):
    """A webhook was verified and recorded (``duplicate``: it had been applied before)."""

    received: bool
    duplicate: bool


class PaymentWithSecret(PaymentObject, forbid_unknown_fields=True):
    """The payment as its merchant's secret key sees it on create and retrieve: with the
    payment's ``client_secret`` (absent only for payments created before client secrets)."""

    client_secret: str | None = None


class BrowserPayment(msgspec.Struct, forbid_unknown_fields=True):
    """The payment as a publishable key sees it (confirm from the browser): what a checkout page
    needs, nothing of the merchant's (no metadata, order id, customer or routing)."""

    id: str
    object: Literal["payment"]
    amount: int
    currency: str
    status: str
    capture_method: str
    payment_method: dict[str, object] | None
    next_action: dict[str, object] | None
    last_error: dict[str, object] | None
    return_url: str | None


class PaymentMethodEntry(msgspec.Struct, forbid_unknown_fields=True):
    """One method type: ``card`` (``brands``), ``upi``, ``netbanking`` (``banks``), ``wallet``
    (``providers``)."""

    type: Literal["card", "upi", "netbanking", "wallet"]
    brands: list[str] | None = None
    banks: list[dict[str, str]] | None = None
    providers: list[str] | None = None


class PaymentMethodList(msgspec.Struct, forbid_unknown_fields=True):
    """The methods this payment can be confirmed with now."""

    object: Literal["list"]
    data: list[PaymentMethodEntry]


# The query parameters of every list (bounds are checked by engine.services.pages, with a 400
# naming the parameter; the schema documents them).
PAGE_LIMIT = Parameter(default=10, description=f"1 to {MAX_PAGE}", schema_extra={"minimum": 1, "maximum": MAX_PAGE})
CURSOR = Parameter(default=None, max_length=64)
