"""ReconciliationService over gRPC (operators): request -> checks -> domain call -> response."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore import validation
from paycore.ids import Prefix
from paycore.reconciliation.models import RECONCILIATION_OWNER
from paycore.reconciliation.service import Reconciliation
from paycore.reconciliation.servicer import requests
from paycore.reconciliation.servicer.messages import discrepancy_message, run_message
from paycore.runtime.mutations import Mutations
from paycore.runtime.servicing import Context, add_servicer, cursor_of, page_response
from paycore.v1 import reconciliation_pb2 as pb
from paycore.v1 import reconciliation_pb2_grpc


@dataclass(frozen=True, slots=True)
class ReconciliationServicer(reconciliation_pb2_grpc.ReconciliationServiceServicer):
    _reconciliation: Reconciliation
    _mutations: Mutations

    async def RunReconciliation(
        self, request: pb.RunReconciliationRequest, context: Context
    ) -> pb.ReconciliationRun:
        today = self._reconciliation.runs.now().date()
        source, day = requests.run_request(request, today)
        self._reconciliation.check_source(source)
        return await self._mutations.on_engine(
            self._reconciliation.home,
            RECONCILIATION_OWNER,
            request,
            run_message,
            lambda connection: self._reconciliation.request_run(connection, source, day),
        )

    async def GetReconciliationRun(
        self, request: pb.GetReconciliationRunRequest, context: Context
    ) -> pb.ReconciliationRun:
        run_id = validation.object_id("id", request.id, Prefix.RECONCILIATION_RUN)
        return run_message(await self._reconciliation.get_run(run_id))

    async def ListDiscrepancies(
        self, request: pb.ListDiscrepanciesRequest, context: Context
    ) -> pb.ListDiscrepanciesResponse:
        filters = requests.discrepancy_filter(request)
        cursor = cursor_of(request, Prefix.DISCREPANCY)
        page = await self._reconciliation.list_discrepancies(filters, cursor)
        return page_response(pb.ListDiscrepanciesResponse, page, discrepancy_message)

    async def ResolveDiscrepancy(
        self, request: pb.ResolveDiscrepancyRequest, context: Context
    ) -> pb.Discrepancy:
        discrepancy_id, resolution = requests.resolution(request)
        owner = await self._reconciliation.owner_of(discrepancy_id)
        resolved = await self._mutations.on_engine(
            self._reconciliation.engine_of_discrepancy(discrepancy_id),
            owner,
            request,
            discrepancy_message,
            lambda connection: self._reconciliation.resolve(
                connection, owner, discrepancy_id, resolution
            ),
        )
        # No refresh of the open-discrepancies gauge here: the worker's job keeps it (a
        # server's count would go stale as the worker's runs open and close discrepancies).
        return resolved


def register(server: aio.Server, reconciliation: Reconciliation, mutations: Mutations) -> str:
    """Adds ReconciliationService to `server`; returns its full name."""
    add = reconciliation_pb2_grpc.add_ReconciliationServiceServicer_to_server
    return add_servicer(server, add, ReconciliationServicer(reconciliation, mutations))
