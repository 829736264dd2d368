"""PaymentService requests checked into pay-in's dataclasses; each failure an ApiError naming
the field. What the request alone decides is checked here, before anything else; checks that
read the merchant's state (the customer, the seller account, an exchange rate) go through
`Parties`, after the idempotency key's lookup."""

from __future__ import annotations

from dataclasses import replace

from paycore import validation
from paycore.account.service import AccountService
from paycore.currency.rules import CurrencyRules, Purpose
from paycore.currency.service import Currencies
from paycore.customer.service import CustomerService
from paycore.customer.servicer import requests as customer_requests
from paycore.customer.servicer.requests import NAME_LENGTH_MAX, PHONE_LENGTH_MAX
from paycore.customer.test_methods import payment_method_reference
from paycore.errors import ApiError, Reason, invalid, missing
from paycore.ids import Prefix
from paycore.payment.models import (
    ApplicationFeeFilter,
    CaptureMethod,
    ChargeChanges,
    Intent,
    IntentChanges,
    IntentStatus,
    NewFeeRefund,
    NewIntent,
    NewOrder,
    NewPayment,
    Presence,
    SetupUsage,
    Shipping,
)
from paycore.payment.refunds import NewRefund
from paycore.runtime.messages import (
    by_number,
    by_number_or_none,
    member,
    request_names,
    value_names,
)
from paycore.runtime.servicing import cursor_with, metadata_change
from paycore.storage.reads import Cursor
from paycore.v1 import payment_pb2
from paycore.validation import charge_id

CLIENT_ID_LENGTH_MAX = 255
ORDERS_MAX = 50
_INTENT_STATUS_FILTERS = by_number_or_none(IntentStatus, payment_pb2.PaymentIntentStatus)
_CAPTURE_METHODS = {
    payment_pb2.CAPTURE_METHOD_UNSPECIFIED: CaptureMethod.AUTOMATIC,
    **by_number(CaptureMethod, payment_pb2.CaptureMethod),
}
_CANCELLATION_REASONS = request_names(payment_pb2.PaymentIntentCancellationReason.DESCRIPTOR)
_SETUP_FUTURE_USAGES = by_number_or_none(SetupUsage, payment_pb2.SetupFutureUsage)
_ALLOW_REDIRECTS: dict[int, str] = {
    number: name for name, number in payment_pb2.AllowRedirects.items()
}
_REFUND_REASONS = value_names(payment_pb2.RefundReason.DESCRIPTOR)


class Parties:
    """What a request names, checked against the merchant's state: the customer and seller
    accounts exist, and (currencies, issue 19) a conversion the request would make has a fresh
    rate. These checks read, and what they read changes (a rate goes stale): they run after the
    idempotency key's lookup (`Mutations.prepared`), for a request whose key is new, so that a
    retry of a request that went through is replayed with its first answer whatever changed
    since. What the request alone decides (`new_intent`, `new_payment`, the amounts' rules) is
    checked before, every time."""

    def __init__(
        self, accounts: AccountService, customers: CustomerService, currencies: Currencies
    ) -> None:
        self._accounts = accounts
        self._customers = customers
        self._currencies = currencies

    async def customer(self, merchant_id: str, customer_id: str | None) -> None:
        """A customer named exists (NOT_FOUND naming `customer`)."""
        if customer_id:
            await self._customers.require_customer(merchant_id, customer_id, "customer")

    async def seller(self, merchant_id: str, seller: str, param: str) -> None:
        await self._accounts.get_seller_account(merchant_id, seller, param)

    async def check_payment(self, merchant_id: str, new: NewPayment) -> None:
        """CreatePayment's customer, and each order's seller account and conversion."""
        await self.customer(merchant_id, new.customer_id)
        for index, order in enumerate(new.orders):
            param = f"payment_orders[{index}]"
            await self.seller(merchant_id, order.seller_account, f"{param}.seller_account")
            await self._currencies.check_conversion(
                merchant_id,
                order.seller_account,
                order.currency,
                f"{param}.currency",
                (order.amount, f"{param}.amount"),
            )

    async def check_intent(
        self, merchant_id: str, request: payment_pb2.CreatePaymentIntentRequest, new: NewIntent
    ) -> None:
        """CreatePaymentIntent's destination, conversion (naming `currency`) and customer."""
        await self._currencies.check_conversion(
            merchant_id, "", new.currency, "currency", (new.amount, "amount")
        )
        if new.transfer_destination:
            param, _ = transfer_destination(request)
            await self.seller(merchant_id, new.transfer_destination, param)
            await self._currencies.check_destination(
                merchant_id, new.transfer_destination, new.currency, param
            )
        await self.customer(merchant_id, new.customer_id)

    async def check_customer_change(self, merchant_id: str, changes: IntentChanges) -> None:
        """A customer named exists (NOT_FOUND naming `customer`)."""
        await self.customer(merchant_id, changes.customer_id)

    async def check_capture(self, merchant_id: str, intent: Intent, amount: int | None) -> None:
        """A capture of a converted intent needs a fresh rate (its share's too, when it crosses
        into its destination's settlement currency), and a part an amount its currency allows
        (paycore.currency)."""
        await self._currencies.check_capture(merchant_id, amount, intent.currency)
        if intent.transfer_destination:
            await self._currencies.check_destination(
                merchant_id, intent.transfer_destination, intent.currency, "id"
            )

    async def check_refund(self, merchant_id: str, new: NewRefund) -> None:
        """A refund of a converted charge needs a fresh rate and an amount its currency
        allows (paycore.currency)."""
        charge = new.payment_intent_id or new.payment_order_id or ""
        await self._currencies.check_refund(merchant_id, charge, new.amount, new.param)


