"""An enum value the call does not take, at the REST edge: named by the lowercase names a JSON
client sends (tests/runtime/test_enum_errors.py: the same over gRPC)."""

from __future__ import annotations

from aiohttp import ClientSession
from paycore.ids import Prefix, new_id

from tests.edge.helpers import call


async def test_a_value_the_server_refuses_is_told_with_the_json_names(
    http: ClientSession, settings_admin_token: str
) -> None:
    """`setup` is a name the edge knows (its own check passes it on); the executor runs no
    setup by this call: the answer lists the lowercase names, as the edge's own check does,
    not the proto names and not a number."""
    body = {"payment_intent": new_id(Prefix.PAYMENT_INTENT, 0), "operation": "setup"}

    answer = await call(
        http, "POST", "/v1/executor/executions", key=settings_admin_token, json_body=body
    )

    assert (answer.status, answer.error["param"]) == (400, "operation"), answer.body
    assert answer.error["code"] == "parameter_unknown_enum"
    assert answer.error["message"] == (
        "operation: must be one of charge, authorize, capture, void, refund, payout (not setup)"
    )
