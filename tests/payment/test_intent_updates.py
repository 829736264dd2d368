"""UpdatePaymentIntent (Stripe's update, before confirmation) and Stripe's
`transfer_data.destination` on create, through gRPC against the real server; every scenario
ends with a clean ledger."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import pytest
from paycore.payment.models import Intent, IntentStatus
from paycore.payment.repository import PayInRepository
from paycore.v1 import customer_pb2, payment_pb2, wallet_pb2
from sqlalchemy import text

from tests.helpers import rich_error
from tests.payment.shop import PayIn, Shop, fee, good_card

P = payment_pb2
Update = P.UpdatePaymentIntentRequest


async def _open_intent(shop: Shop, **fields: object) -> P.PaymentIntent:
    request = P.CreatePaymentIntentRequest(amount=1000, currency="usd", **fields)  # type: ignore[arg-type]
    return await shop.client.payments.CreatePaymentIntent(request)


async def _refused(shop: Shop, request: Update, code: grpc.StatusCode) -> tuple[str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.UpdatePaymentIntent(request)
    assert raised.value.code() == code
    error = rich_error(raised.value)
    return error.reason, error.metadata.get("param", "")


async def test_an_update_changes_only_what_it_names_and_the_charge_is_of_the_new_amount(
    shop: Shop,
) -> None:
    created = await _open_intent(
        shop, description="first", metadata={"order": "o-1", "gone": "soon"}
    )
    assert created.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD

    updated = await shop.client.payments.UpdatePaymentIntent(
        Update(id=created.id, amount=1500, metadata={"gone": "", "cart": "c-9"})
    )

    assert updated.amount == 1500
    assert updated.currency == "usd"
    assert updated.description == "first"  # absent: unchanged
    assert dict(updated.metadata) == {"order": "o-1", "cart": "c-9"}
    assert updated.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    cleared = await shop.client.payments.UpdatePaymentIntent(Update(id=created.id, description=""))
    assert cleared.description == ""
    assert cleared.amount == 1500

    method = await shop.card(good_card())
    with_method = await shop.client.payments.UpdatePaymentIntent(
        Update(id=created.id, payment_method=method)
    )
    assert with_method.status == P.PAYMENT_INTENT_STATUS_REQUIRES_CONFIRMATION
    assert with_method.payment_method == method
    confirmed = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(id=created.id)
    )

    assert confirmed.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert confirmed.amount_received == 1500
    assert (await shop.balance())[1] == {"usd": 1500 - fee(1500)}
    await shop.assert_books_balance()


async def test_a_test_payment_method_is_saved_and_capture_method_changes_how_it_is_charged(
    shop: Shop,
) -> None:
    created = await _open_intent(shop)

    updated = await shop.client.payments.UpdatePaymentIntent(
        Update(
            id=created.id,
            payment_method="pm_card_visa",
            capture_method=P.CAPTURE_METHOD_MANUAL,
            currency="eur",
            amount=800,
        )
    )

    assert updated.status == P.PAYMENT_INTENT_STATUS_REQUIRES_CONFIRMATION
    assert updated.payment_method.startswith("pm_")
    assert updated.payment_method != "pm_card_visa"
    assert updated.capture_method == P.CAPTURE_METHOD_MANUAL
    assert (updated.amount, updated.currency) == (800, "eur")
    confirmed = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(id=created.id)
    )
    assert confirmed.status == P.PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE
    assert confirmed.amount_capturable == 800
    await shop.assert_books_balance("eur")


async def test_an_intent_past_confirmation_cannot_be_updated(shop: Shop) -> None:
    paid = await shop.pay(good_card(), 1000)

    reason, param = await _refused(
        shop, Update(id=paid.id, amount=2000), grpc.StatusCode.FAILED_PRECONDITION
    )

    assert (reason, param) == ("PAYMENT_INTENT_UNEXPECTED_STATE", "id")
    after = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=paid.id))
    assert after.amount == 1000
    assert (await shop.balance())[1] == {"usd": 1000 - fee(1000)}
    await shop.assert_books_balance()


async def test_description_metadata_and_receipt_email_change_in_any_status(shop: Shop) -> None:
    """Stripe's rule: what annotates a payment (its description, metadata, receipt email)
    changes at any status, a merchant tagging an order after it was paid or canceled; what
    the payment is (amount, currency, payment method...) changes only before confirmation."""
    paid = await shop.pay(good_card(), 1000)
    canceled = await shop.client.payments.CancelPaymentIntent(
        P.CancelPaymentIntentRequest(id=(await _open_intent(shop)).id)
    )
    books = await shop.balance()

    for intent in (paid, canceled):
        updated = await shop.client.payments.UpdatePaymentIntent(
            Update(
                id=intent.id,
                description="order 42",
                metadata={"order": "42"},
                receipt_email="buyer@example.com",
            )
        )
        assert (updated.status, updated.amount) == (intent.status, intent.amount)
        assert (updated.description, dict(updated.metadata)) == ("order 42", {"order": "42"})
        assert updated.receipt_email == "buyer@example.com"
        read = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=intent.id))
        assert dict(read.metadata) == {"order": "42"}

        reason, param = await _refused(
            shop,
            Update(id=intent.id, metadata={"more": "1"}, capture_method=P.CAPTURE_METHOD_MANUAL),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert (reason, param) == ("PAYMENT_INTENT_UNEXPECTED_STATE", "id")
    assert dict(
        (
            await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=paid.id))
        ).metadata
    ) == {"order": "42"}
    assert await shop.balance() == books
    await shop.assert_books_balance()


@pytest.mark.parametrize(
    ("fields", "reason", "param"),
    [
        ({"amount": 0}, "PARAMETER_INVALID", "amount"),
        ({"amount": 10**15}, "AMOUNT_TOO_LARGE", "amount"),
        ({"currency": "xx"}, "PARAMETER_INVALID", "currency"),
        ({"description": "d" * 1001}, "PARAMETER_TOO_LONG", "description"),
        ({"customer": "nope"}, "ID_MALFORMED", "customer"),
        ({"payment_method": "pm_card_nonexistent"}, "RESOURCE_MISSING", "payment_method"),
        ({"amount": 100}, "PARAMETER_INVALID", "amount"),  # below the application fee
    ],
)
async def test_an_update_names_the_field_it_refuses(
    shop: Shop, fields: dict[str, object], reason: str, param: str
) -> None:
    created = await _open_intent(
        shop, transfer_destination=await shop.seller(), application_fee_amount=200
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.UpdatePaymentIntent(Update(id=created.id, **fields))  # type: ignore[arg-type]

    error = rich_error(raised.value)
    assert (error.reason, error.metadata.get("param")) == (reason, param)
    after = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=created.id))
    assert after == created
    await shop.assert_books_balance()


Meanwhile = Callable[[PayInRepository, Intent], Awaitable[object]]


async def _update_racing(
    payin: PayIn, shop: Shop, request: Update, meanwhile: Meanwhile
) -> grpc.aio.AioRpcError | P.PaymentIntent:
    """Sends `request` while another transaction holds the intent's lock: the update reads the
    intent and checks what it checks outside the lock, then waits on the lock; `meanwhile`
    changes the intent and commits, and the update goes on. Its error, or its answer."""
    async with payin.platform.shards.transaction(shop.id) as connection:
        repository = PayInRepository(connection)
        locked = await repository.intent(shop.id, request.id, lock=True)
        assert locked is not None
        update = asyncio.ensure_future(shop.client.payments.UpdatePaymentIntent(request))
        await _someone_waits_on_a_lock(payin, shop)
        await meanwhile(repository, locked)
    try:
        return await update
    except grpc.aio.AioRpcError as error:
        return error


async def _someone_waits_on_a_lock(payin: PayIn, shop: Shop) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    for _ in range(200):
        async with payin.platform.shards.read(shop.id) as connection:
            if (await connection.execute(waiting)).scalar_one():
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the update never waited on the intent's lock")


async def test_an_update_checks_the_amount_against_the_intent_it_locked(
    payin: PayIn, shop: Shop
) -> None:
    """The amount and currency are checked on the intent as the writing transaction locked it:
    an update that committed meanwhile (GBP 0.35, allowed) makes a change back to USD, which
    looked fine against the read (USD 10.00), an amount below USD's minimum: refused, naming
    the field, and nothing changes."""
    created = await _open_intent(shop)

    async def to_pounds(repository: PayInRepository, locked: Intent) -> object:
        return await repository.update_intent(locked, currency="gbp", amount=35)

    raced = await _update_racing(payin, shop, Update(id=created.id, currency="usd"), to_pounds)

    assert isinstance(raced, grpc.aio.AioRpcError), raced
    assert raced.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = rich_error(raced)
    assert (error.reason, error.metadata.get("param")) == ("AMOUNT_TOO_SMALL", "currency")
    after = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=created.id))
    assert (after.amount, after.currency) == (35, "gbp")
    await shop.assert_books_balance()


async def test_an_intent_that_left_an_updatable_status_meanwhile_is_not_updated(
    payin: PayIn, shop: Shop
) -> None:
    created = await _open_intent(shop)

    async def cancel(repository: PayInRepository, locked: Intent) -> object:
        return await repository.move_intent(locked, IntentStatus.CANCELED)

    raced = await _update_racing(payin, shop, Update(id=created.id, amount=2000), cancel)

    assert isinstance(raced, grpc.aio.AioRpcError), raced
    assert raced.code() == grpc.StatusCode.FAILED_PRECONDITION
    error = rich_error(raced)
    assert (error.reason, error.metadata.get("param")) == ("PAYMENT_INTENT_UNEXPECTED_STATE", "id")
    after = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=created.id))
    assert (after.status, after.amount) == (P.PAYMENT_INTENT_STATUS_CANCELED, 1000)
    await shop.assert_books_balance()


async def test_an_update_checks_the_payment_method_against_the_customer_it_locked(
    payin: PayIn, shop: Shop
) -> None:
    """A payment method must belong to the intent's customer: checked against the customer
    the intent has once locked. The read said A, whose card this is; an update that committed
    meanwhile made the intent B's: refused, naming the field, and nothing changes."""
    first, second = [
        await shop.client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest(email=email))
        for email in ("a@shop.test", "b@shop.test")
    ]
    firsts_card = await shop.card(good_card(), customer=first.id)
    created = await _open_intent(shop, customer=first.id)

    async def to_second(repository: PayInRepository, locked: Intent) -> object:
        return await repository.update_intent(locked, customer_id=second.id)

    request = Update(id=created.id, payment_method=firsts_card)
    raced = await _update_racing(payin, shop, request, to_second)

    assert isinstance(raced, grpc.aio.AioRpcError), raced
    assert raced.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = rich_error(raced)
    assert (error.reason, error.metadata.get("param")) == (
        "PAYMENT_METHOD_CUSTOMER_MISMATCH",
        "payment_method",
    )
    after = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=created.id))
    assert (after.customer, after.payment_method) == (second.id, "")
    assert after.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    await shop.assert_books_balance()


