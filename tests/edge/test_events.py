"""EventService over the REST edge: a merchant's events in JSON, their objects rendered as the
edge renders any object (int64 as strings, enums lowercase), paged and filtered by type."""

from __future__ import annotations

from aiohttp import ClientSession
from paycore.app import Platform
from paycore.events.servicer.messages import EVENT_API_VERSION

from tests.edge.helpers import call, new_merchant
from tests.events.support import record


async def test_events_list_and_read_back_with_their_objects(
    http: ClientSession, platform: Platform, settings_admin_token: str
) -> None:
    merchant = await new_merchant(http, settings_admin_token)
    other = await new_merchant(http, settings_admin_token)
    created = await record(platform, merchant["id"], "payment_intent.created", amount=700)
    succeeded = await record(platform, merchant["id"], "payment_intent.succeeded", amount=700)
    refunded = await record(platform, merchant["id"], "refund.created")
    key = merchant["secret_key"]

    listed = await call(http, "GET", "/v1/events?limit=2", key=key)
    assert listed.status == 200, listed.body
    assert [event["id"] for event in listed.body["data"]] == [refunded, succeeded]
    assert listed.body["has_more"] is True
    rest = await call(http, "GET", f"/v1/events?limit=2&starting_after={succeeded}", key=key)
    assert [event["id"] for event in rest.body["data"]] == [created]
    assert rest.body["has_more"] is False
    by_type = await call(http, "GET", "/v1/events?type=payment_intent.*", key=key)
    assert [event["id"] for event in by_type.body["data"]] == [succeeded, created]

    event = await call(http, "GET", f"/v1/events/{succeeded}", key=key)
    assert event.status == 200, event.body
    assert event.body["type"] == "payment_intent.succeeded"
    assert (event.body["object"], event.body["created"] > 0) == ("event", True)
    intent = event.body["data"]["object"]  # the object itself, as Stripe nests it (no "@type")
    assert (intent["object"], intent["amount"], intent["status"]) == (
        "payment_intent",
        700,
        "requires_capture",
    )

    # Recorded outside any API call (a background job's): Stripe's request with null fields.
    assert event.body["request"] == {"id": None, "idempotency_key": None}
    assert (event.body["api_version"], event.body["pending_webhooks"]) == (EVENT_API_VERSION, 0)

    hidden = await call(http, "GET", f"/v1/events/{succeeded}", key=other["secret_key"])
    assert (hidden.status, hidden.error["code"]) == (404, "resource_missing")
    bad_type = await call(http, "GET", "/v1/events?type=nope", key=key)
    assert (bad_type.status, bad_type.error["param"]) == (400, "type")


async def test_webhook_endpoints_over_rest_show_the_secret_once(
    http: ClientSession, settings_admin_token: str
) -> None:
    merchant = await new_merchant(http, settings_admin_token)
    key = merchant["secret_key"]
    # A public address given as an IP literal: no DNS needed, and not a private network.
    body = {"url": "https://93.184.215.14/hooks", "enabled_events": ["payment_intent.succeeded"]}
    created = await call(http, "POST", "/v1/webhook_endpoints", key=key, json_body=body)
    assert created.status == 200, created.body
    assert created.body["secret"].startswith("whsec_")
    assert created.body["status"] == "enabled"
    endpoint = created.body["id"]
    fetched = await call(http, "GET", f"/v1/webhook_endpoints/{endpoint}", key=key)
    assert (fetched.status, "secret" in fetched.body) == (200, False)  # shown once
    rolled = await call(http, "POST", f"/v1/webhook_endpoints/{endpoint}/roll_secret", key=key)
    assert rolled.body["secret"].startswith("whsec_")
    assert rolled.body["secret"] != created.body["secret"]
    private = {"url": "https://127.0.0.1/hooks", "enabled_events": ["*"]}
    refused = await call(http, "POST", "/v1/webhook_endpoints", key=key, json_body=private)
    assert (refused.status, refused.error["param"]) == (400, "url")
    deliveries = await call(
        http, "GET", f"/v1/webhook_deliveries?webhook_endpoint={endpoint}", key=key
    )
    assert (deliveries.status, deliveries.body["data"]) == (200, [])
    listed = await call(http, "GET", "/v1/webhook_endpoints", key=key)
    assert [item["id"] for item in listed.body["data"]] == [endpoint]
    updated = await call(
        http,
        "POST",
        f"/v1/webhook_endpoints/{endpoint}",
        key=key,
        json_body={"disabled": True, "description": "paused"},
    )
    assert (updated.body["status"], updated.body["description"]) == ("disabled", "paused")
    unknown_event = "evt_" + "1" * 22
    resend = await call(
        http,
        "POST",
        f"/v1/events/{unknown_event}/resend",
        key=key,
        json_body={"webhook_endpoint": endpoint},
    )
    assert (resend.status, resend.error["code"]) == (404, "resource_missing")
    deleted = await call(http, "DELETE", f"/v1/webhook_endpoints/{endpoint}", key=key)
    assert deleted.body == {"id": endpoint, "object": "webhook_endpoint", "deleted": True}
    gone = await call(http, "GET", f"/v1/webhook_endpoints/{endpoint}", key=key)
    assert gone.status == 404


async def test_an_event_names_the_call_that_caused_it(
    http: ClientSession, settings_admin_token: str
) -> None:
    """Stripe's `request`: the id the edge answered in `Request-Id` and the `Idempotency-Key`
    the call sent; a call without a key gives null for it."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    keyed = await call(
        http,
        "POST",
        "/v1/customers",
        key=key,
        form="name=Ada",
        headers={"Idempotency-Key": "ada-once"},
    )
    plain = await call(http, "POST", "/v1/customers", key=key, form="name=Bo")
    assert (keyed.status, plain.status) == (200, 200), (keyed.body, plain.body)

    listed = await call(http, "GET", "/v1/events?type=customer.created", key=key)
    by_object = {event["data"]["object"]["id"]: event for event in listed.body["data"]}
    assert by_object[keyed.body["id"]]["request"] == {
        "id": keyed.headers["Request-Id"],
        "idempotency_key": "ada-once",
    }
    assert by_object[plain.body["id"]]["request"] == {
        "id": plain.headers["Request-Id"],
        "idempotency_key": None,
    }
    for event in by_object.values():
        read = await call(http, "GET", f"/v1/events/{event['id']}", key=key)
        assert read.body == event
        assert (read.body["api_version"], read.body["pending_webhooks"]) == (EVENT_API_VERSION, 0)
        assert keyed.headers["Request-Id"].startswith("req_")
