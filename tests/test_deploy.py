"""The ghz configs under deploy/ call methods that exist, with fields their requests have."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import descriptor_pool, json_format, message_factory
from paycore import contracts

GHZ = sorted((Path(__file__).parent.parent / "deploy" / "ghz").glob("*.json"))


@pytest.mark.parametrize("path", GHZ, ids=[path.name for path in GHZ])
def test_a_ghz_config_calls_a_real_method_with_its_fields(path: Path) -> None:
    config = json.loads(path.read_text())
    contracts.proto_files()  # registers every paycore message in the default pool
    import grpc_health.v1.health_pb2  # noqa: F401 - health.json calls it

    service_name, _, method_name = config["call"].rpartition(".")
    service = descriptor_pool.Default().FindServiceByName(service_name)
    method = service.FindMethodByName(method_name)
    assert method is not None, config["call"]
    request_type = message_factory.GetMessageClass(method.input_type)
    # Unknown fields and values of the wrong type raise.
    json_format.ParseDict(config.get("data", {}), request_type())
