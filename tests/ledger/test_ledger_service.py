"""LedgerService end to end: a real server, real PostgreSQL (two shards) and Redis."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from grpc import aio
from paycore.app import Platform
from paycore.client import Paycore, connect, idempotency_key
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.ledger.models import TransferRequest
from paycore.ledger.service import LedgerService
from paycore.v1 import ledger_pb2

from tests.helpers import MerchantFixture, rich_error
from tests.ledger.support import ASSET, account, balances, integrity_ok, post, transfer_id

T = ledger_pb2.LedgerTransfer


async def _pair(admin: Paycore, merchant_id: str, currency: str = "usd") -> tuple[str, str]:
    source = await account(admin, merchant_id, f"cash_{currency}", currency, kind=ASSET)
    target = await account(admin, merchant_id, f"balance_{currency}", currency, no_overdraft=True)
    return source, target


async def test_transfer_moves_balances_and_a_replay_exists(
    admin: Paycore, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    source, target = await _pair(admin, merchant_id)
    first = T(
        id=transfer_id(merchant_id),
        debit_account=source,
        credit_account=target,
        amount=1250,
        currency="usd",
        code="payment",
        metadata={"source": "pi_1"},
    )
    assert await post(admin, first) == ["CREATED"]
    assert await post(admin, first) == ["EXISTS"]
    changed = T()
    changed.CopyFrom(first)
    changed.amount = 1251
    assert await post(admin, changed) == ["EXISTS_WITH_DIFFERENT_TERMS"]
    assert await balances(admin, source) == (1250, 0, 0, 0)
    assert await balances(admin, target) == (0, 1250, 0, 0)
    stored = await admin.ledger.GetTransfer(ledger_pb2.GetTransferRequest(id=first.id))
    assert (stored.amount, stored.status) == (1250, ledger_pb2.LEDGER_TRANSFER_STATUS_POSTED)
    entries = await admin.ledger.ListEntries(ledger_pb2.ListEntriesRequest(account=target))
    assert [(entry.amount, entry.balances.credits_posted) for entry in entries.data] == [
        (1250, 1250)
    ]
    await integrity_ok(admin, merchant_id)


async def test_two_phase_transfers(admin: Paycore, merchant: MerchantFixture) -> None:
    merchant_id = merchant.merchant.id
    source, target = await _pair(admin, merchant_id)
    hold, partial, again = (transfer_id(merchant_id) for _ in range(3))
    pending = T(
        id=hold,
        debit_account=source,
        credit_account=target,
        amount=1000,
        currency="usd",
        code="authorization",
        pending=True,
    )
    assert await post(admin, pending) == ["CREATED"]
    assert await balances(admin, target) == (0, 0, 0, 1000)
    assert await post(admin, T(id=partial, post_pending_id=hold, amount=600, code="capture")) == [
        "CREATED"
    ]
    assert await balances(admin, target) == (0, 600, 0, 0)
    assert await balances(admin, source) == (600, 0, 0, 0)
    assert await post(admin, T(id=again, void_pending_id=hold, code="cancel")) == [
        "PENDING_TRANSFER_ALREADY_POSTED"
    ]
    stored = await admin.ledger.GetTransfer(ledger_pb2.GetTransferRequest(id=hold))
    assert stored.resolved_by == partial
    voided, void = transfer_id(merchant_id), transfer_id(merchant_id)
    pending.id = voided
    assert await post(admin, pending, T(id=void, void_pending_id=voided, code="cancel")) == [
        "CREATED",
        "CREATED",
    ]
    assert await post(
        admin,
        T(id=transfer_id(merchant_id), post_pending_id=voided, code="capture"),
        T(id=transfer_id(merchant_id), post_pending_id=transfer_id(merchant_id), code="capture"),
    ) == ["PENDING_TRANSFER_ALREADY_VOIDED", "PENDING_TRANSFER_NOT_FOUND"]
    assert await balances(admin, target) == (0, 600, 0, 0)
    await integrity_ok(admin, merchant_id)


async def test_named_errors_change_nothing(admin: Paycore, merchant: MerchantFixture) -> None:
    merchant_id = merchant.merchant.id
    source, target = await _pair(admin, merchant_id)
    euros = await account(admin, merchant_id, "cash_eur", "eur", kind=ASSET)

    def transfer(**terms: Any) -> ledger_pb2.LedgerTransfer:
        fields: dict[str, Any] = {
            "id": transfer_id(merchant_id),
            "debit_account": source,
            "credit_account": target,
            "amount": 10,
            "currency": "usd",
            "code": "test",
        }
        fields.update(terms)
        return T(**fields)

    results = await post(
        admin,
        transfer(debit_account=euros),
        transfer(amount=0),
        transfer(amount=-5),
        transfer(credit_account=source),
        transfer(pending=True, void_pending_id=transfer_id(merchant_id)),
        transfer(timeout_seconds=5),
        transfer(code=""),
        transfer(id="lt_nonsense"),
        transfer(debit_account=target, credit_account=source),
        transfer(linked=True),
        transfer(amount=0),
        transfer(linked=True),
    )
    assert results == [
        "CURRENCY_MISMATCH",
        "AMOUNT_MUST_BE_POSITIVE",
        "AMOUNT_MUST_BE_POSITIVE",
        "ACCOUNTS_MUST_DIFFER",
        "FLAGS_ARE_MUTUALLY_EXCLUSIVE",
        "TIMEOUT_RESERVED_FOR_PENDING_TRANSFER",
        "CODE_REQUIRED",
        "ID_INVALID",
        "EXCEEDS_CREDITS",
        "LINKED_EVENT_FAILED",
        "AMOUNT_MUST_BE_POSITIVE",
        "LINKED_EVENT_CHAIN_OPEN",
    ]
    for account_id in (source, target, euros):
        assert await balances(admin, account_id) == (0, 0, 0, 0)
    report = await integrity_ok(admin, merchant_id)
    assert report.transfer_count == 0


async def test_a_linked_chain_is_applied_whole_or_not_at_all(
    admin: Paycore, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    source, target = await _pair(admin, merchant_id)
    fund, spend = transfer_id(merchant_id), transfer_id(merchant_id)
    common: dict[str, Any] = {"currency": "usd", "code": "test"}
    chain = [
        T(id=fund, debit_account=source, credit_account=target, amount=100, linked=True, **common),
        T(id=spend, debit_account=target, credit_account=source, amount=101, **common),
    ]
    assert await post(admin, *chain) == ["LINKED_EVENT_FAILED", "EXCEEDS_CREDITS"]
    chain[1].amount = 100
    assert await post(admin, *chain) == ["CREATED", "CREATED"]
    assert await balances(admin, target) == (100, 100, 0, 0)
    await integrity_ok(admin, merchant_id)


@dataclass(frozen=True)
class Holds:
    """A ledger on a clock the test moves (`now[0]`, unix seconds), and holds of 70 from a
    merchant's PSP receivable into its pending balance."""

    ledger: LedgerService
    merchant_id: str
    receivable: str
    pending_balance: str

    @classmethod
    async def of(cls, platform: Platform, merchant_id: str, now: list[float]) -> Holds:
        ledger = LedgerService(platform.shards, lambda: now[0])
        async with platform.shards.transaction(merchant_id) as connection:
            accounts = await ledger.merchant_accounts(connection, merchant_id, "usd")
        return cls(
            ledger,
            merchant_id,
            accounts["psp_receivable"].id,
            accounts["balance_pending"].id,
        )

    def _new_id(self) -> str:
        return new_id(Prefix.LEDGER_TRANSFER, logical_shard_of(self.merchant_id, Prefix.ACCOUNT))

    def hold(self, timeout_seconds: int) -> TransferRequest:
        return TransferRequest(
            id=self._new_id(),
            debit_account_id=self.receivable,
            credit_account_id=self.pending_balance,
            amount=70,
            currency="usd",
            pending=True,
            timeout_seconds=timeout_seconds,
            code="authorization",
        )

    def capture(self, held: TransferRequest) -> TransferRequest:
        return TransferRequest(id=self._new_id(), post_pending_id=held.id, code="capture")


