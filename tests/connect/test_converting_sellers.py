"""A seller that settles in another currency than the money the platform passes on to it: a
destination charge's share, a transfer, an application fee given back, each converted into the
seller's settlement currency with the rate locked on the seller's row and booked through the
FX clearing account of the pair; what comes back (a refund's transfer reversal, a transfer
reversal) converts back at that locked rate (docs/currencies.md, "Sellers that settle in
another currency").

Rates from the ECB file: EUR = 1.2000 USD = 150.00 JPY, so USD -> EUR is 1 / 1.2 =
0.833333333333 (a cross rate, 12 significant digits), JPY -> USD 0.008, JPY -> EUR
0.00666666666667. The platform's fee plan: 2.9 % + 30."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import grpc
import pytest
from paycore.tools.psp import cards
from paycore.v1 import account_pb2, payment_pb2, payout_pb2, wallet_pb2

from tests.connect.support import reverse, transfer
from tests.currency.support import carry, import_ecb, settle_in
from tests.dispute.support import DISPUTE_DELAY_SECONDS, read_feed
from tests.helpers import rich_error
from tests.payment.shop import good_card
from tests.payout.support import PayoutShop, World

RATES = "Date, USD, JPY,\n07 December 2026, 1.2000, 150.00,\n"
USD_EUR = "0.833333333333"
W = wallet_pb2
TRANSFER = W.BALANCE_TRANSACTION_TYPE_TRANSFER


async def seller_in(shop: PayoutShop, currency: str) -> str:
    created = await shop.client.accounts.CreateSellerAccount(
        account_pb2.CreateSellerAccountRequest(
            email="seller@shop.test",
            country="DE",
            default_currency=currency,
            settlement_currencies=[currency],
        )
    )
    return created.id


async def usd_platform_with_eur_seller(world: World, tmp_path: Path) -> tuple[PayoutShop, str]:
    """The ECB's RATES imported, a shop settling in USD and its seller settling in EUR."""
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    shop = await world.shop()
    await settle_in(shop, "usd")
    return shop, await seller_in(shop, "eur")


async def funded_shop_with_eur_seller(world: World, tmp_path: Path) -> tuple[PayoutShop, str]:
    """A shop with USD 10,000 charged two days ago (available to transfer), its seller settling
    in EUR, and the ECB's RATES imported as of then."""
    shop = await world.shop()
    seller = await seller_in(shop, "eur")
    await shop.charge(10_000)
    await world.advance(2)
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES.replace("07 Dec", "09 Dec"))
    return shop, seller


async def destination_charge(
    shop: PayoutShop, seller: str, amount: int, currency: str, fee: int, card: str = ""
) -> payment_pb2.PaymentIntent:
    intent = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=amount,
            currency=currency,
            payment_method=await shop.card(card or good_card()),
            confirm=True,
            transfer_destination=seller,
            application_fee_amount=fee,
        )
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
    return intent


async def refund_with_reversals(shop: PayoutShop, intent: str, amount: int) -> payment_pb2.Refund:
    refund = await shop.client.payments.CreateRefund(
        payment_pb2.CreateRefundRequest(
            payment_intent=intent,
            amount=amount,
            reverse_transfer=True,
            refund_application_fee=True,
        )
    )
    assert refund.status == payment_pb2.REFUND_STATUS_SUCCEEDED, refund
    return refund


def rows_of(rows: list[W.BalanceTransaction], kind: int) -> list[tuple[int, str, str, int, str]]:
    """(amount, currency, exchange_rate, presentment amount, presentment currency) of each row
    of `kind`, their parts (available, then pending) added up per source."""
    summed: dict[str, list[object]] = {}
    for row in rows:
        if row.type != kind:
            continue
        found = summed.setdefault(
            row.source,
            [0, row.currency, row.exchange_rate, row.presentment_amount, row.presentment_currency],
        )
        found[0] = int(str(found[0])) + row.amount
    return sorted(tuple(values) for values in summed.values())  # type: ignore[misc]


