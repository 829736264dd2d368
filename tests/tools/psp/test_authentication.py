"""3-D Secure at the simulator (paycore.tools.psp.authentication): Stripe's authentication
cards answer requires_action on-session with a page to authenticate on, decline
`authentication_required` off-session (unless set up), and a completed authentication lets
exactly one charge through."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from paycore.psp.client import PspClient, PspRejected, PspResult
from paycore.tools.psp.cards import (
    CARD_AUTHENTICATION_ALWAYS,
    CARD_AUTHENTICATION_REQUIRED,
    CARD_SUCCEEDS,
)

from tests.helpers import PspSimulator
from tests.tools.psp.support import card, charge, new_key

MERCHANT = "acct_three_ds"


@pytest_asyncio.fixture
async def client(psp: PspSimulator) -> AsyncIterator[PspClient]:
    client = psp.client()
    yield client
    await client.close()


async def _charge(
    client: PspClient,
    number: str,
    *,
    off_session: bool = False,
    authentication: str = "",
    key: str | None = None,
) -> PspResult:
    return await client.charge(
        idempotency_key=key or new_key(),
        merchant=MERCHANT,
        reference="pi_3ds",
        amount=1000,
        currency="usd",
        card=card(number),
        capture=True,
        off_session=off_session,
        authentication=authentication,
        return_url="https://shop.example/back",
    )


@pytest.mark.parametrize("number", [CARD_AUTHENTICATION_REQUIRED, CARD_AUTHENTICATION_ALWAYS])
async def test_an_on_session_charge_asks_to_authenticate_then_charges_once(
    psp: PspSimulator, client: PspClient, number: str
) -> None:
    charges_before = psp.count("charges")
    asked = await _charge(client, number)
    assert asked.status == "requires_action"
    assert asked.authentication.startswith("auth_")
    assert asked.reference == asked.authentication
    assert asked.authentication_url == f"{psp.url}/authenticate/{asked.authentication}"
    assert psp.count("charges") == charges_before  # nothing charged yet

    # Before the buyer answers, a charge naming it asks again.
    again = await _charge(client, number, authentication=asked.authentication)
    assert (again.status, again.reference) == ("requires_action", asked.authentication)

    status, answered = await psp.authenticate(asked.authentication_url, "complete")
    assert (status, answered["status"]) == (200, "succeeded")
    key = new_key()
    charged = await _charge(client, number, authentication=asked.authentication, key=key)
    assert (charged.status, charged.amount) == ("captured", 1000)
    replayed = await _charge(client, number, authentication=asked.authentication, key=key)
    assert replayed.reference == charged.reference
    # Another charge naming the same authentication is refused: one charge per authentication.
    with pytest.raises(PspRejected) as refused:
        await _charge(client, number, authentication=asked.authentication)
    assert refused.value.code == "authentication_used"
    assert psp.count("charges") == charges_before + 1


async def test_a_failed_authentication_declines_the_charge(
    psp: PspSimulator, client: PspClient
) -> None:
    asked = await _charge(client, CARD_AUTHENTICATION_REQUIRED)
    status, answered = await psp.authenticate(asked.authentication_url, "fail")
    assert (status, answered["status"]) == (200, "failed")
    # The answer is final: completing it afterwards is refused.
    status, _ = await psp.authenticate(asked.authentication_url, "complete")
    assert status == 409
    declined = await _charge(
        client, CARD_AUTHENTICATION_REQUIRED, authentication=asked.authentication
    )
    assert (declined.status, declined.decline_code) == ("declined", "authentication_failure")


@pytest.mark.parametrize("number", [CARD_AUTHENTICATION_REQUIRED, CARD_AUTHENTICATION_ALWAYS])
async def test_an_off_session_charge_is_declined_authentication_required(
    client: PspClient, number: str
) -> None:
    declined = await _charge(client, number, off_session=True)
    assert (declined.status, declined.decline_code) == ("declined", "authentication_required")
    assert declined.message


async def test_a_card_set_up_with_an_authentication_is_charged_without_one(
    psp: PspSimulator, client: PspClient
) -> None:
    async def setup(number: str, authentication: str = "") -> PspResult:
        return await client.setup(
            idempotency_key=new_key(),
            merchant=MERCHANT,
            reference="seti_3ds",
            card=card(number),
            authentication=authentication,
        )

    # Stripe's 4000002500003155 "requires authentication for one-time payments ... if you set
    # up this card ... no further authentication is needed" for subsequent payments, on-session
    # too; 4000002760003184 "requires authentication on all transactions".
    for number, charged, on_session in (
        (CARD_AUTHENTICATION_REQUIRED, "captured", "captured"),
        (CARD_AUTHENTICATION_ALWAYS, "declined", "requires_action"),
    ):
        asked = await setup(number)
        assert asked.status == "requires_action" and asked.authentication_url
        await psp.authenticate(asked.authentication_url, "complete")
        assert (await setup(number, asked.authentication)).status == "succeeded"
        assert (await _charge(client, number, off_session=True)).status == charged
        assert (await _charge(client, number)).status == on_session
    # Another merchant's setup counts for nothing.
    other = await charge(client, CARD_AUTHENTICATION_REQUIRED, merchant="acct_other")
    assert other.status == "requires_action"
    assert (await charge(client, CARD_SUCCEEDS)).status == "captured"


async def test_the_page_answers_and_sends_the_buyer_back(
    psp: PspSimulator, client: PspClient
) -> None:
    asked = await _charge(client, CARD_AUTHENTICATION_REQUIRED)
    async with aiohttp.ClientSession() as session:
        async with session.get(asked.authentication_url) as page:
            text = await page.text()
        assert page.status == 200 and "Complete" in text and "Fail" in text
        async with session.post(
            asked.authentication_url, data={"outcome": "complete"}, allow_redirects=False
        ) as answered:
            assert answered.status == 303
            location = answered.headers["Location"]
            assert location == "https://shop.example/back?redirect_status=succeeded"
    charged = await _charge(
        client, CARD_AUTHENTICATION_REQUIRED, authentication=asked.authentication
    )
    assert charged.status == "captured"


async def test_an_authentication_of_another_card_or_merchant_is_invalid(
    client: PspClient,
) -> None:
    asked = await _charge(client, CARD_AUTHENTICATION_REQUIRED)
    with pytest.raises(PspRejected) as refused:
        await _charge(client, CARD_AUTHENTICATION_ALWAYS, authentication=asked.authentication)
    assert refused.value.code == "authentication_invalid"


async def test_each_answer_is_a_line_of_the_authentications_feed_once(
    psp: PspSimulator, client: PspClient
) -> None:
    """GET /v1/authentication_events: the buyers' answers in order, each once (an answer
    repeated is a replay, not a line), paged by sequence as the disputes feed."""
    first = await _charge(client, CARD_AUTHENTICATION_ALWAYS)
    second = await _charge(client, CARD_AUTHENTICATION_REQUIRED)
    unanswered = await _charge(client, CARD_AUTHENTICATION_ALWAYS)
    assert await client.authentication_events(0, 10) == ([], False)
    assert await client.authentication_status(unanswered.authentication) == "pending"

    await psp.authenticate(second.authentication_url, "fail")
    await psp.authenticate(first.authentication_url, "complete")
    await psp.authenticate(first.authentication_url, "complete")  # a replay

    events, more = await client.authentication_events(0, 10)
    assert not more
    assert [(e.authentication.id, e.authentication.status) for e in events] == [
        (second.authentication, "failed"),
        (first.authentication, "succeeded"),
    ]
    told = events[0].authentication
    assert (told.merchant, told.operation, told.reference) == (MERCHANT, "charge", "pi_3ds")
    page, more = await client.authentication_events(0, 1)
    assert ([e.sequence for e in page], more) == ([events[0].sequence], True)
    rest, more = await client.authentication_events(events[0].sequence, 10)
    assert ([e.authentication.id for e in rest], more) == ([first.authentication], False)
    assert await client.authentication_status(first.authentication) == "succeeded"
