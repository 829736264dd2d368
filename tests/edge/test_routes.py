"""Route compilation and matching, bracket notation and the JSON mapping, without a server."""

from __future__ import annotations

import pytest
from paycore import contracts
from paycore.edge.params import parse_params
from paycore.edge.routes import MethodNotAllowed, RouteNotFound, Router, compile_routes
from paycore.transcoding import JsonRejected, checked, enum_json_names, to_json, to_message
from paycore.v1 import account_pb2, payment_pb2


def _router() -> Router:
    return Router(compile_routes(contracts.proto_files(), contracts.method_policies()))


def test_every_annotated_method_has_a_route() -> None:
    routes = _router().routes
    annotated = {route.rpc_method for route in routes}
    assert "/paycore.v1.AccountService/GetMerchant" in annotated
    assert "/paycore.v1.PaymentService/CapturePaymentIntent" in annotated
    assert len(routes) >= 90


def test_literal_segments_win_and_variables_are_decoded() -> None:
    router = _router()
    route, variables = router.match("POST", "/v1/payment_intents/pi_1/capture")
    assert route.rpc_method.endswith("/CapturePaymentIntent") and variables == {"id": "pi_1"}
    route, variables = router.match("GET", "/v1/merchants/acct%5F1")
    assert variables == {"id": "acct_1"}
    with pytest.raises(MethodNotAllowed) as raised:
        router.match("PUT", "/v1/merchants/acct_1")
    assert raised.value.allowed == ["GET", "HEAD"]
    with pytest.raises(RouteNotFound):
        router.match("GET", "/v1/merchants/acct_1/extra")


def test_bracket_notation_builds_the_json_structure() -> None:
    pairs = [
        ("payment_orders[1][amount]", "600"),
        ("payment_orders[0][amount]", "500"),
        ("payment_orders[0][currency]", "usd"),
        ("metadata[order.id]", "7"),
    ]
    parsed = parse_params(pairs, payment_pb2.CreatePaymentRequest.DESCRIPTOR)
    assert parsed["payment_orders"] == [{"amount": "500", "currency": "usd"}, {"amount": "600"}]
    assert parsed["metadata"] == {"order.id": "7"}
    scopes = parse_params(
        [("scopes", "a"), ("scopes", "b")], account_pb2.CreateApiKeyRequest.DESCRIPTOR
    )
    assert scopes == {"scopes": ["a", "b"]}


def test_enums_are_lowercase_without_their_prefix_both_ways() -> None:
    names = enum_json_names(account_pb2.ApiKeyType.DESCRIPTOR)
    assert names["API_KEY_TYPE_RESTRICTED"] == "restricted"
    rendered = to_json(account_pb2.ApiKey(id="key_1", type=account_pb2.API_KEY_TYPE_RESTRICTED))
    assert rendered["type"] == "restricted"
    assert rendered["created"] == "0"  # int64 as a string, every field present
    fields = checked(account_pb2.ApiKey.DESCRIPTOR, rendered, from_text=False)
    assert to_message(account_pb2.ApiKey.DESCRIPTOR, fields) == account_pb2.ApiKey(
        id="key_1", type=account_pb2.API_KEY_TYPE_RESTRICTED
    )
    with pytest.raises(JsonRejected) as raised:
        checked(account_pb2.ApiKey.DESCRIPTOR, {"type": "API_KEY_TYPE_SECRET"}, from_text=False)
    assert raised.value.param == "type"
