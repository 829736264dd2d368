"""The edge's Stripe-compatible JSON over plain HTTP (paycore.stripe_json, edge/expand.py,
edge/declines.py); tests/clients drives the same with the official SDKs."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from paycore import contracts
from paycore.client import connect
from paycore.edge.routes import compile_routes
from paycore.ids import Prefix
from paycore.runtime.messages import Without
from paycore.stripe_json import (
    PSP_KINDS,
    REFERENCE_FIELDS,
    SHOWN_ONCE,
    is_id_reference,
    object_name,
    stripe_json,
)
from paycore.tools.psp import cards
from paycore.transcoding import is_map, is_well_known, message_of
from paycore.v1 import (
    account_pb2,
    customer_pb2,
    event_pb2,
    payment_pb2,
    reconciliation_pb2,
    subscription_pb2,
)

from tests.converters import servicer_converters
from tests.edge.helpers import call, card_method, new_merchant
from tests.payment.shop import PayIn, good_card


async def test_a_declined_confirmation_is_a_402_card_error(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    method = await card_method(payin_http, key, cards.CARD_INSUFFICIENT_FUNDS)
    declined = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        headers={"Idempotency-Key": "declined-1"},
        json_body={"amount": "2000", "currency": "usd", "payment_method": method, "confirm": True},
    )
    assert declined.status == 402, declined.body
    error = declined.body["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "insufficient_funds",
    )
    intent = error["payment_intent"]
    assert (intent["object"], intent["status"], intent["amount"]) == (
        "payment_intent",
        "requires_payment_method",
        2000,
    )
    assert intent["last_payment_error"]["code"] == "card_declined"  # CARD_DECLINED on gRPC
    replay = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        headers={"Idempotency-Key": "declined-1"},
        json_body={"amount": 2000, "currency": "usd", "payment_method": method, "confirm": True},
    )
    assert (replay.status, replay.body["error"]["payment_intent"]["id"]) == (402, intent["id"])
    read = await call(payin_http, "GET", f"/v1/payment_intents/{intent['id']}", key=key)
    assert read.status == 200  # reading a declined intent is not an error


async def test_the_processing_error_card_is_a_402_processing_error(
    payin_http: ClientSession, payin: PayIn
) -> None:
    """Stripe's 4000000000000119 is a decline with code processing_error, not a PSP outage:
    402 card_error at once, the intent back in requires_payment_method."""
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    method = await card_method(payin_http, key, cards.CARD_PROCESSING_ERROR)
    declined = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        json_body={"amount": "1500", "currency": "usd", "payment_method": method, "confirm": True},
    )
    assert declined.status == 402, declined.body
    error = declined.body["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "processing_error",
        "processing_error",
    )
    intent = error["payment_intent"]
    assert (intent["status"], intent["amount_received"]) == ("requires_payment_method", 0)
    assert intent["last_payment_error"]["code"] == "processing_error"
    read = await call(payin_http, "GET", f"/v1/payment_intents/{intent['id']}", key=key)
    assert read.body["status"] == "requires_payment_method"


async def test_expand_and_list_envelopes(payin_http: ClientSession, payin: PayIn) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    customer = await call(payin_http, "POST", "/v1/customers", key=key, form="email=e@x.test")
    method = await card_method(payin_http, key, good_card())
    await call(
        payin_http,
        "POST",
        f"/v1/payment_methods/{method}/attach",
        key=key,
        form=f"customer={customer.body['id']}",
    )
    created = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=700&currency=usd&customer={customer.body['id']}&payment_method={method}"
        "&expand[]=customer",
    )
    assert created.status == 200, created.body
    assert created.body["customer"]["object"] == "customer"
    listed = await call(
        payin_http,
        "GET",
        f"/v1/payment_intents?customer={customer.body['id']}&expand[0]=data.payment_method",
        key=key,
    )
    assert listed.status == 200, listed.body
    assert (listed.body["object"], listed.body["url"], listed.body["has_more"]) == (
        "list",
        "/v1/payment_intents",
        False,
    )
    assert listed.body["data"][0]["payment_method"]["id"] == method
    assert listed.body["data"][0]["customer"] == customer.body["id"]  # not asked for
    for wrong in ("nope", "amount", "customer.nope"):
        refused = await call(
            payin_http, "GET", f"/v1/payment_intents/{created.body['id']}?expand[]={wrong}", key=key
        )
        assert (refused.status, refused.error["param"]) == (400, "expand"), wrong


async def test_stripe_sdk_headers_are_accepted_and_ignored(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    answer = await call(
        payin_http,
        "GET",
        "/v1/customers",
        key=key,
        headers={
            "Stripe-Version": "2024-06-20",
            "X-Stripe-Client-User-Agent": '{"bindings_version": "16.1.0"}',
            "User-Agent": "Stripe/v1 PythonBindings/16.1.0",
        },
    )
    assert (answer.status, answer.body["object"]) == (200, "list")


async def test_stripe_account_is_refused_not_ignored(
    payin_http: ClientSession, payin: PayIn
) -> None:
    """Connect's header asks to act as another account; ignoring it would act on the caller's."""
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    answer = await call(
        payin_http,
        "POST",
        "/v1/customers",
        key=key,
        json_body={"email": "ada@example.com"},
        headers={"Stripe-Account": "acct_somebody"},
    )
    assert answer.status == 400, answer.body
    error = answer.body["error"]
    assert (error["code"], error["param"]) == ("header_unsupported", "Stripe-Account")
    # What does it instead, in the edge's (Stripe's) parameter names, not gRPC's fields.
    assert "account=acct_" in error["message"], error
    assert "transfer_data[destination]" in error["message"], error
    listed = await call(payin_http, "GET", "/v1/customers", key=key)
    assert listed.body["data"] == []


def test_the_renderer_names_objects_and_numbers() -> None:
    assert object_name(payment_pb2.PaymentIntent.DESCRIPTOR) == "payment_intent"
    assert object_name(customer_pb2.PaymentMethod.DESCRIPTOR) == "payment_method"
    assert object_name(subscription_pb2.TestClock.DESCRIPTOR) == "test_helpers.test_clock"
    assert object_name(payment_pb2.CreatePaymentIntentRequest.DESCRIPTOR) is None
    # A field named `object` is the message's own: a discrepancy's names what it is about.
    discrepancy = reconciliation_pb2.Discrepancy(id="disc_1", object="pi_1")
    assert object_name(reconciliation_pb2.Discrepancy.DESCRIPTOR) is None
    assert stripe_json(discrepancy)["object"] == "pi_1"
    intent = payment_pb2.PaymentIntent(id="pi_1", amount=2**40, created=1_700_000_000)
    intent.last_payment_error.code = "FRAUD_SUSPECTED"
    event = event_pb2.Event(id="evt_1", type="payment_intent.payment_failed", created=5)
    event.data.object.Pack(intent)
    rendered = stripe_json(event)
    assert list(rendered)[:2] == ["id", "object"] and rendered["created"] == 5
    inner = rendered["data"]["object"]
    assert "@type" not in inner
    assert (inner["object"], inner["amount"], inner["created"]) == (
        "payment_intent",
        2**40,
        1_700_000_000,
    )
    assert inner["last_payment_error"]["code"] == "fraud_suspected"
    listing = stripe_json(
        payment_pb2.ListPaymentIntentsResponse(data=[intent]), list_url="/v1/payment_intents"
    )
    assert (listing["object"], listing["url"], listing["data"][0]["id"]) == (
        "list",
        "/v1/payment_intents",
        "pi_1",
    )


async def test_an_unset_id_is_null_over_http_and_expands_to_null(
    payin_http: ClientSession, payin: PayIn
) -> None:
    """Stripe renders an absent reference as null (`if intent.customer:`, typed SDKs'
    Optional[str]); gRPC keeps proto3's ""."""
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    created = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form="amount=700&currency=usd&expand[]=customer&expand[]=payment_method",
    )
    assert created.status == 200, created.body
    intent = created.body
    assert (intent["customer"], intent["payment_method"], intent["invoice"]) == (None, None, None)
    assert intent["transfer_destination"] is None and intent["currency"] == "usd"
    assert intent["latest_charge"] is None  # the PSP's "ch_...", none before a charge
    assert intent["description"] is None  # text never given: null, as Stripe's
    listed = await call(payin_http, "GET", "/v1/payment_intents?expand[]=data.customer", key=key)
    assert listed.body["data"][0]["customer"] is None
    async with connect(payin.target, key) as client:
        on_grpc = await client.payments.GetPaymentIntent(
            payment_pb2.GetPaymentIntentRequest(id=intent["id"])
        )
    assert (on_grpc.customer, on_grpc.payment_method) == ("", "")


