"""A timestamp that has not happened renders null on the REST edge, as Stripe's do (an intent's
`canceled_at` before a cancel, a subscription's `trial_start` without a trial), not 0, which a
client reads as 1970; once it happens, its unix seconds. gRPC keeps proto3's 0."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import ClientSession
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import FieldDescriptor
from paycore.stripe_json import NULL_WHEN_ZERO, stripe_json
from paycore.v1 import payment_pb2, subscription_pb2

from tests.edge.helpers import call, card_method, new_merchant
from tests.payment.shop import PayIn, good_card


def test_each_unset_timestamp_renders_null_and_a_set_one_its_seconds() -> None:
    intent = stripe_json(payment_pb2.PaymentIntent(id="pi_1", created=1_700_000_000))
    assert (intent["canceled_at"], intent["created"]) == (None, 1_700_000_000)
    subscription = stripe_json(subscription_pb2.Subscription(id="sub_1", canceled_at=1_700_000_500))
    assert (subscription["trial_start"], subscription["trial_end"]) == (None, None)
    assert (subscription["canceled_at"], subscription["ended_at"]) == (1_700_000_500, None)
    invoice = stripe_json(subscription_pb2.Invoice(id="in_1", paid_at=1_700_000_900))
    assert (invoice["next_payment_attempt"], invoice["paid_at"]) == (None, 1_700_000_900)


def test_every_listed_timestamp_is_an_int64_field_of_the_contract() -> None:
    """A misspelt name would leave its field rendering 0, silently."""
    for full_name in NULL_WHEN_ZERO:
        field = descriptor_pool.Default().FindFieldByName(full_name)
        assert field.cpp_type == FieldDescriptor.CPPTYPE_INT64, full_name


PROTOS = Path(__file__).parents[2] / "protos" / "paycore" / "v1"
_NOT_YET = re.compile(r"unix seconds.*; 0 (while|until|before|when|if never)", re.IGNORECASE)


def _not_yet_timestamps() -> set[str]:
    """Every int64 field of an object (not a request) whose comment says it is unix seconds and
    0 until it happens, read from the protos: `// Unix seconds; 0 while running.`"""
    found = set()
    for proto in sorted(PROTOS.glob("*.proto")):
        scope: list[str] = []
        comment = ""
        for line in proto.read_text().splitlines():
            stripped = line.strip()
            opened = re.match(r"(message|enum|service|oneof) (\w+) \{", stripped)
            if opened:
                scope.append(opened.group(2) if opened.group(1) == "message" else "")
            elif stripped.endswith("{"):
                scope.append("")  # an rpc, an option's value
            elif stripped in ("}", "};"):
                scope.pop()
            elif stripped.startswith("//"):
                comment += " " + stripped.removeprefix("//").strip()
                continue
            field = re.match(r"int64 (\w+) = \d+;", stripped)
            names = [name for name in scope if name]
            if field and _NOT_YET.search(comment) and not names[0].endswith("Request"):
                found.add("paycore.v1." + ".".join([*names, field.group(1)]))
            comment = ""
    return found


def test_every_timestamp_the_contract_says_is_0_until_it_happens_is_listed() -> None:
    """A reconciliation run's `finished` (0 while running), a discrepancy's `resolved`, a
    pending transfer's `expires_at`, an attempt's `finished`, a manual schedule's `next_payout`
    rendered 0, read as 1970."""
    found = _not_yet_timestamps()
    assert "paycore.v1.PaymentIntent.canceled_at" in NULL_WHEN_ZERO
    assert len(found) >= 10, found
    assert found - NULL_WHEN_ZERO == set()


async def test_an_intents_canceled_at_is_null_until_it_is_canceled(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    method = await card_method(payin_http, key, good_card())
    created = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        json_body={"amount": 1000, "currency": "usd", "payment_method": method},
    )
    assert created.status == 200, created.body
    assert created.body["canceled_at"] is None
    path = f"/v1/payment_intents/{created.body['id']}"
    canceled = await call(payin_http, "POST", f"{path}/cancel", key=key)
    read = await call(payin_http, "GET", path, key=key)

    assert canceled.status == 200, canceled.body
    assert canceled.body["status"] == "canceled"
    assert isinstance(read.body["canceled_at"], int)
    assert read.body["canceled_at"] >= read.body["created"] > 0
