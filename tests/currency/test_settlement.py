"""Settlement currencies (issue 19): set at creation or later, for the merchant and for its
sellers; a charge in one of them stays in it, any other is converted into the first; payouts
pay each settlement currency's available balance in that currency."""

from __future__ import annotations

from pathlib import Path

from paycore.client import connect
from paycore.v1 import (
    account_pb2,
    currency_pb2,
    event_pb2,
    payment_pb2,
    payout_pb2,
    wallet_pb2,
)

from tests.currency.support import import_ecb, settle_in
from tests.payment.shop import fee, good_card
from tests.payout.support import World, iban

RATES = "Date, USD, JPY,\n07 December 2026, 1.2000, 150.00,\n"
P = payout_pb2


async def test_each_settlement_currency_is_paid_out_in_itself(
    fx_world: World, tmp_path: Path
) -> None:
    world = fx_world
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    shop = await world.shop()
    await settle_in(shop, "usd", "eur")
    await shop.bank_account()
    await shop.client.payouts.CreateBankAccount(
        P.CreateBankAccountRequest(
            country="DE",
            currency="eur",
            account_holder_name="Jenny Rosen",
            account_holder_type=P.BANK_ACCOUNT_HOLDER_TYPE_COMPANY,
            account_number=iban("DE", "370400440123456789"),
            default_for_currency=True,
        )
    )
    await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_DAILY)
    await shop.charge(10_000, "jpy")  # converted into usd: 8,000 - 256 - 80
    await shop.charge(5_000, "eur")  # a settlement currency: stays in eur
    await shop.charge(3_000, "usd")
    _, pending = await shop.balance()
    usd_net, eur_net = 7_664 + 3_000 - fee(3_000), 5_000 - fee(5_000)
    assert pending == {"usd": usd_net, "eur": eur_net}

    await world.advance(3)
    payouts = {payout.currency: payout for payout in await shop.payouts()}
    assert set(payouts) == {"usd", "eur"}
    assert (payouts["usd"].amount, payouts["eur"].amount) == (usd_net, eur_net)
    available, pending = await shop.balance()
    assert not any(available.values()) and not any(pending.values())
    for currency in ("usd", "eur", "jpy"):
        await shop.assert_books_balance(currency)


async def test_a_seller_settles_in_its_own_currency(fx_world: World, tmp_path: Path) -> None:
    """usd -> eur is 1 / 1.2 = 0.833333333333 (a cross rate, 12 digits): an order of 20.00 USD
    is 1,666.666666666 cents -> 1,666 (remainder 0.666666666 kept), the fee 88 cents -> 73,
    the conversion fee 1 % -> 17: the seller gets 1,576 euro cents."""
    world = fx_world
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    shop = await world.shop()
    seller = await shop.client.accounts.CreateSellerAccount(
        account_pb2.CreateSellerAccountRequest(
            email="seller@shop.test",
            country="DE",
            default_currency="eur",
            settlement_currencies=["eur"],
        )
    )
    await shop.checkout([(seller.id, 2_000)])
    _, pending = await shop.balance(seller.id)
    assert pending == {"eur": 1_576}
    (row,) = await shop.transactions(account=seller.id)
    assert (row.type, row.amount, row.fee, row.exchange_rate) == (
        wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYMENT,
        1_666,
        73 + 17,
        "0.833333333333",
    )
    assert (row.presentment_amount, row.presentment_currency) == (2_000, "usd")
    for currency in ("usd", "eur"):
        await shop.assert_books_balance(currency)


async def test_a_merchant_can_settle_in_currencies_from_its_creation(fx_world: World) -> None:
    world = fx_world
    created = await world.admin.accounts.CreateMerchant(
        account_pb2.CreateMerchantRequest(
            name="Settler",
            email="ops@settler.test",
            country="US",
            default_currency="usd",
            settlement_currencies=["usd", "eur"],
        )
    )
    async with connect(world.target, created.secret_key) as client:
        found = await client.currencies.GetSettlementCurrencies(
            currency_pb2.GetSettlementCurrenciesRequest()
        )
    assert list(found.currencies) == ["usd", "eur"]


async def test_a_converted_destination_charge_passes_on_its_share_converted(
    fx_world: World, tmp_path: Path
) -> None:
    """JPY 10,000 at 0.008 = 8,000 cents; the application fee JPY 1,000 at 0.008 = 800 cents
    stays with the merchant, 7,200 go to the seller; the merchant keeps 8,000 - 256 - 80 -
    7,200 = 464."""
    world = fx_world
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    shop = await world.shop()
    await settle_in(shop, "usd")
    seller = await shop.seller()
    intent = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=10_000,
            currency="jpy",
            payment_method=await shop.card(good_card()),
            confirm=True,
            transfer_destination=seller,
            application_fee_amount=1_000,
        )
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
    assert (await shop.balance(seller))[1] == {"usd": 7_200}
    assert (await shop.balance())[1] == {"usd": 464}
    for currency in ("usd", "jpy"):
        await shop.assert_books_balance(currency)


async def test_a_converted_charges_event_names_its_balance_transaction(
    fx_world: World, tmp_path: Path
) -> None:
    """A charge booked converted (paycore.currency.settlement) has its balance transaction, in
    the settlement currency, under the id its completion named for charge.succeeded."""
    await import_ecb(fx_world, tmp_path / "eurofxref.csv", RATES)
    shop = await fx_world.shop()
    await settle_in(shop, "usd")
    intent = await shop.charge(10_000, "jpy")

    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="charge.succeeded", limit=10)
    )
    (event,) = listed.data
    shown = payment_pb2.Charge()
    assert event.data.object.Unpack(shown)
    charge = await shop.client.payments.GetCharge(
        payment_pb2.GetChargeRequest(id=intent.latest_charge)
    )
    assert charge.balance_transaction.startswith("txn_")
    assert shown.balance_transaction == charge.balance_transaction
    booked = await shop.client.wallet.GetBalanceTransaction(
        wallet_pb2.GetBalanceTransactionRequest(id=charge.balance_transaction)
    )
    assert (booked.currency, booked.source) == ("usd", intent.id)
