"""Stripe's test payment methods (`pm_card_visa`, paycore.customer.test_methods) through gRPC:
each use makes a new payment method of its test card; a live merchant has none."""

from __future__ import annotations

import grpc
from paycore.v1 import customer_pb2, payment_pb2

from tests.customer.support import failure
from tests.helpers import create_merchant
from tests.payment.shop import PayIn, Shop, fee


async def payment_methods(shop: Shop) -> list[customer_pb2.PaymentMethod]:
    found = await shop.client.customers.ListPaymentMethods(
        customer_pb2.ListPaymentMethodsRequest(limit=100)
    )
    return list(found.data)


async def test_pm_card_visa_charges_a_new_visa_payment_method(shop: Shop) -> None:
    intent = await shop.pay_with("pm_card_visa", 2000)

    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert intent.amount_received == 2000
    assert intent.payment_method.startswith("pm_") and intent.payment_method != "pm_card_visa"
    method = await shop.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=intent.payment_method)
    )
    assert (method.card.brand, method.card.last4) == (customer_pb2.CARD_BRAND_VISA, "4242")
    assert [found.id for found in await payment_methods(shop)] == [intent.payment_method]
    assert (await shop.balance())[1] == {"usd": 2000 - fee(2000)}
    await shop.assert_books_balance()


async def test_each_use_makes_its_own_payment_method(shop: Shop) -> None:
    first = await shop.pay_with("pm_card_mastercard", 500)
    second = await shop.pay_with("pm_card_mastercard", 700)

    assert first.payment_method != second.payment_method
    methods = await payment_methods(shop)
    assert {method.id for method in methods} == {first.payment_method, second.payment_method}
    assert {method.card.brand for method in methods} == {customer_pb2.CARD_BRAND_MASTERCARD}
    await shop.assert_books_balance()


async def test_pm_card_charge_declined_is_declined_by_the_psp(shop: Shop) -> None:
    intent = await shop.pay_with("pm_card_chargeDeclinedInsufficientFunds", 900)

    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert intent.last_payment_error.decline_code == "insufficient_funds"
    assert (await shop.balance())[1].get("usd", 0) == 0
    await shop.assert_books_balance()


async def test_pm_card_charge_declined_processing_error_is_a_decline(shop: Shop) -> None:
    intent = await shop.pay_with("pm_card_chargeDeclinedProcessingError", 900)

    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert intent.last_payment_error.code == "PROCESSING_ERROR"
    assert intent.last_payment_error.decline_code == "processing_error"
    assert (await shop.balance())[1].get("usd", 0) == 0
    await shop.assert_books_balance()


async def test_an_intent_created_with_one_shows_the_new_id_and_confirms_with_another(
    shop: Shop,
) -> None:
    created = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=1500, currency="usd", payment_method="pm_card_chargeDeclined"
        )
    )
    assert created.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_CONFIRMATION
    assert created.payment_method.startswith("pm_") and created.payment_method != (
        "pm_card_chargeDeclined"
    )

    confirmed = await shop.client.payments.ConfirmPaymentIntent(
        payment_pb2.ConfirmPaymentIntentRequest(id=created.id, payment_method="pm_card_amex")
    )

    assert confirmed.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert confirmed.payment_method not in (created.payment_method, "pm_card_amex")
    method = await shop.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=confirmed.payment_method)
    )
    assert (method.card.brand, method.card.last4) == (customer_pb2.CARD_BRAND_AMEX, "0005")
    await shop.assert_books_balance()


async def test_a_replay_answers_the_same_intent_and_charges_once(shop: Shop) -> None:
    key = (("idempotency-key", "pm-card-visa-replay"),)
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=1200, currency="usd", payment_method="pm_card_visa", confirm=True
    )

    first = await shop.client.payments.CreatePaymentIntent(request, metadata=key)
    again = await shop.client.payments.CreatePaymentIntent(request, metadata=key)

    assert again == first
    assert [method.id for method in await payment_methods(shop)] == [first.payment_method]
    assert (await shop.balance())[1] == {"usd": 1200 - fee(1200)}
    await shop.assert_books_balance()


async def test_attaching_pm_card_visa_attaches_a_new_visa(shop: Shop) -> None:
    customer = await shop.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(email="ada@example.com")
    )

    attached = await shop.client.customers.AttachPaymentMethod(
        customer_pb2.AttachPaymentMethodRequest(id="pm_card_visa", customer=customer.id)
    )

    assert attached.id.startswith("pm_") and attached.id != "pm_card_visa"
    assert attached.customer == customer.id
    assert attached.card.last4 == "4242"
    intent = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=800,
            currency="usd",
            customer=customer.id,
            payment_method=attached.id,
            confirm=True,
        )
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    await shop.assert_books_balance()


