"""DisputeService over gRPC: validate, call the domain (through Mutations for changes), render."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
from grpc import aio
from paycore.dispute.models import Dispute
from paycore.dispute.service import Disputes
from paycore.dispute.servicer import requests
from paycore.dispute.servicer.messages import dispute_message
from paycore.ids import Prefix
from paycore.runtime.context import current_call
from paycore.runtime.listing import cursor_of, page_response
from paycore.runtime.mutations import Mutations, Phases
from paycore.v1 import dispute_pb2, dispute_pb2_grpc

Context = aio.ServicerContext[Any, Any]
SERVICE_NAME = "paycore.v1.DisputeService"


class DisputeServicer(dispute_pb2_grpc.DisputeServiceServicer):
    def __init__(self, disputes: Disputes, mutations: Mutations, lease: timedelta) -> None:
        self._disputes = disputes
        self._mutations = mutations
        self._lease = lease

    async def GetDispute(
        self, request: dispute_pb2.GetDisputeRequest, context: Context
    ) -> dispute_pb2.Dispute:
        merchant_id = current_call().require_merchant()
        dispute_id = requests.dispute_id(request.id)
        return dispute_message(await self._disputes.get(merchant_id, dispute_id))

    async def ListDisputes(
        self, request: dispute_pb2.ListDisputesRequest, context: Context
    ) -> dispute_pb2.ListDisputesResponse:
        merchant_id = current_call().require_merchant()
        cursor = cursor_of(request, Prefix.DISPUTE)
        found = await self._disputes.list(merchant_id, cursor, requests.dispute_filter(request))
        return page_response(dispute_pb2.ListDisputesResponse, found, dispute_message)

    async def UpdateDispute(
        self, request: dispute_pb2.UpdateDisputeRequest, context: Context
    ) -> dispute_pb2.Dispute:
        merchant_id = current_call().require_merchant()
        dispute_id = requests.dispute_id(request.id)
        update = requests.evidence_update(request)
        phases = self._disputes.update(merchant_id, dispute_id, update)
        return await self._run(merchant_id, request, phases)

    async def CloseDispute(
        self, request: dispute_pb2.CloseDisputeRequest, context: Context
    ) -> dispute_pb2.Dispute:
        merchant_id = current_call().require_merchant()
        dispute_id = requests.dispute_id(request.id)
        return await self._run(merchant_id, request, self._disputes.close(merchant_id, dispute_id))

    async def _run(
        self, merchant_id: str, request: Any, phases: Phases[Dispute]
    ) -> dispute_pb2.Dispute:
        return await self._mutations.resumable(
            merchant_id, request, dispute_pb2.Dispute, phases, self._lease, render=dispute_message
        )


def register(
    server: grpc.aio.Server, disputes: Disputes, mutations: Mutations, lease: timedelta
) -> str:
    dispute_pb2_grpc.add_DisputeServiceServicer_to_server(
        DisputeServicer(disputes, mutations, lease), server
    )
    return SERVICE_NAME
