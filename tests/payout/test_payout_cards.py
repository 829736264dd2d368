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


async def register(
    shop: PayoutShop,
    payment_method: str,
    account: str = "",
    *,
    currency: str = "",
    default_for_currency: bool = False,
) -> P.PayoutCard:
    card: P.PayoutCard = await shop.client.payouts.CreatePayoutCard(
        P.CreatePayoutCardRequest(
            payment_method=payment_method,
            account=account,
            currency=currency,
            default_for_currency=default_for_currency,
        )
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


CURRENCY_MISMATCH = (grpc.StatusCode.INVALID_ARGUMENT, "PAYOUT_CURRENCY_MISMATCH", "destination")


async def test_a_payout_card_has_one_currency_and_takes_payouts_in_it_only(world: World) -> None:
    """A payout card is tied to one currency, as Stripe's external accounts are: by default its
    issuing country's (a US card: usd), or the one given. An instant payout in another currency
    is refused, naming destination, and moves nothing (1000 EUR went to a US Visa debit card)."""
    shop = await world.shop()
    await shop.charge(20_000)
    await shop.charge(20_000, "eur")
    await world.advance(2)
    us_card = await shop.card(DEBIT)
    registered = await register(shop, us_card)
    assert (registered.currency, registered.default_for_currency) == ("usd", True)
    before = await _state(shop)

    eur_payout = shop.payout(1000, currency="eur", instant=True, destination=us_card)
    assert await _refused(eur_payout) == CURRENCY_MISMATCH
    assert await _state(shop) == before

    # Registering it again answers it as it is; another currency for it is refused.
    assert (await register(shop, us_card)).currency == "usd"
    assert await _refused(register(shop, us_card, currency="eur")) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "PAYOUT_CARD_CURRENCY_FIXED",
        "currency",
    )
    eur_card = await shop.card(DEBIT)
    in_eur = await register(shop, eur_card, currency="eur")
    assert (in_eur.currency, in_eur.default_for_currency) == ("eur", True)
    paid = await shop.payout(1000, currency="eur", instant=True, destination=eur_card)
    assert (paid.status, paid.destination, paid.currency) == (P.PAYOUT_STATUS_PAID, eur_card, "eur")
    usd = await shop.payout(1000, instant=True, destination=us_card)
    assert (usd.status, usd.destination) == (P.PAYOUT_STATUS_PAID, us_card)
    await shop.assert_identity()
    await shop.assert_identity(currency="eur")
    await shop.assert_clean()
    await shop.assert_clean("eur")
    await shop.close()


async def test_an_instant_payout_without_destination_goes_to_its_currencys_default_card(
    world: World,
) -> None:
    """The default destination of an instant payout in a currency is that currency's default
    card (the first registered, or the one registered with default_for_currency); a currency
    with no card falls back to its default bank account."""
    shop = await world.shop()
    await shop.charge(30_000)
    await shop.charge(20_000, "eur")
    await world.advance(2)
    bank = await shop.bank_account()
    first, second = await shop.card(DEBIT), await shop.card(DEBIT)
    assert (await register(shop, first)).default_for_currency
    assert not (await register(shop, second)).default_for_currency
    assert (await shop.payout(1000, instant=True)).destination == first
    assert (await register(shop, second, default_for_currency=True)).default_for_currency
    assert (await shop.payout(1000, instant=True)).destination == second
    # A standard payout still goes to the currency's default bank account.
    assert (await shop.payout(1000)).destination == bank.id
    # No eur card, no eur bank account: nothing to pay to (the usd card is not one).
    assert await _refused(shop.payout(1000, currency="eur", instant=True)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "BANK_ACCOUNT_MISSING",
        "destination",
    )
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()


async def test_a_standard_payout_goes_to_a_bank_account_in_its_own_currency_only(
    world: World,
) -> None:
    """A bank account is tied to its currency too: a payout in another currency to it is
    refused naming destination, explicitly or as the default of another currency."""
    shop = await world.shop()
    await shop.charge(20_000)
    await shop.charge(20_000, "eur")
    await world.advance(2)
    usd_bank = await shop.bank_account()
    before = await _state(shop)
    assert await _refused(shop.payout(1000, currency="eur", destination=usd_bank.id)) == (
        CURRENCY_MISMATCH
    )
    assert (
        await _refused(shop.payout(1000, currency="eur", instant=True, destination=usd_bank.id))
        == CURRENCY_MISMATCH
    )
    assert await _state(shop) == before
    await shop.close()


