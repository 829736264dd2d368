"""CheckoutService over gRPC: request -> checks (requests.py) -> domain call (through Mutations
for changes) -> message (messages.py)."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore import validation
from paycore.checkout.models import HostedPage
from paycore.checkout.servicer import requests
from paycore.checkout.servicer.messages import SessionMessages
from paycore.checkout.sessions import CheckoutSessions
from paycore.currency.rules import Purpose
from paycore.currency.service import Currencies
from paycore.customer.service import CustomerService
from paycore.errors import invalid
from paycore.ids import Prefix
from paycore.payment.client_secrets import ClientSecrets
from paycore.runtime.context import current_call
from paycore.runtime.mutations import Mutations
from paycore.runtime.servicing import (
    Context,
    add_servicer,
    cursor_of,
    get_by_id,
    merchant_and_cursor,
    merchant_and_id,
    metadata_change,
    page_response,
)
from paycore.storage.reads import page_after
from paycore.subscription.service import SubscriptionService
from paycore.v1 import checkout_pb2, checkout_pb2_grpc


def register(
    server: aio.Server,
    sessions: CheckoutSessions,
    messages: SessionMessages,
    customers: CustomerService,
    currencies: Currencies,
    client_secrets: ClientSecrets,
    mutations: Mutations,
    catalogue: SubscriptionService,
) -> str:
    """Adds CheckoutService to `server`; returns its full name."""
    servicer = CheckoutServicer(
        sessions, messages, customers, currencies, client_secrets, mutations, catalogue
    )
    return add_servicer(server, checkout_pb2_grpc.add_CheckoutServiceServicer_to_server, servicer)


@dataclass(frozen=True, slots=True)
class CheckoutServicer(checkout_pb2_grpc.CheckoutServiceServicer):
    _sessions: CheckoutSessions
    _messages: SessionMessages
    _customers: CustomerService
    _currencies: Currencies
    _client_secrets: ClientSecrets
    _mutations: Mutations
    _catalogue: SubscriptionService

    async def CreateCheckoutSession(
        self, request: checkout_pb2.CreateCheckoutSessionRequest, context: Context
    ) -> checkout_pb2.CheckoutSession:
        merchant_id = current_call().require_merchant()
        new = requests.new_session(request, await self._line_catalogue(merchant_id, request))
        if new.customer_id:
            await self._customers.require_customer(merchant_id, new.customer_id)
        # The session's payment intent is a charge like CreatePaymentIntent's: the same rules,
        # in the same order (docs/currencies.md, "The order of the checks"): the amount's rule
        # first; the conversion's rate, which changes, for a new key only.
        amount_param = "line_items" if new.line_items else "amount"
        self._currencies.rules.check(amount_param, new.amount_total, new.currency, Purpose.CHARGE)
        if not await self._mutations.key_seen(merchant_id):
            await self._currencies.check_conversion(
                merchant_id, "", new.currency, "currency", (new.amount_total, amount_param)
            )
        return await self._mutations.answer(
            merchant_id, request, self._messages.session, self._sessions.create, new
        )

    async def _line_catalogue(
        self, merchant_id: str, request: checkout_pb2.CreateCheckoutSessionRequest
    ) -> requests.Catalogue:
        """The prices and products the line items name (Stripe's `line_items[i][price]`,
        `line_items[i][price_data][product]`), NOT_FOUND naming the field when the merchant has
        none of that id. Prices and products never change, so a replay reads the same."""
        requests.stripe_options(request)
        requests.check_line_count(request)
        prices: dict[int, requests.CataloguePrice] = {}
        product_names: dict[int, str] = {}
        for index, item in enumerate(request.line_items):
            param = f"line_items[{index}]"
            if item.price:
                price_id = validation.object_id(f"{param}.price", item.price, Prefix.PRICE)
                price = await self._catalogue.get_price(
                    merchant_id, price_id, param=f"{param}.price"
                )
                if price.recurring is not None:
                    raise invalid(f"{param}.price", "is recurring: a session takes one-time prices")
                if not price.active:
                    raise invalid(f"{param}.price", "is not active")
                product = await self._catalogue.get_product(merchant_id, price.product_id)
                prices[index] = requests.CataloguePrice(
                    product.name,
                    price.unit_amount,
                    price.currency,
                    product.id,
                    price.nickname,
                    price.metadata,
                )
            elif item.price_data.product:
                param = f"{param}.price_data.product"
                product_id = validation.object_id(param, item.price_data.product, Prefix.PRODUCT)
                product = await self._catalogue.get_product(merchant_id, product_id, param=param)
                product_names[index] = product.name
        return requests.Catalogue(prices, product_names)

    async def GetCheckoutSession(
        self, request: checkout_pb2.GetCheckoutSessionRequest, context: Context
    ) -> checkout_pb2.CheckoutSession:
        read = self._sessions.get
        return await get_by_id(request, Prefix.CHECKOUT_SESSION, read, self._messages.session)

    async def ListCheckoutSessions(
        self, request: checkout_pb2.ListCheckoutSessionsRequest, context: Context
    ) -> checkout_pb2.ListCheckoutSessionsResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.CHECKOUT_SESSION)
        status = requests.status_filter(request.status)
        intent_id = validation.object_id(
            "payment_intent", request.payment_intent, Prefix.PAYMENT_INTENT, required=False
        )
        customer_id = validation.object_id(
            "customer", request.customer, Prefix.CUSTOMER, required=False
        )
        email = validation.email(
            "customer_details.email", request.customer_details.email, required=False
        )
        page = await self._sessions.list(merchant_id, cursor, status, intent_id, customer_id, email)
        return page_response(
            checkout_pb2.ListCheckoutSessionsResponse, page, self._messages.session
        )

    async def ListCheckoutSessionLineItems(
        self, request: checkout_pb2.ListCheckoutSessionLineItemsRequest, context: Context
    ) -> checkout_pb2.ListCheckoutSessionLineItemsResponse:
        merchant_id, session_id = merchant_and_id(request.id, Prefix.CHECKOUT_SESSION)
        cursor = cursor_of(request, Prefix.CHECKOUT_LINE_ITEM)
        session = await self._sessions.get(merchant_id, session_id)
        lines = session.line_items
        page = page_after(lines, [line.id for line in lines], cursor, "checkout session")
        return page_response(
            checkout_pb2.ListCheckoutSessionLineItemsResponse,
            page,
            lambda line: self._messages.line_item(line, session.created, session.currency),
        )

    async def UpdateCheckoutSession(
        self, request: checkout_pb2.UpdateCheckoutSessionRequest, context: Context
    ) -> checkout_pb2.CheckoutSession:
        merchant_id, session_id = merchant_and_id(request.id, Prefix.CHECKOUT_SESSION)
        changes = metadata_change(request)
        return await self._mutations.answer(
            merchant_id, request, self._messages.session, self._sessions.update, session_id, changes
        )

    async def ExpireCheckoutSession(
        self, request: checkout_pb2.ExpireCheckoutSessionRequest, context: Context
    ) -> checkout_pb2.CheckoutSession:
        merchant_id, session_id = merchant_and_id(request.id, Prefix.CHECKOUT_SESSION)
        return await self._mutations.answer(
            merchant_id, request, self._messages.session, self._sessions.expire, session_id
        )

    async def GetCheckoutPage(
        self, request: checkout_pb2.GetCheckoutPageRequest, context: Context
    ) -> checkout_pb2.CheckoutPage:
        session_id = requests.session_id(request.id)
        return self._page(await self._sessions.page(session_id, request.secret))

    async def ApplyCheckoutPromotionCode(
        self, request: checkout_pb2.ApplyCheckoutPromotionCodeRequest, context: Context
    ) -> checkout_pb2.CheckoutPage:
        session_id = requests.session_id(request.id)
        code = requests.typed_code(request.promotion_code)
        return self._page(
            await self._sessions.apply_promotion_code(session_id, request.secret, code)
        )

    def _page(self, page: HostedPage) -> checkout_pb2.CheckoutPage:
        """The hosted page's view, with the client_secret its script confirms the intent with."""
        session = page.session
        secret = self._client_secrets.of(session.merchant_id, session.payment_intent_id)
        return self._messages.page(page, secret)
