"""Webhook endpoints over gRPC: the secret shown once (never in an idempotent replay), rolls
signing with both secrets for the overlap, the per-merchant limit, refused URLs and event
types, and another merchant's endpoints and deliveries NOT_FOUND."""

from __future__ import annotations

import typing
from datetime import date

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore, idempotency_key
from paycore.v1 import event_pb2
from paycore.webhooks.api_versions import STRIPE_API_VERSIONS, is_released

from tests.events.support import record
from tests.helpers import MerchantFixture, create_merchant, rich_error
from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import verified_by_standardwebhooks, verified_by_stripe
from tests.webhooks.support import deliveries, endpoint

PUBLIC_URL = "https://93.184.215.14/hooks"  # a global address, given as a literal: no DNS


async def _refused(call: object) -> tuple[grpc.StatusCode, str, str]:
    with pytest.raises(aio.AioRpcError) as refused:
        await call  # type: ignore[misc]
    error = rich_error(refused.value)
    return error.code, error.reason, error.param or ""


def _create(client: Paycore, url: str, events: list[str]) -> object:
    return client.events.CreateWebhookEndpoint(
        event_pb2.CreateWebhookEndpointRequest(url=url, enabled_events=events)
    )


async def test_the_secret_is_shown_once_and_never_replayed(merchant: MerchantFixture) -> None:
    request = event_pb2.CreateWebhookEndpointRequest(
        url=PUBLIC_URL,
        enabled_events=["payment_intent.succeeded", "payment_intent.succeeded"],
        description="orders",
        metadata={"team": "shop"},
    )
    key = idempotency_key("create-endpoint-1")
    created = await merchant.client.events.CreateWebhookEndpoint(request, metadata=key)
    assert created.secret.startswith("whsec_") and created.id.startswith("we_")
    assert list(created.enabled_events) == ["payment_intent.succeeded"]
    replayed = await merchant.client.events.CreateWebhookEndpoint(request, metadata=key)
    assert (replayed.id, replayed.secret) == (created.id, "")
    fetched = await merchant.client.events.GetWebhookEndpoint(
        event_pb2.GetWebhookEndpointRequest(id=created.id)
    )
    assert (fetched.secret, fetched.description, dict(fetched.metadata)) == (
        "",
        "orders",
        {"team": "shop"},
    )
    listed = await merchant.client.events.ListWebhookEndpoints(
        event_pb2.ListWebhookEndpointsRequest()
    )
    assert [item.id for item in listed.data] == [created.id]
    assert all(not item.secret for item in listed.data)
    updated = await merchant.client.events.UpdateWebhookEndpoint(
        event_pb2.UpdateWebhookEndpointRequest(
            id=created.id, enabled_events=["*"], metadata={"team": "", "owner": "ops"}
        )
    )
    assert (list(updated.enabled_events), dict(updated.metadata)) == (["*"], {"owner": "ops"})
    deleted = await merchant.client.events.DeleteWebhookEndpoint(
        event_pb2.DeleteWebhookEndpointRequest(id=created.id)
    )
    assert (deleted.id, deleted.deleted) == (created.id, True)
    code, reason, _ = await _refused(
        merchant.client.events.GetWebhookEndpoint(
            event_pb2.GetWebhookEndpointRequest(id=created.id)
        )
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "RESOURCE_MISSING")


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hooks",  # http is not allowed by default
        "ftp://93.184.215.14/hooks",
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",  # resolves to loopback
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://100.64.0.1/hooks",
        "https://0.0.0.0/hooks",
        "https://user:password@93.184.215.14/hooks",
        "https:///hooks",
        "https://no-such-host.invalid/hooks",
        "https://a..b/hooks",  # an empty label: no name (the resolver's IDNA codec raised)
        "https://" + "a" * 64 + ".example/hooks",  # a label over 63 characters
        "https://[64:ff9b::a00:1]/hooks",  # NAT64 of 10.0.0.1
        "not a url",
        "",
    ],
)
async def test_bad_urls_are_refused_naming_url(merchant: MerchantFixture, url: str) -> None:
    code, _, param = await _refused(_create(merchant.client, url, ["*"]))
    assert (code, param) == (grpc.StatusCode.INVALID_ARGUMENT, "url")
    listed = await merchant.client.events.ListWebhookEndpoints(
        event_pb2.ListWebhookEndpointsRequest()
    )
    assert list(listed.data) == []


async def test_unknown_event_types_are_refused_naming_the_type(merchant: MerchantFixture) -> None:
    with pytest.raises(aio.AioRpcError) as refused:
        await _create(merchant.client, PUBLIC_URL, ["payment_intent.succeeded", "charge.nope"])  # type: ignore[misc]
    error = rich_error(refused.value)
    assert (error.code, error.param) == (grpc.StatusCode.INVALID_ARGUMENT, "enabled_events[1]")
    assert "charge.nope" in (refused.value.details() or "")
    for events, param in ((["*", "refund.created"], "enabled_events"), ([], "enabled_events")):
        code, _, named = await _refused(_create(merchant.client, PUBLIC_URL, events))
        assert (code, named) == (grpc.StatusCode.INVALID_ARGUMENT, param)


