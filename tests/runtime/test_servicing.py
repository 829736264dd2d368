"""runtime/servicing's declared RPCs (`Rpcs`): read on a servicer, each is an async method of
that servicer, as grpc's generated `add_*_to_server` reads and calls it, running the shared
skeleton over the servicer's own domain call. The services' tests call every declared RPC
over gRPC; these check the descriptor itself."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import cast

import pytest
from paycore import contracts
from paycore.errors import ApiError, Reason
from paycore.ids import Prefix, new_id
from paycore.runtime.context import CallContext, Caller, CallerKind, begin_call
from paycore.runtime.servicing import Context, Rpc, Rpcs
from paycore.v1 import customer_pb2

NO_CONTEXT = cast(Context, None)  # paycore's methods leave the context unused
MERCHANT_ID = new_id(Prefix.ACCOUNT, 3)


@dataclass(frozen=True)
class _Things:
    """A domain read: (merchant_id, object_id) -> its object."""

    async def get(self, merchant_id: str, object_id: str) -> tuple[str, str]:
        return merchant_id, object_id


rpcs: Rpcs[_Servicer] = Rpcs()


@dataclass(frozen=True, slots=True)
class _Servicer:
    _things: _Things

    GetCustomer = rpcs.get(Prefix.CUSTOMER, lambda s: s._things.get, "/".join)


def _call_as_merchant() -> None:
    policy = contracts.method_policies()["/paycore.v1.CustomerService/GetCustomer"]
    caller = Caller(CallerKind.SECRET_KEY, MERCHANT_ID, "key")
    begin_call(CallContext("GetCustomer", "req-test", policy, caller))


async def test_a_declared_rpc_is_an_async_method_of_each_servicer() -> None:
    assert isinstance(_Servicer.GetCustomer, Rpc)  # on the class: the declaration
    method = _Servicer(_Things()).GetCustomer
    # grpc.aio awaits a coroutine function and runs any other handler in its thread pool.
    assert inspect.iscoroutinefunction(method)
    assert list(inspect.signature(method).parameters) == ["request", "context"]
    _call_as_merchant()
    customer_id = new_id(Prefix.CUSTOMER, 3)
    request = customer_pb2.GetCustomerRequest(id=customer_id)
    assert await method(request, NO_CONTEXT) == f"{MERCHANT_ID}/{customer_id}"


async def test_a_declared_get_checks_the_id_before_reading() -> None:
    _call_as_merchant()
    method = _Servicer(_Things()).GetCustomer
    for wrong, reason in (("", Reason.PARAMETER_MISSING), ("pm_123", Reason.ID_MALFORMED)):
        with pytest.raises(ApiError) as refused:
            await method(customer_pb2.GetCustomerRequest(id=wrong), NO_CONTEXT)
        assert (refused.value.reason, refused.value.param) == (reason, "id")
