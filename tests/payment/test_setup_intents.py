"""SetupIntents: a payment method verified at the PSP and saved for later use without moving
money. A good card succeeds (attached to the customer, off-session), a declining one fails the
setup with last_setup_error, the authentication card requires action; bad input changes
nothing; the ledger has no entry and still balances; each change records its event."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from paycore.payment.models import SetupStatus
from paycore.payment.setup import confirm as setup_confirm
from paycore.runtime.mutations import FinalAnswer
from paycore.tools.psp import cards
from paycore.v1 import customer_pb2, event_pb2, executor_pb2, payment_pb2

from tests.customer.support import failure, new_customer
from tests.payment.shop import PayIn, Shop, fee, good_card

P = payment_pb2
SETTLE_ROUNDS = 20


async def _setup(shop: Shop, key: str = "", **fields: Any) -> payment_pb2.SetupIntent:
    metadata = (("idempotency-key", key),) if key else None
    created: payment_pb2.SetupIntent = await shop.client.payments.CreateSetupIntent(
        P.CreateSetupIntentRequest(**fields), metadata=metadata
    )
    return created


async def _events(shop: Shop, object_id: str) -> list[str]:
    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(object_id=object_id, limit=100)
    )
    return [event.type for event in reversed(listed.data)]


async def _method(shop: Shop, method_id: str) -> customer_pb2.PaymentMethod:
    found: customer_pb2.PaymentMethod = await shop.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=method_id)
    )
    return found


async def test_a_setup_saves_the_card_to_the_customer_without_moving_money(shop: Shop) -> None:
    customer = (await new_customer(shop.client)).id
    method = await shop.card(good_card())

    setup = await _setup(shop, customer=customer, payment_method=method, confirm=True)

    assert setup.status == P.SETUP_INTENT_STATUS_SUCCEEDED, setup
    assert setup.id.startswith("seti_")
    assert setup.client_secret.startswith(f"{setup.id}_secret_")
    assert (setup.customer, setup.payment_method) == (customer, method)
    assert setup.usage == P.SETUP_INTENT_USAGE_OFF_SESSION
    assert list(setup.payment_method_types) == ["card"]
    assert not setup.HasField("last_setup_error")
    assert (await _method(shop, method)).customer == customer
    assert await _events(shop, setup.id) == ["setup_intent.created", "setup_intent.succeeded"]
    assert await _events(shop, method) == ["payment_method.attached"]
    assert await shop.balance() == ({"usd": 0}, {"usd": 0})  # no money moved
    await shop.assert_books_balance()
    got = await shop.client.payments.GetSetupIntent(P.GetSetupIntentRequest(id=setup.id))
    assert got == setup
    # Saved for off-session use: an intent charges it later.
    paid = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=2000,
            currency="usd",
            customer=customer,
            payment_method=method,
            confirm=True,
            off_session=True,
        )
    )
    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert (await shop.balance())[1] == {"usd": 2000 - fee(2000)}
    await shop.assert_books_balance()


async def test_a_declining_card_fails_the_setup_and_another_card_succeeds(shop: Shop) -> None:
    customer = (await new_customer(shop.client)).id
    declining = await shop.card(cards.CARD_DECLINED)

    failed = await _setup(shop, customer=customer, payment_method=declining, confirm=True)

    assert failed.status == P.SETUP_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert failed.last_setup_error.code == "CARD_DECLINED"
    assert failed.last_setup_error.decline_code == "generic_decline"
    assert (await _method(shop, declining)).customer == ""  # not attached
    retried = await shop.client.payments.ConfirmSetupIntent(
        P.ConfirmSetupIntentRequest(id=failed.id, payment_method="pm_card_visa")
    )
    assert retried.status == P.SETUP_INTENT_STATUS_SUCCEEDED
    assert not retried.HasField("last_setup_error")
    assert (await _method(shop, retried.payment_method)).customer == customer
    assert await _events(shop, failed.id) == [
        "setup_intent.created",
        "setup_intent.setup_failed",
        "setup_intent.succeeded",
    ]
    assert await shop.balance() == ({"usd": 0}, {"usd": 0})
    await shop.assert_books_balance()


async def test_a_card_that_must_authenticate_requires_action_and_cancels(shop: Shop) -> None:
    created = await _setup(
        shop,
        payment_method="pm_card_authenticationRequiredOnSetup",
        usage=P.SETUP_INTENT_USAGE_ON_SESSION,
    )
    assert created.status == P.SETUP_INTENT_STATUS_REQUIRES_CONFIRMATION

    action = await shop.client.payments.ConfirmSetupIntent(
        P.ConfirmSetupIntentRequest(id=created.id)
    )
    canceled = await shop.client.payments.CancelSetupIntent(
        P.CancelSetupIntentRequest(
            id=created.id,
            cancellation_reason=P.SETUP_INTENT_CANCELLATION_REASON_REQUESTED_BY_CUSTOMER,
        )
    )
    again = await failure(
        shop.client.payments.CancelSetupIntent(P.CancelSetupIntentRequest(id=created.id)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )

    assert action.status == P.SETUP_INTENT_STATUS_REQUIRES_ACTION
    assert action.usage == P.SETUP_INTENT_USAGE_ON_SESSION
    assert canceled.status == P.SETUP_INTENT_STATUS_CANCELED
    assert canceled.cancellation_reason == P.SETUP_INTENT_CANCELLATION_REASON_REQUESTED_BY_CUSTOMER
    assert (again.reason, again.param) == ("SETUP_INTENT_UNEXPECTED_STATE", "id")
    assert await _events(shop, created.id) == [
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.canceled",
    ]
    await shop.assert_books_balance()


async def test_lists_by_customer_with_a_cursor_and_a_key_replays(shop: Shop) -> None:
    customer = (await new_customer(shop.client)).id
    mine = [(await _setup(shop, customer=customer)).id for _ in range(3)]
    other = await _setup(shop)
    first = await _setup(shop, key="seti-once", customer=customer, metadata={"plan": "gold"})
    replayed = await _setup(shop, key="seti-once", customer=customer, metadata={"plan": "gold"})
    mine.append(first.id)

    page = await shop.client.payments.ListSetupIntents(
        P.ListSetupIntentsRequest(customer=customer, limit=2)
    )
    rest = await shop.client.payments.ListSetupIntents(
        P.ListSetupIntentsRequest(customer=customer, starting_after=page.data[-1].id)
    )
    everyone = await shop.client.payments.ListSetupIntents(P.ListSetupIntentsRequest(limit=100))

    assert replayed == first
    assert first.status == P.SETUP_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert dict(first.metadata) == {"plan": "gold"}
    assert page.has_more and not rest.has_more
    assert [one.id for one in [*page.data, *rest.data]] == list(reversed(mine))
    assert {one.id for one in everyone.data} == {*mine, other.id}


async def test_bad_input_names_the_field_and_creates_nothing(shop: Shop) -> None:
    method = await shop.card(good_card())
    cases = [
        (
            P.CreateSetupIntentRequest(usage=P.SetupIntentUsage.ValueType(9)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "usage",
        ),
        (
            P.CreateSetupIntentRequest(payment_method_types=["sepa_debit"]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "payment_method_types[0]",
        ),
        (
            P.CreateSetupIntentRequest(customer="cus_nope"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "customer",
        ),
        (
            P.CreateSetupIntentRequest(confirm=True),
            grpc.StatusCode.INVALID_ARGUMENT,
            "payment_method",
        ),
        (
            P.CreateSetupIntentRequest(customer=_another((await new_customer(shop.client)).id)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "customer",
        ),
        (
            P.CreateSetupIntentRequest(payment_method="pm_card_nope"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "payment_method",
        ),
    ]
    seen = []
    for request, code, _ in cases:
        error = await failure(shop.client.payments.CreateSetupIntent(request), code)
        seen.append(error.param)
    unconfirmed = await _setup(shop, payment_method=method)
    missing = await failure(
        shop.client.payments.GetSetupIntent(P.GetSetupIntentRequest(id=_another(unconfirmed.id))),
        grpc.StatusCode.NOT_FOUND,
    )

    assert seen == [param for _, _, param in cases]
    assert missing.param == "id"
    listed = await shop.client.payments.ListSetupIntents(P.ListSetupIntentsRequest(limit=100))
    assert [one.id for one in listed.data] == [unconfirmed.id]
    assert (await _method(shop, method)).customer == ""


async def test_a_confirmed_create_replays_its_final_answer_and_makes_one_setup(shop: Shop) -> None:
    customer = (await new_customer(shop.client)).id
    method = await shop.card(good_card())
    fields = {"customer": customer, "payment_method": method, "confirm": True}

    first = await _setup(shop, key="seti-confirm-once", **fields)
    again = await _setup(shop, key="seti-confirm-once", **fields)
    other = await failure(
        shop.client.payments.CreateSetupIntent(
            P.CreateSetupIntentRequest(customer=customer, payment_method=method),
            metadata=(("idempotency-key", "seti-confirm-once"),),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )

    assert first.status == P.SETUP_INTENT_STATUS_SUCCEEDED
    assert again == first
    assert other.reason == "IDEMPOTENCY_KEY_REUSED"
    listed = await shop.client.payments.ListSetupIntents(
        P.ListSetupIntentsRequest(customer=customer)
    )
    assert [one.id for one in listed.data] == [first.id]
    assert await _events(shop, first.id) == ["setup_intent.created", "setup_intent.succeeded"]


async def test_a_card_attached_elsewhere_during_the_verification_fails_the_setup(
    payin: PayIn, shop: Shop
) -> None:
    """The PSP verified the card, but meanwhile it was attached to another customer: the
    answer is still recorded, as a failed setup (not a recording that can never commit)."""
    ours, theirs = (await new_customer(shop.client)).id, (await new_customer(shop.client)).id
    method = await shop.card(good_card())
    setup = await _setup(shop, customer=ours, payment_method=method)
    flow = payin.platform.pay_in.setups
    phases = await setup_confirm.prepare(flow, shop.id, setup.id, "")
    await shop.client.customers.AttachPaymentMethod(
        customer_pb2.AttachPaymentMethodRequest(id=method, customer=theirs)
    )

    async with payin.platform.shards.engine_for_merchant(shop.id).begin() as connection:
        await phases.record(connection)
    assert phases.complete is not None
    done = await phases.complete(setup.id, FinalAnswer.unstored())

    assert done.status is SetupStatus.REQUIRES_PAYMENT_METHOD
    assert done.last_setup_error is not None
    assert done.last_setup_error.code == "PAYMENT_METHOD_ALREADY_ATTACHED"
    assert (await _method(shop, method)).customer == theirs
    assert await _events(shop, setup.id) == ["setup_intent.created", "setup_intent.setup_failed"]


async def test_a_lost_verification_answer_is_found_by_a_status_query(
    payin: PayIn, shop: Shop
) -> None:
    """The PSP verified the card and the answer was lost on the way: the executor asks the
    PSP for the key's outcome (never verifying again) and the setup succeeds from it."""
    customer = (await new_customer(shop.client)).id
    method = await shop.card(cards.CARD_ANSWER_LOST)
    setup = await _setup(shop, customer=customer, payment_method=method, confirm=True)
    for _ in range(SETTLE_ROUNDS):
        if setup.status != P.SETUP_INTENT_STATUS_PROCESSING:
            break
        await asyncio.sleep(0.3)
        await payin.run_worker_once()
        setup = await shop.client.payments.GetSetupIntent(P.GetSetupIntentRequest(id=setup.id))

    assert setup.status == P.SETUP_INTENT_STATUS_SUCCEEDED, setup
    assert (await _method(shop, method)).customer == customer
    executions = await shop.operator.executor.ListExecutions(
        executor_pb2.ListExecutionsRequest(limit=10)
    )
    (listed,) = [
        one for one in executions.data if one.operation == executor_pb2.EXECUTION_OPERATION_SETUP
    ]
    verification = await shop.operator.executor.GetExecution(
        executor_pb2.GetExecutionRequest(id=listed.id)
    )
    assert verification.amount == 0
    kinds = [attempt.kind for attempt in verification.attempts]
    assert kinds[:2] == [
        executor_pb2.EXECUTION_ATTEMPT_KIND_REQUEST,
        executor_pb2.EXECUTION_ATTEMPT_KIND_STATUS_QUERY,
    ]
    assert kinds.count(executor_pb2.EXECUTION_ATTEMPT_KIND_REQUEST) == 1
    await shop.assert_books_balance()


