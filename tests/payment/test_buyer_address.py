"""The buyer's address in fraud scoring (`PaymentFacts.client_ip`): a publishable-key
confirmation (the buyer's browser, directly over gRPC or through the REST edge, as the hosted
checkout page's script confirms) is scored with the address paycore saw, so the platform's
per-address counter (`platform_ip_merchants_*`) sees one buyer at several shops and a rule over
it fires; a merchant's server's address is never taken for a buyer's."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiohttp import ClientSession
from paycore.client import connect
from paycore.edge import start_edge
from paycore.storage.schema import fraud_assessments
from paycore.v1 import fraud_pb2, payment_pb2
from sqlalchemy import select

from tests.edge.helpers import call, card_method
from tests.payment.shop import PayIn, Shop, good_card, open_shop

RULE = fraud_pb2.RiskRule(
    name="buyer_at_many_shops",
    conditions=[fraud_pb2.RiskCondition(feature="platform_ip_merchants_1h", above=1)],
    action=fraud_pb2.RISK_DECISION_BLOCK,
)


def an_address() -> str:
    """A buyer's address of its own (198.18.0.0/15, for tests), so no other test's payments
    count at it."""
    return f"198.{18 + secrets.randbelow(2)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


@pytest_asyncio.fixture
async def other_shop(payin: PayIn) -> AsyncIterator[Shop]:
    opened = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
    try:
        yield opened
    finally:
        await opened.close()


async def _watch_buyers(shop: Shop) -> None:
    await shop.operator.fraud.UpdateRiskPolicy(
        fraud_pb2.UpdateRiskPolicyRequest(review_above=500, block_above=800, rules=[RULE])
    )


async def _created(shop: Shop) -> payment_pb2.PaymentIntent:
    method = await shop.card(good_card())
    return await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(amount=1000, currency="usd", payment_method=method)
    )


async def _confirm_in_browser(
    payin: PayIn, shop: Shop, forwarded_for: str | None
) -> payment_pb2.PaymentIntent:
    """The buyer's browser confirms with the publishable key and the client secret; the
    address the REST edge would forward (the server trusts it from 127.0.0.1), or none."""
    created = await _created(shop)
    metadata = (("x-forwarded-for", forwarded_for),) if forwarded_for else None
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        confirmed = await browser.payments.ConfirmPaymentIntent(
            payment_pb2.ConfirmPaymentIntentRequest(
                id=created.id, client_secret=created.client_secret
            ),
            metadata=metadata,
        )
    return await shop.settled(confirmed)


async def _scored_facts(payin: PayIn, merchant_id: str, payment: str) -> dict[str, Any]:
    async with payin.platform.shards.read(merchant_id) as connection:
        row = (
            await connection.execute(
                select(fraud_assessments.c.facts, fraud_assessments.c.features).where(
                    fraud_assessments.c.merchant_id == merchant_id,
                    fraud_assessments.c.payment == payment,
                )
            )
        ).one()
    return {**row.facts, **row.features}


async def test_one_buyer_at_two_shops_fires_a_rule_over_the_platform_address_counter(
    payin: PayIn, shop: Shop, other_shop: Shop
) -> None:
    buyer, another = an_address(), an_address()
    await _watch_buyers(shop)
    await _watch_buyers(other_shop)

    first = await _confirm_in_browser(payin, shop, buyer)
    again = await _confirm_in_browser(payin, other_shop, buyer)
    elsewhere = await _confirm_in_browser(payin, other_shop, another)

    assert first.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    facts = await _scored_facts(payin, shop.id, first.id)
    assert (facts["client_ip"], facts["platform_ip_merchants_1h"]) == (buyer, 1)
    assert again.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    # The browser is not told the assessment (tests/checkout); the merchant reads it.
    assert not again.HasField("risk_assessment")
    again = await other_shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=again.id)
    )
    assert again.risk_assessment.decision == fraud_pb2.RISK_DECISION_BLOCK
    assert "buyer_at_many_shops" in again.risk_assessment.reasons
    facts = await _scored_facts(payin, other_shop.id, again.id)
    assert (facts["client_ip"], facts["platform_ip_merchants_1h"]) == (buyer, 2)
    assert elsewhere.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    await shop.assert_books_balance()
    await other_shop.assert_books_balance()


async def test_a_browser_calling_directly_is_scored_with_its_peer_address(
    payin: PayIn, shop: Shop
) -> None:
    confirmed = await _confirm_in_browser(payin, shop, None)

    assert confirmed.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert (await _scored_facts(payin, shop.id, confirmed.id))["client_ip"] == "127.0.0.1"


async def test_a_merchant_servers_address_is_never_taken_for_a_buyers(
    payin: PayIn, shop: Shop
) -> None:
    """A secret-key call comes from the merchant's server: whatever address it arrives from or
    with, the payment is scored with no client address."""
    created = await _created(shop)
    confirmed = await shop.client.payments.ConfirmPaymentIntent(
        payment_pb2.ConfirmPaymentIntentRequest(id=created.id),
        metadata=(("x-forwarded-for", an_address()),),
    )

    assert confirmed.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert (await _scored_facts(payin, shop.id, confirmed.id))["client_ip"] == ""


async def _confirm_over_http(
    payin: PayIn, shop: Shop, trusted: tuple[str, ...], forwarded_for: str
) -> str:
    """The hosted checkout page's script: tokenize, then confirm with the publishable key and
    the client secret, through an edge that trusts `trusted` in front of it. The intent's id."""
    edge = await start_edge(payin.target, "127.0.0.1:0", trusted_proxies=trusted)
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as http:
            key = shop.merchant.publishable_key
            method = await card_method(http, key, good_card())
            created = await shop.client.payments.CreatePaymentIntent(
                payment_pb2.CreatePaymentIntentRequest(amount=1200, currency="usd")
            )
            confirmed = await call(
                http,
                "POST",
                f"/v1/payment_intents/{created.id}/confirm",
                key=key,
                headers={"X-Forwarded-For": forwarded_for},
                json_body={"client_secret": created.client_secret, "payment_method": method},
            )
    finally:
        await edge.close()
    assert (confirmed.status, confirmed.body["status"]) == (200, "succeeded"), confirmed.body
    return created.id


async def test_the_edge_forwards_its_peer_and_believes_only_a_trusted_proxys_header(
    payin: PayIn, shop: Shop
) -> None:
    buyer = an_address()

    untrusted = await _confirm_over_http(payin, shop, (), f"{buyer}")
    behind_a_balancer = await _confirm_over_http(
        payin, shop, ("127.0.0.0/8",), f"{an_address()}, {buyer}"
    )

    assert (await _scored_facts(payin, shop.id, untrusted))["client_ip"] == "127.0.0.1"
    assert (await _scored_facts(payin, shop.id, behind_a_balancer))["client_ip"] == buyer