async def books_balance(shop: PayoutShop, seller: str, *currencies: str) -> None:
    for currency in currencies:
        await shop.assert_books_balance(currency)
        await shop.assert_identity("", currency)
        await shop.assert_identity(seller, currency)


async def test_a_usd_destination_charge_to_a_eur_seller_converts_its_share(
    fx_world: World, tmp_path: Path
) -> None:
    """A platform booking in USD (no settlement currency), a seller settling in EUR.
    Charge USD 10,000, application fee 1,000: the platform's row 10,000, fee 320 (2.9 % + 30),
    its transfer -9,000 USD; the seller's 9,000 USD x 0.833333333333 = 7,499.999999997 euro
    cents, rounded down (the platform pays): 7,499 (remainder 0.999999997 carried).
    Refund USD 5,000 with reverse_transfer and refund_application_fee: the buyer gets USD 5,000;
    the seller gives back what 5,000 USD makes of its holding at the locked rate: it held
    floor(9,000 x q) = 7,499 and holds floor(4,000 x q = 3,333.333333332) = 3,333, so 4,166
    (4,166.666666665 exact: remainder -0.666666665, the carry falls to 0.333333332); the fee's
    share, 500 USD, brings the holding to floor(4,500 x q = 3,749.9999999985) = 3,749: 416
    (416.6666666665 exact: remainder 0.6666666665). Seller: 7,499 - 4,166 + 416 = 3,749 euro
    cents, floor(4,500 x q), what its net share crossing would have made (before: each part
    rounded on its own, 4,167 back: 3,748). Platform: 680 - 5,000 + 5,000 - 500 = 180 USD
    cents, as without conversion."""
    world = fx_world
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    shop = await world.shop()
    seller = await seller_in(shop, "eur")

    intent = await destination_charge(shop, seller, 10_000, "usd", 1_000)

    assert (await shop.balance(seller))[1] == {"eur": 7_499}
    assert (await shop.balance())[1] == {"usd": 680}
    assert rows_of(await shop.transactions(seller), W.BALANCE_TRANSACTION_TYPE_PAYMENT) == [
        (7_499, "eur", USD_EUR, 9_000, "usd")
    ]
    assert rows_of(await shop.transactions(), TRANSFER) == [(-9_000, "usd", "", 0, "")]
    assert await carry(world, shop.id, "eur") == Fraction(Decimal("0.999999997"))
    await books_balance(shop, seller, "usd", "eur")

    refund = await refund_with_reversals(shop, intent.id, 5_000)

    assert (refund.amount, refund.currency) == (5_000, "usd")
    assert (await shop.balance(seller))[1] == {"eur": 3_749}
    available, pending = await shop.balance()
    assert available.get("usd", 0) + pending.get("usd", 0) == 180
    seller_rows = await shop.transactions(seller)
    # A refund's transfer reversal is a `transfer` row on both sides (paycore.payment.money).
    assert rows_of(seller_rows, TRANSFER) == [(-4_166, "eur", USD_EUR, 5_000, "usd")]
    assert rows_of(seller_rows, W.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE_REFUND) == [
        (416, "eur", USD_EUR, 500, "usd")
    ]
    platform_rows = await shop.transactions()
    assert rows_of(platform_rows, TRANSFER) == [
        (-9_000, "usd", "", 0, ""),
        (5_000, "usd", "", 0, ""),
    ]
    assert rows_of(platform_rows, W.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE_REFUND) == [
        (-500, "usd", "", 0, "")
    ]
    # 0.999999997 - 0.666666665 + 0.6666666665: no whole cent reached.
    assert await shop.ledger_balance("fx_rounding", "eur") == 0
    assert await carry(world, shop.id, "eur") == Fraction(Decimal("0.9999999985"))
    # The platform's position in the pair, valued at the locked rate, is exactly the carry:
    # USD 9,000 - 5,000 + 500 = 4,500 in, 7,499 - 4,166 + 416 + 0 = 3,749 euro cents out.
    assert await shop.ledger_balance("fx_clearing:usd_eur", "usd") == 4_500
    assert await shop.ledger_balance("fx_clearing:usd_eur", "eur") == -3_749
    await books_balance(shop, seller, "usd", "eur")


