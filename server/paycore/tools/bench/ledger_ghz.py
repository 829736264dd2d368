"""What deploy/ghz/ledger/post_transfer.json needs to load the ledger with ghz: two ledger
accounts of a merchant and a transfer id prefix. Prints them as `export` lines:

    .venv/bin/python -m paycore.tools.bench.ledger_ghz --target 127.0.0.1:50051 \\
        --admin-token "$PAYCORE_ADMIN_TOKEN" --merchant acct_...

A transfer's id is chosen by its caller and must carry the merchant's logical shard
(protos/paycore/v1/ledger.proto); ghz can only add random characters to a fixed text. The
prefix fixes the first digits of the id's number so that any `{{randomString 11}}` after it
(letters and digits: base62 digits) keeps the merchant's shard: every call a new transfer.

It speaks TLS as `paycore health` does (paycore.runtime.tls.grpc_caller_tls): trusting
PAYCORE_GRPC_TLS_CA_FILE and presenting PAYCORE_GRPC_CLIENT_CERT_FILE to a port that requires
client certificates (the internal port of a deployment with mTLS); plaintext when
PAYCORE_GRPC_TLS_CA_FILE is unset."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import time

from paycore.client import Tls, connect
from paycore.config import load_settings
from paycore.ids import (
    BASE62_ALPHABET,
    BODY_LENGTH,
    RANDOM_BITS,
    SHARD_BITS,
    Prefix,
    encode_base62,
    logical_shard_of,
)
from paycore.runtime.tls import grpc_caller_tls
from paycore.v1 import ledger_pb2

RANDOM_SUFFIX_LENGTH = 11
"""The digits ghz makes up: 62**11 < 2**66, inside the 68 random bits of one shard's ids."""

CURRENCY = "usd"


def transfer_id_prefix(merchant_id: str, now_ms: int) -> str:
    """ "lt_" and the first BODY_LENGTH - RANDOM_SUFFIX_LENGTH digits of an id of the merchant's
    logical shard made at `now_ms`: every number the remaining digits can add stays within
    that shard's range of ids (its time and shard bits unchanged)."""
    shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
    block = len(BASE62_ALPHABET) ** RANDOM_SUFFIX_LENGTH
    start = (now_ms << (SHARD_BITS + RANDOM_BITS)) | (shard << RANDOM_BITS)
    first_block = -(-start // block)  # the first block of suffixes wholly inside the range
    body = encode_base62(first_block * block, BODY_LENGTH)
    return f"{Prefix.LEDGER_TRANSFER}_{body[: BODY_LENGTH - RANDOM_SUFFIX_LENGTH]}"


async def ghz_environment(
    target: str, admin_token: str, merchant_id: str, now_ms: int, tls: Tls | None = None
) -> dict[str, str]:
    """Creates (or finds) the merchant's two bench accounts; the config's placeholders."""
    async with connect(target, admin_token, tls=tls) as admin:
        accounts = []
        for code, kind in (
            ("ghz_bench_debit", ledger_pb2.LEDGER_ACCOUNT_TYPE_ASSET),
            ("ghz_bench_credit", ledger_pb2.LEDGER_ACCOUNT_TYPE_LIABILITY),
        ):
            created = await admin.ledger.CreateAccount(
                ledger_pb2.CreateAccountRequest(
                    merchant=merchant_id, code=code, type=kind, currency=CURRENCY
                )
            )
            accounts.append(created.id)
    return {
        "PAYCORE_BENCH_DEBIT_ACCOUNT": accounts[0],
        "PAYCORE_BENCH_CREDIT_ACCOUNT": accounts[1],
        "PAYCORE_BENCH_TRANSFER_ID_PREFIX": transfer_id_prefix(merchant_id, now_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="127.0.0.1:50051", help="the gRPC address")
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--merchant", required=True, help="acct_... whose ledger is loaded")
    arguments = parser.parse_args()
    environment = asyncio.run(
        ghz_environment(
            arguments.target,
            arguments.admin_token,
            arguments.merchant,
            time.time_ns() // 1_000_000,
            grpc_caller_tls(load_settings()),
        )
    )
    for name, value in environment.items():
        print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
