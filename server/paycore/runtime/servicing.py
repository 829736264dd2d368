"""What every servicer shares: how it is added to the server, who the call acts for, and the
RPC methods whose only logic is the shared one, so that a servicer names only what is its own.

A Get, a List (with no filter, or with filters one function reads from the request), a create,
a change of the one object `request.id` names and an update of its metadata alone are declared
by what differs, one class attribute each (`Rpcs`, `ChangingRpcs`); a method with logic of its
own (a check beyond the id, work after the change) is written out from the same pieces
(`merchant_and_id`, `merchant_and_cursor`, `page_response`, Mutations).
paycore.customer.servicer has both kinds; in short:

    rpcs: ChangingRpcs[CustomerServicer] = ChangingRpcs()   # names the servicer the lambdas get

    class CustomerServicer(customer_pb2_grpc.CustomerServiceServicer):   # fields: _service, ...
        CreateCustomer = rpcs.change(render, lambda s: s._service.create_customer, checks)
        GetCustomer = rpcs.get(Prefix.CUSTOMER, lambda s: s._service.get_customer, render)

        async def ListCustomers(self, request, context) -> customer_pb2.ListCustomersResponse:
            merchant_id, cursor = merchant_and_cursor(request, Prefix.CUSTOMER)
            email = validation.email("email", request.email, required=False)
            ...

    def register(server: aio.Server, service: CustomerService, mutations: Mutations) -> str:
        add = customer_pb2_grpc.add_CustomerServiceServicer_to_server  # generated
        return add_servicer(server, add, CustomerServicer(service, mutations))

`render` is customer_message, a paycore.runtime.messages.Converter: a change takes one (Mutations
answers with its message type), a read any function of the domain value. mypy checks each
declaration against the generated base's method (its request and answer), as it would a method
written out. A change goes through `Mutations` (paycore.runtime.mutations)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, Protocol, Self, TypeVar, cast, overload

from google.protobuf.message import Message
from grpc import aio
from paycore import validation
from paycore.errors import invalid
from paycore.ids import Prefix
from paycore.invariants import invariant
from paycore.ranges import ALL_SECONDS, SecondsRange
from paycore.records import MetadataChange
from paycore.runtime.context import current_call
from paycore.runtime.messages import Converter
from paycore.runtime.mutations import Mutations
from paycore.storage.reads import Cursor, Page
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")
R = TypeVar("R")
ServicerT = TypeVar("ServicerT")
ResponseT = TypeVar("ResponseT", bound=Message)
RequestT = TypeVar("RequestT", bound=Message)
CheckedT = TypeVar("CheckedT")
ChangingT = TypeVar("ChangingT", bound="Changing")
IdRequestT = TypeVar("IdRequestT", bound="IdRequest")
RequestT_contra = TypeVar("RequestT_contra", contravariant=True)
AnswerT_co = TypeVar("AnswerT_co", covariant=True)
RequestT_inv = TypeVar("RequestT_inv")
AnswerT = TypeVar("AnswerT")
ListRequestT = TypeVar("ListRequestT", bound="ListRequest")
WantedT = TypeVar("WantedT")

Context = aio.ServicerContext[Any, Any]
"""The context every servicer method receives (and paycore's leave unused: errors are raised)."""


class IdRequest(Protocol):
    """A request naming one object by its `id` (GetX, CancelX, ...)."""

    @property
    def id(self) -> str: ...


class MetadataUpdate(Protocol):
    """An update's request that changes the object's metadata (UpdateCustomer, ...)."""

    @property
    def metadata(self) -> Mapping[str, str]: ...
    @property
    def clear_metadata(self) -> bool: ...


class MetadataUpdateById(IdRequest, MetadataUpdate, Protocol):
    """An update of nothing but the metadata of the object `request.id` names (UpdateRefund,
    UpdatePayout: all Stripe's update of a refund or a payout takes)."""


class ListRequest(Protocol):
    """A List's request: the page's size and where it starts."""

    @property
    def limit(self) -> int: ...
    @property
    def starting_after(self) -> str: ...
    @property
    def ending_before(self) -> str: ...


def add_servicer(
    server: aio.Server, add: Callable[[ServicerT, aio.Server], None], servicer: ServicerT
) -> str:
    """Adds `servicer` to `server` with its generated `add_*_to_server`; returns the full name
    of the service that function registered (what health reports SERVING), so the name cannot
    differ from the service served."""
    recording = _Recording(server)
    add(servicer, cast(aio.Server, recording))
    invariant(len(recording.names) == 1, "a generated add_*_to_server adds one service")
    return recording.names[0]


def joined(*parts: object) -> Any:
    """One servicer of a service whose methods several objects serve between them (EventService:
    its events paycore.events', its webhook endpoints and deliveries paycore.webhooks'), for
    `add_servicer`: each method is the one part's that has it. The generated `add_*_to_server`
    reads every method when it adds the service, so a method no part serves fails there."""
    return _Joined(parts)


class _Joined:
    def __init__(self, parts: tuple[object, ...]) -> None:
        self._parts = parts

    def __getattr__(self, name: str) -> Any:
        found = [getattr(part, name) for part in self._parts if hasattr(part, name)]
        if not found:
            raise AttributeError(name)
        invariant(len(found) == 1, f"{name} is served by one part")
        return found[0]


class _Recording:
    """`server` as a generated `add_*_to_server` sees it, noting the service names it adds."""

    def __init__(self, server: aio.Server) -> None:
        self._server = server
        self.names: list[str] = []

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service_name: str, handlers: Any) -> None:
        self.names.append(service_name)
        self._server.add_registered_method_handlers(service_name, handlers)


