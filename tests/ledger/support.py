"""What the ledger and wallet tests share: accounts and transfers in a few words."""

from __future__ import annotations

from paycore.client import Paycore
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.v1 import ledger_pb2

LIABILITY = ledger_pb2.LEDGER_ACCOUNT_TYPE_LIABILITY
ASSET = ledger_pb2.LEDGER_ACCOUNT_TYPE_ASSET
Result = ledger_pb2.LedgerTransferResult


def transfer_id(merchant_id: str) -> str:
    return new_id(Prefix.LEDGER_TRANSFER, logical_shard_of(merchant_id, Prefix.ACCOUNT))


async def account(
    admin: Paycore,
    merchant_id: str,
    code: str,
    currency: str = "usd",
    *,
    kind: ledger_pb2.LedgerAccountType.ValueType = LIABILITY,
    no_overdraft: bool = False,
) -> str:
    created = await admin.ledger.CreateAccount(
        ledger_pb2.CreateAccountRequest(
            merchant=merchant_id,
            code=code,
            type=kind,
            currency=currency,
            debits_must_not_exceed_credits=no_overdraft,
        )
    )
    return created.id


async def post(admin: Paycore, *transfers: ledger_pb2.LedgerTransfer) -> list[str]:
    """Posts the batch; the result names (CREATED, EXISTS, ...) in order."""
    response = await admin.ledger.PostTransfers(
        ledger_pb2.PostTransfersRequest(transfers=list(transfers))
    )
    return [
        Result.Name(result.result).removeprefix("LEDGER_TRANSFER_RESULT_")
        for result in response.results
    ]


async def balances(admin: Paycore, account_id: str) -> tuple[int, int, int, int]:
    found = (await admin.ledger.GetAccount(ledger_pb2.GetAccountRequest(id=account_id))).balances
    return (found.debits_posted, found.credits_posted, found.debits_pending, found.credits_pending)


async def integrity_ok(admin: Paycore, merchant_id: str = "") -> ledger_pb2.IntegrityReport:
    report = await admin.ledger.CheckIntegrity(
        ledger_pb2.CheckIntegrityRequest(merchant=merchant_id)
    )
    assert list(report.mismatches) == [], report.mismatches
    assert report.ok
    return report
