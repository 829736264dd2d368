"""UpdatePayout (Stripe's Payout.modify): a payout's metadata alone, whatever its status; each
change a payout.updated; idempotent with a key; another merchant's payout is not found."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.v1 import payout_pb2

from tests.helpers import metadata_events, rich_error
from tests.payout.support import PayoutShop, World

P = payout_pb2


async def _payout_to_update(world: World) -> tuple[PayoutShop, P.Payout]:
    """A shop with a pending manual payout whose metadata is {a: 1, b: 2}."""
    shop = await world.shop()
    await shop.charge(10_000)
    await shop.bank_account()
    await world.advance(2)
    payout = await shop.client.payouts.CreatePayout(
        P.CreatePayoutRequest(amount=4000, currency="usd", metadata={"a": "1", "b": "2"})
    )
    return shop, payout


async def _payout_events(shop: PayoutShop, payout_id: str) -> list[tuple[str, dict[str, str]]]:
    return await metadata_events(shop.client, payout_id, P.Payout)


def _without_metadata(payout: P.Payout) -> P.Payout:
    copy = P.Payout()
    copy.CopyFrom(payout)
    copy.ClearField("metadata")
    return copy


async def test_an_update_changes_the_metadata_alone_and_records_payout_updated(
    world: World,
) -> None:
    shop, payout = await _payout_to_update(world)
    balance = await shop.balance()
    payouts = shop.client.payouts

    merged = await payouts.UpdatePayout(
        P.UpdatePayoutRequest(id=payout.id, metadata={"a": "", "c": "3"})
    )
    unchanged = await payouts.UpdatePayout(P.UpdatePayoutRequest(id=payout.id))
    canceled = await payouts.CancelPayout(P.CancelPayoutRequest(id=payout.id))
    cleared = await payouts.UpdatePayout(
        P.UpdatePayoutRequest(id=payout.id, clear_metadata=True, metadata={"d": "4"})
    )

    assert dict(merged.metadata) == dict(unchanged.metadata) == {"b": "2", "c": "3"}
    assert _without_metadata(merged) == _without_metadata(payout)
    # A canceled payout's metadata changes too (as at Stripe), and only its metadata.
    assert (cleared.status, dict(cleared.metadata)) == (P.PAYOUT_STATUS_CANCELED, {"d": "4"})
    assert _without_metadata(cleared) == _without_metadata(canceled)
    assert await shop.get_payout(payout.id) == cleared
    assert await _payout_events(shop, payout.id) == [
        ("payout.created", {"a": "1", "b": "2"}),
        ("payout.updated", {"b": "2", "c": "3"}),
        ("payout.canceled", {"b": "2", "c": "3"}),
        ("payout.updated", {"d": "4"}),
    ]
    assert (await shop.balance())[0] == {"usd": balance[0]["usd"] + 4000}  # the cancel's alone
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()


async def test_an_update_with_a_key_is_answered_once(world: World) -> None:
    shop, payout = await _payout_to_update(world)
    key = (("idempotency-key", "payout-update-1"),)
    request = P.UpdatePayoutRequest(id=payout.id, metadata={"n": "1"})
    payouts = shop.client.payouts

    first = await payouts.UpdatePayout(request, metadata=key)
    await payouts.UpdatePayout(P.UpdatePayoutRequest(id=payout.id, metadata={"n": "2"}))
    again = await payouts.UpdatePayout(request, metadata=key)
    with pytest.raises(aio.AioRpcError) as raised:
        await payouts.UpdatePayout(
            P.UpdatePayoutRequest(id=payout.id, metadata={"n": "3"}), metadata=key
        )

    assert again == first
    assert dict(first.metadata) == {"a": "1", "b": "2", "n": "1"}
    assert rich_error(raised.value).reason == "IDEMPOTENCY_KEY_REUSED"
    assert dict((await shop.get_payout(payout.id)).metadata)["n"] == "2"  # replay changed nothing
    kinds = [kind for kind, _ in await _payout_events(shop, payout.id)]
    assert kinds == ["payout.created", "payout.updated", "payout.updated"]
    await shop.close()


async def test_another_merchants_payout_is_not_found_and_bad_input_names_its_field(
    world: World,
) -> None:
    shop, payout = await _payout_to_update(world)
    other = await world.shop("Other")
    refused: list[tuple[grpc.StatusCode, str, str | None]] = []
    for client, request in (
        (other.client, P.UpdatePayoutRequest(id=payout.id, metadata={"a": "x"})),
        (shop.client, P.UpdatePayoutRequest(id="ba_123", metadata={"a": "x"})),
        (shop.client, P.UpdatePayoutRequest(metadata={"a": "x"})),
        (shop.client, P.UpdatePayoutRequest(id=payout.id, metadata={"k" * 41: "x"})),
        (shop.client, P.UpdatePayoutRequest(id=payout.id, metadata={"a": "\x00"})),
        (
            shop.client,
            P.UpdatePayoutRequest(id=payout.id, metadata={f"key{n}": "x" for n in range(49)}),
        ),
    ):
        with pytest.raises(aio.AioRpcError) as raised:
            await client.payouts.UpdatePayout(request)
        error = rich_error(raised.value)
        refused.append((raised.value.code(), error.reason, error.param))

    invalid = grpc.StatusCode.INVALID_ARGUMENT
    assert refused == [
        (grpc.StatusCode.NOT_FOUND, "RESOURCE_MISSING", "id"),
        (invalid, "ID_MALFORMED", "id"),
        (invalid, "PARAMETER_MISSING", "id"),
        (invalid, "PARAMETER_INVALID", "metadata[" + "k" * 41 + "]"),
        (invalid, "PARAMETER_INVALID", "metadata[a]"),
        (invalid, "PARAMETER_INVALID", "metadata"),  # 51 keys once merged
    ]
    assert await shop.get_payout(payout.id) == payout
    assert [kind for kind, _ in await _payout_events(shop, payout.id)] == ["payout.created"]
    await other.close()
    await shop.close()
