"""Method policies, read from the contract: each RPC's `(paycore.v1.policy)` option says who may
call it, which rate-limit class it counts against and whether it mutates."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from google.protobuf.descriptor import FileDescriptor, MethodDescriptor
from paycore.http_rules import http_bindings, path_segments
from paycore.runtime.messages import by_number
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


_RATE_CLASSES = by_number(RateClass, common_pb2.RateClass)


@dataclass(frozen=True)
class MethodPolicy:
    access: Access
    scope: str
    rate_class: RateClass
    mutating: bool
    per_client_address: bool = False
    """Rate-limited per client address whoever calls (the hosted checkout page's read)."""
    targets: frozenset[str] | None = None
    """For a method with HTTP routes, the request fields that name what the call is about: `id`
    and the routes' path variables (`/v1/exchange_rates/{base}/{quote}`). An object missing
    there is NOT_FOUND; one another field names (CreatePaymentIntent's `customer`) is a bad
    argument, INVALID_ARGUMENT with reason RESOURCE_MISSING, as Stripe answers 400
    `resource_missing` for it. None (methods without routes): every missing object is
    NOT_FOUND, as it is for the operators' and internal methods
    (`runtime.interceptors.errors.answered_status`)."""


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
                    targets=_targets(method),
                )
    return policies


def _targets(method: MethodDescriptor) -> frozenset[str] | None:
    """`id` and the request fields bound by every path of `method`'s HTTP rule and its
    additional bindings (`card` for `{card.id}`); None without a rule. A variable of one route
    only is a filter where the other routes take it (`GET /v1/payment_methods?customer=`
    beside `/v1/customers/{customer}/payment_methods`): the edge answers its missing object 404
    on the route whose path names it (`paycore.edge.errors.from_rpc_error`)."""
    bindings = http_bindings(method)
    if not bindings:
        return None
    in_every: set[str] | None = None
    for binding in bindings:
        pattern = binding.WhichOneof("pattern")
        if pattern is not None and pattern != "custom":
            segments = path_segments(getattr(binding, pattern), method.full_name)
            variables = {
                segment.variable.split(".")[0] for segment in segments if segment.literal is None
            }
            in_every = variables if in_every is None else in_every & variables
    return frozenset({"id", *(in_every or ())})


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
