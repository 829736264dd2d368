"""SearchCharges: Stripe's search query language over a merchant's charges (amount, currency,
status, customer, payment_intent, created, metadata: the charge's own once UpdateCharge set it,
its intent's until then), paged with next_page; a bad query or page is INVALID_ARGUMENT naming
it; another merchant's charges are never found."""

from __future__ import annotations

import grpc
import pytest
from paycore.tools.psp import cards
from paycore.v1 import customer_pb2, payment_pb2

from tests.helpers import rich_error
from tests.payment.shop import PayIn, Shop, good_card, open_shop

P = payment_pb2


async def _search(shop: Shop, query: str, **fields: object) -> list[str]:
    request = P.SearchChargesRequest(query=query, **fields)  # type: ignore[arg-type]
    found = await shop.client.payments.SearchCharges(request)
    return [charge.id for charge in found.data]


async def _paid(shop: Shop, amount: int, order: str, **fields: object) -> P.PaymentIntent:
    created = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=amount,
            currency="usd",
            payment_method=await shop.card(good_card()),
            confirm=True,
            metadata={"order": order},
            **fields,  # type: ignore[arg-type]
        )
    )
    return await shop.settled(created)


async def test_search_by_each_field(shop: Shop, payin: PayIn) -> None:
    customer = await shop.client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
    seven = await _paid(shop, 1000, "7")
    eight = await _paid(shop, 2500, "8", customer=customer.id)
    declined = await shop.pay(cards.CARD_DECLINED, 700)
    other = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
    try:
        await _paid(other, 1000, "7")
    finally:
        await other.close()
    declined_charges = await shop.client.payments.ListCharges(
        P.ListChargesRequest(payment_intent=declined.id)
    )
    failed = [charge.id for charge in declined_charges.data]
    assert len(failed) == 1 and declined_charges.data[0].status == P.CHARGE_STATUS_FAILED

    assert await _search(shop, 'status:"succeeded" AND metadata["order"]:"7"') == [
        seven.latest_charge
    ]
    assert await _search(shop, "amount>=2000") == [eight.latest_charge]
    assert await _search(shop, 'status:"failed"') == failed
    assert await _search(shop, '-status:"succeeded"') == failed
    assert await _search(shop, f'customer:"{customer.id}"') == [eight.latest_charge]
    assert await _search(shop, f'payment_intent:"{seven.id}"') == [seven.latest_charge]
    assert await _search(shop, 'currency:"usd" AND amount<800') == failed
    assert await _search(shop, f"created>{seven.created + 3600}") == []
    either = await _search(shop, 'metadata["order"]:"7" OR metadata["order"]:"8"')
    assert either == [eight.latest_charge, seven.latest_charge]

    # The charge's own metadata, once set, is what is searched (no longer its intent's).
    await shop.client.payments.UpdateCharge(
        P.UpdateChargeRequest(id=seven.latest_charge, metadata={"order": "77"})
    )
    assert await _search(shop, 'metadata["order"]:"7"') == []
    assert await _search(shop, 'metadata["order"]:"77"') == [seven.latest_charge]


async def test_search_pages_with_next_page(shop: Shop) -> None:
    paid = [await _paid(shop, 1000 + step, "p") for step in range(3)]
    newest_first = [intent.latest_charge for intent in reversed(paid)]
    query = 'metadata["order"]:"p"'

    first = await shop.client.payments.SearchCharges(P.SearchChargesRequest(query=query, limit=2))
    rest = await shop.client.payments.SearchCharges(
        P.SearchChargesRequest(query=query, limit=2, page=first.next_page)
    )

    assert ([charge.id for charge in first.data], first.has_more) == (newest_first[:2], True)
    assert first.next_page == newest_first[1]
    assert ([charge.id for charge in rest.data], rest.has_more, rest.next_page) == (
        newest_first[2:],
        False,
        "",
    )


@pytest.mark.parametrize(
    ("query", "page", "param"),
    [
        ("status:", "", "query"),
        ('refunded:"true"', "", "query"),
        ("amount>=1", "pi_123", "page"),
    ],
)
async def test_a_bad_query_or_page_names_it(shop: Shop, query: str, page: str, param: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.SearchCharges(P.SearchChargesRequest(query=query, page=page))
    error = rich_error(raised.value)
    assert (error.code, error.param) == (grpc.StatusCode.INVALID_ARGUMENT, param)


async def test_a_page_of_a_charge_the_merchant_has_not(shop: Shop) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.SearchCharges(
            P.SearchChargesRequest(query="amount>=1", page="ch_0000000000000000000000")
        )
    error = rich_error(raised.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "RESOURCE_MISSING",
        "page",
    )