async def test_expiry_is_enforced_lazily_and_by_the_sweep(
    platform: Platform, merchant: MerchantFixture
) -> None:
    now = [2_000_000_000.0]
    holds = await Holds.of(platform, merchant.merchant.id, now)
    ledger, merchant_id, pending_balance = holds.ledger, holds.merchant_id, holds.pending_balance
    lazy, swept = holds.hold(10), holds.hold(20)
    await ledger.post([([lazy, swept], merchant_id)])
    held = (await ledger.get_account(merchant_id, pending_balance)).balances
    assert held.credits_pending == 140
    now[0] += 15
    [[outcome]] = await ledger.post([([holds.capture(lazy)], merchant_id)])
    assert outcome.result.name == "PENDING_TRANSFER_EXPIRED"
    assert (await ledger.get_account(merchant_id, pending_balance)).balances.credits_pending == 70
    assert (await ledger.get_transfer(merchant_id, lazy.id)).status.value == "expired"
    now[0] += 10
    assert await ledger.expire_overdue() >= 1
    final = (await ledger.get_account(merchant_id, pending_balance)).balances
    assert (final.credits_pending, final.credits_posted) == (0, 0)
    assert (await ledger.get_transfer(merchant_id, swept.id)).status.value == "expired"
    assert (await ledger.check_integrity(merchant_id, "")).mismatches == []