async def test_an_update_with_a_key_answers_the_same_and_another_body_is_refused(
    shop: Shop,
) -> None:
    created = await _open_intent(shop, metadata={"n": "1"})
    key = (("idempotency-key", "update-once"),)
    request = Update(id=created.id, amount=1200, metadata={"n": "2"})

    first = await shop.client.payments.UpdatePaymentIntent(request, metadata=key)
    await shop.client.payments.UpdatePaymentIntent(Update(id=created.id, amount=1300))
    again = await shop.client.payments.UpdatePaymentIntent(request, metadata=key)
    request.amount = 1201
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.UpdatePaymentIntent(request, metadata=key)

    assert again == first
    assert first.amount == 1200
    assert rich_error(raised.value).reason == "IDEMPOTENCY_KEY_REUSED"
    after = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=created.id))
    assert after.amount == 1300  # the replay changed nothing
    await shop.assert_books_balance()


async def test_transfer_data_destination_is_a_destination_charge(shop: Shop) -> None:
    seller = await shop.seller()

    intent = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=2500,
            currency="usd",
            payment_method=await shop.card(good_card()),
            confirm=True,
            transfer_data=P.TransferData(destination=seller),
            application_fee_amount=300,
        )
    )

    assert intent.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert intent.transfer_destination == seller
    assert intent.transfer_data.destination == seller
    # The seller gets what the platform does not keep; the platform pays the processing fee.
    assert (await shop.balance(seller))[1] == {"usd": 2500 - 300}
    await shop.assert_books_balance()


