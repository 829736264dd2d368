"""SearchPaymentIntents: Stripe's search query language over a merchant's intents (status,
amount, currency, customer, created, metadata), paged with next_page; a bad query is
INVALID_ARGUMENT naming `query`; another merchant's intents are never found."""

from __future__ import annotations

import grpc
import pytest
from paycore.tools.psp import cards
from paycore.v1 import payment_pb2

from tests.helpers import rich_error
from tests.payment.shop import PayIn, Shop, good_card, open_shop

P = payment_pb2


async def _search(shop: Shop, query: str, **fields: object) -> P.SearchPaymentIntentsResponse:
    request = P.SearchPaymentIntentsRequest(query=query, **fields)  # type: ignore[arg-type]
    return await shop.client.payments.SearchPaymentIntents(request)


async def _paid(shop: Shop, amount: int, order: str) -> P.PaymentIntent:
    return await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=amount,
            currency="usd",
            payment_method=await shop.card(good_card()),
            confirm=True,
            metadata={"order": order},
        )
    )


async def test_search_by_status_metadata_amount_and_created(shop: Shop, payin: PayIn) -> None:
    seven = await _paid(shop, 1000, "7")
    eight = await _paid(shop, 2500, "8")
    declined = await shop.pay(cards.CARD_DECLINED, 700)
    other = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
    try:
        await _paid(other, 1000, "7")
    finally:
        await other.close()

    found = await _search(shop, 'status:"succeeded" AND metadata["order"]:"7"')
    large = await _search(shop, "amount>=2000")
    unpaid = await _search(shop, '-status:"succeeded"')
    either = await _search(shop, 'metadata["order"]:"7" OR metadata["order"]:"8"')
    later = await _search(shop, f"created>{seven.created + 3600}")

    assert ([intent.id for intent in found.data], found.has_more, found.next_page) == (
        [seven.id],
        False,
        "",
    )
    assert [intent.id for intent in large.data] == [eight.id]
    assert [intent.id for intent in unpaid.data] == [declined.id]
    assert [intent.id for intent in either.data] == [eight.id, seven.id]
    assert list(later.data) == []


async def test_search_pages_with_next_page(shop: Shop) -> None:
    paid = [await _paid(shop, 1000 + step, "p") for step in range(3)]
    newest_first = [intent.id for intent in reversed(paid)]

    first = await _search(shop, 'metadata["order"]:"p"', limit=2)
    rest = await _search(shop, 'metadata["order"]:"p"', limit=2, page=first.next_page)

    assert ([intent.id for intent in first.data], first.has_more) == (newest_first[:2], True)
    assert first.next_page == newest_first[1]
    assert ([intent.id for intent in rest.data], rest.has_more, rest.next_page) == (
        newest_first[2:],
        False,
        "",
    )


@pytest.mark.parametrize(
    ("query", "fields", "param"),
    [
        ("", {}, "query"),
        ('status:"succeeded" AND', {}, "query"),
        ('colour:"red"', {}, "query"),
        ('status:"succeeded"', {"page": "cus_123"}, "page"),
        ('status:"succeeded"', {"limit": 101}, "limit"),
    ],
)
async def test_a_bad_search_names_its_field(
    shop: Shop, query: str, fields: dict[str, object], param: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _search(shop, query, **fields)

    error = rich_error(raised.value)
    assert (error.code, error.metadata["param"]) == (grpc.StatusCode.INVALID_ARGUMENT, param)
