"""Where Stripe's default for a parameter differs from proto3's (false, 0, empty): a REST
request that leaves the parameter out gets Stripe's, so that code written against Stripe's
API means the same here; gRPC keeps proto3's (deploy/edge.md)."""

from __future__ import annotations

from typing import Any

UPDATE_DISPUTE = "/paycore.v1.DisputeService/UpdateDispute"


def with_stripe_defaults(rpc_method: str, fields: dict[str, Any]) -> None:
    """Fills in `fields` (the request's, before the message is built) what Stripe defaults."""
    # Stripe's POST /v1/disputes/{id} submits the evidence unless told `submit=false`. Only
    # where evidence is given: a metadata-only update never answers the bank by itself.
    if rpc_method == UPDATE_DISPUTE and "submit" not in fields and fields.get("evidence"):
        fields["submit"] = True
