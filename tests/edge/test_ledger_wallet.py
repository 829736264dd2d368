"""LedgerService (admin token) and WalletService (the merchant's secret key) over the REST edge,
end to end: accounts, one- and two-phase transfers, statements and integrity, then the balance
and balance transactions the wallet reads from the same ledger accounts."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import ClientSession
from paycore.ledger import codes

from tests.edge.helpers import Answer, call, new_merchant
from tests.ledger.support import transfer_id

NOT_FOUND_ID = "1" * 22


async def _account(
    http: ClientSession,
    admin: str,
    merchant_id: str,
    spec: codes.AccountCode,
    currency: str = "usd",
) -> dict[str, Any]:
    created = await call(
        http,
        "POST",
        "/v1/ledger/accounts",
        key=admin,
        json_body={
            "merchant": merchant_id,
            "code": spec.code,
            "type": spec.type.value,
            "currency": currency,
            "debits_must_not_exceed_credits": spec.debits_must_not_exceed_credits,
        },
    )
    assert created.status == 200, created.body
    account: dict[str, Any] = created.body
    return account


async def _post(http: ClientSession, admin: str, *transfers: dict[str, Any], **kw: Any) -> Answer:
    return await call(
        http,
        "POST",
        "/v1/ledger/transfers",
        key=admin,
        json_body={"transfers": list(transfers)},
        **kw,
    )


def _results(answer: Answer) -> list[str]:
    assert answer.status == 200, answer.body
    return [result["result"] for result in answer.body["results"]]


async def test_ledger_accounts_transfers_entries_and_integrity(
    http: ClientSession, settings_admin_token: str
) -> None:
    admin = settings_admin_token
    merchant = await new_merchant(http, admin)
    merchant_id = merchant["id"]
    cash = await _account(http, admin, merchant_id, codes.PSP_RECEIVABLE)
    balance = await _account(http, admin, merchant_id, codes.BALANCE_AVAILABLE)
    assert cash["type"] == "asset" and balance["type"] == "liability"
    assert balance["debits_must_not_exceed_credits"] is True
    assert balance["balances"] == {
        "debits_posted": 0,
        "credits_posted": 0,
        "debits_pending": 0,
        "credits_pending": 0,
    }
    # Creating it again with the same terms answers the same account; other terms are a 409.
    again = await _account(http, admin, merchant_id, codes.BALANCE_AVAILABLE)
    assert again["id"] == balance["id"]
    clash = await call(
        http,
        "POST",
        "/v1/ledger/accounts",
        key=admin,
        json_body={
            "merchant": merchant_id,
            "code": "psp_receivable",
            "type": "revenue",
            "currency": "usd",
        },
    )
    assert clash.status == 409, clash.body
    assert clash.headers["Stripe-Should-Retry"] == "false"  # the SDKs would retry a 409

    read = await call(http, "GET", f"/v1/ledger/accounts/{cash['id']}", key=admin)
    assert (read.status, read.body["id"], read.body["code"]) == (200, cash["id"], "psp_receivable")
    first = await call(
        http, "GET", f"/v1/ledger/accounts?merchant={merchant_id}&limit=1", key=admin
    )
    assert first.status == 200, first.body
    assert len(first.body["data"]) == 1 and first.body["has_more"] is True
    after = first.body["data"][0]["id"]
    second = await call(
        http,
        "GET",
        f"/v1/ledger/accounts?merchant={merchant_id}&limit=1&starting_after={after}",
        key=admin,
    )
    assert second.status == 200 and second.body["has_more"] is False
    assert {first.body["data"][0]["id"], second.body["data"][0]["id"]} == {
        cash["id"],
        balance["id"],
    }
    by_code = await call(
        http, "GET", f"/v1/ledger/accounts?merchant={merchant_id}&code=psp_receivable", key=admin
    )
    assert [account["id"] for account in by_code.body["data"]] == [cash["id"]]

    def transfer(amount: int, **terms: Any) -> dict[str, Any]:
        return {
            "id": transfer_id(merchant_id),
            "debit_account": cash["id"],
            "credit_account": balance["id"],
            "amount": amount,  # a number here, a string in answers: both are accepted
            "currency": "usd",
            "code": "payment",
            **terms,
        }

    plain = transfer(1000, metadata={"source": "pi_1"})
    assert _results(await _post(http, admin, plain)) == ["created"]
    assert _results(await _post(http, admin, plain)) == ["exists"]
    assert _results(await _post(http, admin, {**plain, "amount": "1001"})) == [
        "exists_with_different_terms"
    ]
    hold, to_void = transfer(300, pending=True), transfer(200, pending=True, timeout_seconds=3600)
    assert _results(await _post(http, admin, hold, to_void)) == ["created", "created"]
    capture = {
        "id": transfer_id(merchant_id),
        "post_pending_id": hold["id"],
        "amount": "250",
        "code": "capture",
    }
    cancel = {"id": transfer_id(merchant_id), "void_pending_id": to_void["id"], "code": "cancel"}
    assert _results(await _post(http, admin, capture, cancel)) == ["created", "created"]
    overdraft = transfer(10_000, debit_account=balance["id"], credit_account=cash["id"])
    assert _results(await _post(http, admin, overdraft)) == ["exceeds_credits"]

    held = await call(http, "GET", f"/v1/ledger/transfers/{hold['id']}", key=admin)
    assert held.status == 200, held.body
    assert (held.body["status"], held.body["resolved_by"], held.body["amount"]) == (
        "posted",
        capture["id"],
        300,
    )
    voided = await call(http, "GET", f"/v1/ledger/transfers/{to_void['id']}", key=admin)
    assert (voided.body["status"], voided.body["expires_at"] > 0) == ("voided", True)
    read = await call(http, "GET", f"/v1/ledger/accounts/{balance['id']}", key=admin)
    assert read.body["balances"] == {
        "debits_posted": 0,
        "credits_posted": 1250,
        "debits_pending": 0,
        "credits_pending": 0,
    }

    entries_path = f"/v1/ledger/accounts/{balance['id']}/entries"
    page = await call(http, "GET", f"{entries_path}?limit=2", key=admin)
    assert page.status == 200, page.body
    assert len(page.body["data"]) == 2 and page.body["has_more"] is True
    rest = await call(
        http,
        "GET",
        f"{entries_path}?limit=100&starting_after={page.body['data'][-1]['id']}",
        key=admin,
    )
    assert rest.status == 200 and rest.body["has_more"] is False
    entries = page.body["data"] + rest.body["data"]
    # The payment, two holds, the post and the void: each once.
    assert len({entry["id"] for entry in entries}) == len(entries) == 5
    assert {entry["kind"] for entry in entries} == {
        "posted",
        "pending",
        "post_pending",
        "void_pending",
    }
    assert {entry["direction"] for entry in entries} == {"credit"}

    report = await call(http, "GET", f"/v1/ledger/integrity?merchant={merchant_id}", key=admin)
    assert report.status == 200, report.body
    assert report.body["ok"] is True and report.body["mismatches"] == []
    assert report.body["account_count"] == 2
    [usd] = report.body["currencies"]
    assert usd["currency"] == "usd"
    assert usd["balances"]["debits_posted"] == usd["balances"]["credits_posted"] == 1250


async def test_ledger_errors_and_idempotent_replays(
    http: ClientSession, settings_admin_token: str
) -> None:
    admin = settings_admin_token
    merchant = await new_merchant(http, admin)
    merchant_id, key = merchant["id"], merchant["secret_key"]
    cash = await _account(http, admin, merchant_id, codes.PSP_RECEIVABLE)
    balance = await _account(http, admin, merchant_id, codes.BALANCE_PENDING)

    denied = await call(http, "GET", f"/v1/ledger/accounts/{cash['id']}", key=key)
    assert (denied.status, denied.error["type"]) == (403, "permission_error")
    missing = await call(http, "GET", f"/v1/ledger/accounts/la_{NOT_FOUND_ID}", key=admin)
    assert (missing.status, missing.error["code"], missing.error["param"]) == (
        404,
        "resource_missing",
        "id",
    )
    no_transfer = await call(http, "GET", f"/v1/ledger/transfers/lt_{NOT_FOUND_ID}", key=admin)
    assert no_transfer.status == 404, no_transfer.body
    malformed = await call(http, "GET", "/v1/ledger/transfers/acct_1", key=admin)
    assert (malformed.status, malformed.error["code"], malformed.error["param"]) == (
        404,
        "resource_missing",
        "id",
    )
    empty = await _post(http, admin)
    assert (empty.status, empty.error["param"]) == (400, "transfers")
    bad_type = await call(
        http,
        "POST",
        "/v1/ledger/accounts",
        key=admin,
        json_body={
            "merchant": merchant_id,
            "code": "x",
            "type": "LEDGER_ACCOUNT_TYPE_ASSET",
            "currency": "usd",
        },
    )
    assert (bad_type.status, bad_type.error["param"]) == (400, "type")
    assert "liability" in bad_type.error["message"]
    # Acting for another merchant than the one named in the body.
    other = await new_merchant(http, admin, name="Globex")
    mismatch = await call(
        http,
        "POST",
        "/v1/ledger/accounts",
        key=admin,
        headers={"Paycore-Merchant": other["id"]},
        json_body={"merchant": merchant_id, "code": "x", "type": "asset", "currency": "usd"},
    )
    assert (mismatch.status, mismatch.error["param"]) == (400, "merchant")
    # Acting for the other merchant, this merchant's objects do not exist.
    hidden = await call(
        http,
        "GET",
        f"/v1/ledger/accounts/{cash['id']}",
        key=admin,
        headers={"Paycore-Merchant": other["id"]},
    )
    assert hidden.status == 404, hidden.body

    idempotency = {"Idempotency-Key": f"ledger-{secrets.token_hex(4)}"}
    account_body = {
        "merchant": merchant_id,
        "code": "fees_revenue",
        "type": "revenue",
        "currency": "usd",
    }
    created = await call(
        http, "POST", "/v1/ledger/accounts", key=admin, headers=idempotency, json_body=account_body
    )
    replay = await call(
        http, "POST", "/v1/ledger/accounts", key=admin, headers=idempotency, json_body=account_body
    )
    assert created.status == replay.status == 200, (created.body, replay.body)
    assert replay.body == created.body
    reused = await call(
        http,
        "POST",
        "/v1/ledger/accounts",
        key=admin,
        headers=idempotency,
        json_body={**account_body, "currency": "eur"},
    )
    assert (reused.status, reused.error["type"], reused.error["code"]) == (
        400,
        "idempotency_error",
        "idempotency_key_reused",
    )

    transfer = {
        "id": transfer_id(merchant_id),
        "debit_account": cash["id"],
        "credit_account": balance["id"],
        "amount": "700",
        "currency": "usd",
        "code": "payment",
    }
    idempotency = {"Idempotency-Key": f"transfers-{secrets.token_hex(4)}"}
    posted = await _post(http, admin, transfer, headers=idempotency)
    replayed = await _post(http, admin, transfer, headers=idempotency)
    assert _results(posted) == _results(replayed) == ["created"]  # the stored answer, not "exists"
    assert replayed.body == posted.body
    changed = await _post(http, admin, {**transfer, "amount": "701"}, headers=idempotency)
    assert (changed.status, changed.error["code"]) == (400, "idempotency_key_reused")
    read = await call(http, "GET", f"/v1/ledger/accounts/{balance['id']}", key=admin)
    assert read.body["balances"]["credits_posted"] == 700


async def test_wallet_balance_and_transactions_after_ledger_movements(
    http: ClientSession, settings_admin_token: str
) -> None:
    admin = settings_admin_token
    merchant = await new_merchant(http, admin)
    merchant_id, key = merchant["id"], merchant["secret_key"]
    empty = await call(http, "GET", "/v1/balance", key=key)
    assert empty.status == 200, empty.body
    # the merchant's own balance: no seller account (an unset id is null)
    zero = [{"amount": 0, "currency": "usd"}]  # Stripe's new account: its default currency
    assert empty.body == {
        "object": "balance",
        "livemode": False,
        "account": None,
        "available": zero,
        "pending": zero,
        "instant_available": zero,  # Stripe's: the largest instant payout, with its fee
    }
    ids = {
        spec.code: (await _account(http, admin, merchant_id, spec))["id"]
        for spec in codes.MERCHANT_ACCOUNTS
    }

    def move(debit: str, credit: str, amount: int, code: str, source: str, **terms: Any) -> Any:
        return {
            "id": transfer_id(merchant_id),
            "debit_account": ids[debit],
            "credit_account": ids[credit],
            "amount": amount,
            "currency": "usd",
            "code": code,
            "metadata": {"source": source, "description": f"{code} {source}"},
            **terms,
        }

    results = await _post(
        http,
        admin,
        move("psp_receivable", "balance_pending", 1000, codes.TRANSFER_PAYMENT, "pi_1"),
        move("balance_pending", "fees_revenue", 30, codes.TRANSFER_FEE, "pi_1"),
        move("balance_pending", "balance_available", 970, codes.TRANSFER_AVAILABILITY, "pi_1"),
        move("psp_receivable", "balance_pending", 500, codes.TRANSFER_PAYMENT, "pi_2"),
        move(
            "balance_available",
            "payouts_in_transit",
            200,
            codes.TRANSFER_PAYOUT,
            "po_1",
            pending=True,
        ),
        move("balance_available", "payouts_in_transit", 100, codes.TRANSFER_REFUND, "re_1"),
    )
    assert _results(results) == ["created"] * 6

    balance = await call(http, "GET", "/v1/balance", key=key)
    assert balance.status == 200, balance.body
    assert balance.body["available"] == [{"amount": 670, "currency": "usd"}]
    assert balance.body["pending"] == [{"amount": 500, "currency": "usd"}]
    # 620 and its minimum fee of 50 are the 670 available
    assert balance.body["instant_available"] == [{"amount": 620, "currency": "usd"}]

    # Balance transactions are rows the money-moving services write beside their transfers
    # (paycore.payout.balances): transfers posted straight to the ledger have none. Listed with
    # data, filters and pages in tests/edge/test_payouts.py.
    listed = await call(http, "GET", "/v1/balance_transactions", key=key)
    assert (listed.status, listed.body) == (
        200,
        {"object": "list", "data": [], "has_more": False, "url": "/v1/balance_transactions"},
    )
    missing = await call(http, "GET", f"/v1/balance_transactions/txn_{NOT_FOUND_ID}", key=key)
    assert (missing.status, missing.error["code"]) == (404, "resource_missing")
    other = await new_merchant(http, admin, name="Globex")
    theirs = await call(http, "GET", "/v1/balance", key=other["secret_key"])
    assert theirs.body["available"] == [{"amount": 0, "currency": "usd"}]
    too_many = await call(http, "GET", "/v1/balance_transactions?limit=1000", key=key)
    assert (too_many.status, too_many.error["param"]) == (400, "limit")
    bad_type = await call(http, "GET", "/v1/balance_transactions?type=bogus", key=key)
    assert (bad_type.status, bad_type.error["param"]) == (400, "type")
    anonymous = await call(http, "GET", "/v1/balance")
    assert (anonymous.status, anonymous.error["code"]) == (401, "api_key_missing")
    seller = await call(http, "GET", f"/v1/balance?account=acct_{NOT_FOUND_ID}", key=key)
    assert (seller.status, seller.error["param"]) == (400, "account")

    report = await call(http, "GET", f"/v1/ledger/integrity?merchant={merchant_id}", key=admin)
    assert report.body["ok"] is True, report.body