async def test_stripes_charge_events_may_be_asked_for(merchant: MerchantFixture) -> None:
    """The charge.* events paycore records (docs/webhooks.md, "Charge events")."""
    asked = [
        "charge.succeeded",
        "charge.failed",
        "charge.captured",
        "charge.refunded",
        "charge.refund.updated",
        "charge.dispute.created",
    ]
    created = await _create(merchant.client, PUBLIC_URL, asked)  # type: ignore[misc]
    assert list(created.enabled_events) == asked


@pytest.mark.parametrize("charge_event", ["charge.expired", "charge.pending"])
async def test_stripes_charge_events_never_sent_are_refused(
    merchant: MerchantFixture, charge_event: str
) -> None:
    """Stripe's charge events paycore never records (an authorization does not expire, a
    charge is never pending when answered): an endpoint that asks for one
    is told so when it is made, rather than waiting forever."""
    with pytest.raises(aio.AioRpcError) as refused:
        await _create(merchant.client, PUBLIC_URL, ["refund.created", charge_event])  # type: ignore[misc]
    error = rich_error(refused.value)
    assert (error.code, error.param) == (grpc.StatusCode.INVALID_ARGUMENT, "enabled_events[1]")
    assert charge_event in (refused.value.details() or "")
    listed = await merchant.client.events.ListWebhookEndpoints(
        event_pb2.ListWebhookEndpointsRequest()
    )
    assert list(listed.data) == []


@pytest.mark.parametrize(
    "unsent",
    [
        "customer.subscription.trial_will_end",  # no reminder before a trial ends
        "payment_order.dead_lettered",  # the executor's state, not the order's
        "payment_order.requeued",
    ],
)
async def test_types_paycore_never_sends_are_refused(
    merchant: MerchantFixture, unsent: str
) -> None:
    """Stripe's (or once planned) types with no moment in paycore are not in the catalogue,
    so an endpoint cannot subscribe to them and wait forever."""
    with pytest.raises(aio.AioRpcError) as refused:
        await _create(merchant.client, PUBLIC_URL, ["customer.created", unsent])  # type: ignore[misc]
    error = rich_error(refused.value)
    assert (error.code, error.param) == (grpc.StatusCode.INVALID_ARGUMENT, "enabled_events[1]")
    assert unsent in (refused.value.details() or "")


async def test_at_most_sixteen_endpoints_per_merchant(merchant: MerchantFixture) -> None:
    for _ in range(16):
        await _create(merchant.client, PUBLIC_URL, ["*"])  # type: ignore[misc]
    code, reason, _ = await _refused(_create(merchant.client, PUBLIC_URL, ["*"]))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "WEBHOOK_ENDPOINT_LIMIT")


async def test_another_merchants_endpoints_and_deliveries_are_not_found(
    hooks: Hooks, shop: Shop
) -> None:
    receiver = await hooks.receiver(verified_by_stripe(lambda: []))
    mine = await endpoint(shop.client, receiver.url)
    event_id = await record(hooks.platform, shop.id)
    await hooks.deliver(hooks.deliverer())
    assert len(await deliveries(shop.client, mine.id)) == 1
    other = await create_merchant(hooks.admin, hooks.target, name="Globex")
    events = other.client.events
    try:
        calls = [
            events.GetWebhookEndpoint(event_pb2.GetWebhookEndpointRequest(id=mine.id)),
            events.UpdateWebhookEndpoint(
                event_pb2.UpdateWebhookEndpointRequest(id=mine.id, disabled=True)
            ),
            events.DeleteWebhookEndpoint(event_pb2.DeleteWebhookEndpointRequest(id=mine.id)),
            events.RollWebhookEndpointSecret(
                event_pb2.RollWebhookEndpointSecretRequest(id=mine.id)
            ),
            events.ListDeliveries(event_pb2.ListDeliveriesRequest(webhook_endpoint=mine.id)),
            events.ListDeliveries(event_pb2.ListDeliveriesRequest(event=event_id)),
            events.ResendEvent(event_pb2.ResendEventRequest(id=event_id, webhook_endpoint=mine.id)),
        ]
        for call in calls:
            code, reason, _ = await _refused(call)
            # NOT_FOUND for the endpoint the call is about; a field naming one (a filter, the
            # endpoint a resend goes to) is the request's bad argument.
            assert reason == "RESOURCE_MISSING"
            assert code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)
        assert list((await events.ListDeliveries(event_pb2.ListDeliveriesRequest())).data) == []
        listed = await events.ListWebhookEndpoints(event_pb2.ListWebhookEndpointsRequest())
        assert list(listed.data) == []
    finally:
        await other.client.close()
    still = await shop.client.events.GetWebhookEndpoint(
        event_pb2.GetWebhookEndpointRequest(id=mine.id)
    )
    assert still.status == event_pb2.WEBHOOK_ENDPOINT_STATUS_ENABLED


