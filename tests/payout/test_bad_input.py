"""Every bad input of issue 13 is a named error that changes nothing: malformed IBANs, routing
and account numbers (INVALID_ARGUMENT naming the field), another merchant's bank account
(NOT_FOUND), more than is available, a currency without a balance, a cancel of a paid or an
automatic payout."""

from __future__ import annotations

from collections.abc import Awaitable

import grpc
import pytest
from grpc import aio
from paycore.v1 import payout_pb2

from tests.helpers import rich_error
from tests.payout.support import PAID, ROUTING, PayoutShop, World, iban

P = payout_pb2


async def _refused(call: Awaitable[object]) -> tuple[grpc.StatusCode, str, str | None]:
    with pytest.raises(aio.AioRpcError) as raised:
        await call
    error = rich_error(raised.value)
    return error.code, error.reason, error.param


def _bank_account(**fields: object) -> P.CreateBankAccountRequest:
    request = P.CreateBankAccountRequest(
        country="US",
        currency="usd",
        account_holder_name="Jenny Rosen",
        routing_number=ROUTING,
        account_number=PAID,
    )
    for name, value in fields.items():
        setattr(request, name, value)
    return request


async def _state(shop: PayoutShop) -> tuple[object, ...]:
    accounts = await shop.client.payouts.ListBankAccounts(P.ListBankAccountsRequest(limit=100))
    return (
        await shop.balance(),
        [a.SerializeToString() for a in accounts.data],
        [p.SerializeToString() for p in await shop.payouts()],
        len(await shop.transactions()),
    )


async def test_bank_account_details_are_checked_field_by_field(world: World) -> None:
    shop = await world.shop()
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    before = await _state(shop)
    cases = {
        "routing_number": _bank_account(routing_number="110000001"),  # ABA checksum
        "account_number": _bank_account(account_number="12a4"),
        "currency": _bank_account(currency="zzz"),
        "country": _bank_account(country="QQ"),
        "account_holder_name": _bank_account(account_holder_name=""),
    }
    for param, request in cases.items():
        code, reason, named = await _refused(shop.client.payouts.CreateBankAccount(request))
        assert (code, named) == (invalid, param), (param, reason)
    good = iban("DE", "370400440532013000")
    bad_check = good[:2] + ("00" if good[2:4] != "00" else "01") + good[4:]
    for number in (bad_check, good[:-1], "FR" + good[2:], "DE89 3704 0044 0532 0130 0!"):
        code, _, named = await _refused(
            shop.client.payouts.CreateBankAccount(
                _bank_account(
                    country="DE", currency="eur", routing_number="", account_number=number
                )
            )
        )
        assert (code, named) == (invalid, "account_number"), number
    assert await _state(shop) == before
    created = await shop.client.payouts.CreateBankAccount(
        _bank_account(country="DE", currency="eur", routing_number="", account_number=good)
    )
    assert (created.last4, created.default_for_currency) == (good[-4:], True)
    assert "instant" in created.available_payout_methods
    await shop.close()


async def test_payouts_refuse_what_they_cannot_do_and_change_nothing(world: World) -> None:
    shop, other = await world.shop(), await world.shop("Other")
    await shop.charge(5000)
    own = await shop.bank_account()
    theirs = await other.bank_account()
    await world.advance(2)
    before = await _state(shop)
    precondition = grpc.StatusCode.FAILED_PRECONDITION
    assert await _refused(shop.payout(100_000)) == (precondition, "BALANCE_INSUFFICIENT", "amount")
    assert await _refused(shop.payout(100, destination=theirs.id)) == (
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_MISSING",
        "destination",
    )
    assert await _refused(
        shop.client.payouts.CreatePayout(P.CreatePayoutRequest(amount=100, currency="eur"))
    ) == (precondition, "BANK_ACCOUNT_MISSING", "destination")
    await shop.bank_account(currency="eur")
    assert await _refused(
        shop.client.payouts.CreatePayout(P.CreatePayoutRequest(amount=100, currency="eur"))
    ) == (precondition, "NO_BALANCE_IN_CURRENCY", "currency")
    assert await _refused(
        shop.client.payouts.CreatePayout(P.CreatePayoutRequest(amount=0, currency="usd"))
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "PARAMETER_INVALID", "amount")
    assert await _refused(
        shop.client.payouts.CreatePayout(
            P.CreatePayoutRequest(amount=100, currency="usd", account="acct_nope")
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "ID_MALFORMED", "account")
    after = await _state(shop)
    assert (after[0], after[2], after[3]) == (before[0], before[2], before[3])

    payout = await shop.payout(1000)
    await world.platform.pay_out.payouts.send(
        await world.platform.pay_out.reads.payout(shop.id, payout.id)
    )
    await world.advance(2)
    assert (await shop.get_payout(payout.id)).status == P.PAYOUT_STATUS_PAID
    before = await _state(shop)
    assert await _refused(
        shop.client.payouts.CancelPayout(P.CancelPayoutRequest(id=payout.id))
    ) == (precondition, "PAYOUT_NOT_CANCELABLE", "id")
    assert await _refused(
        other.client.payouts.CancelPayout(P.CancelPayoutRequest(id=payout.id))
    ) == (grpc.StatusCode.NOT_FOUND, "RESOURCE_MISSING", "id")
    assert await _state(shop) == before
    assert own.id == payout.destination
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()
    await other.close()


async def test_every_call_naming_another_merchants_seller_is_not_found(world: World) -> None:
    """A seller account is the merchant's: listing another merchant's seller's bank accounts or
    payouts is NOT_FOUND naming `account`, as its balance, schedule and every change are (the
    two lists answered an empty page, as if the seller were the caller's)."""
    shop, other = await world.shop(), await world.shop("Other")
    theirs = await other.seller()
    not_found = (grpc.StatusCode.NOT_FOUND, "RESOURCE_MISSING", "account")
    calls: dict[str, Awaitable[object]] = {
        "ListBankAccounts": shop.client.payouts.ListBankAccounts(
            P.ListBankAccountsRequest(account=theirs)
        ),
        "ListPayouts": shop.client.payouts.ListPayouts(P.ListPayoutsRequest(account=theirs)),
        "GetPayoutSchedule": shop.client.payouts.GetPayoutSchedule(
            P.GetPayoutScheduleRequest(account=theirs)
        ),
        "CreateBankAccount": shop.client.payouts.CreateBankAccount(_bank_account(account=theirs)),
    }
    assert {name: await _refused(call) for name, call in calls.items()} == dict.fromkeys(
        calls, not_found
    )
    ours = await shop.seller()
    listed = await shop.client.payouts.ListPayouts(P.ListPayoutsRequest(account=ours))
    assert list(listed.data) == []
    await shop.close()
    await other.close()


@pytest.mark.parametrize(
    "destination", ["xyz", "ba_" + "9" * 5, "po_0359yeYWiCxqlXhcshyURZ", "x" * 5_000]
)
async def test_the_payouts_destination_filter_is_a_bank_account_or_card_id(
    world: World, destination: str
) -> None:
    """ListPayouts' `destination`, as CreatePayout's: a ba_ or pm_ id, else INVALID_ARGUMENT
    naming it (it answered an empty list, whatever it was given)."""
    shop = await world.shop()
    listing = shop.client.payouts.ListPayouts(P.ListPayoutsRequest(destination=destination))
    assert await _refused(listing) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "ID_MALFORMED",
        "destination",
    )