async def test_a_hold_lasts_at_least_its_timeout_whatever_the_fraction_of_its_second(
    platform: Platform, merchant: MerchantFixture
) -> None:
    """A pending transfer made late in a second (x.9) with a timeout of 1 s still holds 0.1 s
    later. Before, its expiry was counted from the second it was made in (x + 1), so it
    expired after 0.1 s, a tenth of the timeout asked for, and its post was refused
    PENDING_TRANSFER_EXPIRED."""
    now = [2_000_000_000.9]
    holds = await Holds.of(platform, merchant.merchant.id, now)
    ledger, merchant_id = holds.ledger, holds.merchant_id
    posted, left = holds.hold(1), holds.hold(1)
    await ledger.post([([posted, left], merchant_id)])
    assert (await ledger.get_transfer(merchant_id, left.id)).expires_at == 2_000_000_002
    now[0] += 0.2  # 2_000_000_001.1: within the second asked for
    [[outcome]] = await ledger.post([([holds.capture(posted)], merchant_id)])
    assert outcome.result.name == "CREATED"
    assert (await ledger.get_transfer(merchant_id, left.id)).status.value == "pending"
    now[0] += 1  # 2_000_000_002.1: more than a second after it was made
    assert await ledger.expire_overdue() >= 1
    assert (await ledger.get_transfer(merchant_id, left.id)).status.value == "expired"
    assert (await ledger.check_integrity(merchant_id, "")).mismatches == []


