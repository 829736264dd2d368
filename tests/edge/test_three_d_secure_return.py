"""The buyer's return from 3-D Secure, over HTTP as a browser makes it: the PSP's page sends the
buyer to paycore's /3ds/return, which finishes the intent (or setup) before sending them on to
the merchant's return_url with Stripe's query (`payment_intent`, `payment_intent_client_secret`,
`redirect_status`), so that the merchant's return page reads it moved on without confirming;
the buyer's return, the PSP's feed and the merchant's own confirmation racing charge once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import aiohttp
import grpc
import pytest_asyncio
from paycore.config import Settings
from paycore.edge import start_edge
from paycore.edge.app import EdgeServer
from paycore.v1 import event_pb2, payment_pb2

from tests.conftest import serving_payin
from tests.customer.support import new_customer
from tests.helpers import PspSimulator, reserved_port
from tests.payment.shop import PayIn, Shop, fee, open_shop
from tests.payment.test_three_d_secure_finish import read_feed

P = payment_pb2
RETURN_URL = "https://shop.example/checkout/done?order=7"


@dataclass
class Site:
    payin: PayIn
    edge: EdgeServer
    shop: Shop

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.edge.port}"


@pytest_asyncio.fixture
async def site(migrated: Settings, psp: PspSimulator) -> AsyncIterator[Site]:
    """A platform whose pages URL (PAYCORE_CHECKOUT_URL) is its edge's, with the pages'
    credential, as deployed."""
    with reserved_port() as port:
        async with serving_payin(migrated, psp, checkout_url=f"http://127.0.0.1:{port}") as payin:
            edge = await start_edge(
                payin.target,
                f"127.0.0.1:{port}",
                pages_token=payin.platform.settings.internal_token,
            )
            shop = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
            try:
                yield Site(payin, edge, shop)
            finally:
                await shop.close()
                await edge.close()


async def _presses(url: str, outcome: str) -> str:
    """The buyer on the PSP's page presses a button: where it sends them (its Location)."""
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as shown:
            assert shown.status == 200 and "Complete" in await shown.text()
        async with session.post(url, data={"outcome": outcome}, allow_redirects=False) as sent:
            assert sent.status == 303
            return sent.headers["Location"]