def test_id_references_are_the_fields_the_protos_say_hold_ids() -> None:
    """Every string field of an answer whose comment in the protos says it holds an id
    ("cus_...") renders null when empty, and every field rendered so is one of those (or a
    kind's name: `price`, `default_payment_method`), so a new reference cannot be missed by
    the rule in paycore.stripe_json."""
    said = _fields_commented_as_ids()
    answers = _answer_string_fields()
    references = {name for name, field in answers.items() if is_id_reference(field)}
    assert said & set(answers) <= references, sorted((said & set(answers)) - references)
    unexplained = {
        name
        for name in references - said
        if not any(name.endswith(f".{kind}") or name.endswith(f"_{kind}") for kind in _kinds())
    }
    assert unexplained <= {f"paycore.v1.{name}" for name in _MERCHANT_FIELDS}, unexplained
    assert set(answers) >= REFERENCE_FIELDS, sorted(REFERENCE_FIELDS - set(answers))
    # not references: an exchange rate's source ("ecb"), a client secret, text, requests
    for name in (
        "paycore.v1.ExchangeRate.source",
        "paycore.v1.PaymentIntent.client_secret",
        "paycore.v1.PaymentIntent.description",
        "paycore.v1.Customer.email",
    ):
        assert name in answers and not is_id_reference(answers[name]), name
    request = payment_pb2.UpdatePaymentIntentRequest.DESCRIPTOR.fields_by_name["customer"]
    assert not is_id_reference(request)


