"""DisputeService over gRPC: validate, call the domain (through Mutations for changes), render."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore.dispute.service import Disputes
from paycore.dispute.servicer import requests
from paycore.dispute.servicer.messages import dispute_message
from paycore.ids import Prefix
from paycore.runtime.mutations import Mutations
from paycore.runtime.servicing import (
    Context,
    Rpcs,
    add_servicer,
    merchant_and_cursor,
    merchant_and_id,
    page_response,
)
from paycore.v1 import dispute_pb2, dispute_pb2_grpc

rpcs: Rpcs[DisputeServicer] = Rpcs()


@dataclass(frozen=True, slots=True)
class DisputeServicer(dispute_pb2_grpc.DisputeServiceServicer):
    _disputes: Disputes
    _mutations: Mutations

    GetDispute = rpcs.get(Prefix.DISPUTE, lambda s: s._disputes.get, dispute_message)

    async def ListDisputes(
        self, request: dispute_pb2.ListDisputesRequest, context: Context
    ) -> dispute_pb2.ListDisputesResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.DISPUTE)
        found = await self._disputes.list(merchant_id, cursor, requests.dispute_filter(request))
        return page_response(dispute_pb2.ListDisputesResponse, found, dispute_message)

    async def UpdateDispute(
        self, request: dispute_pb2.UpdateDisputeRequest, context: Context
    ) -> dispute_pb2.Dispute:
        merchant_id, dispute_id = merchant_and_id(request.id, Prefix.DISPUTE)
        update = requests.evidence_update(request)
        phases = self._disputes.update(merchant_id, dispute_id, update)
        return await self._mutations.resumable(merchant_id, request, dispute_message, phases)

    async def CloseDispute(
        self, request: dispute_pb2.CloseDisputeRequest, context: Context
    ) -> dispute_pb2.Dispute:
        merchant_id, dispute_id = merchant_and_id(request.id, Prefix.DISPUTE)
        phases = self._disputes.close(merchant_id, dispute_id)
        return await self._mutations.resumable(merchant_id, request, dispute_message, phases)


def register(server: aio.Server, disputes: Disputes, mutations: Mutations) -> str:
    """Adds DisputeService to `server`; returns its full name."""
    add = dispute_pb2_grpc.add_DisputeServiceServicer_to_server
    return add_servicer(server, add, DisputeServicer(disputes, mutations))
