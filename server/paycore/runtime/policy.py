"""Method policies, read from the contract: each RPC's `(paycore.v1.policy)` option says who may
call it, which rate-limit class it counts against and whether it mutates."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from google.protobuf.descriptor import FileDescriptor
from paycore.v1 import common_pb2


class Access(Enum):
    SECRET = common_pb2.ACCESS_SECRET
    PUBLISHABLE = common_pb2.ACCESS_PUBLISHABLE
    ADMIN = common_pb2.ACCESS_ADMIN
    INTERNAL = common_pb2.ACCESS_INTERNAL


class RateClass(Enum):
    OTHER = "other"
    PAYMENTS = "payments"
    SUBSCRIPTIONS = "subscriptions"


_RATE_CLASSES = {
    common_pb2.RATE_CLASS_OTHER: RateClass.OTHER,
    common_pb2.RATE_CLASS_PAYMENTS: RateClass.PAYMENTS,
    common_pb2.RATE_CLASS_SUBSCRIPTIONS: RateClass.SUBSCRIPTIONS,
}


@dataclass(frozen=True)
class MethodPolicy:
    access: Access
    scope: str
    rate_class: RateClass
    mutating: bool
    per_client_address: bool = False
    """Rate-limited per client address whoever calls (the hosted checkout page's read)."""


def policies_of(files: list[FileDescriptor]) -> dict[str, MethodPolicy]:
    """Full method name ("/paycore.v1.AccountService/GetMerchant") -> its policy."""
    policies = {}
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                option = method.GetOptions().Extensions[common_pb2.policy]
                policies[f"/{service.full_name}/{method.name}"] = MethodPolicy(
                    access=Access(option.access),
                    scope=option.scope,
                    rate_class=_RATE_CLASSES[option.rate_class],
                    mutating=option.mutating,
                    per_client_address=option.per_client_address,
                )
    return policies


def is_operator_method(policy: MethodPolicy) -> bool:
    """Admin and internal methods: no merchant key may call them."""
    return policy.access in (Access.ADMIN, Access.INTERNAL)


def internal_services(policies: dict[str, MethodPolicy]) -> frozenset[str]:
    """Services whose every method is internal (ledger, executor, reconciliation): they are
    served on the internal port when there is one, and never reflected on the public one."""
    by_service: dict[str, list[MethodPolicy]] = {}
    for method, policy in policies.items():
        by_service.setdefault(method.split("/")[1], []).append(policy)
    return frozenset(
        service
        for service, methods in by_service.items()
        if all(policy.access is Access.INTERNAL for policy in methods)
    )
