"""The shape every paycore interceptor shares: wrap a method's unary behaviour with `around`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeAlias

import grpc
from grpc import aio
from paycore.runtime.context import Metadata
from paycore.runtime.policy import MethodPolicy

Context = aio.ServicerContext[Any, Any]
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # generic in the stubs only
Behavior = Callable[[Any, Context], Awaitable[Any]]
Continuation: TypeAlias = "Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]"


class WrappingInterceptor(aio.ServerInterceptor):
    """Wraps each method's handler once (`WrappedHandlers`) with what `wrap` returns."""

    def __init__(self) -> None:
        self._wrapped = WrappedHandlers()

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        return self._wrapped.get(method, handler, lambda: self.wrap(handler, method))

    def wrap(self, handler: Handler | None, method: str) -> Handler | None:
        raise NotImplementedError


class InterceptorChain(WrappingInterceptor):
    """Wrapping interceptors, outermost first, run as one interceptor. grpc.aio awaits every
    interceptor's `intercept_service` on every call (a coroutine and a continuation each);
    the chain asks for the method's handler once and wraps it with each interceptor's `wrap`,
    innermost first, once per method: the call then goes through the same `around`s in the
    same order as through the interceptors one by one."""

    def __init__(self, interceptors: Sequence[WrappingInterceptor]) -> None:
        super().__init__()
        self._innermost_first = tuple(reversed(interceptors))

    def wrap(self, handler: Handler | None, method: str) -> Handler | None:
        for interceptor in self._innermost_first:
            handler = interceptor.wrap(handler, method)
        return handler


class PolicyInterceptor(WrappingInterceptor):
    """Wraps the unary behaviour of paycore's own methods (those with a policy) with `around`;
    health and reflection pass through."""

    def __init__(self, policies: Mapping[str, MethodPolicy]) -> None:
        super().__init__()
        self._policies = policies

    def wrap(self, handler: Handler | None, method: str) -> Handler | None:
        policy = self._policies.get(method)
        if policy is None:
            return handler
        return self._wrap(handler, method, policy)

    def _wrap(self, handler: Handler | None, method: str, policy: MethodPolicy) -> Handler | None:
        """The method's handler with its unary behaviour called through `around` (an
        interceptor that must change more, such as deserialization, overrides this)."""
        return wrap_unary(handler, partial(self.around, method=method, policy=policy))

    async def around(
        self, behavior: Behavior, request: Any, context: Context, method: str, policy: MethodPolicy
    ) -> Any:
        raise NotImplementedError


class WrappedHandlers:
    """An interceptor's wrapped handler per method, made on the method's first call: grpc.aio
    runs every interceptor for every call, and the handler it gets for a method is always the
    same one, so wrapping it anew each time (two closures and a new RpcMethodHandler) was
    wasted work on the hot path. Only methods with a handler are remembered (callers choose
    the method names)."""

    def __init__(self) -> None:
        self._by_method: dict[str, tuple[Handler, Handler | None]] = {}

    def get(
        self, method: str, handler: Handler | None, wrap: Callable[[], Handler | None]
    ) -> Handler | None:
        if handler is None:
            return None  # an unknown method: nothing to wrap, and nothing to remember
        found = self._by_method.get(method)
        if found is not None and found[0] is handler:
            return found[1]
        wrapped = wrap()
        self._by_method[method] = (handler, wrapped)
        return wrapped


def wrap_unary(
    handler: Handler | None,
    around: Callable[[Behavior, Any, Context], Awaitable[Any]],
) -> Handler | None:
    """The same handler with its unary-unary behaviour called through `around`: a partial, not
    a coroutine function of its own, so that each interceptor adds one coroutine frame to the
    call, which every resume of the call's task passes through (grpc.aio takes a partial of
    a coroutine function for one, as `inspect.iscoroutinefunction` does)."""
    if handler is None or handler.unary_unary is None:
        return handler  # an unknown method, or a stream: untouched
    behavior: Behavior = handler.unary_unary  # type: ignore[assignment]  # stubs: sync only
    return grpc.unary_unary_rpc_method_handler(
        partial(around, behavior),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def metadata_value(metadata: Metadata, name: str) -> str | None:
    """The first value of header `name` in `metadata` (the call's: `CallContext.metadata`)."""
    for key, value in metadata:
        if key == name:
            return value if isinstance(value, str) else value.decode()
    return None


def given_twice(metadata: Metadata, name: str) -> bool:
    """Whether header `name` comes more than once in `metadata`: a header that decides who
    calls, for whom, or which stored answer is given (`authorization`, `paycore-merchant`,
    `idempotency-key`) is then refused, not read as its first value."""
    return sum(1 for key, _ in metadata if key == name) > 1