async def test_a_customer_created_with_pm_card_visa_has_a_new_visa_as_its_default(
    shop: Shop,
) -> None:
    """As Stripe's subscription guides create one: `payment_method` and the invoices' default
    both name the test payment method, which becomes one new payment method."""
    key = (("idempotency-key", "customer-with-pm-card-visa"),)
    request = customer_pb2.CreateCustomerRequest(
        email="jenny.rosen@example.com",
        payment_method="pm_card_visa",
        invoice_settings=customer_pb2.InvoiceSettings(default_payment_method="pm_card_visa"),
    )

    customer = await shop.client.customers.CreateCustomer(request, metadata=key)
    again = await shop.client.customers.CreateCustomer(request, metadata=key)

    assert again == customer
    default = customer.invoice_settings.default_payment_method
    assert default.startswith("pm_") and default != "pm_card_visa"
    [method] = await payment_methods(shop)
    assert (method.id, method.customer, method.card.last4) == (default, customer.id, "4242")
    intent = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=1200, currency="usd", customer=customer.id, payment_method=default, confirm=True
        )
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    await shop.assert_books_balance()


async def test_a_live_merchant_has_no_test_payment_methods(payin: PayIn) -> None:
    live = await create_merchant(payin.admin, payin.target, "Live Co", livemode=True)
    async with live.client as client:
        customer = await client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
        error = await failure(
            client.payments.CreatePaymentIntent(
                payment_pb2.CreatePaymentIntentRequest(
                    amount=1000, currency="usd", payment_method="pm_card_visa", confirm=True
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert (error.param, error.reason) == ("payment_method", "RESOURCE_MISSING")
        attach = await failure(
            client.customers.AttachPaymentMethod(
                customer_pb2.AttachPaymentMethodRequest(id="pm_card_visa", customer=customer.id)
            ),
            grpc.StatusCode.NOT_FOUND,
        )
        assert attach.param == "id"
        created = await failure(
            client.customers.CreateCustomer(
                customer_pb2.CreateCustomerRequest(payment_method="pm_card_visa")
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert created.param == "payment_method"
        listed = await client.customers.ListPaymentMethods(customer_pb2.ListPaymentMethodsRequest())
        assert list(listed.data) == []
        customers = await client.customers.ListCustomers(customer_pb2.ListCustomersRequest())
        assert [found.id for found in customers.data] == [customer.id]
        intents = await client.payments.ListPaymentIntents(payment_pb2.ListPaymentIntentsRequest())
        assert list(intents.data) == []


async def test_an_unknown_test_name_is_not_found_and_another_id_malformed(shop: Shop) -> None:
    error = await failure(shop.pay_with("pm_card_nosuch", 1000), grpc.StatusCode.INVALID_ARGUMENT)
    assert (error.param, error.reason) == ("payment_method", "RESOURCE_MISSING")
    malformed = await failure(shop.pay_with("pm_nosuch", 1000), grpc.StatusCode.INVALID_ARGUMENT)
    assert (malformed.param, malformed.reason) == ("payment_method", "ID_MALFORMED")
    assert await payment_methods(shop) == []


async def test_attaching_an_unknown_test_name_answers_as_a_payment_does(shop: Shop) -> None:
    """AttachPaymentMethod resolves its id as a payment intent resolves `payment_method`: an
    unknown `pm_card_` name is RESOURCE_MISSING naming the field (NOT_FOUND for the attached id,
    INVALID_ARGUMENT for the intent's `payment_method`), another malformed id ID_MALFORMED."""
    customer = await shop.client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())

    def attach(payment_method: str) -> object:
        return shop.client.customers.AttachPaymentMethod(
            customer_pb2.AttachPaymentMethodRequest(id=payment_method, customer=customer.id)
        )

    unknown = await failure(attach("pm_card_nosuch"), grpc.StatusCode.NOT_FOUND)
    assert (unknown.param, unknown.reason) == ("id", "RESOURCE_MISSING")
    paid = await failure(shop.pay_with("pm_card_nosuch", 1000), grpc.StatusCode.INVALID_ARGUMENT)
    assert (paid.reason, paid.message) == (unknown.reason, unknown.message)
    malformed = await failure(attach("pm_nosuch"), grpc.StatusCode.INVALID_ARGUMENT)
    assert (malformed.param, malformed.reason) == ("id", "ID_MALFORMED")
    assert await payment_methods(shop) == []


async def test_stripes_current_decline_names_decline(shop: Shop) -> None:
    intent = await shop.pay_with("pm_card_visa_chargeDeclined", 400)

    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert intent.last_payment_error.decline_code == "generic_decline"
    await shop.assert_books_balance()


async def test_a_checkout_pays_with_pm_card_visa(shop: Shop) -> None:
    seller = await shop.seller()
    order = payment_pb2.CreatePaymentRequest.PaymentOrder(
        payment_order_id="o-1", seller_account=seller, amount=2500, currency="usd"
    )

    payment = await shop.client.payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(
            checkout_id="cart-test-card", payment_method="pm_card_visa", payment_orders=[order]
        )
    )

    assert payment.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED
    assert payment.payment_method.startswith("pm_") and payment.payment_method != "pm_card_visa"
    assert (await shop.balance(seller))[1] == {"usd": 2500 - fee(2500)}
    await shop.assert_books_balance()
