"""The OpenAPI 3.1 document of the REST edge, generated from the same routes and descriptors
the edge serves: nothing is written twice. Field types follow the JSON the edge answers
(paycore.stripe_json: 64-bit integers are numbers, resources carry `object`, lists are list
objects) and enums list their Stripe-like JSON names."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from paycore.edge.routes import HttpRoute
from paycore.stripe_json import (
    COUNTED_LISTS,
    NESTED_LISTS,
    NULL_WHEN_EMPTY,
    NULL_WHEN_ZERO,
    NULL_WITHOUT_TRANSFER,
    NUMBER_FIELDS,
    SHOWN_ONCE,
    is_absent_object,
    is_id_reference,
    is_list_response,
    is_search_response,
    object_name,
)
from paycore.transcoding import (
    is_map,
    is_well_known,
    message_of,
    rendered_enum_names,
    stripe_enum_names,
)

OPENAPI_VERSION = "3.1.0"
ERROR_SCHEMA = "Error"
_PACKAGE_PREFIX = "paycore.v1."
_INTEGER_FORMATS: dict[int, dict[str, Any]] = {
    FieldDescriptor.CPPTYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.CPPTYPE_UINT32: {"type": "integer", "format": "int32", "minimum": 0},
    FieldDescriptor.CPPTYPE_INT64: {"type": "integer", "format": "int64"},
    FieldDescriptor.CPPTYPE_UINT64: {"type": "integer", "format": "uint64", "minimum": 0},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Value": {},
    "google.protobuf.Empty": {"type": "object"},
    # An event's data.object: the object itself, with its `object` naming its kind.
    "google.protobuf.Any": {"type": "object", "properties": {"object": {"type": "string"}}},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32"},
    "google.protobuf.Int64Value": {"type": "integer", "format": "int64"},
    "google.protobuf.DoubleValue": {"type": "number"},
}
_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "code", "message"],
            "properties": {
                "type": {
                    "type": "string",
                    "description": "invalid_request_error, authentication_error, permission_error,"
                    " rate_limit_error, idempotency_error, card_error or api_error",
                },
                "code": {"type": "string", "description": "e.g. resource_missing"},
                "message": {"type": "string"},
                "param": {"type": "string", "description": "the parameter at fault"},
                "decline_code": {"type": "string", "description": "a card_error's issuer reason"},
                "payment_intent": {"type": "object", "description": "a declined confirmation's"},
            },
        }
    },
}


def openapi_document(routes: list[HttpRoute], *, title: str, version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {ERROR_SCHEMA: _ERROR}
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for route in routes:
        operation = _operation(route, schemas)
        operation_id = operation["operationId"]
        while operation_id in operation_ids:  # an additional binding of the same method
            operation_id += "_"
        operation_ids.add(operation_id)
        operation["operationId"] = operation_id
        paths.setdefault(_path(route), {})[route.http_method.lower()] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _path(route: HttpRoute) -> str:
    return "/" + "/".join(
        segment.literal if segment.literal is not None else "{" + segment.variable + "}"
        for segment in route.segments
    )


def _operation(route: HttpRoute, schemas: dict[str, Any]) -> dict[str, Any]:
    service, method = route.rpc_method.strip("/").split("/")
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _field_path_schema(route, name)}
        for name in route.path_fields
    ]
    if route.body != "*":
        skipped = {*route.path_fields, route.body}
        parameters += [
            {"name": name, "in": "query", "schema": schema, **_explode(schema)}
            for name, schema in _query_fields(route.input, "", skipped, schemas)
        ]
    if route.mutating:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "description": "Makes the request safe to retry: a replay answers as the first.",
                "schema": {"type": "string", "maxLength": 255},
            }
        )
    parameters.append(
        {
            "name": "Paycore-Merchant",
            "in": "header",
            "description": "The merchant an operator token acts for.",
            "schema": {"type": "string"},
        }
    )
    operation: dict[str, Any] = {
        "operationId": f"{service.rsplit('.', 1)[-1]}_{method}",
        "summary": method,
        "tags": [service.rsplit(".", 1)[-1]],
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": _response_schema(route, schemas)}},
            },
            "default": {
                "description": "An error",
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
                },
            },
        },
    }
    if route.body:
        body = _request_body_schema(route, schemas)
        operation["requestBody"] = {
            "content": {
                "application/json": {"schema": body},
                "application/x-www-form-urlencoded": {"schema": body},
            }
        }
    return operation


def _explode(schema: dict[str, Any]) -> dict[str, Any]:
    return {"explode": True} if schema.get("type") == "array" else {}


def _request_body_schema(route: HttpRoute, schemas: dict[str, Any]) -> dict[str, Any]:
    if route.body != "*":
        return _field_schema(route.input.fields_by_name[route.body], schemas)
    if not route.path_fields:
        return _ref(route.input, schemas)
    schema = dict(_message_schema(route.input, schemas))
    schema["properties"] = {
        name: value
        for name, value in schema["properties"].items()
        if name not in {path.split(".")[0] for path in route.path_fields}
    }
    return schema


def _response_schema(route: HttpRoute, schemas: dict[str, Any]) -> dict[str, Any]:
    if route.response_body:
        return _field_schema(route.output.fields_by_name[route.response_body], schemas)
    return _ref(route.output, schemas)


def _query_fields(
    message: Descriptor, prefix: str, skipped: set[str], schemas: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """Scalar fields, nested ones as `a.b`: those a query string can set."""
    found: list[tuple[str, dict[str, Any]]] = []
    for field in message.fields:
        name = prefix + field.name
        if name in skipped or is_map(field):
            continue
        if field.type == FieldDescriptor.TYPE_MESSAGE and not is_well_known(message_of(field)):
            if not field.is_repeated and prefix.count(".") < 3:
                found += _query_fields(message_of(field), name + ".", skipped, schemas)
            continue
        found.append((name, _field_schema(field, schemas)))
    return found


def _field_path_schema(route: HttpRoute, path: str) -> dict[str, Any]:
    message = route.input
    *parents, leaf = path.split(".")
    for name in parents:
        message = message_of(message.fields_by_name[name])
    return _scalar_schema(message.fields_by_name[leaf], {})


def _ref(message: Descriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    if is_well_known(message):
        return dict(_WELL_KNOWN.get(message.full_name, {}))
    name = _schema_name(message)
    if name not in schemas:
        schemas[name] = {}  # placeholder: recursive messages refer to themselves
        schemas[name] = _message_schema(message, schemas)
    return {"$ref": f"#/components/schemas/{name}"}


def _schema_name(message: Descriptor) -> str:
    return message.full_name.removeprefix(_PACKAGE_PREFIX)


def _message_schema(message: Descriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    if is_list_response(message):
        return _list_schema(_ref(message_of(message.fields_by_name["data"]), schemas))
    if is_search_response(message):
        return _search_schema(_ref(message_of(message.fields_by_name["data"]), schemas))
    properties: dict[str, Any] = {}
    name = object_name(message)
    if name is not None:
        properties["object"] = {"type": "string", "const": name}
    for field in message.fields:
        if field.full_name in NESTED_LISTS:
            listed = _list_schema(_ref(message_of(field), schemas))
            if field.full_name in COUNTED_LISTS:  # all of it inline, with its total_count
                listed["properties"]["total_count"] = {"type": "integer"}
                listed["required"].append("total_count")
            properties[field.name] = listed
        elif field.full_name in SHOWN_ONCE:
            issued = "Only in the answer that issues it (a create, a roll): shown once."
            properties[field.name] = {**_field_schema(field, schemas), "description": issued}
        elif field.full_name in NUMBER_FIELDS:  # rendered as Stripe's number (stripe_json)
            properties[field.name] = {"type": ["number", "null"]}
        elif (
            is_absent_object(field)
            or field.name in NULL_WHEN_EMPTY.get(message.full_name, ())
            or field.full_name in NULL_WITHOUT_TRANSFER
        ):
            # answers render an unset one as null
            properties[field.name] = {"anyOf": [_field_schema(field, schemas), {"type": "null"}]}
        else:
            properties[field.name] = _field_schema(field, schemas)
    return _closed_object(properties)


def _closed_object(properties: dict[str, Any]) -> dict[str, Any]:
    """The schema of an object with `properties` and nothing else, Stripe's `livemode` among
    them when it is an object (stripe_json.with_livemode)."""
    if "object" in properties:
        properties.setdefault("livemode", {"type": "boolean"})
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _list_schema(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["object", "data", "has_more", "url"],
        "properties": {
            "object": {"type": "string", "const": "list"},
            "data": {"type": "array", "items": item},
            "has_more": {"type": "boolean"},
            "url": {"type": "string"},
        },
        "additionalProperties": False,
    }


def _search_schema(item: dict[str, Any]) -> dict[str, Any]:
    """Stripe's search_result: a list's fields, its `object` "search_result", and `next_page`."""
    listed = _list_schema(item)
    return {
        **listed,
        "required": [*listed["required"], "next_page"],
        "properties": {
            **listed["properties"],
            "object": {"type": "string", "const": "search_result"},
            "next_page": {"type": ["string", "null"]},
        },
    }


def _field_schema(field: FieldDescriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    if is_map(field):
        value = message_of(field).fields_by_name["value"]
        return {"type": "object", "additionalProperties": _scalar_schema(value, schemas)}
    schema = _scalar_schema(field, schemas)
    if field.is_repeated:
        return {"type": "array", "items": schema}
    return schema


def _scalar_schema(field: FieldDescriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return _ref(message_of(field), schemas)
    if field.type == FieldDescriptor.TYPE_ENUM:
        # The unset value (`..._UNSPECIFIED`) is null, as answers render it, not a name.
        rendered = rendered_enum_names(field.enum_type).values()
        names: list[str | None] = [name for name in rendered if name is not None]
        names += stripe_enum_names(field.enum_type).values()  # answered, and taken, at the edge
        if None in rendered:
            return {"type": ["string", "null"], "enum": [*names, None]}
        return {"type": "string", "enum": names}
    if field.type == FieldDescriptor.TYPE_BOOL:
        return {"type": "boolean"}
    if field.type == FieldDescriptor.TYPE_STRING:
        if is_id_reference(field):  # answers render an empty one as null
            return {"type": ["string", "null"]}
        return {"type": "string"}
    if field.type == FieldDescriptor.TYPE_BYTES:
        return {"type": "string", "contentEncoding": "base64"}
    if field.full_name in NULL_WHEN_ZERO:  # answers render one that has not happened as null
        return {**_INTEGER_FORMATS[field.cpp_type], "type": ["integer", "null"]}
    if field.cpp_type in _INTEGER_FORMATS:
        return {**_INTEGER_FORMATS[field.cpp_type]}
    float_format = "float" if field.type == FieldDescriptor.TYPE_FLOAT else "double"
    return {"type": "number", "format": float_format}
