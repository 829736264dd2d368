"""The contract as the server sees it: every paycore.v1 proto file, service and method policy."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any

from google.protobuf.descriptor import FileDescriptor
from paycore import v1
from paycore.runtime.policy import MethodPolicy, policies_of


@cache
def proto_files() -> tuple[FileDescriptor, ...]:
    modules = sorted(
        module.name for module in pkgutil.iter_modules(v1.__path__) if module.name.endswith("_pb2")
    )
    return tuple(importlib.import_module(f"paycore.v1.{name}").DESCRIPTOR for name in modules)


def service_names() -> list[str]:
    """Full names of every paycore service, e.g. "paycore.v1.AccountService"."""
    return sorted(
        service.full_name for file in proto_files() for service in file.services_by_name.values()
    )


def method_policies() -> dict[str, MethodPolicy]:
    return policies_of(list(proto_files()))


def scope_resources(policies: dict[str, MethodPolicy]) -> frozenset[str]:
    """Resources a restricted key can be scoped to: those the contract's methods name."""
    return frozenset(policy.scope.split(":")[0] for policy in policies.values() if policy.scope)


def enum_number(enum_type: Any, prefix: str, value: str) -> Any:
    """The number of a proto enum value from its lowercase name (`succeeded` ->
    PAYMENT_INTENT_STATUS_SUCCEEDED with prefix PAYMENT_INTENT_STATUS)."""
    return enum_type.Value(f"{prefix}_{value.upper()}")