async def test_a_jpy_destination_charge_to_a_usd_seller_and_its_dispute(
    fx_world: World, tmp_path: Path
) -> None:
    """A platform booking in the charge's currency, a seller settling in USD only: JPY 10,000,
    fee 1,000: the seller's share JPY 9,000 at 0.008 = 7,200 cents exactly. A dispute of a
    destination charge is the platform's (Stripe's rule): the seller keeps its 7,200."""
    world = fx_world
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    shop = await world.shop()
    seller = await seller_in(shop, "usd")

    await destination_charge(shop, seller, 10_000, "jpy", 1_000)
    assert (await shop.balance(seller))[1] == {"usd": 7_200}
    assert (await shop.balance())[1] == {"jpy": 680}
    assert rows_of(await shop.transactions(seller), W.BALANCE_TRANSACTION_TYPE_PAYMENT) == [
        (7_200, "usd", "0.008", 9_000, "jpy")
    ]

    await destination_charge(shop, seller, 10_000, "jpy", 1_000, cards.CARD_DISPUTE_FRAUDULENT)
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)

    assert (await shop.balance(seller))[1] == {"usd": 14_400}
    (dispute,) = rows_of(await shop.transactions(), W.BALANCE_TRANSACTION_TYPE_ADJUSTMENT)
    assert dispute[:2] == (-10_000, "jpy")
    await books_balance(shop, seller, "usd", "jpy")


async def test_a_converted_destination_charge_to_a_eur_seller_reverses_at_locked_rates(
    fx_world: World, tmp_path: Path
) -> None:
    """A platform settling in USD, a seller in EUR. JPY 10,000, fee 1,000: the platform's row
    8,000 cents (fee 256 + 80), its share 8,000 - 800 = 7,200 USD crosses to the seller:
    7,200 x 0.833333333333 = 5,999.9999999976 -> 5,999 euro cents. The platform keeps 464.
    Refund JPY 5,000 with both flags (the rate unchanged): the platform's refund 4,000 cents;
    the transfer reversal JPY 5,000 at the charge's 0.008 = 4,000 cents, which the seller gives
    back at its locked rate as the difference it makes to its holding: 7,200 -> 3,200 cents,
    floor(2,666.6666666656) = 2,666, so 5,999 - 2,666 = 3,333; the fee's share JPY 500 = 400
    cents brings it to 3,600: floor(2,999.9999999988) = 2,999, 333 to the seller. Seller:
    5,999 - 3,333 + 333 = 2,999 (before: 3,334 back, 2,998); platform: 464 - 4,000 + 4,000 -
    400 = 64 cents."""
    world = fx_world
    shop, seller = await usd_platform_with_eur_seller(world, tmp_path)

    intent = await destination_charge(shop, seller, 10_000, "jpy", 1_000)
    assert (await shop.balance(seller))[1] == {"eur": 5_999}
    assert (await shop.balance())[1] == {"usd": 464}

    await refund_with_reversals(shop, intent.id, 5_000)

    assert (await shop.balance(seller))[1] == {"eur": 2_999}
    available, pending = await shop.balance()
    assert available.get("usd", 0) + pending.get("usd", 0) == 64
    seller_rows = await shop.transactions(seller)
    assert rows_of(seller_rows, TRANSFER) == [(-3_333, "eur", USD_EUR, 4_000, "usd")]
    assert rows_of(seller_rows, W.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE_REFUND) == [
        (333, "eur", USD_EUR, 400, "usd")
    ]
    await books_balance(shop, seller, "usd", "eur", "jpy")

    # The rest: the same moves again. The reversal takes the holding from 3,600 to -400 cents
    # (floor(-333.3333333332) = -334): 2,999 + 334 = 3,333 back; the fee's 400 brings it to 0:
    # 334 given. The seller ends exactly where it started: 5,999 - 6,666 + 667 = 0 (before:
    # each part rounded on its own, 3,334 back twice and 333 given twice: -3).
    await refund_with_reversals(shop, intent.id, 5_000)

    assert (await shop.balance(seller))[1] == {"eur": 0}
    seller_rows = await shop.transactions(seller)
    assert rows_of(seller_rows, TRANSFER) == [
        (-3_333, "eur", USD_EUR, 4_000, "usd"),
        (-3_333, "eur", USD_EUR, 4_000, "usd"),
    ]
    assert rows_of(seller_rows, W.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE_REFUND) == [
        (333, "eur", USD_EUR, 400, "usd"),
        (334, "eur", USD_EUR, 400, "usd"),
    ]
    await books_balance(shop, seller, "usd", "eur", "jpy")