async def test_a_rolled_secret_verifies_with_either_secret_for_the_overlap(
    hooks: Hooks, shop: Shop
) -> None:
    standard_secrets: list[str] = []
    stripe_secrets: list[str] = []
    standard = await hooks.receiver(verified_by_standardwebhooks(lambda: standard_secrets))
    stripe = await hooks.receiver(verified_by_stripe(lambda: stripe_secrets))
    first = await endpoint(shop.client, standard.url)
    second = await endpoint(shop.client, stripe.url)
    rolled = {}
    for created in (first, second):
        key = idempotency_key(f"roll-{created.id}")
        request = event_pb2.RollWebhookEndpointSecretRequest(id=created.id)
        answer = await shop.client.events.RollWebhookEndpointSecret(request, metadata=key)
        replayed = await shop.client.events.RollWebhookEndpointSecret(request, metadata=key)
        assert answer.secret.startswith("whsec_") and answer.secret != created.secret
        assert replayed.secret == ""  # shown once, like the create's
        rolled[created.id] = answer.secret
    deliverer = hooks.deliverer()

    # During the overlap every delivery verifies with the old secret and with the new one.
    standard_secrets[:] = [first.secret, rolled[first.id]]
    stripe_secrets[:] = [second.secret, rolled[second.id]]
    during = await record(hooks.platform, shop.id)
    await hooks.deliver(deliverer)
    assert standard.event_ids(accepted_only=False) == [during]
    assert stripe.event_ids(accepted_only=False) == [during]
    assert standard.event_ids() == stripe.event_ids() == [during]
    assert len(standard.received[0].headers["webhook-signature"].split()) == 2

    # After 24 hours only the new secret signs: the old one no longer verifies.
    hooks.clock.advance(hours=24, seconds=1)
    standard_secrets[:] = [rolled[first.id]]
    stripe_secrets[:] = [second.secret]
    after = await record(hooks.platform, shop.id)
    await hooks.deliver(deliverer)
    assert standard.event_ids() == [during, after]
    # The `after` delivery by its event: on a loaded machine an attempt of `during` whose
    # answer came too late can be noted by the receiver after it.
    signatures = [
        len(got.headers["webhook-signature"].split())
        for got in standard.received
        if got.event["id"] == after
    ]
    assert signatures and set(signatures) == {1}
    assert stripe.event_ids() == [during]  # refused: signed only with the new secret
    assert stripe.received[-1].event["id"] == after


@pytest.mark.parametrize(
    "version",
    [
        "2099-01-01",  # of Stripe's form, but no version Stripe released
        "2024-02-30",  # no such day
        "2024-06-21",  # a day with no release
        "2025-03-31.clover",  # a real date under another release's name
        "2025-03-31.Basil",
        "latest",
    ],
)
async def test_an_unknown_api_version_is_refused_naming_it(
    merchant: MerchantFixture, version: str
) -> None:
    """Stripe answers invalid_request_error naming `api_version` for a version it never
    released; an endpoint is not made with one."""
    code, _, param = await _refused(
        merchant.client.events.CreateWebhookEndpoint(
            event_pb2.CreateWebhookEndpointRequest(
                url=PUBLIC_URL, enabled_events=["*"], api_version=version
            )
        )
    )
    assert (code, param) == (grpc.StatusCode.INVALID_ARGUMENT, "api_version")
    listed = await merchant.client.events.ListWebhookEndpoints(
        event_pb2.ListWebhookEndpointsRequest()
    )
    assert list(listed.data) == []


@pytest.mark.parametrize("version", ["2011-01-01", "2024-06-20", "2025-03-31.basil"])
async def test_a_released_api_version_is_taken(merchant: MerchantFixture, version: str) -> None:
    created = await merchant.client.events.CreateWebhookEndpoint(
        event_pb2.CreateWebhookEndpointRequest(
            url=PUBLIC_URL, enabled_events=["*"], api_version=version
        )
    )
    assert created.api_version == version


def test_every_version_the_stripe_sdk_knows_is_taken() -> None:
    """The Stripe SDK's own list (its WebhookEndpoint create's `api_version` Literal) is in
    paycore's: an SDK pinned to any of them may create an endpoint with it."""
    from stripe.params._webhook_endpoint_create_params import WebhookEndpointCreateParams

    (literal,) = typing.get_args(WebhookEndpointCreateParams.__annotations__["api_version"])
    known = set(typing.get_args(literal))
    assert len(known) > 100
    assert known <= STRIPE_API_VERSIONS


@pytest.mark.parametrize(
    ("version", "released"),
    [
        ("2026-10-28.endive", True),  # listed
        ("2026-11-25.endive", True),  # after the newest listed, before today: a newer SDK's
        ("2026-12-08", True),  # tomorrow: a caller a time zone ahead
        ("2026-12-09.endive", False),  # in the future
        ("2026-10-27", False),  # before the newest listed: a day with no release
        ("2026-11-31", False),  # no such day
        ("2026-11-25.Endive", False),
    ],
)
def test_a_version_newer_than_the_list_is_taken_unless_it_is_in_the_future(
    version: str, released: bool
) -> None:
    """A caller whose Stripe SDK is newer than paycore's list is not refused for it."""
    assert is_released(version, today=date(2026, 12, 7)) is released