def acting_merchant() -> str | None:
    """The merchant the call acts for: a merchant key's own, or the one an operator named in
    `paycore-merchant`; None for an operator acting for none (any merchant)."""
    caller = current_call().caller
    return None if caller is None else caller.merchant_id


def merchant_and_id(object_id: str, prefix: Prefix, param: str = "id") -> tuple[str, str]:
    """The caller's merchant (PERMISSION_DENIED naming `paycore-merchant` for an operator that
    named none), then `object_id` checked as an id of `prefix` (INVALID_ARGUMENT naming
    `param`), in that order."""
    merchant_id = current_call().require_merchant()
    return merchant_id, validation.object_id(param, object_id, prefix)


async def get_by_id(
    request: IdRequest,
    prefix: Prefix,
    read: Callable[[str, str], Awaitable[T]],
    render: Callable[[T], R],
) -> R:
    """A Get of one of the caller's merchant's objects: `merchant_and_id` of `request.id`, then
    `render(await read(merchant_id, object_id))` (`read` raises NOT_FOUND)."""
    merchant_id, object_id = merchant_and_id(request.id, prefix)
    return render(await read(merchant_id, object_id))


def cursor_of(request: ListRequest, prefix: Prefix) -> Cursor:
    """INVALID_ARGUMENT naming `limit` (1..100, 0 means 10), `starting_after` or
    `ending_before` (an id of the listed kind; the two never together, as Stripe's), or a bound
    of `created` (`created.gte`: each 0..SECONDS_MAX) where the List takes a range."""
    return cursor_with(
        request, lambda param, value: validation.object_id(param, value, prefix, required=False)
    )


def cursor_with(request: ListRequest, cursor_id: Callable[[str, str], str]) -> Cursor:
    """As `cursor_of`, for a List whose ids are not paycore's own (the PSP's ch_): `cursor_id`
    checks a cursor's id, given the parameter's name and value ("" for none)."""
    starting_after = cursor_id("starting_after", request.starting_after)
    if request.ending_before and request.starting_after:
        raise invalid("ending_before", "cannot be given with starting_after")
    return Cursor(
        validation.list_limit(request.limit),
        starting_after,
        cursor_id("ending_before", request.ending_before),
        _created(_message(request)),
    )


def _created(request: Message) -> SecondsRange:
    if "created" not in request.DESCRIPTOR.fields_by_name:
        return ALL_SECONDS  # an object's parts (its items, lines) are listed in its order
    return validation.timestamp_range("created", cast(Any, request).created)


def metadata_change(request: MetadataUpdate) -> MetadataChange:
    """The request's `metadata` (checked: INVALID_ARGUMENT naming `metadata[key]`) and
    `clear_metadata`, as every update applies them (`MetadataChange.applied_to`)."""
    values = validation.metadata("metadata", request.metadata, removals=True)
    return MetadataChange(values, clear=request.clear_metadata)


def merchant_and_cursor(request: ListRequest, prefix: Prefix) -> tuple[str, Cursor]:
    """The caller's merchant (as `merchant_and_id`), then `cursor_of(request, prefix)`."""
    merchant_id = current_call().require_merchant()
    return merchant_id, cursor_of(request, prefix)


class SearchRequest(Protocol):
    """A Search's request (Stripe's search API): its query, limit and page."""

    query: str
    limit: int
    page: str


def search_cursor(request: SearchRequest, prefix: Prefix) -> Cursor:
    """A Search's page: `limit` as a List's, `page` the `next_page` it answered (the last id
    of the previous page, an id of `prefix`: INVALID_ARGUMENT naming `page` otherwise)."""
    return Cursor(
        validation.list_limit(request.limit),
        validation.object_id("page", request.page, prefix, required=False),
    )