async def test_a_transfer_to_a_eur_seller_converts_and_reverses_at_its_rate(
    fx_world: World, tmp_path: Path
) -> None:
    """USD 1,000 from the platform's available balance: the seller gets 833.333333333 -> 833
    euro cents, available; a reversal of USD 500 takes back 416.6666666665 -> 417 and gives the
    platform exactly USD 500."""
    world = fx_world
    shop, seller = await funded_shop_with_eur_seller(world, tmp_path)

    sent = await transfer(shop, 1_000, seller)

    assert (sent.amount, sent.currency) == (1_000, "usd")
    assert (await shop.balance(seller))[0] == {"eur": 833}
    assert (await shop.balance())[0] == {"usd": 9_680 - 1_000}
    assert rows_of(await shop.transactions(seller), W.BALANCE_TRANSACTION_TYPE_PAYMENT) == [
        (833, "eur", USD_EUR, 1_000, "usd")
    ]

    await reverse(shop, sent.id, 500)

    assert (await shop.balance(seller))[0] == {"eur": 416}
    assert (await shop.balance())[0] == {"usd": 9_680 - 500}
    assert rows_of(
        await shop.transactions(seller), W.BALANCE_TRANSACTION_TYPE_TRANSFER_REVERSAL
    ) == [(-417, "eur", USD_EUR, 500, "usd")]
    await books_balance(shop, seller, "usd", "eur")


@pytest.mark.parametrize("stale", [False, True])
async def test_a_sellers_missing_or_stale_rate_refuses_before_anything_moves(
    fx_world: World, tmp_path: Path, stale: bool
) -> None:
    """No USD -> EUR rate (or a stale one): a destination charge to the EUR seller is refused
    naming `transfer_destination`, a transfer naming `destination`; nothing changes."""
    world = fx_world
    shop = await world.shop()
    seller = await seller_in(shop, "eur")
    await shop.charge(10_000)
    await world.advance(2)
    if stale:
        await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
        world.clock.advance(8 * 86_400)
    reason = "EXCHANGE_RATE_STALE" if stale else "CURRENCY_PAIR_UNSUPPORTED"
    code = grpc.StatusCode.FAILED_PRECONDITION if stale else grpc.StatusCode.INVALID_ARGUMENT
    before = await shop.balance()

    with pytest.raises(grpc.aio.AioRpcError) as charged:
        await shop.client.payments.CreatePaymentIntent(
            payment_pb2.CreatePaymentIntentRequest(
                amount=10_000,
                currency="usd",
                payment_method=await shop.card(good_card()),
                confirm=True,
                transfer_destination=seller,
                application_fee_amount=1_000,
            )
        )
    with pytest.raises(grpc.aio.AioRpcError) as sent:
        await transfer(shop, 1_000, seller)

    for raised, param in ((charged, "transfer_destination"), (sent, "destination")):
        assert raised.value.code() == code, raised.value
        error = rich_error(raised.value)
        assert (error.reason, error.metadata["param"]) == (reason, param)
    assert await shop.balance() == before
    assert await shop.balance(seller) == ({"eur": 0}, {"eur": 0})
    listed = await shop.client.payouts.ListTransfers(payout_pb2.ListTransfersRequest())
    assert not listed.data