async def test_a_confirmation_retried_while_its_first_attempt_commits_answers_that_attempt(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client's retry of ConfirmSetupIntent (the same key) that finds the key unused, then
    the setup confirmed by its first attempt (which committed in between), is that attempt's
    replay, not SETUP_INTENT_UNEXPECTED_STATE: a caller told its own confirmation is refused
    would think nothing was saved. The window between the key's lookup and the setup's read is
    held open here by letting the retry's read wait for the first attempt's answer."""
    customer = (await new_customer(shop.client)).id
    setup = await _setup(shop, customer=customer)
    method = await shop.card(good_card())
    request = P.ConfirmSetupIntentRequest(id=setup.id, payment_method=method)
    key = (("idempotency-key", "seti-confirm-retried"),)
    real_prepare = setup_confirm.prepare
    retry_reached, first_answered = asyncio.Event(), asyncio.Event()

    async def prepare_after_the_first(*arguments: Any) -> Any:
        if not retry_reached.is_set():  # the retry, past its key's lookup: waits for the first
            retry_reached.set()
            await first_answered.wait()
        return await real_prepare(*arguments)

    monkeypatch.setattr(setup_confirm, "prepare", prepare_after_the_first)
    retry = asyncio.ensure_future(shop.client.payments.ConfirmSetupIntent(request, metadata=key))
    await retry_reached.wait()
    first = await shop.client.payments.ConfirmSetupIntent(request, metadata=key)
    first_answered.set()

    assert first.status == P.SETUP_INTENT_STATUS_SUCCEEDED, first
    assert await retry == first
    assert await _events(shop, setup.id) == ["setup_intent.created", "setup_intent.succeeded"]


def _another(object_id: str) -> str:
    """An id of the same kind that is not `object_id`: its last character changed."""
    return object_id[:-1] + ("x" if object_id[-1] != "x" else "y")
