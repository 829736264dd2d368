"""PayoutService over gRPC: validate, call the domain (through Mutations for changes), render."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore import validation
from paycore.currency.rules import CurrencyRules
from paycore.ids import Prefix
from paycore.payout.bank_accounts import BankAccounts
from paycore.payout.models import Payout, PayoutMethod
from paycore.payout.payouts import Payouts
from paycore.payout.reading import PayoutReads
from paycore.payout.schedules import Schedules
from paycore.payout.servicer import requests
from paycore.payout.servicer.messages import (
    bank_account_message,
    external_message,
    payout_card_message,
    payout_message,
    schedule_message,
    transfer_message,
    transfer_reversal_message,
)
from paycore.payout.transfers import Transfers
from paycore.runtime.context import current_call
from paycore.runtime.mutations import FinalAnswer, Mutations
from paycore.runtime.servicing import (
    ChangingRpcs,
    Context,
    add_servicer,
    merchant_and_id,
    page_response,
)
from paycore.v1 import payout_pb2, payout_pb2_grpc

rpcs: ChangingRpcs[PayoutServicer] = ChangingRpcs()


@dataclass(frozen=True, slots=True)
class PayoutServicer(payout_pb2_grpc.PayoutServiceServicer):
    _bank_accounts: BankAccounts
    _payouts: Payouts
    _schedules: Schedules
    _reads: PayoutReads
    _mutations: Mutations
    _rules: CurrencyRules
    _transfers: Transfers

    CreateBankAccount = rpcs.change(
        bank_account_message, lambda s: s._bank_accounts.create, requests.new_bank_account
    )

    CreatePayoutCard = rpcs.change(
        payout_card_message, lambda s: s._bank_accounts.register_card, requests.new_payout_card
    )

    GetBankAccount = rpcs.get(
        Prefix.BANK_ACCOUNT, lambda s: s._reads.bank_account, bank_account_message
    )

    ListBankAccounts = rpcs.filtered_list(
        Prefix.BANK_ACCOUNT,
        payout_pb2.ListBankAccountsResponse,
        requests.listed_account,
        lambda s: s._reads.bank_accounts,
        bank_account_message,
    )

    async def ListExternalAccounts(
        self, request: payout_pb2.ListExternalAccountsRequest, context: Context
    ) -> payout_pb2.ListExternalAccountsResponse:
        merchant_id, seller = merchant_and_id(request.id, Prefix.ACCOUNT)
        cursor = requests.external_cursor(request)
        kind = requests.external_kind(request)
        found = await self._reads.external_accounts(merchant_id, seller, cursor, kind)
        return page_response(payout_pb2.ListExternalAccountsResponse, found, external_message)

    async def CreateExternalAccount(
        self, request: payout_pb2.CreateExternalAccountRequest, context: Context
    ) -> payout_pb2.BankAccount:
        merchant_id, _ = merchant_and_id(request.id, Prefix.ACCOUNT)
        new = requests.new_external_account(request)
        return await self._mutations.answer(
            merchant_id, request, bank_account_message, self._bank_accounts.create_external, new
        )

    GetPayoutCard = rpcs.get(
        Prefix.PAYMENT_METHOD, lambda s: s._reads.payout_card, payout_card_message
    )

    ListPayoutCards = rpcs.filtered_list(
        Prefix.PAYMENT_METHOD,
        payout_pb2.ListPayoutCardsResponse,
        requests.listed_account,
        lambda s: s._reads.payout_cards,
        payout_card_message,
    )

    async def CreatePayout(
        self, request: payout_pb2.CreatePayoutRequest, context: Context
    ) -> payout_pb2.Payout:
        merchant_id = current_call().require_merchant()
        new = requests.new_payout(request, self._rules)

        async def send(payout_id: str, final: FinalAnswer[Payout]) -> Payout:
            # An instant payout goes out now; a standard one waits in the executor's queue.
            payout = await self._reads.payout(merchant_id, payout_id)
            if new.method is not PayoutMethod.INSTANT:
                return payout
            await self._payouts.send(payout)
            return await self._reads.payout(merchant_id, payout_id)

        return await self._mutations.phased(
            merchant_id,
            request,
            payout_message,
            lambda connection: self._payouts.create(connection, merchant_id, new),
            send,
        )

    GetPayout = rpcs.get(Prefix.PAYOUT, lambda s: s._reads.payout, payout_message)

    ListPayouts = rpcs.filtered_list(
        Prefix.PAYOUT,
        payout_pb2.ListPayoutsResponse,
        requests.payout_filter,
        lambda s: s._reads.payouts,
        payout_message,
    )

    UpdatePayout = rpcs.change_metadata(Prefix.PAYOUT, payout_message, lambda s: s._payouts.update)

    CancelPayout = rpcs.change_by_id(Prefix.PAYOUT, payout_message, lambda s: s._payouts.cancel)

    ReversePayout = rpcs.change_metadata(
        Prefix.PAYOUT, payout_message, lambda s: s._payouts.reverse
    )

    async def GetPayoutSchedule(
        self, request: payout_pb2.GetPayoutScheduleRequest, context: Context
    ) -> payout_pb2.PayoutSchedule:
        merchant_id = current_call().require_merchant()
        account = requests.account(request.account)
        return schedule_message(await self._schedules.get(merchant_id, account))

    UpdatePayoutSchedule = rpcs.change(
        schedule_message, lambda s: s._schedules.update, requests.schedule_change
    )

    # -- separate charges and transfers (docs/connect.md)

    CreateTransfer = rpcs.change(
        transfer_message, lambda s: s._transfers.create, requests.new_transfer
    )

    GetTransfer = rpcs.get(Prefix.TRANSFER, lambda s: s._reads.transfer, transfer_message)

    ListTransfers = rpcs.filtered_list(
        Prefix.TRANSFER,
        payout_pb2.ListTransfersResponse,
        requests.transfer_filter,
        lambda s: s._reads.transfers,
        transfer_message,
    )

    UpdateTransfer = rpcs.update(
        Prefix.TRANSFER, transfer_message, lambda s: s._transfers.update, requests.transfer_change
    )

    CreateTransferReversal = rpcs.update(
        Prefix.TRANSFER,
        transfer_reversal_message,
        lambda s: s._transfers.reverse,
        requests.new_transfer_reversal,
    )

    ListTransferReversals = rpcs.filtered_list(
        Prefix.TRANSFER_REVERSAL,
        payout_pb2.ListTransferReversalsResponse,
        requests.reversed_transfer,
        lambda s: s._reads.transfer_reversals,
        transfer_reversal_message,
    )

    UpdateTransferReversal = rpcs.change_held_metadata(
        Prefix.TRANSFER,
        ("reversal", Prefix.TRANSFER_REVERSAL),
        transfer_reversal_message,
        lambda s: s._transfers.update_reversal,
    )

    async def GetTransferReversal(
        self, request: payout_pb2.GetTransferReversalRequest, context: Context
    ) -> payout_pb2.SellerTransferReversal:
        merchant_id, transfer_id = merchant_and_id(request.id, Prefix.TRANSFER)
        reversal_id = validation.object_id("reversal", request.reversal, Prefix.TRANSFER_REVERSAL)
        found = await self._reads.transfer_reversal(merchant_id, transfer_id, reversal_id)
        return transfer_reversal_message(found)


def register(
    server: aio.Server,
    bank_accounts: BankAccounts,
    payouts: Payouts,
    schedules: Schedules,
    reads: PayoutReads,
    mutations: Mutations,
    rules: CurrencyRules,
    transfers: Transfers,
) -> str:
    """`rules`: the currencies' amount rules (HUF and TWD payouts in multiples of 100, ...)."""
    servicer = PayoutServicer(bank_accounts, payouts, schedules, reads, mutations, rules, transfers)
    return add_servicer(server, payout_pb2_grpc.add_PayoutServiceServicer_to_server, servicer)