async def test_a_payee_never_pays_out_to_another_payees_external_account(world: World) -> None:
    """A seller's payout never goes to the merchant's own bank account or card, nor to another
    seller's; the merchant's never to a seller's. Each refusal names destination and moves
    nothing."""
    shop = await world.shop()
    one, two = await shop.seller("One"), await shop.seller("Two")
    await shop.checkout([(one, 20_000), (two, 20_000)])
    await shop.charge(20_000)
    await world.advance(2)
    banks = {payee: await shop.bank_account(account=payee) for payee in ("", one, two)}
    cards = {payee: await shop.card(DEBIT) for payee in ("", one, two)}
    for payee, card in cards.items():
        await register(shop, card, payee)
    before = (await _state(shop), await shop.balance(one), await shop.balance(two))
    missing = (grpc.StatusCode.INVALID_ARGUMENT, "RESOURCE_MISSING", "destination")
    for payer in ("", one, two):
        for payee in ("", one, two):
            if payee == payer:
                continue
            standard = shop.payout(1000, account=payer, destination=banks[payee].id)
            assert await _refused(standard) == missing, (payer, payee)
            instant = shop.payout(1000, account=payer, instant=True, destination=cards[payee])
            assert await _refused(instant) == NOT_EXTERNAL, (payer, payee)
    assert (await _state(shop), await shop.balance(one), await shop.balance(two)) == before
    for payee in ("", one, two):
        paid = await shop.payout(1000, account=payee, instant=True)
        assert paid.destination == cards[payee], payee
        await shop.assert_identity(payee)
    await shop.assert_clean()
    await shop.close()


async def _listed(shop: PayoutShop, account: str = "") -> list[tuple[str, str, bool]]:
    page = await shop.client.payouts.ListPayoutCards(
        P.ListPayoutCardsRequest(account=account, limit=100)
    )
    assert not page.has_more
    return [(card.id, card.currency, card.default_for_currency) for card in page.data]


async def test_a_payees_payout_cards_are_listed_with_their_currencies(world: World) -> None:
    """ListPayoutCards (GET /v1/payout_cards) lists a payee's payout cards, newest first, each
    with its currency and whether it is that currency's default: none of another payee's, no
    customer's card, no card never registered; another merchant's seller is RESOURCE_MISSING
    naming account."""
    shop, other = await world.shop(), await world.shop("Other")
    seller = await shop.seller()
    usd, eur = await shop.card(DEBIT), await shop.card(DEBIT)
    sellers = await shop.card(DEBIT)
    await shop.card(DEBIT)  # never registered
    customer = await shop.client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
    await shop.card(DEBIT, customer.id)
    assert await _listed(shop) == []
    await register(shop, usd)
    await register(shop, eur, currency="eur")
    await register(shop, sellers, seller, currency="gbp")
    assert await _listed(shop) == [(eur, "eur", True), (usd, "usd", True)]
    assert await _listed(shop, seller) == [(sellers, "gbp", True)]
    newer = await shop.card(DEBIT)
    await register(shop, newer, default_for_currency=True)
    assert await _listed(shop) == [(newer, "usd", True), (eur, "eur", True), (usd, "usd", False)]
    assert await _refused(
        other.client.payouts.ListPayoutCards(P.ListPayoutCardsRequest(account=seller))
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "RESOURCE_MISSING", "account")
    # GetPayoutCard: one of them (a seller's too), with its currency; any other card, or
    # another merchant asking, NOT_FOUND.
    got = await shop.client.payouts.GetPayoutCard(P.GetPayoutCardRequest(id=sellers))
    assert (got.id, got.account, got.currency, got.default_for_currency) == (
        sellers,
        seller,
        "gbp",
        True,
    )
    never_registered = await shop.card(DEBIT)
    for client, card_id in ((shop, never_registered), (other, usd)):
        assert await _refused(
            client.client.payouts.GetPayoutCard(P.GetPayoutCardRequest(id=card_id))
        ) == (grpc.StatusCode.NOT_FOUND, "RESOURCE_MISSING", "id")
    assert await _listed(other) == []
    await shop.close()
    await other.close()


async def test_payouts_are_listed_by_their_card_destination(world: World) -> None:
    """ListPayouts' `destination` takes a payout card as CreatePayout does: the payouts to it
    (a bank account's id lists the bank's); a card of the merchant that is no payout card, or
    another merchant's, is RESOURCE_MISSING naming destination."""
    shop, other = await world.shop(), await world.shop("Other")
    await shop.charge(20_000)
    await world.advance(2)
    bank = await shop.bank_account()
    card = await shop.card(DEBIT)
    await register(shop, card)
    to_card = await shop.payout(1000, instant=True, destination=card)
    to_bank = await shop.payout(1000, destination=bank.id)

    async def listed(destination: str, client: PayoutShop = shop) -> list[str]:
        page = await client.client.payouts.ListPayouts(
            P.ListPayoutsRequest(destination=destination)
        )
        return [payout.id for payout in page.data]

    assert await listed(card) == [to_card.id]
    assert await listed(bank.id) == [to_bank.id]
    missing = (grpc.StatusCode.INVALID_ARGUMENT, "RESOURCE_MISSING", "destination")
    assert await _refused(listed(await shop.card(DEBIT))) == missing
    assert await _refused(listed(card, other)) == missing
    await shop.close()
    await other.close()
