"""SubscriptionService over gRPC: request -> checks -> domain call -> response, nothing more.

The catalogue and test clocks call SubscriptionService; subscriptions, invoices, clock advances
and billing settings call Subscriptions (paycore.subscription.subscriptions)."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore import validation
from paycore.currency.rules import CurrencyRules
from paycore.customer.test_methods import payment_method_reference
from paycore.errors import invalid
from paycore.ids import Prefix
from paycore.runtime.context import current_call
from paycore.runtime.messages import member
from paycore.runtime.mutations import Mutations
from paycore.runtime.servicing import (
    ChangingRpcs,
    Context,
    add_servicer,
    cursor_of,
    merchant_and_cursor,
    merchant_and_id,
    page_response,
)
from paycore.storage.reads import Cursor
from paycore.subscription.service import SubscriptionService
from paycore.subscription.servicer.messages import (
    clock_message,
    coupon_message,
    deleted_clock_message,
    deleted_coupon_message,
    deleted_discount_message,
    deleted_invoice_message,
    deleted_item_message,
    deleted_subscription_item_message,
    invoice_message,
    item_message,
    line_message,
    placed_item_message,
    price_message,
    product_message,
    promotion_code_message,
    settings_message,
    subscription_item_message,
    subscription_message,
)
from paycore.subscription.servicer.requests import (
    FINAL_ACTIONS,
    INVOICE_STATUSES,
    LISTED_STATUSES,
    auto_advance,
    coupon_changes,
    coupon_id,
    frozen_time,
    invoice_changes,
    invoice_item,
    invoice_item_changes,
    item_removal,
    lookup_keys,
    new_coupon,
    new_invoice,
    new_price,
    new_product,
    new_promotion_code,
    new_subscription,
    new_subscription_item,
    new_test_clock,
    preview_request,
    price_changes,
    product_changes,
    promotion_code_changes,
    retry_schedule,
    subscription_changes,
    subscription_item_change,
)
from paycore.subscription.subscriptions import Subscriptions
from paycore.v1 import subscription_pb2, subscription_pb2_grpc


def register(
    server: aio.Server,
    service: SubscriptionService,
    billing: Subscriptions,
    mutations: Mutations,
    rules: CurrencyRules,
) -> str:
    """Adds SubscriptionService to `server`; returns its full name."""
    add = subscription_pb2_grpc.add_SubscriptionServiceServicer_to_server
    return add_servicer(server, add, SubscriptionServicer(service, billing, mutations, rules))


rpcs: ChangingRpcs[SubscriptionServicer] = ChangingRpcs()


@dataclass(frozen=True, slots=True)
class SubscriptionServicer(subscription_pb2_grpc.SubscriptionServiceServicer):
    _service: SubscriptionService
    _billing: Subscriptions
    _mutations: Mutations
    _rules: CurrencyRules
    """The currency rules in force: a price's or an invoice item's amount must be chargeable."""

    # --- products ----------------------------------------------------------------------------

    CreateProduct = rpcs.change(product_message, lambda s: s._service.create_product, new_product)

    GetProduct = rpcs.get(Prefix.PRODUCT, lambda s: s._service.get_product, product_message)

    async def ListProducts(
        self, request: subscription_pb2.ListProductsRequest, context: Context
    ) -> subscription_pb2.ListProductsResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.PRODUCT)
        active = request.active if request.HasField("active") else None
        page = await self._service.list_products(merchant_id, cursor, active)
        return page_response(subscription_pb2.ListProductsResponse, page, product_message)

    UpdateProduct = rpcs.update(
        Prefix.PRODUCT, product_message, lambda s: s._service.update_product, product_changes
    )

    # --- prices ------------------------------------------------------------------------------

    async def CreatePrice(
        self, request: subscription_pb2.CreatePriceRequest, context: Context
    ) -> subscription_pb2.Price:
        return await self._mutations.answer_checked(
            request,
            price_message,
            lambda connection, merchant_id, checked: self._service.create_price(
                connection, merchant_id, *checked
            ),
            lambda checked: new_price(checked, self._rules),
        )

    GetPrice = rpcs.get(Prefix.PRICE, lambda s: s._service.get_price, price_message)

    async def ListPrices(
        self, request: subscription_pb2.ListPricesRequest, context: Context
    ) -> subscription_pb2.ListPricesResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.PRICE)
        page = await self._service.list_prices(
            merchant_id,
            cursor,
            validation.object_id("product", request.product, Prefix.PRODUCT, required=False),
            request.active if request.HasField("active") else None,
            lookup_keys(request.lookup_keys),
        )
        return page_response(subscription_pb2.ListPricesResponse, page, price_message)

    UpdatePrice = rpcs.update(
        Prefix.PRICE, price_message, lambda s: s._service.update_price, price_changes
    )

    # --- test clocks -------------------------------------------------------------------------

    CreateTestClock = rpcs.change(
        clock_message, lambda s: s._service.create_test_clock, new_test_clock
    )

    GetTestClock = rpcs.get(Prefix.TEST_CLOCK, lambda s: s._service.get_test_clock, clock_message)

    ListTestClocks = rpcs.list(
        Prefix.TEST_CLOCK,
        subscription_pb2.ListTestClocksResponse,
        lambda s: s._service.list_test_clocks,
        clock_message,
    )

    DeleteTestClock = rpcs.change_by_id(
        Prefix.TEST_CLOCK, deleted_clock_message, lambda s: s._billing.delete_clock
    )

    # --- coupons -----------------------------------------------------------------------------

    CreateCoupon = rpcs.change(coupon_message, lambda s: s._service.create_coupon, new_coupon)

    async def GetCoupon(
        self, request: subscription_pb2.GetCouponRequest, context: Context
    ) -> subscription_pb2.Coupon:
        merchant_id = current_call().require_merchant()
        coupon = await self._service.get_coupon(merchant_id, coupon_id("id", request.id))
        return coupon_message(coupon)

    async def ListCoupons(
        self, request: subscription_pb2.ListCouponsRequest, context: Context
    ) -> subscription_pb2.ListCouponsResponse:
        merchant_id = current_call().require_merchant()
        cursor = Cursor(
            validation.list_limit(request.limit),
            coupon_id("starting_after", request.starting_after, required=False),
            coupon_id("ending_before", request.ending_before, required=False),
            validation.timestamp_range("created", request.created),
        )
        if cursor.starting_after and cursor.ending_before:
            raise invalid("ending_before", "cannot be given with starting_after")
        page = await self._service.list_coupons(merchant_id, cursor)
        return page_response(subscription_pb2.ListCouponsResponse, page, coupon_message)

    async def UpdateCoupon(
        self, request: subscription_pb2.UpdateCouponRequest, context: Context
    ) -> subscription_pb2.Coupon:
        merchant_id = current_call().require_merchant()
        updated = coupon_id("id", request.id)
        changes = coupon_changes(request)
        return await self._mutations.answer(
            merchant_id, request, coupon_message, self._service.update_coupon, updated, changes
        )

    async def DeleteCoupon(
        self, request: subscription_pb2.DeleteCouponRequest, context: Context
    ) -> subscription_pb2.DeleteCouponResponse:
        merchant_id = current_call().require_merchant()
        deleted = coupon_id("id", request.id)
        return await self._mutations.answer(
            merchant_id, request, deleted_coupon_message, self._service.delete_coupon, deleted
        )

    # --- promotion codes ---------------------------------------------------------------------

    CreatePromotionCode = rpcs.change(
        promotion_code_message, lambda s: s._service.create_promotion_code, new_promotion_code
    )

    GetPromotionCode = rpcs.get(
        Prefix.PROMOTION_CODE, lambda s: s._service.get_promotion_code, promotion_code_message
    )

    async def ListPromotionCodes(
        self, request: subscription_pb2.ListPromotionCodesRequest, context: Context
    ) -> subscription_pb2.ListPromotionCodesResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.PROMOTION_CODE)
        page = await self._service.list_promotion_codes(
            merchant_id,
            cursor,
            request.code,
            coupon_id("coupon", request.coupon, required=False),
            request.active if request.HasField("active") else None,
        )
        return page_response(
            subscription_pb2.ListPromotionCodesResponse, page, promotion_code_message
        )

    UpdatePromotionCode = rpcs.update(
        Prefix.PROMOTION_CODE,
        promotion_code_message,
        lambda s: s._service.update_promotion_code,
        promotion_code_changes,
    )

    # --- subscriptions -----------------------------------------------------------------------

    async def CreateSubscription(
        self, request: subscription_pb2.CreateSubscriptionRequest, context: Context
    ) -> subscription_pb2.Subscription:
        merchant_id = current_call().require_merchant()
        phases = self._billing.create(merchant_id, new_subscription(request, self._rules))
        return await self._mutations.resumable(merchant_id, request, subscription_message, phases)

    GetSubscription = rpcs.get(Prefix.SUBSCRIPTION, lambda s: s._billing.get, subscription_message)

    async def ListSubscriptions(
        self, request: subscription_pb2.ListSubscriptionsRequest, context: Context
    ) -> subscription_pb2.ListSubscriptionsResponse:
        merchant_id = current_call().require_merchant()
        statuses = member(
            "status", request.status, LISTED_STATUSES, subscription_pb2.SubscriptionStatus
        )
        page = await self._billing.list(
            merchant_id,
            cursor_of(request, Prefix.SUBSCRIPTION),
            validation.object_id("customer", request.customer, Prefix.CUSTOMER, required=False),
            validation.object_id("price", request.price, Prefix.PRICE, required=False),
            statuses,
            validation.object_id(
                "test_clock", request.test_clock, Prefix.TEST_CLOCK, required=False
            ),
        )
        return page_response(subscription_pb2.ListSubscriptionsResponse, page, subscription_message)

    async def ListSubscriptionItems(
        self, request: subscription_pb2.ListSubscriptionItemsRequest, context: Context
    ) -> subscription_pb2.ListSubscriptionItemsResponse:
        merchant_id, subscription_id = merchant_and_id(
            request.subscription, Prefix.SUBSCRIPTION, "subscription"
        )
        page, period = await self._billing.list_items(
            merchant_id, subscription_id, cursor_of(request, Prefix.SUBSCRIPTION_ITEM)
        )
        return page_response(
            subscription_pb2.ListSubscriptionItemsResponse,
            page,
            lambda item: subscription_item_message(item, period),
        )

    GetSubscriptionItem = rpcs.get(
        Prefix.SUBSCRIPTION_ITEM, lambda s: s._billing.get_item, placed_item_message
    )

    async def CreateSubscriptionItem(
        self, request: subscription_pb2.CreateSubscriptionItemRequest, context: Context
    ) -> subscription_pb2.SubscriptionItem:
        merchant_id = current_call().require_merchant()
        phases = self._billing.create_item(merchant_id, new_subscription_item(request))
        return await self._mutations.resumable(merchant_id, request, placed_item_message, phases)

    async def UpdateSubscriptionItem(
        self, request: subscription_pb2.UpdateSubscriptionItemRequest, context: Context
    ) -> subscription_pb2.SubscriptionItem:
        merchant_id, item_id = merchant_and_id(request.id, Prefix.SUBSCRIPTION_ITEM)
        change, proration, at = subscription_item_change(request, item_id)
        phases = self._billing.update_item(merchant_id, item_id, change, proration, at)
        return await self._mutations.resumable(merchant_id, request, placed_item_message, phases)

    DeleteSubscriptionItem = rpcs.update(
        Prefix.SUBSCRIPTION_ITEM,
        deleted_subscription_item_message,
        lambda s: s._billing.delete_item,
        item_removal,
    )

    async def UpdateSubscription(
        self, request: subscription_pb2.UpdateSubscriptionRequest, context: Context
    ) -> subscription_pb2.Subscription:
        merchant_id, subscription_id = merchant_and_id(request.id, Prefix.SUBSCRIPTION)
        phases = self._billing.update(
            merchant_id, subscription_id, subscription_changes(request, self._rules)
        )
        return await self._mutations.resumable(merchant_id, request, subscription_message, phases)

    DeleteSubscriptionDiscount = rpcs.change_by_id(
        Prefix.SUBSCRIPTION, deleted_discount_message, lambda s: s._billing.delete_discount
    )

    async def CancelSubscription(
        self, request: subscription_pb2.CancelSubscriptionRequest, context: Context
    ) -> subscription_pb2.Subscription:
        merchant_id, subscription_id = merchant_and_id(request.id, Prefix.SUBSCRIPTION)
        if request.prorate and request.at_period_end:
            raise invalid("prorate", "refunds only with an immediate cancel (not at_period_end)")
        if request.invoice_now and request.at_period_end:
            raise invalid(
                "invoice_now", "invoices only with an immediate cancel (not at_period_end)"
            )
        phases = self._billing.cancel(
            merchant_id,
            subscription_id,
            request.at_period_end,
            request.prorate,
            request.invoice_now,
        )
        return await self._mutations.resumable(merchant_id, request, subscription_message, phases)

    # --- invoices ----------------------------------------------------------------------------

    async def CreateInvoiceItem(
        self, request: subscription_pb2.CreateInvoiceItemRequest, context: Context
    ) -> subscription_pb2.InvoiceItem:
        return await self._mutations.answer_checked(
            request,
            item_message,
            lambda connection, merchant_id, checked: self._billing.create_invoice_item(
                connection, merchant_id, *checked
            ),
            lambda checked: invoice_item(checked, self._rules),
        )

    CreateInvoice = rpcs.change(invoice_message, lambda s: s._billing.create_invoice, new_invoice)

    UpdateInvoice = rpcs.update(
        Prefix.INVOICE, invoice_message, lambda s: s._billing.update_invoice, invoice_changes
    )

    DeleteInvoice = rpcs.change_by_id(
        Prefix.INVOICE, deleted_invoice_message, lambda s: s._billing.delete_invoice
    )

    FinalizeInvoice = rpcs.update(
        Prefix.INVOICE, invoice_message, lambda s: s._billing.finalize_invoice, auto_advance
    )

    GetInvoiceItem = rpcs.get(
        Prefix.INVOICE_ITEM, lambda s: s._billing.get_invoice_item, item_message
    )

    async def CreateInvoicePreview(
        self, request: subscription_pb2.CreateInvoicePreviewRequest, context: Context
    ) -> subscription_pb2.Invoice:
        merchant_id = current_call().require_merchant()
        upcoming = await self._billing.preview_invoice(
            merchant_id, preview_request(request, self._rules)
        )
        return invoice_message(upcoming)

    async def ListInvoiceItems(
        self, request: subscription_pb2.ListInvoiceItemsRequest, context: Context
    ) -> subscription_pb2.ListInvoiceItemsResponse:
        merchant_id = current_call().require_merchant()
        page = await self._billing.list_invoice_items(
            merchant_id,
            cursor_of(request, Prefix.INVOICE_ITEM),
            validation.object_id("customer", request.customer, Prefix.CUSTOMER, required=False),
            validation.object_id("invoice", request.invoice, Prefix.INVOICE, required=False),
            request.pending if request.HasField("pending") else None,
        )
        return page_response(subscription_pb2.ListInvoiceItemsResponse, page, item_message)

    UpdateInvoiceItem = rpcs.update(
        Prefix.INVOICE_ITEM,
        item_message,
        lambda s: s._billing.update_invoice_item,
        invoice_item_changes,
    )

    async def DeleteInvoiceItem(
        self, request: subscription_pb2.DeleteInvoiceItemRequest, context: Context
    ) -> subscription_pb2.DeleteInvoiceItemResponse:
        merchant_id, item_id = merchant_and_id(request.id, Prefix.INVOICE_ITEM)
        return await self._mutations.answer(
            merchant_id, request, deleted_item_message, self._billing.delete_invoice_item, item_id
        )

    GetInvoice = rpcs.get(Prefix.INVOICE, lambda s: s._billing.get_invoice, invoice_message)

    async def ListInvoiceLines(
        self, request: subscription_pb2.ListInvoiceLinesRequest, context: Context
    ) -> subscription_pb2.ListInvoiceLinesResponse:
        merchant_id, invoice_id = merchant_and_id(request.id, Prefix.INVOICE)
        cursor = cursor_of(request, Prefix.INVOICE_LINE)
        page = await self._billing.invoice_lines(merchant_id, invoice_id, cursor)
        return page_response(subscription_pb2.ListInvoiceLinesResponse, page, line_message)

    async def ListInvoices(
        self, request: subscription_pb2.ListInvoicesRequest, context: Context
    ) -> subscription_pb2.ListInvoicesResponse:
        merchant_id = current_call().require_merchant()
        status = member("status", request.status, INVOICE_STATUSES, subscription_pb2.InvoiceStatus)
        page = await self._billing.list_invoices(
            merchant_id,
            cursor_of(request, Prefix.INVOICE),
            validation.object_id("customer", request.customer, Prefix.CUSTOMER, required=False),
            validation.object_id(
                "subscription", request.subscription, Prefix.SUBSCRIPTION, required=False
            ),
            status,
        )
        return page_response(subscription_pb2.ListInvoicesResponse, page, invoice_message)

    async def PayInvoice(
        self, request: subscription_pb2.PayInvoiceRequest, context: Context
    ) -> subscription_pb2.Invoice:
        merchant_id, invoice_id = merchant_and_id(request.id, Prefix.INVOICE)
        method = payment_method_reference("payment_method", request.payment_method, required=False)
        # Stripe's default: off-session unless the caller says the customer is present.
        off_session = request.off_session if request.HasField("off_session") else True
        phases = self._billing.pay_invoice(
            merchant_id, invoice_id, method, request.paid_out_of_band, off_session
        )
        return await self._mutations.resumable(merchant_id, request, invoice_message, phases)

    VoidInvoice = rpcs.change_by_id(
        Prefix.INVOICE, invoice_message, lambda s: s._billing.void_invoice
    )

    MarkInvoiceUncollectible = rpcs.change_by_id(
        Prefix.INVOICE, invoice_message, lambda s: s._billing.mark_uncollectible
    )

    # --- test clocks (advance) and billing settings ------------------------------------------

    async def AdvanceTestClock(
        self, request: subscription_pb2.AdvanceTestClockRequest, context: Context
    ) -> subscription_pb2.TestClock:
        merchant_id, clock_id = merchant_and_id(request.id, Prefix.TEST_CLOCK)
        to = frozen_time("frozen_time", request.frozen_time)

        return await self._mutations.answer(
            merchant_id, request, clock_message, self._billing.advance_clock, clock_id, to
        )

    async def GetBillingSettings(
        self, request: subscription_pb2.GetBillingSettingsRequest, context: Context
    ) -> subscription_pb2.BillingSettings:
        return settings_message(await self._billing.get_settings(current_call().require_merchant()))

    async def UpdateBillingSettings(
        self, request: subscription_pb2.UpdateBillingSettingsRequest, context: Context
    ) -> subscription_pb2.BillingSettings:
        merchant_id = current_call().require_merchant()
        schedule = retry_schedule(request.retry_schedule_days)
        final_action = member(
            "final_action", request.final_action, FINAL_ACTIONS, subscription_pb2.DunningFinalAction
        )

        return await self._mutations.answer(
            merchant_id,
            request,
            settings_message,
            self._billing.update_settings,
            schedule,
            final_action,
        )