def new_payment(request: payment_pb2.CreatePaymentRequest, rules: CurrencyRules) -> NewPayment:
    """CreatePayment's terms, as the request alone gives them (`Parties.check_payment` checks
    them against the merchant's state)."""
    checkout_id = validation.text(
        "checkout_id", request.checkout_id, maximum=CLIENT_ID_LENGTH_MAX, required=True
    )
    payment_method = payment_method_reference("payment_method", request.payment_method)
    customer = validation.object_id("customer", request.customer, Prefix.CUSTOMER, required=False)
    if not request.payment_orders:
        raise ApiError(Reason.PARAMETER_MISSING, param="payment_orders")
    if len(request.payment_orders) > ORDERS_MAX:
        raise invalid("payment_orders", f"at most {ORDERS_MAX} payment orders")
    orders = [
        _order(f"payment_orders[{index}]", order, rules)
        for index, order in enumerate(request.payment_orders)
    ]
    seen: set[str] = set()
    for index, client_id in enumerate(new.payment_order_id for new in orders):
        if client_id in seen:
            raise invalid(
                f"payment_orders[{index}].payment_order_id", "must be unique within the payment"
            )
        seen.add(client_id)
    return NewPayment(
        checkout_id=checkout_id,
        payment_method_id=payment_method,
        customer_id=customer or None,
        buyer_info=buyer_info(request.buyer_info),
        orders=tuple(orders),
        metadata=validation.metadata("metadata", request.metadata),
    )


def _order(
    param: str, order: payment_pb2.CreatePaymentRequest.PaymentOrder, rules: CurrencyRules
) -> NewOrder:
    currency = validation.currency(f"{param}.currency", order.currency)
    seller = validation.object_id(f"{param}.seller_account", order.seller_account, Prefix.ACCOUNT)
    amount = validation.required_amount(
        f"{param}.amount", validation.given(order, "amount"), currency
    )
    rules.check(f"{param}.amount", amount, currency, Purpose.CHARGE)
    return NewOrder(
        payment_order_id=validation.text(
            f"{param}.payment_order_id",
            order.payment_order_id,
            maximum=CLIENT_ID_LENGTH_MAX,
            required=True,
        ),
        seller_account=seller,
        amount=amount,
        currency=currency,
        metadata=validation.metadata(f"{param}.metadata", order.metadata),
    )


