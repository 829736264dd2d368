"""FraudService over gRPC: each method checks its request (requests.py), calls the domain
(paycore.fraud.service; changes through Mutations) and renders the answer (messages.py)."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass
from functools import partial
from typing import Any

from grpc import aio
from paycore import validation
from paycore.fraud import service as domain
from paycore.fraud.models import PLATFORM, Assessment, BlocklistItem, Review, ReviewStatus
from paycore.fraud.servicer import requests
from paycore.fraud.servicer.messages import (
    assessment_message,
    blocklist_item_message,
    deleted_item_message,
    deleted_list_message,
    early_fraud_warning_message,
    outcome_message,
    policy_message,
    removed_message,
    review_message,
    value_list_item_message,
    value_list_message,
)
from paycore.fraud.servicer.requests import VALUE_LENGTH_MAX
from paycore.ids import HOME_LOGICAL_SHARD, Prefix, logical_shard_of, shard_account_id
from paycore.runtime.context import current_call
from paycore.runtime.messages import Converter
from paycore.runtime.mutations import Mutations
from paycore.runtime.servicing import (
    ChangingRpcs,
    Context,
    acting_merchant,
    add_servicer,
    cursor_of,
    cursor_with,
    page_response,
)
from paycore.v1 import fraud_pb2, fraud_pb2_grpc


def register(server: aio.Server, service: domain.FraudService, mutations: Mutations) -> str:
    """Adds FraudService to `server`; returns its full name."""
    add = fraud_pb2_grpc.add_FraudServiceServicer_to_server
    return add_servicer(server, add, FraudServicer(service, mutations))


rpcs: ChangingRpcs[FraudServicer] = ChangingRpcs()


@dataclass(frozen=True, slots=True)
class FraudServicer(fraud_pb2_grpc.FraudServiceServicer):
    _service: domain.FraudService
    _mutations: Mutations

    async def ScorePayment(
        self, request: fraud_pb2.ScorePaymentRequest, context: Context
    ) -> fraud_pb2.RiskAssessment:
        merchant_id = current_call().require_merchant()
        facts = requests.payment_facts(merchant_id, request, time.time_ns() // 1_000_000)
        return await self._mutations.for_merchant(
            merchant_id,
            request,
            assessment_message,
            lambda connection: self._service.assess(connection, facts),
        )

    async def ReportOutcome(
        self, request: fraud_pb2.ReportOutcomeRequest, context: Context
    ) -> fraud_pb2.ReportOutcomeResponse:
        merchant_id = current_call().require_merchant()
        payment = requests.payment_id("payment", request.payment)
        label = requests.outcome_label(request)
        note = requests.note("note", request.note)
        labelled: list[Assessment] = []

        async def change(connection: Any) -> Assessment:
            assessment = await self._service.label(connection, merchant_id, payment, label, note)
            labelled.append(assessment)
            return assessment

        response = await self._mutations.for_merchant(merchant_id, request, outcome_message, change)
        for assessment in labelled:  # not on an idempotent replay: counted the first time
            await self._service.count_outcome(assessment)
        return response

    async def AddBlocklistItem(
        self, request: fraud_pb2.AddBlocklistItemRequest, context: Context
    ) -> fraud_pb2.BlocklistItem:
        kind = requests.required_blocklist_type("type", request.type)
        value = requests.blocklist_value("value", kind, request.value)
        # An operator acting for a merchant (`paycore-merchant`) adds that merchant's item.
        merchant_id = requests.merchant(request.merchant) or acting_merchant() or ""
        reason = requests.note("reason", request.reason)
        metadata = validation.metadata("metadata", request.metadata)

        def change(connection: Any) -> Awaitable[BlocklistItem]:
            return self._service.add_blocklist_item(
                connection, merchant_id or PLATFORM, kind, value, reason, metadata
            )

        if merchant_id:
            return await self._mutations.for_merchant(
                merchant_id, request, blocklist_item_message, change
            )
        response = await self._mutations.for_operator(
            shard_account_id(HOME_LOGICAL_SHARD), request, blocklist_item_message, change
        )
        await self._service.copy_platform_item(response.id)
        return response

    async def RemoveBlocklistItem(
        self, request: fraud_pb2.RemoveBlocklistItemRequest, context: Context
    ) -> fraud_pb2.RemoveBlocklistItemResponse:
        item_id = validation.object_id("id", request.id, Prefix.BLOCKLIST_ITEM)
        platform_wide: list[bool] = []

        async def change(connection: Any) -> str:
            removed = await self._service.remove_blocklist_item(connection, item_id)
            platform_wide.append(removed.merchant_id == PLATFORM)
            return removed.id

        response = await self._mutations.for_object(
            logical_shard_of(item_id, Prefix.BLOCKLIST_ITEM), None, request, removed_message, change
        )
        if any(platform_wide):
            await self._service.remove_platform_copies(item_id)
        return response

    async def ListBlocklistItems(
        self, request: fraud_pb2.ListBlocklistItemsRequest, context: Context
    ) -> fraud_pb2.ListBlocklistItemsResponse:
        kind = requests.blocklist_type("type", request.type)
        merchant_id = requests.merchant(request.merchant)
        page = await self._service.list_blocklist_items(
            merchant_id or None,
            cursor_of(request, Prefix.BLOCKLIST_ITEM),
            kind,
            requests.listed_value(kind, request.value),
        )
        return page_response(fraud_pb2.ListBlocklistItemsResponse, page, blocklist_item_message)

    async def GetRiskPolicy(
        self, request: fraud_pb2.GetRiskPolicyRequest, context: Context
    ) -> fraud_pb2.RiskPolicy:
        merchant_id = current_call().require_merchant()
        return policy_message(merchant_id, await self._service.get_policy(merchant_id))

    async def UpdateRiskPolicy(
        self, request: fraud_pb2.UpdateRiskPolicyRequest, context: Context
    ) -> fraud_pb2.RiskPolicy:
        merchant_id = current_call().require_merchant()
        policy = requests.policy(request)
        render = Converter(fraud_pb2.RiskPolicy, partial(policy_message, merchant_id))
        response = await self._mutations.answer(
            merchant_id, request, render, self._service.put_policy, policy
        )
        self._service.forget_policy(merchant_id)
        return response

    # -- Radar value lists (paycore.fraud.value_lists) ---------------------------------------

    CreateValueList = rpcs.change(
        value_list_message, lambda s: s._service.value_lists.create, requests.new_value_list
    )

    async def GetValueList(
        self, request: fraud_pb2.GetValueListRequest, context: Context
    ) -> fraud_pb2.ValueList:
        merchant_id = current_call().require_merchant()
        list_id = requests.value_list_id("id", request.id)
        return value_list_message(await self._service.value_lists.get(merchant_id, list_id))

    async def UpdateValueList(
        self, request: fraud_pb2.UpdateValueListRequest, context: Context
    ) -> fraud_pb2.ValueList:
        merchant_id = current_call().require_merchant()
        list_id = requests.value_list_id("id", request.id)
        changes = requests.value_list_changes(request)
        return await self._mutations.answer(
            merchant_id,
            request,
            value_list_message,
            self._service.value_lists.update,
            list_id,
            changes,
        )

    async def DeleteValueList(
        self, request: fraud_pb2.DeleteValueListRequest, context: Context
    ) -> fraud_pb2.DeleteValueListResponse:
        merchant_id = current_call().require_merchant()
        list_id = requests.value_list_id("id", request.id)
        return await self._mutations.answer(
            merchant_id, request, deleted_list_message, self._service.value_lists.delete, list_id
        )

    async def ListValueLists(
        self, request: fraud_pb2.ListValueListsRequest, context: Context
    ) -> fraud_pb2.ListValueListsResponse:
        merchant_id = current_call().require_merchant()
        alias = requests.alias(request.alias) if request.alias else ""
        contains = validation.text("contains", request.contains, maximum=VALUE_LENGTH_MAX)
        cursor = cursor_with(
            request, lambda param, value: requests.value_list_id(param, value, required=False)
        )
        page = await self._service.value_lists.list(merchant_id, cursor, alias, contains)
        return page_response(fraud_pb2.ListValueListsResponse, page, value_list_message)

    async def CreateValueListItem(
        self, request: fraud_pb2.CreateValueListItemRequest, context: Context
    ) -> fraud_pb2.ValueListItem:
        merchant_id = current_call().require_merchant()
        lists = self._service.value_lists
        list_id = requests.value_list_id("value_list", request.value_list)
        kind = (await lists.get(merchant_id, list_id, "value_list")).item_type
        value = requests.blocklist_value("value", kind, request.value)

        async def change(connection: Any) -> BlocklistItem:
            held = await lists.held(connection, merchant_id, list_id)
            return await self._service.add_blocklist_item(
                connection, merchant_id, held.item_type, value, "", {}, held.stored_id
            )

        return await self._mutations.for_merchant(
            merchant_id, request, value_list_item_message, change
        )

    GetValueListItem = rpcs.get(
        Prefix.BLOCKLIST_ITEM, lambda s: s._service.value_lists.item, value_list_item_message
    )
    DeleteValueListItem = rpcs.change_by_id(
        Prefix.BLOCKLIST_ITEM, deleted_item_message, lambda s: s._service.value_lists.remove_item
    )

    async def ListValueListItems(
        self, request: fraud_pb2.ListValueListItemsRequest, context: Context
    ) -> fraud_pb2.ListValueListItemsResponse:
        merchant_id = current_call().require_merchant()
        list_id = requests.value_list_id("value_list", request.value_list)
        value = validation.text("value", request.value, maximum=VALUE_LENGTH_MAX)
        cursor = cursor_of(request, Prefix.BLOCKLIST_ITEM)
        page = await self._service.value_lists.items(merchant_id, list_id, cursor, value)
        return page_response(fraud_pb2.ListValueListItemsResponse, page, value_list_item_message)

    # -- early fraud warnings (paycore.fraud.early_warnings) --------------------------------

    GetEarlyFraudWarning = rpcs.get(
        Prefix.EARLY_FRAUD_WARNING,
        lambda s: s._service.early_warnings.get,
        early_fraud_warning_message,
    )

    async def ListEarlyFraudWarnings(
        self, request: fraud_pb2.ListEarlyFraudWarningsRequest, context: Context
    ) -> fraud_pb2.ListEarlyFraudWarningsResponse:
        merchant_id = current_call().require_merchant()
        charge = validation.charge_id("charge", request.charge, required=False)
        payment_intent = validation.object_id(
            "payment_intent", request.payment_intent, Prefix.PAYMENT_INTENT, required=False
        )
        cursor = cursor_of(request, Prefix.EARLY_FRAUD_WARNING)
        page = await self._service.early_warnings.list(merchant_id, cursor, charge, payment_intent)
        return page_response(
            fraud_pb2.ListEarlyFraudWarningsResponse, page, early_fraud_warning_message
        )

    GetReview = rpcs.get_acting(Prefix.REVIEW, lambda s: s._service.get_review, review_message)

    async def ListReviews(
        self, request: fraud_pb2.ListReviewsRequest, context: Context
    ) -> fraud_pb2.ListReviewsResponse:
        status = requests.review_status(request)
        merchant_id = requests.listed_merchant(request.merchant)
        page = await self._service.list_reviews(
            merchant_id, cursor_of(request, Prefix.REVIEW), status
        )
        return page_response(fraud_pb2.ListReviewsResponse, page, review_message)

    async def ApproveReview(
        self, request: fraud_pb2.ApproveReviewRequest, context: Context
    ) -> fraud_pb2.Review:
        return await self._close(request, ReviewStatus.APPROVED)

    async def RejectReview(
        self, request: fraud_pb2.RejectReviewRequest, context: Context
    ) -> fraud_pb2.Review:
        return await self._close(request, ReviewStatus.REJECTED)

    async def _close(
        self,
        request: fraud_pb2.ApproveReviewRequest | fraud_pb2.RejectReviewRequest,
        status: ReviewStatus,
    ) -> fraud_pb2.Review:
        review_id = validation.object_id("id", request.id, Prefix.REVIEW)
        note = requests.note("note", request.note)
        merchant_id = acting_merchant()
        closed: list[tuple[Review, Assessment | None]] = []

        async def change(connection: Any) -> Review:
            review, assessment = await self._service.close_review(
                connection, merchant_id, review_id, status, note
            )
            closed.append((review, assessment))
            return review

        response = await self._mutations.for_object(
            logical_shard_of(review_id, Prefix.REVIEW), merchant_id, request, review_message, change
        )
        for _, assessment in closed:  # a rejected review counts as a confirmed fraud
            if assessment is not None:
                await self._service.count_outcome(assessment)
        # Also on an idempotent replay (the listener is idempotent), from the stored answer.
        await self._service.review_closed(
            closed[0][0] if closed else await self._service.get_review(merchant_id, review_id)
        )
        return response
