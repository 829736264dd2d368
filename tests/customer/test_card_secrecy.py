"""A card number (and its cvc) is in no log line, no error, no response and no database column:
cards are tokenized through gRPC and through the REST edge (Stripe's form body), with secret
and publishable keys and idempotency keys, some refused, one charged from the vault; then
every log record and every text, bytea and jsonb column of every table on both shards is
searched for them."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator
from urllib.parse import quote

import grpc
import pytest
import pytest_asyncio
from aiohttp import ClientSession
from paycore.app import Platform
from paycore.client import connect, idempotency_key
from paycore.customer.cards import luhn_valid
from paycore.edge import start_edge
from paycore.storage.idempotency import request_fingerprint
from paycore.v1 import customer_pb2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.customer.support import card_request, failure, new_customer
from tests.edge.helpers import call
from tests.helpers import MerchantFixture


def random_card(prefix: str, length: int) -> str:
    """A Luhn-valid number no other test uses, so that any trace of it is this test's leak."""
    body = prefix + "".join(secrets.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return next(body + digit for digit in "0123456789" if luhn_valid(body + digit))


def random_cvc(digits: int, avoid: set[str]) -> str:
    while True:
        cvc = "".join(secrets.choice("0123456789") for _ in range(digits))
        if cvc not in avoid and cvc[0] != "0":
            return cvc


@pytest_asyncio.fixture
async def edge_http(target: str) -> AsyncIterator[ClientSession]:
    edge = await start_edge(target, "127.0.0.1:0")
    async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as session:
        yield session
    await edge.close()


async def test_card_numbers_and_cvcs_are_found_nowhere(
    platform: Platform,
    target: str,
    merchant: MerchantFixture,
    other_merchant: MerchantFixture,
    edge_http: ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    visa, amex, mastercard = (
        random_card("4", 16),
        random_card("37", 15),
        random_card("51", 16),
    )
    refused_number = visa[:-1] + str((int(visa[-1]) + 1) % 10)  # fails Luhn
    last4s = {number[-4:] for number in (visa, amex, mastercard)}
    visa_cvc, amex_cvc, mastercard_cvc = (
        random_cvc(3, last4s),
        random_cvc(4, last4s),
        random_cvc(3, last4s),
    )
    numbers = [visa, amex, mastercard, refused_number]
    cvcs = [visa_cvc, amex_cvc, mastercard_cvc]

    # gRPC, secret key, with an idempotency key (the stored response), replayed.
    request = card_request(visa, cvc=visa_cvc)
    first = await merchant.client.customers.CreatePaymentMethod(
        request, metadata=idempotency_key("secrecy-visa")
    )
    assert first == await merchant.client.customers.CreatePaymentMethod(
        request, metadata=idempotency_key("secrecy-visa")
    )
    # gRPC, publishable key (as Stripe.js), another merchant.
    async with connect(target, other_merchant.merchant.publishable_key) as browser:
        amex_method = await browser.customers.CreatePaymentMethod(card_request(amex, amex_cvc))
        refused = await failure(
            browser.customers.CreatePaymentMethod(card_request(refused_number, visa_cvc)),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        bad_cvc = await failure(
            browser.customers.CreatePaymentMethod(card_request(amex, cvc=visa_cvc)),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
    # The REST edge: Stripe's form body, spaces in the number, an idempotency key.
    spaced = " ".join(mastercard[index : index + 4] for index in range(0, 16, 4))
    form = (
        f"type=card&card[number]={quote(spaced)}&card[exp_month]=7&card[exp_year]=2032"
        f"&card[cvc]={mastercard_cvc}&billing_details[name]=Jenny"
    )
    over_http = await call(
        edge_http,
        "POST",
        "/v1/payment_methods",
        key=merchant.merchant.publishable_key,
        headers={"Idempotency-Key": "secrecy-mastercard"},
        form=form,
    )
    assert over_http.status == 200, over_http.body
    refused_http = await call(
        edge_http,
        "POST",
        "/v1/payment_methods",
        key=merchant.merchant.publishable_key,
        json_body={
            "type": "card",
            "card": {"number": refused_number, "exp_month": 7, "exp_year": 2032},
        },
    )
    assert refused_http.status == 400 and refused_http.error["param"] == "card.number"
    # The charge path opens the vault.
    customer = await new_customer(merchant.client)
    await merchant.client.customers.AttachPaymentMethod(
        customer_pb2.AttachPaymentMethodRequest(id=first.id, customer=customer.id)
    )
    charged = await platform.customers.card_for_charge(merchant.merchant.id, first.id)
    assert charged.number.reveal() == visa
    logging.getLogger("tests.secrecy").info("charging %s", charged)  # a careless caller

    answers = [
        str(first),
        str(amex_method),
        str(over_http.body),
        str(refused_http.body),
        refused.message,
        str(refused.metadata),
        bad_cvc.message,
        repr(charged),
    ]
    assert_nowhere(numbers, cvcs, answers, "a response or error")
    log_lines = _log_texts(caplog.records)
    assert any("CustomerService/CreatePaymentMethod" in line for line in log_lines)
    assert_nowhere(numbers, cvcs, log_lines, "a log record")

    merchant_ids = {merchant.merchant.id, other_merchant.merchant.id}
    everything, theirs = [], []
    for engine in platform.shards.engines:
        for merchant_id, value in await _column_values(engine):
            everything.append(value)
            if merchant_id in merchant_ids:
                theirs.append(value)
    assert any(f"{first.card.fingerprint}" in value for value in theirs)  # the dump sees rows
    assert_nowhere(numbers, [], everything, "a database column")
    # The idempotency store keeps a hash of the request: not a plain one of the card's fields,
    # which could be brute-forced back to the number.
    plain_hash = request_fingerprint("/paycore.v1.CustomerService/CreatePaymentMethod", request)
    assert not any(plain_hash.decode("latin-1") in value for value in theirs)
    assert_nowhere([], cvcs, theirs, "a database column of these merchants")


def assert_nowhere(numbers: list[str], cvcs: list[str], texts: list[str], where: str) -> None:
    """Neither a number (whole, or the part that last4 does not show) nor a cvc standing alone
    (ids and fingerprints may hold any digits inside them)."""
    patterns = [re.escape(number[:-4]) for number in numbers]
    patterns += [rf"(?<![0-9A-Za-z]){cvc}(?![0-9A-Za-z])" for cvc in cvcs]
    for pattern in patterns:
        found = [value for value in texts if re.search(pattern, value)]
        assert not found, f"a card secret is in {where}"


def _log_texts(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = []
    for record in records:
        texts.append(formatter.format(record))
        texts.append(repr(record.args))
        texts.append(record.exc_text or "")
    return texts


async def _column_values(engine: AsyncEngine) -> list[tuple[str, str]]:
    """(merchant id or "", value) of every text, bytea, jsonb and text[] column of every
    table; bytea decoded byte for byte (latin-1), so ASCII digits in it are found."""
    values: list[tuple[str, str]] = []
    async with engine.connect() as connection:
        columns = (
            await connection.execute(
                text(
                    "select c.table_name, c.column_name, c.data_type,"
                    " exists(select 1 from information_schema.columns m"
                    "  where m.table_schema = 'public' and m.table_name = c.table_name"
                    "  and m.column_name = 'merchant_id') as has_merchant"
                    " from information_schema.columns c join information_schema.tables t"
                    "  on t.table_schema = c.table_schema and t.table_name = c.table_name"
                    " where c.table_schema = 'public' and t.table_type = 'BASE TABLE'"
                    " and c.data_type in ('text', 'character varying', 'bytea', 'jsonb', 'ARRAY')"
                )
            )
        ).all()
        assert {"payment_methods", "customers", "idempotency_keys"} <= {row[0] for row in columns}
        for table, column, data_type, has_merchant in columns:
            owner = '"merchant_id"' if has_merchant else "''"
            rendered = f'"{column}"' if data_type == "bytea" else f'"{column}"::text'
            rows = await connection.execute(
                text(f'select {owner}, {rendered} from "{table}" where "{column}" is not null')
            )
            for merchant_id, value in rows:
                shown = bytes(value).decode("latin-1") if data_type == "bytea" else value
                values.append((merchant_id, shown))
    return values