def check_automatic_payment_methods(
    automatic: payment_pb2.AutomaticPaymentMethods, *, confirm: bool, return_url: str
) -> None:
    """Stripe's rule for an intent (payment or setup) confirmed at once with automatic payment
    methods: a method it may offer could need a full-page redirect back, so a return_url is
    required unless allow_redirects is never."""
    redirects = validation.enum_value(
        "automatic_payment_methods.allow_redirects",
        automatic.allow_redirects,
        _ALLOW_REDIRECTS,
        payment_pb2.AllowRedirects,
    )
    if (
        confirm
        and automatic.enabled
        and redirects != payment_pb2.ALLOW_REDIRECTS_NEVER
        and not return_url
    ):
        raise invalid(
            "return_url",
            "required to confirm with automatic_payment_methods unless allow_redirects is never",
        )


def new_intent(request: payment_pb2.CreatePaymentIntentRequest, rules: CurrencyRules) -> NewIntent:
    """CreatePaymentIntent's terms, as the request alone gives them (`Parties.check_intent`
    checks them against the merchant's state)."""
    currency = validation.currency("currency", request.currency)
    amount = validation.required_amount("amount", validation.given(request, "amount"), currency)
    capture_method = member(
        "capture_method", request.capture_method, _CAPTURE_METHODS, payment_pb2.CaptureMethod
    )
    check_automatic_payment_methods(
        request.automatic_payment_methods, confirm=request.confirm, return_url=request.return_url
    )
    presence_of(
        request.off_session,
        request.return_url,
        confirming=request.confirm,
        error_on_requires_action=request.error_on_requires_action,
    )
    for index, kind in enumerate(request.payment_method_types):
        if kind != "card":
            raise invalid(f"payment_method_types[{index}]", "must be card, the only one")
    _, destination = transfer_destination(request)
    application_fee = request.application_fee_amount
    if application_fee and not destination:
        raise invalid("application_fee_amount", "needs a transfer_destination")
    if not 0 <= application_fee <= amount:
        raise invalid("application_fee_amount", "must be between 0 and the amount")
    rules.check("amount", amount, currency, Purpose.CHARGE)
    customer = validation.object_id("customer", request.customer, Prefix.CUSTOMER, required=False)
    return NewIntent(
        amount=amount,
        currency=currency,
        capture_method=capture_method,
        customer_id=customer or None,
        payment_method_id=payment_method_reference(
            "payment_method", request.payment_method, required=False
        )
        or None,
        transfer_destination=destination or None,
        application_fee_amount=application_fee,
        description=validation.description(request.description),
        metadata=validation.metadata("metadata", request.metadata),
        setup_future_usage=setup_future_usage(request.setup_future_usage),
        transfer_group=validation.transfer_group(request.transfer_group),
        receipt_email=validation.email("receipt_email", request.receipt_email, required=False),
    )


def setup_future_usage(value: int) -> SetupUsage | None:
    """Stripe's setup_future_usage (None: not given), INVALID_ARGUMENT naming it otherwise."""
    return member("setup_future_usage", value, _SETUP_FUTURE_USAGES, payment_pb2.SetupFutureUsage)


def buyer_info(buyer: payment_pb2.BuyerInfo) -> dict[str, str]:
    found = {
        "email": validation.email("buyer_info.email", buyer.email, required=False),
        "name": validation.text("buyer_info.name", buyer.name, maximum=200),
        "phone": validation.text("buyer_info.phone", buyer.phone, maximum=40),
        "ip": validation.ip_address("buyer_info.ip", buyer.ip),
        "country": validation.country("buyer_info.country", buyer.country) if buyer.country else "",
        "user_agent": validation.text("buyer_info.user_agent", buyer.user_agent, maximum=500),
    }
    return {key: value for key, value in found.items() if value}


def transfer_destination(request: payment_pb2.CreatePaymentIntentRequest) -> tuple[str, str]:
    """(the parameter that named it, the seller account or ""): `transfer_destination`, or
    Stripe's `transfer_data.destination` for the same thing."""
    flat, nested = request.transfer_destination, request.transfer_data.destination
    if flat and nested and flat != nested:
        raise invalid(
            "transfer_data.destination", "names another account than transfer_destination"
        )
    param = "transfer_destination" if flat else "transfer_data.destination"
    return param, validation.object_id(param, flat or nested, Prefix.ACCOUNT, required=False)