@pytest.mark.parametrize(
    ("application_fee", "captured", "kept"),
    [
        (9000, 5000, 5000),  # the probe: the fee reads what the platform kept, the seller 0
        (3000, 5000, 3000),  # a fee under the capture stays whole; the seller gets the rest
    ],
)
async def test_a_partial_capture_of_a_destination_charge_shows_the_fee_kept(
    shop: Shop, application_fee: int, captured: int, kept: int
) -> None:
    """As Stripe's, the application fee collected is capped at what is captured: the ledger
    kept min(captured, fee) and passed the rest on, and the intent's application_fee_amount
    says so (it kept reading the fee asked for, 9000, beside a seller credited 0)."""
    seller = await shop.seller()
    authorized = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=10_000,
            currency="usd",
            payment_method=await shop.card(good_card()),
            confirm=True,
            capture_method=P.CAPTURE_METHOD_MANUAL,
            transfer_destination=seller,
            application_fee_amount=application_fee,
        )
    )
    assert authorized.application_fee_amount == application_fee  # asked, nothing captured yet

    intent = await shop.client.payments.CapturePaymentIntent(
        P.CapturePaymentIntentRequest(id=authorized.id, amount_to_capture=captured)
    )

    assert (intent.amount_received, intent.application_fee_amount) == (captured, kept)
    read = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=intent.id))
    assert read.application_fee_amount == kept
    passed_on = captured - kept
    # The balance transactions: the merchant's payment (gross, fee) and, when anything was
    # passed on, its transfer out and the seller's payment in, of captured - kept.
    rows = await shop.client.wallet.ListBalanceTransactions(
        wallet_pb2.ListBalanceTransactionsRequest(source=intent.id)
    )
    merchant_rows = sorted((row.type, row.amount, row.fee) for row in rows.data)
    expected = [(wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYMENT, captured, fee(captured))]
    if passed_on:
        expected.append((wallet_pb2.BALANCE_TRANSACTION_TYPE_TRANSFER, -passed_on, 0))
    assert merchant_rows == sorted(expected)
    seller_rows = await shop.client.wallet.ListBalanceTransactions(
        wallet_pb2.ListBalanceTransactionsRequest(account=seller, source=intent.id)
    )
    assert [row.amount for row in seller_rows.data] == ([passed_on] if passed_on else [])
    # The ledger's balances: the platform holds what it kept less the processing fee.
    assert (await shop.balance())[1] == {"usd": kept - fee(captured)}
    assert (await shop.balance(seller))[1].get("usd", 0) == passed_on
    await shop.assert_books_balance()


async def test_transfer_data_and_transfer_destination_must_agree(shop: Shop) -> None:
    seller, other = await shop.seller("One"), await shop.seller("Two")
    same = await _open_intent(
        shop, transfer_destination=seller, transfer_data=P.TransferData(destination=seller)
    )
    assert same.transfer_data.destination == seller
    plain = await _open_intent(shop)
    assert not plain.HasField("transfer_data")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _open_intent(
            shop, transfer_destination=seller, transfer_data=P.TransferData(destination=other)
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = rich_error(raised.value)
    assert (error.reason, error.metadata["param"]) == (
        "PARAMETER_INVALID",
        "transfer_data.destination",
    )
    await shop.assert_books_balance()
