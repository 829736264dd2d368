"""PaymentService over gRPC: request -> checks -> domain call -> response, nothing more."""

from __future__ import annotations

from typing import Any

from grpc import aio
from paycore import validation
from paycore.account.service import AccountService
from paycore.customer.service import CustomerService
from paycore.errors import ApiError, Reason, invalid
from paycore.ids import Prefix
from paycore.payment.checkout import Checkouts
from paycore.payment.client_secrets import ClientSecrets
from paycore.payment.intents import PaymentIntents
from paycore.payment.messages import intent_message, payment_message, refund_message
from paycore.payment.models import CaptureMethod, NewIntent, NewOrder, NewPayment
from paycore.payment.refunds import Refunds
from paycore.runtime.context import CallerKind, current_call
from paycore.v1 import payment_pb2, payment_pb2_grpc

Context = aio.ServicerContext[Any, Any]
DESCRIPTION_LENGTH_MAX = 1000
CLIENT_ID_LENGTH_MAX = 255
ORDERS_MAX = 50
_CAPTURE_METHODS: dict[int, CaptureMethod] = {
    payment_pb2.CAPTURE_METHOD_UNSPECIFIED: CaptureMethod.AUTOMATIC,
    payment_pb2.CAPTURE_METHOD_AUTOMATIC: CaptureMethod.AUTOMATIC,
    payment_pb2.CAPTURE_METHOD_MANUAL: CaptureMethod.MANUAL,
}
_CANCELLATION_REASONS: dict[int, str] = {
    number: "" if number == 0 else name.removeprefix("PAYMENT_INTENT_CANCELLATION_REASON_").lower()
    for name, number in payment_pb2.PaymentIntentCancellationReason.items()
}
_REFUND_REASONS: dict[int, str] = {
    number: "" if number == 0 else name.removeprefix("REFUND_REASON_").lower()
    for name, number in payment_pb2.RefundReason.items()
}