async def test_bad_input_is_invalid_argument_naming_the_field(
    admin: Paycore, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    source, target = await _pair(admin, merchant_id)
    valid: dict[str, Any] = {
        "debit_account": source,
        "credit_account": target,
        "currency": "usd",
        "code": "x",
    }
    cases: list[tuple[ledger_pb2.LedgerTransfer, str, str]] = [
        (T(amount=100_000_000, **valid), "transfers[0].amount", "AMOUNT_TOO_LARGE"),
        (T(amount=1, **{**valid, "currency": "xxx"}), "transfers[0].currency", ""),
        (T(amount=1, **{**valid, "debit_account": "acct_1"}), "transfers[0].debit_account", ""),
        (T(amount=1, **{**valid, "code": "Bad Code"}), "transfers[0].code", ""),
    ]
    for transfer, param, reason in cases:
        transfer.id = transfer_id(merchant_id)
        with pytest.raises(aio.AioRpcError) as raised:
            await admin.ledger.PostTransfers(ledger_pb2.PostTransfersRequest(transfers=[transfer]))
        error = rich_error(raised.value)
        assert (error.code, error.param) == (grpc.StatusCode.INVALID_ARGUMENT, param)
        if reason:
            assert error.reason == reason
    with pytest.raises(aio.AioRpcError) as raised:
        await admin.ledger.PostTransfers(ledger_pb2.PostTransfersRequest())
    assert rich_error(raised.value).param == "transfers"
    with pytest.raises(aio.AioRpcError) as raised:
        await admin.ledger.CreateAccount(
            ledger_pb2.CreateAccountRequest(merchant=merchant_id, code="x", currency="usd")
        )
    assert rich_error(raised.value).param == "type"
    assert await balances(admin, source) == (0, 0, 0, 0)


async def test_merchant_keys_cannot_use_the_ledger_and_merchants_are_isolated(
    target: str,
    admin: Paycore,
    settings_admin_token: str,
    merchant: MerchantFixture,
    other_merchant: MerchantFixture,
) -> None:
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.ledger.CheckIntegrity(ledger_pb2.CheckIntegrityRequest())
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    mine, _ = await _pair(admin, merchant.merchant.id)
    theirs, their_target = await _pair(admin, other_merchant.merchant.id)
    async with connect(target, settings_admin_token, acting_for=merchant.merchant.id) as acting:
        with pytest.raises(aio.AioRpcError) as raised:
            await acting.ledger.GetAccount(ledger_pb2.GetAccountRequest(id=theirs))
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
        assert (await acting.ledger.GetAccount(ledger_pb2.GetAccountRequest(id=mine))).id == mine
        results = await post(
            acting,
            T(
                id=transfer_id(other_merchant.merchant.id),
                debit_account=theirs,
                credit_account=their_target,
                amount=5,
                currency="usd",
                code="x",
            ),
        )
    assert results == ["DEBIT_ACCOUNT_NOT_FOUND"]
    across = T(
        id=transfer_id(merchant.merchant.id),
        debit_account=mine,
        credit_account=their_target,
        amount=5,
        currency="usd",
        code="x",
    )
    assert (await post(admin, across))[0] in (
        "ACCOUNTS_MUST_HAVE_SAME_MERCHANT",
        "CREDIT_ACCOUNT_NOT_FOUND",
    )


async def test_idempotency_key_replays_the_batch(admin: Paycore, merchant: MerchantFixture) -> None:
    merchant_id = merchant.merchant.id
    source, target = await _pair(admin, merchant_id)
    request = ledger_pb2.PostTransfersRequest(
        transfers=[
            T(
                id=transfer_id(merchant_id),
                debit_account=source,
                credit_account=target,
                amount=7,
                currency="usd",
                code="x",
            )
        ]
    )
    key = idempotency_key(f"ledger-{merchant_id}")
    first = await admin.ledger.PostTransfers(request, metadata=key)
    again = await admin.ledger.PostTransfers(request, metadata=key)
    assert first == again
    assert first.results[0].result == ledger_pb2.LEDGER_TRANSFER_RESULT_CREATED
    request.transfers[0].amount = 8
    with pytest.raises(aio.AioRpcError) as raised:
        await admin.ledger.PostTransfers(request, metadata=key)
    assert rich_error(raised.value).reason == "IDEMPOTENCY_KEY_REUSED"
    assert await balances(admin, target) == (0, 7, 0, 0)


async def test_a_keyed_batch_refused_transfer_by_transfer_answers_its_results(
    admin: Paycore, merchant: MerchantFixture
) -> None:
    """A keyed batch whose every transfer is refused on its own terms (no code, one account on
    both sides) writes nothing: it answers each transfer's result, as without a key, and not a
    call-level error saying the transfers are several merchants'."""
    merchant_id = merchant.merchant.id
    source, target = await _pair(admin, merchant_id)
    request = ledger_pb2.PostTransfersRequest(
        transfers=[
            T(
                id=transfer_id(merchant_id),
                debit_account=source,
                credit_account=target,
                amount=5,
                currency="usd",
            ),
            T(
                id=transfer_id(merchant_id),
                debit_account=source,
                credit_account=source,
                amount=5,
                currency="usd",
                code="x",
            ),
        ]
    )
    key = idempotency_key(f"refused-{merchant_id}")
    answered = await admin.ledger.PostTransfers(request, metadata=key)
    assert [result.result for result in answered.results] == [
        ledger_pb2.LEDGER_TRANSFER_RESULT_CODE_REQUIRED,
        ledger_pb2.LEDGER_TRANSFER_RESULT_ACCOUNTS_MUST_DIFFER,
    ]
    assert await admin.ledger.PostTransfers(request, metadata=key) == answered
    assert await balances(admin, target) == (0, 0, 0, 0)


async def test_an_operators_keyed_batch_must_name_one_logical_shard(
    admin: Paycore, platform: Platform
) -> None:
    """An operator acting for no merchant keeps its key on the transfers' logical shard, so
    that the key moves with them (paycore.storage.idempotency.operator_owner): a batch over two
    logical shards has no such place, even when one database holds both."""
    first, second = 2, 4
    assert platform.shards.physical_of_logical(first) == platform.shards.physical_of_logical(second)
    request = ledger_pb2.PostTransfersRequest(
        transfers=[
            T(
                id=new_id(Prefix.LEDGER_TRANSFER, logical_shard),
                debit_account=new_id(Prefix.LEDGER_ACCOUNT, logical_shard),
                credit_account=new_id(Prefix.LEDGER_ACCOUNT, logical_shard),
                amount=1,
                currency="usd",
                code="x",
            )
            for logical_shard in (first, second)
        ]
    )
    with pytest.raises(aio.AioRpcError) as raised:
        await admin.ledger.PostTransfers(request, metadata=idempotency_key("two-logical-shards"))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).param == "transfers"