def search_response(
    response_type: type[ResponseT], page: Page[T], render: Callable[[T], Any]
) -> ResponseT:
    """A Search's answer: `page_response` with `next_page` (the last id) while more follow."""
    response = page_response(response_type, page, render)
    data = response.data  # type: ignore[attr-defined]
    if page.has_more and data:
        response.next_page = data[-1].id  # type: ignore[attr-defined]
    return response


def page_response(
    response_type: type[ResponseT], page: Page[T], render: Callable[[T], Any]
) -> ResponseT:
    """The List's answer: `response_type(data=[render(item), ...], has_more=page.has_more)`."""
    response = response_type(has_more=page.has_more)  # type: ignore[call-arg]
    response.data.extend(render(item) for item in page.data)  # type: ignore[attr-defined]
    return response


class Method(Protocol[RequestT_contra, AnswerT_co]):
    """An RPC method of a servicer as grpc calls it (the generated base's signature)."""

    def __call__(self, request: RequestT_contra, context: Context) -> Awaitable[AnswerT_co]: ...


class Rpc(Generic[ServicerT, RequestT_inv, AnswerT]):
    """An RPC method a servicer declares in one line (`Rpcs`): read as an attribute of the
    servicer, as the generated `add_*_to_server` reads each method, it is `run` bound to that
    servicer, an async method like one written out."""

    def __init__(self, run: Callable[[ServicerT, RequestT_inv], Awaitable[AnswerT]]) -> None:
        self._run = run

    @overload
    def __get__(self, servicer: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, servicer: ServicerT, owner: type[Any]) -> Method[RequestT_inv, AnswerT]: ...
    def __get__(
        self, servicer: ServicerT | None, owner: type[Any]
    ) -> Self | Method[RequestT_inv, AnswerT]:
        if servicer is None:
            return self
        run = self._run

        async def method(request: RequestT_inv, context: Context) -> AnswerT:
            return await run(servicer, request)

        return method


class Changing(Protocol):
    """A servicer with changes (`ChangingRpcs`): they run through its Mutations."""

    @property
    def _mutations(self) -> Mutations: ...


class Rpcs(Generic[ServicerT]):
    """Declares the reads of the servicer `ServicerT`; each `select` takes the servicer and
    returns its domain call (`lambda s: s._service.get_customer`)."""

    def get(
        self,
        prefix: Prefix,
        select: Callable[[ServicerT], Callable[[str, str], Awaitable[T]]],
        render: Callable[[T], R],
    ) -> Rpc[ServicerT, IdRequest, R]:
        """A Get of one of the caller's merchant's objects (`get_by_id`)."""

        async def run(servicer: ServicerT, request: IdRequest) -> R:
            return await get_by_id(request, prefix, select(servicer), render)

        return Rpc(run)

    def get_acting(
        self,
        prefix: Prefix,
        select: Callable[[ServicerT], Callable[[str | None, str], Awaitable[T]]],
        render: Callable[[T], R],
    ) -> Rpc[ServicerT, IdRequest, R]:
        """An operator's Get (an internal service's): `request.id` checked as an id of `prefix`
        (INVALID_ARGUMENT naming `id`), then the read for the merchant the operator acts for,
        or None for any."""

        async def run(servicer: ServicerT, request: IdRequest) -> R:
            object_id = validation.object_id("id", request.id, prefix)
            return render(await select(servicer)(acting_merchant(), object_id))

        return Rpc(run)

    def list(
        self,
        prefix: Prefix,
        response_type: type[ResponseT],
        select: Callable[[ServicerT], Callable[[str, Cursor], Awaitable[Page[T]]]],
        render: Callable[[T], Any],
    ) -> Rpc[ServicerT, ListRequest, ResponseT]:
        """A List of the caller's merchant's objects with no filter: `merchant_and_cursor`,
        then `page_response` of the domain's page."""

        async def run(servicer: ServicerT, request: ListRequest) -> ResponseT:
            merchant_id, cursor = merchant_and_cursor(request, prefix)
            page = await select(servicer)(merchant_id, cursor)
            return page_response(response_type, page, render)

        return Rpc(run)

    def filtered_list(
        self,
        prefix: Prefix,
        response_type: type[ResponseT],
        wanted: Callable[[ListRequestT], WantedT],
        select: Callable[[ServicerT], Callable[[str, Cursor, WantedT], Awaitable[Page[T]]]],
        render: Callable[[T], Any],
    ) -> Rpc[ServicerT, ListRequestT, ResponseT]:
        """A List of the caller's merchant's objects with filters of its own (or of the parts of
        one object the request names): `merchant_and_cursor`, then `wanted(request)` checks
        them, then `page_response` of the domain's `(merchant_id, cursor, wanted)`."""

        async def run(servicer: ServicerT, request: ListRequestT) -> ResponseT:
            merchant_id, cursor = merchant_and_cursor(request, prefix)
            page = await select(servicer)(merchant_id, cursor, wanted(request))
            return page_response(response_type, page, render)

        return Rpc(run)


