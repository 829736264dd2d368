"""`paycore bench payments`: create-and-confirm payment intents, the whole pay-in path (auth,
idempotency key, fraud score, the intent's two phases, one PSP charge, the ledger transfers and
the outbox event). Run it against a PSP simulator with no latency (`paycore psp`)."""

from __future__ import annotations

from paycore.tools.bench.scenario import Call, GhzCall, Scenario, Session
from paycore.tools.psp.cards import CARD_SUCCEEDS
from paycore.v1 import customer_pb2, payment_pb2

AMOUNT = 2000


async def prepare(session: Session) -> Call:
    method = await _card(session)
    create = session.client.payments.CreatePaymentIntent
    prefix = f"bench-{session.run_id}-{session.process_index}-"

    async def call(sequence: int) -> object:
        request = payment_pb2.CreatePaymentIntentRequest(
            amount=AMOUNT + sequence % 100,
            currency="usd",
            payment_method=method.id,
            confirm=True,
        )
        intent = await create(
            request,
            metadata=(*session.metadata, ("idempotency-key", f"{prefix}{sequence}")),
            timeout=session.timeout_seconds,
        )
        if intent.status != payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED:
            raise RuntimeError(f"payment intent {intent.id} ended {intent.status}")
        return intent

    return call


async def ghz_call(session: Session) -> GhzCall:
    """The same payment for ghz, a fresh idempotency key per call. ghz does not look into the
    answer; the card is one the simulator always charges (the Python client checks that each
    intent ends `succeeded`)."""
    method = await _card(session)
    return GhzCall(
        call="paycore.v1.PaymentService.CreatePaymentIntent",
        data={"amount": AMOUNT, "currency": "usd", "payment_method": method.id, "confirm": True},
        metadata={**dict(session.metadata), "idempotency-key": "{{newUUID}}"},
    )


async def _card(session: Session) -> customer_pb2.PaymentMethod:
    return await session.client.customers.CreatePaymentMethod(
        customer_pb2.CreatePaymentMethodRequest(
            type=customer_pb2.PAYMENT_METHOD_TYPE_CARD,
            card=customer_pb2.CreatePaymentMethodRequest.Card(
                number=CARD_SUCCEEDS, exp_month=12, exp_year=2040, cvc="123"
            ),
        ),
        metadata=session.metadata,
        timeout=session.timeout_seconds,
    )


SCENARIO = Scenario(
    name="payments",
    summary="PaymentService.CreatePaymentIntent with confirm: fraud, PSP charge, ledger",
    method="/paycore.v1.PaymentService/CreatePaymentIntent",
    needs_merchant=True,
    prepare=prepare,
    ghz=ghz_call,
)