async def _follows(url: str) -> tuple[int, str]:
    """The browser follows a Location: the status and the next Location ("" none)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, allow_redirects=False) as answered,
    ):
        return answered.status, answered.headers.get("Location", "")


async def _create(shop: Shop, **fields: object) -> P.PaymentIntent:
    created: P.PaymentIntent = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=2000,
            currency="usd",
            payment_method="pm_card_authenticationRequired",
            confirm=True,
            return_url=RETURN_URL,
            **fields,  # type: ignore[arg-type]
        )
    )
    assert created.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION, created
    return created


async def _events(shop: Shop, object_id: str) -> list[str]:
    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(object_id=object_id, limit=100)
    )
    return [event.type for event in reversed(listed.data)]


async def test_the_buyer_back_from_authenticating_finds_the_intent_paid(
    site: Site, psp: PspSimulator
) -> None:
    shop = site.shop
    asked = await _create(shop)
    assert asked.next_action.redirect_to_url.return_url == RETURN_URL
    charges_before = psp.count("charges")

    through = await _presses(asked.next_action.redirect_to_url.url, "complete")
    assert through.startswith(f"{site.edge_url}/3ds/return?")
    status, back = await _follows(through)

    assert status == 303
    assert back == (
        f"{RETURN_URL}&payment_intent={asked.id}"
        f"&payment_intent_client_secret={asked.client_secret}&redirect_status=succeeded"
    )
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=asked.id))
    assert got.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, got
    assert got.amount_received == 2000
    assert psp.count("charges") == charges_before + 1
    assert (await _events(shop, asked.id))[-1] == "payment_intent.succeeded"
    # The way back again (a reload), and the PSP's feed afterwards: nothing more.
    assert await _follows(through) == (303, back)
    await read_feed(site.payin)
    assert psp.charges_for(asked.id) == ["captured"]
    assert (await shop.balance())[1] == {"usd": 2000 - fee(2000)}
    await shop.assert_books_balance()


async def test_a_failed_authentication_returns_failed(site: Site, psp: PspSimulator) -> None:
    shop = site.shop
    asked = await _create(shop, capture_method=P.CAPTURE_METHOD_MANUAL)
    status, back = await _follows(await _presses(asked.next_action.redirect_to_url.url, "fail"))

    assert status == 303
    query = parse_qs(urlsplit(back).query)
    assert query["redirect_status"] == ["failed"] and query["payment_intent"] == [asked.id]
    assert query["order"] == ["7"]
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=asked.id))
    assert got.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert got.last_payment_error.code == "PAYMENT_INTENT_AUTHENTICATION_FAILURE"
    await shop.assert_books_balance()


async def test_a_manual_capture_returns_authorized(site: Site, psp: PspSimulator) -> None:
    shop = site.shop
    asked = await _create(shop, capture_method=P.CAPTURE_METHOD_MANUAL)
    status, back = await _follows(await _presses(asked.next_action.redirect_to_url.url, "complete"))

    assert status == 303 and back.endswith("&redirect_status=succeeded")
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=asked.id))
    assert got.status == P.PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE
    assert psp.charges_for(asked.id) == ["authorized"]
    await shop.assert_books_balance()


async def test_the_return_the_feed_and_the_merchants_confirmation_racing_charge_once(
    site: Site, psp: PspSimulator
) -> None:
    shop = site.shop
    intents = [await _create(shop) for _ in range(3)]
    returns = [
        await _presses(intent.next_action.redirect_to_url.url, "complete") for intent in intents
    ]

    async def confirms(intent_id: str) -> None:
        try:
            await shop.client.payments.ConfirmPaymentIntent(
                P.ConfirmPaymentIntentRequest(id=intent_id)
            )
        except grpc.aio.AioRpcError as error:  # moved on by the return or the feed first
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error

    followed = await asyncio.gather(
        *(_follows(through) for through in returns),
        *(_follows(through) for through in returns),
        *(confirms(intent.id) for intent in intents),
        read_feed(site.payin),
    )

    for status, back in followed[: 2 * len(intents)]:  # type: ignore[misc]
        # a return that finds another's charge of the intent under way says so
        assert status == 303, back
        assert parse_qs(urlsplit(back).query)["redirect_status"][0] in ("succeeded", "processing")
    for intent in intents:
        got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=intent.id))
        assert got.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
        assert psp.charges_for(intent.id) == ["captured"]  # one charge at the PSP
        assert (await _events(shop, intent.id)).count("payment_intent.succeeded") == 1
    assert (await shop.balance())[1] == {"usd": 3 * (2000 - fee(2000))}
    await shop.assert_books_balance()


async def test_a_setup_returns_with_its_own_names(site: Site, psp: PspSimulator) -> None:
    shop = site.shop
    customer = (await new_customer(shop.client)).id
    created = await shop.client.payments.CreateSetupIntent(
        P.CreateSetupIntentRequest(
            customer=customer,
            payment_method="pm_card_authenticationRequiredOnSetup",
            confirm=True,
            return_url=RETURN_URL,
        )
    )
    assert created.status == P.SETUP_INTENT_STATUS_REQUIRES_ACTION
    status, back = await _follows(
        await _presses(created.next_action.redirect_to_url.url, "complete")
    )

    assert status == 303
    assert back == (
        f"{RETURN_URL}&setup_intent={created.id}"
        f"&setup_intent_client_secret={created.client_secret}&redirect_status=succeeded"
    )
    got = await shop.client.payments.GetSetupIntent(P.GetSetupIntentRequest(id=created.id))
    assert got.status == P.SETUP_INTENT_STATUS_SUCCEEDED
    assert (await _events(shop, created.id))[-1] == "setup_intent.succeeded"


async def test_a_return_without_the_secret_is_not_found_and_changes_nothing(
    site: Site, psp: PspSimulator
) -> None:
    shop = site.shop
    asked = await _create(shop)
    through = await _presses(asked.next_action.redirect_to_url.url, "complete")
    forged = through.replace(
        asked.client_secret,
        asked.client_secret[:-1] + ("x" if asked.client_secret[-1] != "x" else "y"),
    )
    bare = f"{site.edge_url}/3ds/return?payment_intent={asked.id}"

    assert (await _follows(forged))[0] == 404
    assert (await _follows(bare))[0] == 404
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=asked.id))
    assert got.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION
    assert psp.charges_for(asked.id) == []


async def test_a_return_before_the_buyer_answered_charges_nothing(
    site: Site, psp: PspSimulator
) -> None:
    shop = site.shop
    asked = await _create(shop)
    secret = asked.client_secret
    early = (
        f"{site.edge_url}/3ds/return?merchant={shop.id}&payment_intent={asked.id}"
        f"&payment_intent_client_secret={secret}"
    )
    executions_before = psp.count("operations")

    status, back = await _follows(early)

    assert status == 303 and back.endswith("&redirect_status=failed")
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=asked.id))
    assert got.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION
    assert psp.count("operations") == executions_before


async def test_an_intent_updated_while_the_buyer_authenticates_still_sends_them_back(
    site: Site, psp: PspSimulator
) -> None:
    """UpdatePaymentIntent of the amount in requires_action asks for a new confirmation (the
    authentication was for the old amount), but the buyer already on the PSP's page still
    comes back to the merchant's return_url, not to paycore's own page."""
    shop = site.shop
    asked = await _create(shop)
    updated = await shop.client.payments.UpdatePaymentIntent(
        P.UpdatePaymentIntentRequest(id=asked.id, amount=2500)
    )
    assert updated.status == P.PAYMENT_INTENT_STATUS_REQUIRES_CONFIRMATION
    assert not updated.HasField("next_action")
    charges_before = psp.count("charges")

    status, back = await _follows(await _presses(asked.next_action.redirect_to_url.url, "complete"))

    assert status == 303
    assert back == (
        f"{RETURN_URL}&payment_intent={asked.id}"
        f"&payment_intent_client_secret={asked.client_secret}&redirect_status=failed"
    )
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=asked.id))
    assert got.status == P.PAYMENT_INTENT_STATUS_REQUIRES_CONFIRMATION  # nothing charged
    assert psp.count("charges") == charges_before


async def test_a_setup_updated_while_the_buyer_authenticates_still_sends_them_back(
    site: Site, psp: PspSimulator
) -> None:
    """As an intent's: UpdateSetupIntent of the payment method in requires_action asks for a
    new confirmation, and the buyer already on the PSP's page comes back to the return_url."""
    shop = site.shop
    customer = (await new_customer(shop.client)).id
    created = await shop.client.payments.CreateSetupIntent(
        P.CreateSetupIntentRequest(
            customer=customer,
            payment_method="pm_card_authenticationRequiredOnSetup",
            confirm=True,
            return_url=RETURN_URL,
        )
    )
    assert created.status == P.SETUP_INTENT_STATUS_REQUIRES_ACTION
    updated = await shop.client.payments.UpdateSetupIntent(
        P.UpdateSetupIntentRequest(id=created.id, payment_method="pm_card_visa")
    )
    assert updated.status == P.SETUP_INTENT_STATUS_REQUIRES_CONFIRMATION
    assert not updated.HasField("next_action")

    status, back = await _follows(
        await _presses(created.next_action.redirect_to_url.url, "complete")
    )

    assert status == 303
    assert back == (
        f"{RETURN_URL}&setup_intent={created.id}"
        f"&setup_intent_client_secret={created.client_secret}&redirect_status=failed"
    )
    got = await shop.client.payments.GetSetupIntent(P.GetSetupIntentRequest(id=created.id))
    assert got.status == P.SETUP_INTENT_STATUS_REQUIRES_CONFIRMATION
