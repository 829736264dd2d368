"""Where an instant payout to a card may go: only a debit card registered as the payee's own
external account (CreatePayoutCard, for the merchant or one of its sellers), never a customer's
payment method, nor an unregistered card, nor another payee's card. Each refusal names the
field and changes nothing."""

from __future__ import annotations

import grpc
from paycore.v1 import customer_pb2, payout_pb2

from tests.payout.support import PayoutShop, World
from tests.payout.test_bad_input import _refused, _state

P = payout_pb2
DEBIT = "4000056655665556"  # a US debit card
CREDIT = "4242424242424242"
NOT_EXTERNAL = (grpc.StatusCode.INVALID_ARGUMENT, "PAYOUT_DESTINATION_NOT_EXTERNAL", "destination")


async def register(shop: PayoutShop, payment_method: str, account: str = "") -> P.PayoutCard:
    card: P.PayoutCard = await shop.client.payouts.CreatePayoutCard(
        P.CreatePayoutCardRequest(payment_method=payment_method, account=account)
    )
    return card


async def test_a_customers_card_is_never_a_payout_destination(world: World) -> None:
    shop = await world.shop()
    await shop.charge(20_000)
    await world.advance(2)
    customer = await shop.client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
    customers_card = await shop.card(DEBIT, customer.id)
    unregistered = await shop.card(DEBIT)
    before = await _state(shop)

    assert await _refused(shop.payout(5000, instant=True, destination=customers_card)) == (
        NOT_EXTERNAL
    )
    assert await _refused(shop.payout(5000, instant=True, destination=unregistered)) == (
        NOT_EXTERNAL
    )
    # A customer's card cannot be registered either (nor one that was a customer's).
    assert await _refused(register(shop, customers_card)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "PAYMENT_METHOD_ALREADY_ATTACHED",
        "payment_method",
    )
    await shop.client.customers.DetachPaymentMethod(
        customer_pb2.DetachPaymentMethodRequest(id=customers_card)
    )
    assert await _refused(register(shop, customers_card)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "PAYMENT_METHOD_DETACHED",
        "payment_method",
    )
    assert await _state(shop) == before
    await shop.assert_identity()
    await shop.close()


async def test_a_registered_debit_card_takes_its_payees_instant_payouts_only(
    world: World,
) -> None:
    shop = await world.shop()
    seller = await shop.seller()
    await shop.checkout([(seller, 20_000)])
    await shop.charge(20_000)
    await world.advance(2)
    own = await shop.card(DEBIT)
    sellers = await shop.card(DEBIT)
    credit = await shop.card(CREDIT)

    registered = await register(shop, own)
    assert (registered.id, registered.account, registered.last4) == (own, "", DEBIT[-4:])
    assert (await register(shop, sellers, seller)).account == seller
    assert await _refused(register(shop, credit)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "PAYOUT_METHOD_UNSUPPORTED",
        "payment_method",
    )
    assert await _refused(register(shop, own, seller)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "PAYOUT_CARD_EXISTS",
        "payment_method",
    )
    # A payout card is no customer's: it cannot be attached to one.
    customer = await shop.client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
    assert await _refused(
        shop.client.customers.AttachPaymentMethod(
            customer_pb2.AttachPaymentMethodRequest(id=own, customer=customer.id)
        )
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "PAYMENT_METHOD_IS_PAYOUT_CARD", "id")

    before = await _state(shop)
    # The seller's card is not the merchant's, nor the merchant's the seller's.
    assert await _refused(shop.payout(5000, instant=True, destination=sellers)) == NOT_EXTERNAL
    assert (
        await _refused(shop.payout(5000, account=seller, instant=True, destination=own))
        == NOT_EXTERNAL
    )
    assert await _state(shop) == before

    paid = await shop.payout(5000, instant=True, destination=own)
    assert (paid.status, paid.destination) == (P.PAYOUT_STATUS_PAID, own)
    to_seller = await shop.payout(5000, account=seller, instant=True, destination=sellers)
    assert (to_seller.status, to_seller.destination) == (P.PAYOUT_STATUS_PAID, sellers)
    await shop.assert_identity()
    await shop.assert_identity(seller)
    await shop.assert_clean()
    await shop.close()
