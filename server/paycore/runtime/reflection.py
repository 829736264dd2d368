"""Server reflection that finds the file of every symbol a client may ask about, as the C++ and Go
servers do: services, methods, messages, fields, oneofs, enums, enum values, extensions.
The `hidden` (internal) services are found by no name, and taken out of every file answered.

grpc_reflection's servicer asks the descriptor pool, whose FindFileContainingSymbol knows
services, messages and enums but not methods: ghz (`--call pkg.Service.Method`, no --proto)
asks for the method's full name first and got "Symbol not found". The index below is built once
from the served files; what it does not hold still goes to the pool.

Both reflection services are served: grpc.reflection.v1alpha (ghz, Python's reflection client)
and grpc.reflection.v1 (asked first by grpcurl, buf curl, Postman and gRPC's own newer clients).
grpcio-reflection ships only v1alpha; the two protos differ only in their package, so one
servicer answers both, and v1's descriptor is v1alpha's with the package renamed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, cast

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FileDescriptor
from grpc import aio
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer
from grpc_reflection.v1alpha.reflection import SERVICE_NAME

__all__ = [
    "SERVICE_NAME",
    "V1_SERVICE_NAME",
    "SymbolIndexServicer",
    "enable_reflection",
    "symbols_of",
]

_V1ALPHA = "grpc.reflection.v1alpha"
_V1 = "grpc.reflection.v1"


def _v1_file() -> FileDescriptor:
    """grpc/reflection/v1/reflection.proto, made from v1alpha's (added to the default pool once,
    at import)."""
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name = "grpc/reflection/v1/reflection.proto"
    proto.package = _V1
    proto.ClearField("options")
    for message in proto.message_type:
        for field in message.field:
            if field.HasField("type_name"):
                field.type_name = field.type_name.replace(f".{_V1ALPHA}.", f".{_V1}.")
    for service in proto.service:
        for method in service.method:
            method.input_type = method.input_type.replace(f".{_V1ALPHA}.", f".{_V1}.")
            method.output_type = method.output_type.replace(f".{_V1ALPHA}.", f".{_V1}.")
    pool = descriptor_pool.Default()
    pool.AddSerializedFile(proto.SerializeToString())
    return pool.FindFileByName(proto.name)


_V1_FILE = _v1_file()
V1_SERVICE_NAME = f"{_V1}.ServerReflection"


def symbols_of(file: FileDescriptor) -> Iterator[str]:
    """Every full symbol name `file` defines."""
    for service in file.services_by_name.values():
        yield service.full_name
        for method in service.methods:
            yield method.full_name
    for message in file.message_types_by_name.values():
        yield from _message_symbols(message)
    for enum in file.enum_types_by_name.values():
        yield from _enum_symbols(enum)
    for extension in file.extensions_by_name.values():
        yield extension.full_name


def _message_symbols(message: Descriptor) -> Iterator[str]:
    yield message.full_name
    for field in message.fields:
        yield field.full_name
    for oneof in message.oneofs:
        yield oneof.full_name
    for extension in message.extensions:
        yield extension.full_name
    for nested in message.nested_types:
        yield from _message_symbols(nested)
    for enum in message.enum_types:
        yield from _enum_symbols(enum)


def _enum_symbols(enum: EnumDescriptor) -> Iterator[str]:
    yield enum.full_name
    scope = enum.full_name.rpartition(".")[0]
    for value in enum.values:
        # protoc scopes enum values beside their enum (C++ rules): pkg.VALUE; some clients
        # ask for pkg.Enum.VALUE, which the C++ server answers too.
        yield f"{scope}.{value.name}" if scope else value.name
        yield f"{enum.full_name}.{value.name}"


class SymbolIndexServicer(ReflectionServicer):
    """grpc_reflection's asyncio servicer with a symbol index over `files` (and their imports).
    The `hidden` services (internal ones on a public port) and their methods are not found."""

    def __init__(
        self,
        service_names: Iterable[str],
        files: Iterable[FileDescriptor],
        hidden: Iterable[str] = (),
    ) -> None:
        super().__init__(service_names)
        self._hidden = tuple(hidden)
        self._files: dict[str, FileDescriptor] = {}
        for file in _with_dependencies(files):
            for symbol in symbols_of(file):
                self._files.setdefault(symbol, file)

    def _file_containing_symbol(self, request: Any, fully_qualified_name: str) -> Any:
        if any(
            fully_qualified_name == name or fully_qualified_name.startswith(f"{name}.")
            for name in self._hidden
        ):
            return _not_found(request)
        file = self._files.get(fully_qualified_name)
        if file is None:
            found = super()._file_containing_symbol(request, fully_qualified_name)  # type: ignore[misc]
            return self._without_hidden(found)
        return self._file_by_filename(request, file.name)

    def _file_by_filename(self, request: Any, filename: str) -> Any:
        return self._without_hidden(super()._file_by_filename(request, filename))  # type: ignore[misc]

    def _file_containing_extension(
        self, request: Any, containing_type: str, extension_number: int
    ) -> Any:
        found = super()._file_containing_extension(request, containing_type, extension_number)  # type: ignore[misc]
        return self._without_hidden(found)

    def _without_hidden(self, response: Any) -> Any:
        """`response` with the hidden services taken out of every file it describes: a file
        defining one (ledger.proto) is still answered, for its messages (a public file may
        import them), but never with the internal service and its methods."""
        if not self._hidden or not response.HasField("file_descriptor_response"):
            return response
        files = response.file_descriptor_response.file_descriptor_proto
        kept = []
        for raw in files:
            file = descriptor_pb2.FileDescriptorProto.FromString(raw)
            services = [
                service
                for service in file.service
                if f"{file.package}.{service.name}" not in self._hidden
            ]
            if len(services) != len(file.service):
                del file.service[:]
                file.service.extend(services)
                raw = file.SerializeToString()
            kept.append(raw)
        del files[:]
        files.extend(kept)
        return response


def _with_dependencies(files: Iterable[FileDescriptor]) -> list[FileDescriptor]:
    seen: dict[str, FileDescriptor] = {}
    pending = list(files)
    while pending:
        file = pending.pop()
        if file.name not in seen:
            seen[file.name] = file
            pending.extend(file.dependencies)
    return list(seen.values())


def _not_found(request: Any) -> reflection_pb2.ServerReflectionResponse:
    return reflection_pb2.ServerReflectionResponse(
        error_response=reflection_pb2.ErrorResponse(
            error_code=grpc.StatusCode.NOT_FOUND.value[0], error_message="Symbol not found"
        ),
        original_request=request,
    )


def enable_reflection(
    server: aio.Server,
    service_names: Iterable[str],
    files: Iterable[FileDescriptor],
    hidden: Iterable[str] = (),
) -> None:
    names = [*service_names, V1_SERVICE_NAME, SERVICE_NAME]
    own_files = [_V1_FILE, cast(FileDescriptor, reflection_pb2.DESCRIPTOR)]
    servicer = SymbolIndexServicer(names, [*files, *own_files], hidden)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    v1 = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(V1_SERVICE_NAME, {"ServerReflectionInfo": v1}),)
    )