@pytest.mark.parametrize("keyed", [False, True])
async def test_a_transfer_beyond_the_deployments_logical_shards_fails_alone(
    admin: Paycore, merchant: MerchantFixture, platform: Platform, keyed: bool
) -> None:
    """A transfer whose id names a logical shard this deployment has not (another deployment's
    id, one made with another PAYCORE_LOGICAL_SHARDS) is ID_INVALID on its own, as the contract
    says each transfer succeeds or fails on its own; the batch's other transfers are applied.
    Before, the whole call failed NOT_FOUND "No such lt" naming `id`, and nothing was posted."""
    merchant_id = merchant.merchant.id
    source, target = await _pair(admin, merchant_id)
    beyond = platform.shards.logical_shard_count + 7
    ours = T(
        id=transfer_id(merchant_id),
        debit_account=source,
        credit_account=target,
        amount=40,
        currency="usd",
        code="payment",
    )
    foreign = T(
        id=new_id(Prefix.LEDGER_TRANSFER, beyond),
        debit_account=new_id(Prefix.LEDGER_ACCOUNT, beyond),
        credit_account=new_id(Prefix.LEDGER_ACCOUNT, beyond),
        amount=40,
        currency="usd",
        code="payment",
    )
    request = ledger_pb2.PostTransfersRequest(transfers=[ours, foreign])
    metadata = idempotency_key(f"beyond-{merchant_id}") if keyed else None
    answered = await admin.ledger.PostTransfers(request, metadata=metadata)
    assert [result.result for result in answered.results] == [
        ledger_pb2.LEDGER_TRANSFER_RESULT_CREATED,
        ledger_pb2.LEDGER_TRANSFER_RESULT_ID_INVALID,
    ]
    assert await balances(admin, target) == (0, 40, 0, 0)
    alone = await admin.ledger.PostTransfers(
        ledger_pb2.PostTransfersRequest(transfers=[foreign]),
        metadata=metadata and idempotency_key(f"beyond-alone-{merchant_id}"),
    )
    assert [result.result for result in alone.results] == [
        ledger_pb2.LEDGER_TRANSFER_RESULT_ID_INVALID
    ]
    await integrity_ok(admin, merchant_id)


async def test_concurrent_single_transfers_on_hot_accounts(
    admin: Paycore, merchant: MerchantFixture
) -> None:
    """Hundreds of simultaneous calls on three accounts: no deadlock, no lost update, and the
    no-overdraft account never goes below zero; the calls that would break it say why."""
    merchant_id = merchant.merchant.id
    cash = await account(admin, merchant_id, "hot_cash", kind=ASSET)
    wallet = await account(admin, merchant_id, "hot_wallet", no_overdraft=True)
    fees = await account(admin, merchant_id, "hot_fees")
    assert await post(
        admin,
        T(
            id=transfer_id(merchant_id),
            debit_account=cash,
            credit_account=wallet,
            amount=1000,
            currency="usd",
            code="funding",
        ),
    ) == ["CREATED"]

    async def spend(index: int) -> str:
        debit, credit = (wallet, fees) if index % 2 else (cash, fees)
        transfer = T(
            id=transfer_id(merchant_id),
            debit_account=debit,
            credit_account=credit,
            amount=10,
            currency="usd",
            code="spend",
        )
        return (await post(admin, transfer))[0]

    results = await asyncio.wait_for(asyncio.gather(*(spend(i) for i in range(400))), 60)
    from_wallet = [result for index, result in enumerate(results) if index % 2]
    from_cash = [result for index, result in enumerate(results) if not index % 2]
    assert from_cash == ["CREATED"] * 200
    assert from_wallet.count("CREATED") == 100
    assert from_wallet.count("EXCEEDS_CREDITS") == 100
    assert await balances(admin, wallet) == (1000, 1000, 0, 0)
    assert await balances(admin, cash) == (1000 + 2000, 0, 0, 0)
    assert await balances(admin, fees) == (0, 3000, 0, 0)
    await integrity_ok(admin, merchant_id)
