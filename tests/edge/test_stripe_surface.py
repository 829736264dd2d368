"""Stripe API surface that stripe-python users call, over the REST edge: a payment intent's
`setup_future_usage` (the card saved to the customer once paid, then charged off-session) and
`error_on_requires_action` (a 402 CardError authentication_required instead of requires_action),
`SetupIntent.modify`, `Charge.modify`, `transfer_group` on intents and transfers, and an
intent's `receipt_email`."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from paycore.v1 import account_pb2

from tests.payment.shop import PayIn, assert_books_balance


async def test_save_a_card_during_payment_and_charge_it_off_session(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """Stripe's "save payment details during payment" guide."""

    def scenario() -> None:
        customer = stripe.Customer.create(email="ada@example.com")
        intent = stripe.PaymentIntent.create(
            amount=2000,
            currency="usd",
            customer=customer.id,
            payment_method="pm_card_visa",
            setup_future_usage="off_session",
            confirm=True,
            idempotency_key="sfu-1",
        )
        assert (intent.status, intent.setup_future_usage) == ("succeeded", "off_session")
        method = stripe.PaymentMethod.retrieve(str(intent.payment_method))
        assert method.customer == customer.id
        saved = stripe.PaymentMethod.list(customer=customer.id, type="card")
        assert [found.id for found in saved.data] == [method.id]
        later = stripe.PaymentIntent.create(
            amount=1500,
            currency="usd",
            customer=customer.id,
            payment_method=method.id,
            off_session=True,
            confirm=True,
        )
        assert later.status == "succeeded"
        assert later.setup_future_usage is None

        waiting = stripe.PaymentIntent.create(amount=500, currency="usd", customer=customer.id)
        modified = stripe.PaymentIntent.modify(waiting.id, setup_future_usage="on_session")
        assert modified.setup_future_usage == "on_session"
        with pytest.raises(stripe.InvalidRequestError) as bad:
            stripe.PaymentIntent.create(amount=500, currency="usd", setup_future_usage="sometimes")
        assert bad.value.param == "setup_future_usage"

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_error_on_requires_action_is_a_card_error(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    def scenario() -> None:
        with pytest.raises(stripe.CardError) as raised:
            stripe.PaymentIntent.create(
                amount=2000,
                currency="usd",
                payment_method="pm_card_authenticationRequired",
                error_on_requires_action=True,
                confirm=True,
            )
        assert raised.value.code == "authentication_required"
        assert raised.value.http_status == 402
        error = raised.value.error
        assert error is not None and error.payment_intent is not None
        assert error.payment_intent["status"] == "requires_payment_method"
        assert error.payment_intent["next_action"] is None
        assert error.payment_intent["amount_received"] == 0

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_a_setup_intent_modified_then_confirmed(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    def scenario() -> None:
        customer = stripe.Customer.create(email="ada@example.com")
        setup = stripe.SetupIntent.create(metadata={"order": "7"})
        modified = stripe.SetupIntent.modify(
            setup.id,
            customer=customer.id,
            payment_method="pm_card_visa",
            description="Gold plan card",
            metadata={"plan": "gold"},
            idempotency_key="seti-modify-1",
        )
        assert modified.status == "requires_confirmation"
        assert (modified.customer, modified.description) == (customer.id, "Gold plan card")
        assert modified.metadata is not None
        assert modified.metadata.to_dict() == {"order": "7", "plan": "gold"}
        again = stripe.SetupIntent.modify(
            setup.id,
            customer=customer.id,
            payment_method="pm_card_visa",
            description="Gold plan card",
            metadata={"plan": "gold"},
            idempotency_key="seti-modify-1",
        )
        assert again.payment_method == modified.payment_method
        confirmed = stripe.SetupIntent.confirm(setup.id)
        assert confirmed.status == "succeeded"
        method = stripe.PaymentMethod.retrieve(str(confirmed.payment_method))
        assert method.customer == customer.id
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe.SetupIntent.modify(setup.id, description="too late")
        assert refused.value.code == "setup_intent_unexpected_state"

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_a_charge_modified(stripe_module: account_pb2.Merchant, payin: PayIn) -> None:
    def scenario() -> None:
        intent = stripe.PaymentIntent.create(
            amount=2500,
            currency="usd",
            payment_method="pm_card_visa",
            confirm=True,
            metadata={"order": "9"},
        )
        charge_id = str(intent.latest_charge)
        # Stripe renders a receipt_email never given as null, not "".
        assert stripe.Charge.retrieve(charge_id).receipt_email is None
        modified = stripe.Charge.modify(
            charge_id,
            description="Order 9",
            metadata={"shipped": "yes"},
            receipt_email="ada@example.com",
            idempotency_key="ch-modify-1",
        )
        assert isinstance(modified, stripe.Charge)
        assert (modified.id, modified.description) == (charge_id, "Order 9")
        assert modified.receipt_email == "ada@example.com"
        assert modified.metadata is not None
        assert modified.metadata.to_dict() == {"order": "9", "shipped": "yes"}
        assert stripe.Charge.retrieve(charge_id).description == "Order 9"
        listed = stripe.Charge.list(payment_intent=intent.id)
        assert [found.receipt_email for found in listed.data] == ["ada@example.com"]
        assert modified.shipping is None
        shipped = stripe.Charge.modify(
            charge_id,
            shipping={
                "name": "Ada Lovelace",
                "carrier": "UPS",
                "tracking_number": "1Z999",
                "address": {"line1": "1 Main St", "city": "Springfield", "country": "US"},
            },
        )
        assert shipped.shipping is not None and shipped.shipping.address is not None
        assert (shipped.shipping.name, shipped.shipping.address.line1) == (
            "Ada Lovelace",
            "1 Main St",
        )
        with pytest.raises(stripe.InvalidRequestError) as bad:
            stripe.Charge.modify(charge_id, receipt_email="nobody")
        assert bad.value.param == "receipt_email"
        with pytest.raises(stripe.InvalidRequestError) as unnamed:
            stripe.Charge.modify(
                charge_id,
                shipping={"address": {"line1": "1 Main St"}},  # type: ignore[typeddict-item]
            )
        assert unnamed.value.param == "shipping[name]"

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_a_payment_intents_receipt_email(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """Stripe's receipt_email on create, modify and confirm: rendered on the intent (null when
    none) and on the charge it makes; a malformed address names `receipt_email`."""

    def scenario() -> None:
        paid = stripe.PaymentIntent.create(
            amount=2000,
            currency="usd",
            payment_method="pm_card_visa",
            confirm=True,
            receipt_email="buyer@example.com",
        )
        assert paid.receipt_email == "buyer@example.com"
        charge = stripe.Charge.retrieve(str(paid.latest_charge))
        assert charge.receipt_email == "buyer@example.com"
        opened = stripe.PaymentIntent.create(amount=500, currency="usd")
        assert opened.receipt_email is None
        modified = stripe.PaymentIntent.modify(opened.id, receipt_email="ada@example.com")
        assert modified.receipt_email == "ada@example.com"
        assert stripe.PaymentIntent.modify(opened.id, receipt_email="").receipt_email is None
        confirmed = stripe.PaymentIntent.confirm(
            opened.id, payment_method="pm_card_visa", receipt_email="grace@example.com"
        )
        assert confirmed.receipt_email == "grace@example.com"
        later = stripe.Charge.retrieve(str(confirmed.latest_charge))
        assert later.receipt_email == "grace@example.com"
        with pytest.raises(stripe.InvalidRequestError) as bad:
            stripe.PaymentIntent.create(amount=500, currency="usd", receipt_email="nobody")
        assert bad.value.param == "receipt_email"

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_transfer_group_on_intents_charges_and_transfers(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """Stripe's "separate charges and transfers" guide: the charge and its transfers grouped."""

    def scenario() -> None:
        seller = stripe.Account.create(
            email="alice@seller.test", country="US", default_currency="usd"
        )
        intent = stripe.PaymentIntent.create(
            amount=10_000,
            currency="usd",
            payment_method="pm_card_bypassPending",
            confirm=True,
            transfer_group="ORDER10",
        )
        assert intent.transfer_group == "ORDER10"
        charge = stripe.Charge.retrieve(str(intent.latest_charge))
        assert charge.transfer_group == "ORDER10"
        assert [found.id for found in stripe.Charge.list(transfer_group="ORDER10").data] == [
            charge.id
        ]
        sent = stripe.Transfer.create(
            amount=7000,
            currency="usd",
            destination=seller.id,
            source_transaction=charge.id,
            transfer_group="ORDER10",
        )
        listed = stripe.Transfer.list(transfer_group="ORDER10")
        assert [found.id for found in listed.data] == [sent.id]
        modified = stripe.PaymentIntent.modify(
            stripe.PaymentIntent.create(amount=500, currency="usd").id, transfer_group="ORDER11"
        )
        assert modified.transfer_group == "ORDER11"

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_an_application_fee_refunded_in_two_parts(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """Stripe's application fee refunds: part of the fee, then the rest, the fee's `refunds`
    list, the list and retrieval of its refunds, and the balance transactions of both sides."""

    def scenario() -> None:
        seller = stripe.Account.create(
            email="alice@seller.test", country="US", default_currency="usd"
        )
        stripe.PaymentIntent.create(
            amount=10_000,
            currency="usd",
            payment_method="pm_card_bypassPending",
            confirm=True,
            application_fee_amount=1000,
            transfer_data={"destination": seller.id},
        )
        [fee] = stripe.ApplicationFee.list(limit=1).data
        first = stripe.ApplicationFee.create_refund(fee.id, amount=300, idempotency_key="fr-s-1")
        assert (first.object, first.amount, first.fee, first.currency) == (
            "fee_refund",
            300,
            fee.id,
            "usd",
        )
        again = stripe.ApplicationFee.create_refund(fee.id, amount=300, idempotency_key="fr-s-1")
        assert again.id == first.id
        fee = stripe.ApplicationFee.retrieve(fee.id)
        assert (fee.amount_refunded, fee.refunded) == (300, False)
        inline = fee.refunds.to_dict()
        assert (inline["object"], inline["total_count"], inline["url"]) == (
            "list",
            1,
            f"/v1/application_fees/{fee.id}/refunds",
        )
        assert [found.id for found in fee.refunds.data] == [first.id]
        with pytest.raises(stripe.InvalidRequestError) as raised:
            stripe.ApplicationFee.create_refund(fee.id, amount=701)
        assert raised.value.param == "amount"
        rest = stripe.ApplicationFee.create_refund(fee.id)
        assert rest.amount == 700
        fee = stripe.ApplicationFee.retrieve(fee.id)
        assert (fee.amount_refunded, fee.refunded) == (1000, True)
        listed = stripe.ApplicationFee.list_refunds(fee.id)
        assert [found.id for found in listed.data] == [rest.id, first.id]
        assert stripe.ApplicationFee.retrieve_refund(fee.id, first.id).amount == 300
        platform = stripe.BalanceTransaction.list(type="application_fee_refund").data
        assert sum(found.amount for found in platform) == -1000
        assert {found.source for found in platform} == {first.id, rest.id}
        assert first.balance_transaction in {found.id for found in platform}
        events = stripe.Event.list(type="application_fee.refunded").data
        assert [event.data.object.amount_refunded for event in events] == [1000, 300]
        assert {event.data.object.object for event in events} == {"application_fee"}

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_a_destination_charge_refunded_with_its_transfer_and_fee(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """Stripe's "refunds of destination charges": half the charge refunded by its ch_, the
    transfer reversed by as much and the fee given back in proportion, then the rest."""

    def scenario() -> None:
        seller = stripe.Account.create(
            email="bob@seller.test", country="US", default_currency="usd"
        )
        intent = stripe.PaymentIntent.create(
            amount=10_000,
            currency="usd",
            payment_method="pm_card_bypassPending",
            confirm=True,
            application_fee_amount=1000,
            transfer_data={"destination": seller.id},
        )
        half = stripe.Refund.create(
            charge=str(intent.latest_charge),
            amount=5000,
            reverse_transfer=True,
            refund_application_fee=True,
            idempotency_key="dest-refund-1",
        )
        assert half.status == "succeeded"
        [fee] = stripe.ApplicationFee.list(limit=1).data
        assert (fee.amount_refunded, fee.refunded) == (500, False)
        stripe.Refund.create(
            payment_intent=intent.id, reverse_transfer=True, refund_application_fee=True
        )
        fee = stripe.ApplicationFee.retrieve(fee.id)
        assert (fee.amount_refunded, fee.refunded) == (1000, True)
        # paycore's `account` filter (no Stripe-Account header: the platform reads its seller's)
        listed = stripe.BalanceTransaction.list(**{"account": seller.id})  # type: ignore[arg-type]
        seller_rows = listed.data
        assert sum(row.amount for row in seller_rows) == 0

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_connected_accounts_keep_their_type(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """stripe.Account.create(type=...) as Stripe's Connect guides call it."""

    def scenario() -> None:
        express = stripe.Account.create(
            type="express", email="e@seller.test", country="US", default_currency="usd"
        )
        assert (express.object, express.type) == ("account", "express")
        assert stripe.Account.retrieve(express.id).type == "express"
        plain = stripe.Account.create(email="c@seller.test", country="US", default_currency="usd")
        assert plain.type == "custom"
        with pytest.raises(stripe.InvalidRequestError) as raised:
            stripe.Account.create(
                type="platinum", email="p@seller.test", country="US", default_currency="usd"
            )
        assert raised.value.param == "type"

    await asyncio.to_thread(scenario)


async def test_a_connected_accounts_external_accounts(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """stripe.Account.create_external_account / list_external_accounts, as Stripe's Connect
    guides add a custom account's bank account."""

    def scenario() -> None:
        seller = stripe.Account.create(
            type="custom", email="x@seller.test", country="US", default_currency="usd"
        )
        added = stripe.Account.create_external_account(
            seller.id,
            external_account={
                "object": "bank_account",
                "country": "US",
                "currency": "usd",
                "account_holder_name": "Alice",
                "account_holder_type": "individual",
                "routing_number": "110000000",
                "account_number": "000123456789",
            },
            idempotency_key="ext-s-1",
        )
        assert (added.object, added.last4, added.currency) == ("bank_account", "6789", "usd")
        assert added.default_for_currency
        listed = stripe.Account.list_external_accounts(seller.id)
        assert listed.to_dict()["object"] == "list"
        assert [(found.object, found.id) for found in listed.data] == [("bank_account", added.id)]
        assert listed.url == f"/v1/accounts/{seller.id}/external_accounts"
        cards = stripe.Account.list_external_accounts(seller.id, object="card")
        assert list(cards.data) == []
        with pytest.raises(stripe.InvalidRequestError) as raised:
            stripe.Account.create_external_account(
                seller.id,
                external_account={
                    "object": "bank_account",
                    "country": "US",
                    "currency": "usd",
                    "account_number": "000123456789",
                    "routing_number": "110000000",
                },
            )
        assert raised.value.param == "external_account[account_holder_name]"

    await asyncio.to_thread(scenario)