async def test_an_application_fee_refund_crosses_at_the_shares_locked_rate(
    fx_world: World, tmp_path: Path
) -> None:
    """The fee's own refund (fr_) of a converted destination charge, where it was refused
    (INVALID_ARGUMENT naming `id`): JPY 500 of the fee at the charge's 0.008 = 400 cents, rounded
    down, out of the platform's balance; at the share's locked 0.833333333333 the EUR seller
    gets the difference it makes to its holding, 7,200 -> 7,600 cents: floor(6,333.3333333308)
    - 5,999 = 334 euro cents (333.3333333332 exact: remainder -0.6666666668, giving back part
    of what the share's rounding kept), available at once."""
    world = fx_world
    shop, seller = await usd_platform_with_eur_seller(world, tmp_path)
    intent = await destination_charge(shop, seller, 10_000, "jpy", 1_000)

    refund = await shop.client.payments.CreateApplicationFeeRefund(
        payment_pb2.CreateApplicationFeeRefundRequest(
            id="fee_" + intent.id.removeprefix("pi_"), amount=500
        )
    )

    assert (refund.amount, refund.currency) == (500, "jpy")
    assert await shop.balance(seller) == ({"eur": 334}, {"eur": 5_999})
    available, pending = await shop.balance()
    assert available.get("usd", 0) + pending.get("usd", 0) == 464 - 400
    seller_rows = await shop.transactions(seller)
    assert rows_of(seller_rows, W.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE_REFUND) == [
        (334, "eur", USD_EUR, 400, "usd")
    ]
    await books_balance(shop, seller, "usd", "eur", "jpy")


async def test_a_confirmation_whose_share_would_cross_at_a_stale_rate_is_refused(
    fx_world: World, tmp_path: Path
) -> None:
    """A destination charge created while the USD -> EUR rate was fresh, confirmed (and so
    captured) once it went stale: EXCHANGE_RATE_STALE naming `id`, as the capture of a charge
    converted for the platform; nothing is charged nor moved."""
    world = fx_world
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    shop = await world.shop()
    seller = await seller_in(shop, "eur")
    intent = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=10_000,
            currency="usd",
            payment_method=await shop.card(good_card()),
            transfer_destination=seller,
            application_fee_amount=1_000,
        )
    )
    world.clock.advance(8 * 86_400)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.ConfirmPaymentIntent(
            payment_pb2.ConfirmPaymentIntentRequest(id=intent.id)
        )

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION, raised.value
    error = rich_error(raised.value)
    assert (error.reason, error.metadata["param"]) == ("EXCHANGE_RATE_STALE", "id")
    found = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intent.id)
    )
    assert found.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_CONFIRMATION, found
    assert await shop.balance(seller) == ({"eur": 0}, {"eur": 0})


async def test_an_update_to_a_currency_the_seller_has_no_rate_from_is_refused(
    fx_world: World, tmp_path: Path
) -> None:
    """A destination charge to a EUR seller changed to GBP, which the rates do not cover:
    CURRENCY_PAIR_UNSUPPORTED naming `currency`; the intent keeps its currency."""
    world = fx_world
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    shop = await world.shop()
    seller = await seller_in(shop, "eur")
    intent = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=10_000, currency="usd", transfer_destination=seller, application_fee_amount=1_000
        )
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.UpdatePaymentIntent(
            payment_pb2.UpdatePaymentIntentRequest(id=intent.id, currency="gbp")
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value
    error = rich_error(raised.value)
    assert (error.reason, error.metadata["param"]) == ("CURRENCY_PAIR_UNSUPPORTED", "currency")
    found = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intent.id)
    )
    assert found.currency == "usd"