class ChangingRpcs(Rpcs[ChangingT]):
    """`Rpcs` of a servicer that also declares changes: they run through its `_mutations`
    (the type argument must have it)."""

    def change(
        self,
        render: Converter[T, ResponseT],
        select: Callable[[ChangingT], Callable[[AsyncConnection, str, CheckedT], Awaitable[T]]],
        check: Callable[[RequestT], CheckedT],
    ) -> Rpc[ChangingT, RequestT, ResponseT]:
        """A change the request alone describes (a create), for the caller's merchant:
        `Mutations.answer_checked`."""

        async def run(servicer: ChangingT, request: RequestT) -> ResponseT:
            return await servicer._mutations.answer_checked(
                request, render, select(servicer), check
            )

        return Rpc(run)

    def change_by_id(
        self,
        prefix: Prefix,
        render: Converter[T, ResponseT],
        select: Callable[[ChangingT], Callable[[AsyncConnection, str, str], Awaitable[T]]],
    ) -> Rpc[ChangingT, IdRequest, ResponseT]:
        """A change of the object `request.id` names and nothing else (a cancel, a delete):
        `merchant_and_id`, then `Mutations.answer` of the domain's `(connection, merchant_id,
        object_id)`."""

        async def run(servicer: ChangingT, request: IdRequest) -> ResponseT:
            merchant_id, object_id = merchant_and_id(request.id, prefix)
            change = select(servicer)
            return await servicer._mutations.answer(
                merchant_id, _message(request), render, change, object_id
            )

        return Rpc(run)

    def update(
        self,
        prefix: Prefix,
        render: Converter[T, ResponseT],
        select: Callable[
            [ChangingT], Callable[[AsyncConnection, str, str, CheckedT], Awaitable[T]]
        ],
        check: Callable[[IdRequestT], CheckedT],
    ) -> Rpc[ChangingT, IdRequestT, ResponseT]:
        """An update of the object the request's `id` names, with the changes `check` reads
        from the request: `merchant_and_id`, `check(request)`, then `Mutations.answer` of the
        domain's `(connection, merchant_id, object_id, changes)`."""

        async def run(servicer: ChangingT, request: IdRequestT) -> ResponseT:
            merchant_id, object_id = merchant_and_id(request.id, prefix)
            changes = check(request)
            return await servicer._mutations.answer(
                merchant_id, _message(request), render, select(servicer), object_id, changes
            )

        return Rpc(run)

    def change_metadata(
        self,
        prefix: Prefix,
        render: Converter[T, ResponseT],
        select: Callable[
            [ChangingT], Callable[[AsyncConnection, str, str, MetadataChange], Awaitable[T]]
        ],
    ) -> Rpc[ChangingT, MetadataUpdateById, ResponseT]:
        """An update of the metadata alone of the object `request.id` names: `update` with
        `metadata_change` as its check."""
        return self.update(prefix, render, select, metadata_change)

    def change_held_metadata(
        self,
        prefix: Prefix,
        held: tuple[str, Prefix],
        render: Converter[T, ResponseT],
        select: Callable[
            [ChangingT],
            Callable[[AsyncConnection, str, str, str, MetadataChange], Awaitable[T]],
        ],
    ) -> Rpc[ChangingT, MetadataUpdateById, ResponseT]:
        """An update of the metadata alone of an object another holds (an application fee's
        refund, a transfer's reversal): `request.id` names the holder (`merchant_and_id` of
        `prefix`), the request's field `held[0]` the held object (an id of `held[1]`, named in
        its error), then `metadata_change` and `Mutations.answer` of the domain's
        `(connection, merchant_id, holder_id, held_id, metadata)`."""
        field, held_prefix = held

        async def run(servicer: ChangingT, request: MetadataUpdateById) -> ResponseT:
            merchant_id, holder_id = merchant_and_id(request.id, prefix)
            held_id = validation.object_id(field, getattr(request, field), held_prefix)
            change = metadata_change(request)
            return await servicer._mutations.answer(
                merchant_id, _message(request), render, select(servicer), holder_id, held_id, change
            )

        return Rpc(run)


def _message(request: object) -> Message:
    """`request` as the message it is: grpc hands every method the request message it parsed
    (Mutations keeps its fingerprint); typed by the fields a shared method reads (IdRequest)."""
    if isinstance(request, Message):
        return request
    raise TypeError(f"a request message, not {type(request).__name__}")  # pragma: no cover
