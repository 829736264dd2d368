"""A card number (and its cvc) is in no log line, no error, no response and no database column:
cards are tokenized through gRPC and through the REST edge (Stripe's form body), with secret
and publishable keys and idempotency keys, some refused, one charged from the vault; then
every log record and every text, bytea and jsonb column of every table on both shards is
searched for them."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from urllib.parse import quote

import grpc
import pytest
import pytest_asyncio
from aiohttp import ClientSession
from paycore.app import Platform
from paycore.client import connect, idempotency_key
from paycore.edge import start_edge
from paycore.storage.idempotency import request_fingerprint
from paycore.v1 import customer_pb2

from tests.customer.support import EXP_YEAR, card_request, failure, new_customer
from tests.edge.helpers import call
from tests.helpers import MerchantFixture
from tests.secrecy import assert_nowhere, column_values, log_texts, random_card


def random_cvc(digits: int, avoid: set[str]) -> str:
    while True:
        cvc = "".join(secrets.choice("0123456789") for _ in range(digits))
        if cvc not in avoid and cvc[0] != "0":
            return cvc


@pytest_asyncio.fixture
async def edge_http(target: str) -> AsyncIterator[ClientSession]:
    edge = await start_edge(target, "127.0.0.1:0", operator_routes=True)
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
    # Shown standing alone in answers and rows: an amex cvc 2031 was "found" in the expiry.
    shown = {number[-4:] for number in (visa, amex, mastercard)} | {str(EXP_YEAR), "2032"}
    visa_cvc, amex_cvc, mastercard_cvc = (
        random_cvc(3, shown),
        random_cvc(4, shown),
        random_cvc(3, shown),
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
    assert refused_http.status == 402 and refused_http.error["param"] == "card[number]"
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
    log_lines = log_texts(caplog.records)
    assert any("CustomerService/CreatePaymentMethod" in line for line in log_lines)
    assert_nowhere(numbers, cvcs, log_lines, "a log record")

    merchant_ids = {merchant.merchant.id, other_merchant.merchant.id}
    everything, theirs = [], []
    for engine in platform.shards.engines:
        for merchant_id, value in await column_values(engine):
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
