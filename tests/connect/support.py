"""Separate charges and transfers test support: a platform shop (tests/payout/support.py's
world) with available money, its transfers and reversals, and the checks every scenario ends
with (the books balance; each balance's identity holds)."""

from __future__ import annotations

from paycore.v1 import event_pb2, payout_pb2

from tests.payment.shop import fee
from tests.payout.support import PayoutShop, World

P = payout_pb2


async def funded_shop(world: World, amount: int = 10_000) -> tuple[PayoutShop, str, int]:
    """A shop whose charge of `amount` became available, one seller of it, and its net."""
    shop = await world.shop()
    seller = await shop.seller("Alice")
    await shop.charge(amount)
    await world.advance(2)
    net = amount - fee(amount)
    assert await shop.balance() == ({"usd": net}, {"usd": 0})
    return shop, seller, net


async def transfer(
    shop: PayoutShop,
    amount: int,
    destination: str,
    *,
    key: str | None = None,
    **fields: object,
) -> P.Transfer:
    return await shop.client.payouts.CreateTransfer(
        P.CreateTransferRequest(
            amount=amount,
            currency=str(fields.pop("currency", "usd")),
            destination=destination,
            **fields,  # type: ignore[arg-type]
        ),
        metadata=(("idempotency-key", key),) if key else None,
    )


async def reverse(
    shop: PayoutShop, transfer_id: str, amount: int | None = None, key: str | None = None
) -> P.SellerTransferReversal:
    """A reversal of `amount` (left out: the rest of the transfer)."""
    return await shop.client.payouts.CreateTransferReversal(
        P.CreateTransferReversalRequest(id=transfer_id, amount=amount),
        metadata=(("idempotency-key", key),) if key else None,
    )


async def event_ids(shop: PayoutShop, event_type: str) -> list[str]:
    """The ids of the transfers the merchant's events of `event_type` carry, oldest first."""
    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type=event_type, limit=100)
    )
    found = []
    for event in reversed(listed.data):
        message = P.Transfer()
        assert event.data.object.Unpack(message), event.data.object.type_url
        found.append(message.id)
    return found


async def assert_books(shop: PayoutShop, *sellers: str) -> None:
    """The ledger balances, and each balance (the platform's and each seller's) has its
    identity: pending + available + in transit + paid out = the net of what came in."""
    await shop.assert_clean()
    await shop.assert_identity()
    for seller in sellers:
        await shop.assert_identity(seller)