def method_and_customer(
    request: payment_pb2.UpdatePaymentIntentRequest | payment_pb2.UpdateSetupIntentRequest,
) -> tuple[str | None, str | None]:
    """An intent's or a setup's update: its payment_method and customer, each checked when
    the request has it (None: absent, unchanged)."""
    method = None
    if request.HasField("payment_method"):
        method = payment_method_reference("payment_method", request.payment_method)
    customer = None
    if request.HasField("customer"):
        customer = validation.object_id("customer", request.customer, Prefix.CUSTOMER)
    return method, customer


def intent_changes(request: payment_pb2.UpdatePaymentIntentRequest) -> tuple[str, IntentChanges]:
    """(the intent, the fields present in the request, checked; absent ones None)."""
    intent_id = validation.object_id("id", request.id, Prefix.PAYMENT_INTENT)
    method, customer = method_and_customer(request)
    capture_method = None
    if request.capture_method != payment_pb2.CAPTURE_METHOD_UNSPECIFIED:
        capture_method = member(
            "capture_method", request.capture_method, _CAPTURE_METHODS, payment_pb2.CaptureMethod
        )
    usage = setup_future_usage(request.setup_future_usage)
    if request.clear_setup_future_usage and usage is not None:
        raise invalid("setup_future_usage", "cannot be given with clear_setup_future_usage")
    return intent_id, IntentChanges(
        amount=request.amount if request.HasField("amount") else None,
        currency=validation.currency("currency", request.currency)
        if request.HasField("currency")
        else None,
        customer_id=customer,
        payment_method_id=method,
        description=validation.description(request.description)
        if request.HasField("description")
        else None,
        capture_method=capture_method,
        metadata=metadata_change(request),
        setup_future_usage=usage,
        clear_setup_future_usage=request.clear_setup_future_usage,
        transfer_group=validation.transfer_group(request.transfer_group)
        if request.HasField("transfer_group")
        else None,
        receipt_email=receipt_email(request),
    )


def confirmation(request: payment_pb2.ConfirmPaymentIntentRequest) -> tuple[str, str, Presence]:
    """(the intent, the payment method it is confirmed with, or "" for its own, the buyer's
    presence)."""
    intent_id = validation.object_id("id", request.id, Prefix.PAYMENT_INTENT)
    method = payment_method_reference("payment_method", request.payment_method, required=False)
    presence = presence_of(
        request.off_session,
        request.return_url,
        confirming=True,
        error_on_requires_action=request.error_on_requires_action,
    )
    usage = setup_future_usage(request.setup_future_usage)
    clear = request.clear_setup_future_usage
    if clear and usage is not None:
        raise invalid("setup_future_usage", "cannot be given with clear_setup_future_usage")
    return (
        intent_id,
        method,
        replace(
            presence,
            setup_future_usage=usage,
            clear_setup_future_usage=clear,
            receipt_email=receipt_email(request),
        ),
    )


def receipt_email(
    request: payment_pb2.UpdatePaymentIntentRequest | payment_pb2.ConfirmPaymentIntentRequest,
) -> str | None:
    """An update's or a confirmation's `receipt_email`: None when absent, "" clears it."""
    if not request.HasField("receipt_email"):
        return None
    return validation.email("receipt_email", request.receipt_email, required=False)


def presence_of(
    off_session: bool,
    return_url: str,
    *,
    confirming: bool,
    error_on_requires_action: bool = False,
) -> Presence:
    """Stripe's parameters for 3-D Secure, checked as Stripe checks them: `off_session` (a card
    that must authenticate then declines), `error_on_requires_action` (the same, the buyer
    present) and `return_url` (where its page sends the buyer back), each only with a
    confirmation."""
    if off_session and not confirming:
        raise invalid("off_session", "can only be used with confirm")
    if error_on_requires_action and not confirming:
        raise invalid("error_on_requires_action", "can only be used with confirm")
    if return_url:
        validation.url("return_url", return_url)
        if not confirming:
            raise invalid("return_url", "can only be used with confirm")
    return Presence(
        off_session=off_session,
        return_url=return_url,
        error_on_requires_action=error_on_requires_action,
    )