_MERCHANT_FIELDS = ("RiskPolicy.merchant", "SellerAccount.merchant")
"""`merchant` fields whose comment does not spell "acct_..." (the name says it)."""


def _kinds() -> list[str]:
    return [*(prefix.name.lower() for prefix in Prefix), *PSP_KINDS]


def _answer_string_fields() -> dict[str, FieldDescriptor]:
    """Every singular string field of a message an edge route answers with (nested ones too)
    but the objects' own ids."""
    found: dict[str, FieldDescriptor] = {}
    seen: set[str] = set()

    def walk(message: Descriptor) -> None:
        if message.full_name in seen or is_well_known(message):
            return
        seen.add(message.full_name)
        for field in message.fields:
            if field.type == FieldDescriptor.TYPE_MESSAGE and not is_map(field):
                walk(message_of(field))
            elif field.type == FieldDescriptor.TYPE_STRING and not field.is_repeated:
                found[field.full_name] = field

    for route in compile_routes(contracts.proto_files(), contracts.method_policies()):
        walk(route.output)
    return {name: field for name, field in found.items() if field.name != "id"}


def _fields_commented_as_ids() -> set[str]:
    """Full names of the fields whose leading comment names a paycore id ("cus_..."), read
    from the protos' source (protoc --include_source_info)."""
    prefixes = [*(prefix.value for prefix in Prefix), *PSP_KINDS.values()]
    quoted_id = re.compile(r'"(?:' + "|".join(prefixes) + r')_\.\.\."')
    gen_protos = _gen_protos()
    proto_root = gen_protos.PROTO_ROOT
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "protos.pb"
        protos = sorted((proto_root / gen_protos.GENERATED_PACKAGE).glob("*.proto"))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                *(f"--proto_path={path}" for path in gen_protos.include_paths()),
                "--include_source_info",
                f"--descriptor_set_out={output}",
                *(str(proto.relative_to(proto_root)) for proto in protos),
            ],
            check=True,
            cwd=proto_root,
        )
        files = descriptor_pb2.FileDescriptorSet.FromString(output.read_bytes())
    said: set[str] = set()
    for file in files.file:
        comments = {
            tuple(location.path): location.leading_comments
            for location in file.source_code_info.location
        }
        said |= _commented(file.message_type, (_MESSAGE,), file.package, comments, quoted_id)
    return said


def _commented(
    messages: Iterable[descriptor_pb2.DescriptorProto],
    path: tuple[int, ...],
    outer: str,
    comments: dict[tuple[int, ...], str],
    quoted_id: re.Pattern[str],
) -> set[str]:
    said: set[str] = set()
    for index, message in enumerate(messages):
        name = f"{outer}.{message.name}"
        for number, field in enumerate(message.field):
            if quoted_id.search(comments.get((*path, index, _FIELD, number), "")):
                said.add(f"{name}.{field.name}")
        said |= _commented(message.nested_type, (*path, index, _NESTED), name, comments, quoted_id)
    return said


def test_the_secrets_shown_once_are_those_the_converters_never_store() -> None:
    """A secret left out of the stored form of an answer (runtime.messages.without) is one
    the JSON omits when empty: a GET of a merchant shows no `secret_key`, not ""."""
    stored_forms = {
        f"{converter.message_type.DESCRIPTOR.full_name}.{name}"
        for converter in servicer_converters().values()
        if isinstance(converter.stored_form, Without)
        for name in converter.stored_form.names
    }
    assert stored_forms == SHOWN_ONCE
    merchant = account_pb2.Merchant(id="acct_1", name="Acme", secret_key="")
    rendered = stripe_json(merchant)
    assert "secret_key" not in rendered and "publishable_key" not in rendered
    assert rendered["name"] == "Acme" and rendered["email"] == ""  # other text stays ""
    assert stripe_json(account_pb2.Merchant(id="acct_1", secret_key="sk_1"))["secret_key"] == "sk_1"


def _gen_protos() -> Any:
    """scripts/gen_protos.py, whose include paths are the ones `make protos` compiles with."""
    spec = importlib.util.spec_from_file_location("gen_protos", _ROOT / "scripts" / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_ROOT = Path(__file__).resolve().parents[2]

# Field numbers of FileDescriptorProto.message_type, DescriptorProto.field and .nested_type:
# a SourceCodeInfo location's path walks them.
_MESSAGE, _FIELD, _NESTED = 4, 2, 3
