"""SetupIntent requests checked into pay-in's dataclasses (paycore.payment.setup); each
failure an ApiError naming the field, before anything changes."""

from __future__ import annotations

from paycore import validation
from paycore.customer.test_methods import payment_method_reference
from paycore.errors import invalid
from paycore.ids import Prefix
from paycore.payment.models import NewSetupIntent, SetupChanges, SetupUsage
from paycore.payment.servicer.requests import (
    check_automatic_payment_methods,
    method_and_customer,
    presence_of,
)
from paycore.runtime.messages import by_number, member, value_names
from paycore.runtime.servicing import metadata_change
from paycore.v1 import payment_pb2

_USAGES = {
    payment_pb2.SETUP_INTENT_USAGE_UNSPECIFIED: SetupUsage.OFF_SESSION,
    **by_number(SetupUsage, payment_pb2.SetupIntentUsage),
}
_CANCELLATION_REASONS = value_names(payment_pb2.SetupIntentCancellationReason.DESCRIPTOR)


def new_setup(request: payment_pb2.CreateSetupIntentRequest) -> NewSetupIntent:
    """CreateSetupIntent's terms, as the request alone gives them (the customer's existence is
    checked after the key's lookup)."""
    customer = validation.object_id("customer", request.customer, Prefix.CUSTOMER, required=False)
    method = payment_method_reference("payment_method", request.payment_method, required=False)
    usage = member("usage", request.usage, _USAGES, payment_pb2.SetupIntentUsage)
    for index, kind in enumerate(request.payment_method_types):
        if kind != "card":
            raise invalid(f"payment_method_types[{index}]", "must be card, the only one")
    check_automatic_payment_methods(
        request.automatic_payment_methods, confirm=request.confirm, return_url=request.return_url
    )
    presence_of(False, request.return_url, confirming=request.confirm)
    return NewSetupIntent(
        usage=usage,
        customer_id=customer or None,
        payment_method_id=method or None,
        description=validation.description(request.description),
        metadata=validation.metadata("metadata", request.metadata),
    )


def confirmation(request: payment_pb2.ConfirmSetupIntentRequest) -> tuple[str, str]:
    """(the setup, the payment method it is confirmed with, or "" for its own)."""
    setup_id = validation.object_id("id", request.id, Prefix.SETUP_INTENT)
    method = payment_method_reference("payment_method", request.payment_method, required=False)
    presence_of(False, request.return_url, confirming=True)
    return setup_id, method


def setup_changes(request: payment_pb2.UpdateSetupIntentRequest) -> tuple[str, SetupChanges]:
    """(the setup, the fields present in the request, checked; absent ones None)."""
    setup_id = validation.object_id("id", request.id, Prefix.SETUP_INTENT)
    method, customer = method_and_customer(request)
    description = None
    if request.HasField("description"):
        description = validation.description(request.description)
    return setup_id, SetupChanges(
        description=description,
        payment_method_id=method,
        customer_id=customer,
        metadata=metadata_change(request),
    )


def cancellation(request: payment_pb2.CancelSetupIntentRequest) -> tuple[str, str]:
    setup_id = validation.object_id("id", request.id, Prefix.SETUP_INTENT)
    reason = member(
        "cancellation_reason",
        request.cancellation_reason,
        _CANCELLATION_REASONS,
        payment_pb2.SetupIntentCancellationReason,
    )
    return setup_id, reason


def customer_filter(request: payment_pb2.ListSetupIntentsRequest) -> str:
    """ListSetupIntents' `customer` ("" lists every setup)."""
    return validation.object_id("customer", request.customer, Prefix.CUSTOMER, required=False)