def capture(request: payment_pb2.CapturePaymentIntentRequest) -> tuple[str, int | None]:
    intent_id = validation.object_id("id", request.id, Prefix.PAYMENT_INTENT)
    if not request.HasField("amount_to_capture"):
        return intent_id, None
    if request.amount_to_capture <= 0:
        raise invalid("amount_to_capture", "must be at least 1")
    return intent_id, request.amount_to_capture


def charge_capture(request: payment_pb2.CaptureChargeRequest) -> tuple[str, int | None]:
    """CaptureCharge's charge and amount (None: all that is capturable)."""
    charge = charge_id("id", request.id)
    if not request.HasField("amount"):
        return charge, None
    if request.amount <= 0:
        raise invalid("amount", "must be at least 1")
    return charge, request.amount


def cancellation(request: payment_pb2.CancelPaymentIntentRequest) -> tuple[str, str]:
    intent_id = validation.object_id("id", request.id, Prefix.PAYMENT_INTENT)
    reason = member(
        "cancellation_reason",
        request.cancellation_reason,
        _CANCELLATION_REASONS,
        payment_pb2.PaymentIntentCancellationReason,
    )
    return intent_id, reason


def new_refund(request: payment_pb2.CreateRefundRequest, charge_id: str = "") -> NewRefund:
    """The refund `request` asks for, its charge resolved to its payment intent; `charge_id`
    the "ch_..." the caller named it by (Stripe's `charge`), which its refusals then name."""
    if not request.payment_intent and not request.payment_order:
        raise missing("payment_intent")
    if request.payment_intent and request.payment_order:
        raise invalid("payment_intent", "give exactly one of payment_intent and payment_order")
    intent_id, order_id = refunded(request)
    amount = request.amount if request.HasField("amount") else None
    if amount is not None and amount <= 0:
        raise invalid("amount", "must be at least 1")
    for flag in _REVERSALS:
        if order_id and getattr(request, flag):
            raise invalid(flag, "only a destination charge (a payment intent) has one")
    return NewRefund(
        payment_intent_id=intent_id,
        payment_order_id=order_id,
        amount=amount,
        reason=member("reason", request.reason, _REFUND_REASONS, payment_pb2.RefundReason),
        metadata=validation.metadata("metadata", request.metadata),
        reverse_transfer=request.reverse_transfer,
        refund_application_fee=request.refund_application_fee,
        charge_id=charge_id,
    )


_REVERSALS = ("reverse_transfer", "refund_application_fee")


def refunded(
    request: payment_pb2.CreateRefundRequest | payment_pb2.ListRefundsRequest,
) -> tuple[str, str]:
    """(payment_intent, payment_order), each "" when not given: the charge a refund is of, or
    the ones ListRefunds lists the refunds of."""
    intent_id = validation.object_id(
        "payment_intent", request.payment_intent, Prefix.PAYMENT_INTENT, required=False
    )
    order_id = validation.object_id(
        "payment_order", request.payment_order, Prefix.PAYMENT_ORDER, required=False
    )
    return intent_id, order_id


def payment_filters(request: payment_pb2.ListPaymentsRequest) -> tuple[str, str]:
    """ListPayments' (`customer`, `checkout_id`): "" lists every one's."""
    return _customer_filter(request.customer), request.checkout_id


def intent_filters(
    request: payment_pb2.ListPaymentIntentsRequest,
) -> tuple[str, IntentStatus | None]:
    """ListPaymentIntents' (`customer`, `status`): "" and unset list every intent."""
    customer = _customer_filter(request.customer)
    return customer, member(
        "status", request.status, _INTENT_STATUS_FILTERS, payment_pb2.PaymentIntentStatus
    )


def _customer_filter(value: str) -> str:
    return validation.object_id("customer", value, Prefix.CUSTOMER, required=False)