class PaymentServicer(payment_pb2_grpc.PaymentServiceServicer):
    def __init__(
        self,
        intents: PaymentIntents,
        checkouts: Checkouts,
        refunds: Refunds,
        accounts: AccountService,
        customers: CustomerService,
        client_secrets: ClientSecrets,
    ) -> None:
        self._intents = intents
        self._client_secrets = client_secrets
        self._checkouts = checkouts
        self._refunds = refunds
        self._accounts = accounts
        self._customers = customers

    # -- payments (checkouts) -------------------------------------------------------------------

    async def CreatePayment(
        self, request: payment_pb2.CreatePaymentRequest, context: Context
    ) -> payment_pb2.Payment:
        merchant_id = current_call().require_merchant()
        checkout_id = validation.text(
            "checkout_id", request.checkout_id, maximum=CLIENT_ID_LENGTH_MAX, required=True
        )
        payment_method = validation.object_id(
            "payment_method", request.payment_method, Prefix.PAYMENT_METHOD
        )
        customer = await self._customer(merchant_id, request.customer)
        if not request.payment_orders:
            raise ApiError(Reason.PARAMETER_MISSING, param="payment_orders")
        if len(request.payment_orders) > ORDERS_MAX:
            raise invalid("payment_orders", f"at most {ORDERS_MAX} payment orders")
        orders: list[NewOrder] = []
        for index, order in enumerate(request.payment_orders):
            orders.append(await self._order(merchant_id, f"payment_orders[{index}]", order))
        client_ids = [order.payment_order_id for order in orders]
        if len(set(client_ids)) != len(client_ids):
            raise invalid("payment_orders.payment_order_id", "must be unique within the payment")
        buyer = request.buyer_info
        buyer_info = {
            "email": validation.email("buyer_info.email", buyer.email, required=False),
            "name": validation.text("buyer_info.name", buyer.name, maximum=200),
            "phone": validation.text("buyer_info.phone", buyer.phone, maximum=40),
            "ip": validation.ip_address("buyer_info.ip", buyer.ip),
            "country": validation.country("buyer_info.country", buyer.country)
            if buyer.country
            else "",
            "user_agent": validation.text("buyer_info.user_agent", buyer.user_agent, maximum=500),
        }
        new = NewPayment(
            checkout_id=checkout_id,
            payment_method_id=payment_method,
            customer_id=customer,
            buyer_info={key: value for key, value in buyer_info.items() if value},
            orders=tuple(orders),
            metadata=validation.metadata("metadata", request.metadata),
        )
        return await self._checkouts.create(merchant_id, request, new)

    async def _order(
        self, merchant_id: str, param: str, order: payment_pb2.CreatePaymentRequest.PaymentOrder
    ) -> NewOrder:
        currency = validation.currency(f"{param}.currency", order.currency)
        seller = validation.object_id(
            f"{param}.seller_account", order.seller_account, Prefix.ACCOUNT
        )
        await self._seller(merchant_id, seller, f"{param}.seller_account")
        return NewOrder(
            payment_order_id=validation.text(
                f"{param}.payment_order_id",
                order.payment_order_id,
                maximum=CLIENT_ID_LENGTH_MAX,
                required=True,
            ),
            seller_account=seller,
            amount=validation.amount(f"{param}.amount", order.amount, currency),
            currency=currency,
            metadata=validation.metadata(f"{param}.metadata", order.metadata),
        )

    async def GetPayment(
        self, request: payment_pb2.GetPaymentRequest, context: Context
    ) -> payment_pb2.Payment:
        merchant_id = current_call().require_merchant()
        payment_id = validation.object_id("id", request.id, Prefix.PAYMENT)
        return payment_message(await self._checkouts.get(merchant_id, payment_id))

    async def ListPayments(
        self, request: payment_pb2.ListPaymentsRequest, context: Context
    ) -> payment_pb2.ListPaymentsResponse:
        merchant_id = current_call().require_merchant()
        found, has_more = await self._checkouts.list(
            merchant_id,
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.PAYMENT, required=False
            ),
            validation.object_id("customer", request.customer, Prefix.CUSTOMER, required=False),
            request.checkout_id,
        )
        return payment_pb2.ListPaymentsResponse(
            data=[payment_message(payment) for payment in found], has_more=has_more
        )

    async def GetPaymentOrder(
        self, request: payment_pb2.GetPaymentOrderRequest, context: Context
    ) -> payment_pb2.PaymentOrder:
        merchant_id = current_call().require_merchant()
        order_id = validation.object_id("id", request.id, Prefix.PAYMENT_ORDER)
        return await self._checkouts.get_order(merchant_id, order_id)

    # -- payment intents ------------------------------------------------------------------------

    async def CreatePaymentIntent(
        self, request: payment_pb2.CreatePaymentIntentRequest, context: Context
    ) -> payment_pb2.PaymentIntent:
        merchant_id = current_call().require_merchant()
        currency = validation.currency("currency", request.currency)
        amount = validation.amount("amount", request.amount, currency)
        capture_method = _CAPTURE_METHODS[
            validation.enum_value("capture_method", request.capture_method, _CAPTURE_METHODS)
        ]
        destination = validation.object_id(
            "transfer_destination", request.transfer_destination, Prefix.ACCOUNT, required=False
        )
        if destination:
            await self._seller(merchant_id, destination, "transfer_destination")
        application_fee = request.application_fee_amount
        if application_fee and not destination:
            raise invalid("application_fee_amount", "needs a transfer_destination")
        if not 0 <= application_fee <= amount:
            raise invalid("application_fee_amount", "must be between 0 and the amount")
        new = NewIntent(
            amount=amount,
            currency=currency,
            capture_method=capture_method,
            customer_id=await self._customer(merchant_id, request.customer),
            payment_method_id=validation.object_id(
                "payment_method", request.payment_method, Prefix.PAYMENT_METHOD, required=False
            )
            or None,
            transfer_destination=destination or None,
            application_fee_amount=application_fee,
            description=validation.text(
                "description", request.description, maximum=DESCRIPTION_LENGTH_MAX
            ),
            metadata=validation.metadata("metadata", request.metadata),
        )
        return self._shown(
            merchant_id, await self._intents.create(merchant_id, request, new, request.confirm)
        )

    async def ConfirmPaymentIntent(
        self, request: payment_pb2.ConfirmPaymentIntentRequest, context: Context
    ) -> payment_pb2.PaymentIntent:
        call = current_call()
        merchant_id = call.require_merchant()
        validation.object_id("id", request.id, Prefix.PAYMENT_INTENT)
        validation.object_id(
            "payment_method", request.payment_method, Prefix.PAYMENT_METHOD, required=False
        )
        publishable = call.caller is not None and call.caller.kind is CallerKind.PUBLISHABLE_KEY
        if publishable and not request.client_secret:
            raise ApiError(Reason.PARAMETER_MISSING, param="client_secret")
        if request.client_secret:
            self._client_secrets.check(merchant_id, request.id, request.client_secret)
        return self._shown(merchant_id, await self._intents.confirm(merchant_id, request))

    async def CapturePaymentIntent(
        self, request: payment_pb2.CapturePaymentIntentRequest, context: Context
    ) -> payment_pb2.PaymentIntent:
        merchant_id = current_call().require_merchant()
        validation.object_id("id", request.id, Prefix.PAYMENT_INTENT)
        if request.HasField("amount_to_capture") and request.amount_to_capture <= 0:
            raise invalid("amount_to_capture", "must be at least 1")
        return self._shown(merchant_id, await self._intents.capture(merchant_id, request))

    async def CancelPaymentIntent(
        self, request: payment_pb2.CancelPaymentIntentRequest, context: Context
    ) -> payment_pb2.PaymentIntent:
        merchant_id = current_call().require_merchant()
        validation.object_id("id", request.id, Prefix.PAYMENT_INTENT)
        reason = _CANCELLATION_REASONS[
            validation.enum_value(
                "cancellation_reason", request.cancellation_reason, _CANCELLATION_REASONS
            )
        ]
        return self._shown(merchant_id, await self._intents.cancel(merchant_id, request, reason))

    async def GetPaymentIntent(
        self, request: payment_pb2.GetPaymentIntentRequest, context: Context
    ) -> payment_pb2.PaymentIntent:
        merchant_id = current_call().require_merchant()
        intent_id = validation.object_id("id", request.id, Prefix.PAYMENT_INTENT)
        return self._shown(
            merchant_id, intent_message(await self._intents.get(merchant_id, intent_id))
        )

    async def ListPaymentIntents(
        self, request: payment_pb2.ListPaymentIntentsRequest, context: Context
    ) -> payment_pb2.ListPaymentIntentsResponse:
        merchant_id = current_call().require_merchant()
        found, has_more = await self._intents.list(
            merchant_id,
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.PAYMENT_INTENT, required=False
            ),
            validation.object_id("customer", request.customer, Prefix.CUSTOMER, required=False),
        )
        return payment_pb2.ListPaymentIntentsResponse(
            data=[self._shown(merchant_id, intent_message(intent)) for intent in found],
            has_more=has_more,
        )

    def _shown(
        self, merchant_id: str, intent: payment_pb2.PaymentIntent
    ) -> payment_pb2.PaymentIntent:
        """The intent as answered: with its client_secret (derived, never stored, so the
        idempotency store's replays and events carry none and get it here)."""
        intent.client_secret = self._client_secrets.of(merchant_id, intent.id)
        return intent

    # -- refunds --------------------------------------------------------------------------------

    async def CreateRefund(
        self, request: payment_pb2.CreateRefundRequest, context: Context
    ) -> payment_pb2.Refund:
        merchant_id = current_call().require_merchant()
        if bool(request.payment_intent) == bool(request.payment_order):
            raise invalid("payment_intent", "give exactly one of payment_intent and payment_order")
        validation.object_id(
            "payment_intent", request.payment_intent, Prefix.PAYMENT_INTENT, required=False
        )
        validation.object_id(
            "payment_order", request.payment_order, Prefix.PAYMENT_ORDER, required=False
        )
        amount = request.amount if request.HasField("amount") else None
        if amount is not None and amount <= 0:
            raise invalid("amount", "must be at least 1")
        reason = _REFUND_REASONS[validation.enum_value("reason", request.reason, _REFUND_REASONS)]
        metadata = validation.metadata("metadata", request.metadata)
        return await self._refunds.create(merchant_id, request, amount, reason, metadata)

    async def GetRefund(
        self, request: payment_pb2.GetRefundRequest, context: Context
    ) -> payment_pb2.Refund:
        merchant_id = current_call().require_merchant()
        refund_id = validation.object_id("id", request.id, Prefix.REFUND)
        return refund_message(await self._refunds.get(merchant_id, refund_id))

    async def ListRefunds(
        self, request: payment_pb2.ListRefundsRequest, context: Context
    ) -> payment_pb2.ListRefundsResponse:
        merchant_id = current_call().require_merchant()
        found, has_more = await self._refunds.list(
            merchant_id,
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.REFUND, required=False
            ),
            validation.object_id(
                "payment_intent", request.payment_intent, Prefix.PAYMENT_INTENT, required=False
            ),
            validation.object_id(
                "payment_order", request.payment_order, Prefix.PAYMENT_ORDER, required=False
            ),
        )
        return payment_pb2.ListRefundsResponse(
            data=[refund_message(refund) for refund in found], has_more=has_more
        )

    # -- shared ---------------------------------------------------------------------------------

    async def _customer(self, merchant_id: str, customer_id: str) -> str | None:
        if not customer_id:
            return None
        validation.object_id("customer", customer_id, Prefix.CUSTOMER)
        await self._customers.require_customer(merchant_id, customer_id, "customer")
        return customer_id

    async def _seller(self, merchant_id: str, seller: str, param: str) -> None:
        try:
            await self._accounts.get_seller_account(merchant_id, seller)
        except ApiError as error:
            raise ApiError(
                Reason.RESOURCE_MISSING, param=param, object="account", id=seller
            ) from error
