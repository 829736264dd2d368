"""Stripe's external accounts of a connected account: a seller's bank accounts and payout
cards in one list (GET /v1/accounts/{id}/external_accounts), and a bank account added there,
checked as CreateBankAccount checks one."""

from __future__ import annotations

import grpc
from paycore.v1 import payout_pb2

from tests.customer.support import failure
from tests.payout.support import PAID, ROUTING, World
from tests.payout.test_payout_cards import DEBIT, register

P = payout_pb2


def bank(**fields: object) -> P.ExternalBankAccount:
    values: dict[str, object] = {
        "object": "bank_account",
        "country": "US",
        "currency": "usd",
        "account_holder_name": "Alice",
        "routing_number": ROUTING,
        "account_number": PAID,
        **fields,
    }
    return P.ExternalBankAccount(**values)  # type: ignore[arg-type]


async def test_a_sellers_bank_accounts_and_cards_are_its_external_accounts(world: World) -> None:
    shop = await world.shop()
    seller = await shop.seller("Alice")
    other_seller = await shop.seller("Bob")
    payouts = shop.client.payouts
    first = await shop.bank_account(account=seller)
    card = await register(shop, await shop.card(DEBIT), seller)
    await shop.bank_account(account=other_seller)
    await shop.bank_account()  # the platform's own

    added = await payouts.CreateExternalAccount(
        P.CreateExternalAccountRequest(
            id=seller, external_account=bank(currency="eur"), metadata={"k": "v"}
        ),
        metadata=(("idempotency-key", "ext-1"),),
    )
    assert (added.account, added.currency, added.last4, dict(added.metadata)) == (
        seller,
        "eur",
        PAID[-4:],
        {"k": "v"},
    )
    assert added.default_for_currency  # the first of its currency
    again = await payouts.CreateExternalAccount(
        P.CreateExternalAccountRequest(
            id=seller, external_account=bank(currency="eur"), metadata={"k": "v"}
        ),
        metadata=(("idempotency-key", "ext-1"),),
    )
    assert again == added

    listed = await payouts.ListExternalAccounts(P.ListExternalAccountsRequest(id=seller))
    kinds = [item.WhichOneof("kind") for item in listed.data]
    assert kinds == ["bank_account", "card", "bank_account"], listed
    assert [listed.data[0].bank_account.id, listed.data[1].card.id] == [added.id, card.id]
    assert listed.data[2].bank_account.id == first.id and not listed.data[2].HasField("card")
    assert not listed.has_more
    page = await payouts.ListExternalAccounts(P.ListExternalAccountsRequest(id=seller, limit=2))
    assert len(page.data) == 2 and page.has_more
    rest = await payouts.ListExternalAccounts(
        P.ListExternalAccountsRequest(id=seller, starting_after=card.id)
    )
    assert [item.bank_account.id for item in rest.data] == [first.id] and not rest.has_more
    newer = await payouts.ListExternalAccounts(
        P.ListExternalAccountsRequest(id=seller, ending_before=first.id)
    )
    assert [item.WhichOneof("kind") for item in newer.data] == ["bank_account", "card"]
    cards = await payouts.ListExternalAccounts(
        P.ListExternalAccountsRequest(id=seller, object="card")
    )
    assert [item.card.id for item in cards.data] == [card.id]
    banks = await payouts.ListExternalAccounts(
        P.ListExternalAccountsRequest(id=seller, object="bank_account")
    )
    assert [item.bank_account.id for item in banks.data] == [added.id, first.id]
    await shop.close()


async def test_bad_external_accounts_are_refused_naming_the_field(world: World) -> None:
    """gRPC names a field of the hash by its dotted path, as every nested field
    (docs/api.md "Errors"); the edge writes it in Stripe's brackets."""
    shop = await world.shop()
    seller = await shop.seller("Alice")
    payouts = shop.client.payouts
    cases = [
        (bank(country="XX"), "external_account.country"),
        (bank(account_holder_name=""), "external_account.account_holder_name"),
        (bank(object="card"), "external_account.object"),
        (P.ExternalBankAccount(), "external_account.currency"),
    ]
    for external, param in cases:
        error = await failure(
            payouts.CreateExternalAccount(
                P.CreateExternalAccountRequest(id=seller, external_account=external)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert error.param == param, error
    other = await world.shop()
    for call in (
        other.client.payouts.CreateExternalAccount(
            P.CreateExternalAccountRequest(id=seller, external_account=bank())
        ),
        other.client.payouts.ListExternalAccounts(P.ListExternalAccountsRequest(id=seller)),
    ):
        error = await failure(call, grpc.StatusCode.NOT_FOUND)
        assert error.param == "id"
    error = await failure(
        payouts.ListExternalAccounts(P.ListExternalAccountsRequest(id=seller, object="boat")),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert error.param == "object"
    listed = await payouts.ListExternalAccounts(P.ListExternalAccountsRequest(id=seller))
    assert list(listed.data) == []
    await shop.close()
    await other.close()