def charge_changes(request: payment_pb2.UpdateChargeRequest) -> tuple[str, ChargeChanges]:
    """(the charge, the fields present in the request, checked; absent ones None)."""
    charge = charge_id("id", request.id)
    description = None
    if request.HasField("description"):
        description = validation.description(request.description)
    receipt_email = None
    if request.HasField("receipt_email"):
        receipt_email = validation.email("receipt_email", request.receipt_email, required=False)
    return charge, ChargeChanges(
        description=description,
        receipt_email=receipt_email,
        metadata=metadata_change(request),
        shipping=shipping(request.shipping) if request.HasField("shipping") else None,
    )


def shipping(message: payment_pb2.Shipping) -> Shipping:
    """Stripe's shipping details: `name` and `address.line1` required, each field checked as
    a customer's (INVALID_ARGUMENT naming `shipping.<field>`)."""
    name = validation.text("shipping.name", message.name, maximum=NAME_LENGTH_MAX, required=True)
    address = customer_requests.address("shipping.address", message.address)
    if not address.line1:
        raise missing("shipping.address.line1")
    return Shipping(
        address=address,
        name=name,
        phone=validation.text("shipping.phone", message.phone, maximum=PHONE_LENGTH_MAX),
        carrier=validation.text("shipping.carrier", message.carrier, maximum=NAME_LENGTH_MAX),
        tracking_number=validation.text(
            "shipping.tracking_number", message.tracking_number, maximum=NAME_LENGTH_MAX
        ),
    )


def charge_cursor(request: payment_pb2.ListChargesRequest) -> Cursor:
    """ListCharges' cursor: as every List's (`runtime.servicing.cursor_of`), its ids ch_'s."""
    return cursor_with(request, lambda param, value: charge_id(param, value, required=False))


def charge_search_cursor(request: payment_pb2.SearchChargesRequest) -> Cursor:
    """SearchCharges' page: `limit` as a List's, `page` the `next_page` it answered (a ch_)."""
    page = charge_id("page", request.page, required=False)
    return Cursor(validation.list_limit(request.limit), page)


def charge_filters(request: payment_pb2.ListChargesRequest) -> tuple[str, str, str]:
    """ListCharges' (`payment_intent`, `customer`, `transfer_group`): "" lists every one's."""
    intent_id = validation.object_id(
        "payment_intent", request.payment_intent, Prefix.PAYMENT_INTENT, required=False
    )
    group = validation.transfer_group(request.transfer_group)
    return intent_id, _customer_filter(request.customer), group


def new_fee_refund(request: payment_pb2.CreateApplicationFeeRefundRequest) -> NewFeeRefund:
    if request.HasField("amount") and request.amount <= 0:
        raise invalid("amount", "must be positive (or left out: all that is left of the fee)")
    return NewFeeRefund(
        amount=request.amount if request.HasField("amount") else None,
        metadata=validation.metadata("metadata", request.metadata),
    )


def application_fee_filter(
    request: payment_pb2.ListApplicationFeesRequest,
) -> ApplicationFeeFilter:
    return ApplicationFeeFilter(
        payment_intent_id=validation.object_id(
            "payment_intent", request.payment_intent, Prefix.PAYMENT_INTENT, required=False
        ),
        account=validation.object_id("account", request.account, Prefix.ACCOUNT, required=False),
    )


def authentication_return(
    request: payment_pb2.ReturnFromAuthenticationRequest,
) -> tuple[str, Prefix, str, str]:
    """(merchant, the object's prefix, its id, its client_secret): one of payment_intent and
    setup_intent, and the client_secret, required."""
    merchant_id = validation.object_id("merchant", request.merchant, Prefix.ACCOUNT)
    if request.payment_intent and request.setup_intent:
        raise invalid("setup_intent", "give payment_intent or setup_intent, not both")
    if request.setup_intent:
        prefix, param, given = Prefix.SETUP_INTENT, "setup_intent", request.setup_intent
    else:
        prefix, param, given = Prefix.PAYMENT_INTENT, "payment_intent", request.payment_intent
    object_id = validation.object_id(param, given, prefix)
    if not request.client_secret:
        raise ApiError(Reason.PARAMETER_MISSING, param="client_secret")
    return merchant_id, prefix, object_id, request.client_secret
