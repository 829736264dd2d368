"""The REST edge (`paycore edge`): JSON and Stripe-style form bodies over HTTP, transcoded onto
the gRPC methods by their `google.api.http` annotations, with /openapi.json and /healthz.

    routes.py       the annotations compiled into routes, and the router
    params.py       bracket notation (form bodies, query strings) -> JSON structure
    transcoding.py  JSON <-> messages (proto3 JSON, Stripe-like enum values)
    errors.py       gRPC status + ErrorInfo -> HTTP status and {"error": {...}}
    openapi.py      the OpenAPI 3.1 document
    app.py          the aiohttp application and server
    process.py      `paycore edge`: the process
"""

from paycore.edge.app import BODY_SIZE_MAX, Edge, EdgeServer, build_app, start_edge

__all__ = ["BODY_SIZE_MAX", "Edge", "EdgeServer", "build_app", "start_edge"]
