"""Pay-out objects over HTTP with the fields Stripe's have, as a new user reading Stripe's API
reference expects them: a payout's `type` (bank_account or card) and its
`failure_balance_transaction` (the txn_ that returned the funds of a failed or canceled
payout), and null where Stripe has nothing (an IBAN bank account's routing number and bank
name, a non-monthly schedule's monthly anchor)."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, card_method, charge, new_merchant
from tests.payment.shop import good_card
from tests.payout.support import NO_ACCOUNT, PAID, ROUTING, World, iban


async def _bank_account(http: ClientSession, key: str, number: str, default: bool) -> str:
    form = (
        f"country=US&currency=usd&account_holder_name=Jenny+Rosen&routing_number={ROUTING}"
        f"&account_number={number}&default_for_currency={str(default).lower()}"
    )
    created = await call(http, "POST", "/v1/bank_accounts", key=key, form=form)
    assert created.status == 200, created.body
    return str(created.body["id"])


async def test_a_payout_has_stripes_type_and_failure_balance_transaction(
    world: World, world_http: ClientSession
) -> None:
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    await charge(http, key, 20_000, good_card(), world.run_worker_once)
    await world.advance(2)
    paid_to = await _bank_account(http, key, PAID, True)
    failing = await _bank_account(http, key, NO_ACCOUNT, False)
    card = await card_method(http, key, "4000056655665556")
    registered = await call(
        http, "POST", "/v1/payout_cards", key=key, form=f"payment_method={card}"
    )
    assert registered.status == 200, registered.body

    standard = await call(http, "POST", "/v1/payouts", key=key, form="amount=1000&currency=usd")
    assert standard.status == 200, standard.body
    assert (standard.body["destination"], standard.body["type"]) == (paid_to, "bank_account")
    assert standard.body["failure_balance_transaction"] is None  # Stripe's null: not failed

    to_card = await call(
        http,
        "POST",
        "/v1/payouts",
        key=key,
        form=f"amount=1000&currency=usd&method=instant&destination={card}",
    )
    assert (to_card.body["status"], to_card.body["type"]) == ("paid", "card"), to_card.body

    failed = await call(
        http,
        "POST",
        "/v1/payouts",
        key=key,
        form=f"amount=1000&currency=usd&method=instant&destination={failing}",
    )
    assert (failed.body["status"], failed.body["type"]) == ("failed", "bank_account"), failed.body
    returned = failed.body["failure_balance_transaction"]
    assert returned and returned.startswith("txn_"), failed.body
    row = await call(http, "GET", f"/v1/balance_transactions/{returned}", key=key)
    assert (row.body["type"], row.body["source"], row.body["amount"]) == (
        "payout_failure",
        failed.body["id"],
        1000,
    )

    canceled = await call(http, "POST", f"/v1/payouts/{standard.body['id']}/cancel", key=key)
    assert canceled.body["status"] == "canceled", canceled.body
    back = canceled.body["failure_balance_transaction"]
    row = await call(http, "GET", f"/v1/balance_transactions/{back}", key=key)
    assert (row.body["type"], row.body["source"]) == ("payout_cancel", standard.body["id"])
    listed = await call(http, "GET", "/v1/payouts", key=key)
    assert {found["id"]: found["type"] for found in listed.body["data"]} == {
        standard.body["id"]: "bank_account",
        to_card.body["id"]: "card",
        failed.body["id"]: "bank_account",
    }


async def test_stripes_nulls_on_bank_accounts_and_schedules(
    world: World, world_http: ClientSession
) -> None:
    """An IBAN bank account has no routing number (Stripe: null), and no bank name is known
    (null); a daily schedule has no monthly anchor (null, as its weekly anchor)."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    number = iban("DE", "370400440532013000")
    created = await call(
        http,
        "POST",
        "/v1/bank_accounts",
        key=key,
        form=f"country=DE&currency=eur&account_holder_name=J&account_number={number}",
    )
    assert created.status == 200, created.body
    assert (created.body["routing_number"], created.body["bank_name"]) == (None, None)
    daily = await call(http, "POST", "/v1/payout_schedule", key=key, form="interval=daily")
    assert (daily.body["weekly_anchor"], daily.body["monthly_anchor"]) == (None, None), daily.body
    monthly = await call(
        http, "POST", "/v1/payout_schedule", key=key, form="interval=monthly&monthly_anchor=31"
    )
    assert (monthly.body["weekly_anchor"], monthly.body["monthly_anchor"]) == (None, 31)


async def test_a_balance_that_never_moved_shows_the_default_currency_at_zero(
    world: World, world_http: ClientSession
) -> None:
    """Stripe's balance of a new account holds its default currency at 0, so that a user's
    `balance.available[0].amount` reads 0 rather than failing (paycore's was `[]`); a seller's
    shows its own default currency. Once money moved, the currencies it moved in."""
    http = world_http
    key = (await new_merchant(http, world.admin_token, default_currency="eur"))["secret_key"]
    fresh = await call(http, "GET", "/v1/balance", key=key)
    assert (fresh.body["available"], fresh.body["pending"]) == (
        [{"amount": 0, "currency": "eur"}],
        [{"amount": 0, "currency": "eur"}],
    )
    seller = await call(
        http, "POST", "/v1/accounts", key=key, form="country=GB&default_currency=gbp"
    )
    assert seller.status == 200, seller.body
    theirs = await call(http, "GET", f"/v1/balance?account={seller.body['id']}", key=key)
    assert theirs.body["available"] == [{"amount": 0, "currency": "gbp"}], theirs.body
    await charge(
        http, key, 1000, good_card(), world.run_worker_once
    )  # in usd: the balance is in what moved
    moved = await call(http, "GET", "/v1/balance", key=key)
    assert [each["currency"] for each in moved.body["pending"]] == ["usd"], moved.body


async def test_balance_transactions_carry_stripes_reporting_category(
    world: World, world_http: ClientSession
) -> None:
    """Stripe asks accounting code to group balance transactions by `reporting_category`, not
    `type`: a charge is `charge`, a payout `payout`, its failure's or cancel's return
    `payout_reversal`, a transfer and its reversal `transfer` / `transfer_reversal`."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    await charge(http, key, 20_000, good_card(), world.run_worker_once)
    await world.advance(2)
    await _bank_account(http, key, PAID, True)
    failing = await _bank_account(http, key, NO_ACCOUNT, False)
    standard = await call(http, "POST", "/v1/payouts", key=key, form="amount=1000&currency=usd")
    await call(http, "POST", f"/v1/payouts/{standard.body['id']}/cancel", key=key)
    failed = await call(
        http,
        "POST",
        "/v1/payouts",
        key=key,
        form=f"amount=1000&currency=usd&method=instant&destination={failing}",
    )
    assert failed.body["status"] == "failed", failed.body
    seller = await call(http, "POST", "/v1/accounts", key=key, form="country=US")
    transfer = await call(
        http,
        "POST",
        "/v1/transfers",
        key=key,
        form=f"amount=2000&currency=usd&destination={seller.body['id']}",
    )
    assert transfer.status == 200, transfer.body
    reversal = await call(
        http, "POST", f"/v1/transfers/{transfer.body['id']}/reversals", key=key, form="amount=500"
    )
    assert reversal.status == 200, reversal.body

    rows = (await call(http, "GET", "/v1/balance_transactions?limit=100", key=key)).body["data"]
    assert {(row["type"], row["reporting_category"]) for row in rows} == {
        ("charge", "charge"),
        ("payout", "payout"),
        ("payout_cancel", "payout_reversal"),
        ("payout_failure", "payout_reversal"),
        ("transfer", "transfer"),
        ("transfer_reversal", "transfer_reversal"),
    }


async def _previous(http: ClientSession, key: str, kind: str, object_id: str) -> object:
    listed = await call(http, "GET", f"/v1/events?type={kind}&object_id={object_id}", key=key)
    assert listed.status == 200, listed.body
    return listed.body["data"][0]["data"]["previous_attributes"]


async def test_payout_and_transfer_updates_carry_previous_attributes(
    world: World, world_http: ClientSession
) -> None:
    """Stripe's `*.updated` events say what changed: a payout's new metadata, a payout gone
    in transit (its status was pending), a transfer's new description. They were null."""
    http = world_http
    merchant = await new_merchant(http, world.admin_token)
    key = merchant["secret_key"]
    await charge(http, key, 20_000, good_card(), world.run_worker_once)
    await world.advance(2)
    await _bank_account(http, key, PAID, True)
    payout = (
        await call(http, "POST", "/v1/payouts", key=key, form="amount=1000&currency=usd")
    ).body
    updated = await call(
        http, "POST", f"/v1/payouts/{payout['id']}", key=key, form="metadata[order]=7"
    )
    assert updated.body["metadata"] == {"order": "7"}, updated.body
    assert await _previous(http, key, "payout.updated", payout["id"]) == {
        "metadata": {"order": None}
    }
    # What the worker does once the executor's lease has passed: sends it, in transit.
    queued = await world.platform.pay_out.reads.payout(merchant["id"], payout["id"])
    await world.platform.pay_out.payouts.send(queued)
    sent = await call(http, "GET", f"/v1/payouts/{payout['id']}", key=key)
    assert sent.body["status"] == "in_transit", sent.body
    previous = await _previous(http, key, "payout.updated", payout["id"])
    assert isinstance(previous, dict) and previous["status"] == "pending", previous

    seller = await call(http, "POST", "/v1/accounts", key=key, form="country=US")
    transfer = await call(
        http,
        "POST",
        "/v1/transfers",
        key=key,
        form=f"amount=500&currency=usd&destination={seller.body['id']}&description=first",
    )
    assert transfer.status == 200, transfer.body
    await call(
        http, "POST", f"/v1/transfers/{transfer.body['id']}", key=key, form="description=second"
    )
    assert await _previous(http, key, "transfer.updated", transfer.body["id"]) == {
        "description": "first"
    }


async def test_balance_transactions_filter_by_a_charges_ch_id(
    world: World, world_http: ClientSession
) -> None:
    """Stripe's `BalanceTransaction.list(source="ch_...")` finds a charge's balance
    transaction; paycore's rows name the charge's intent, so the filter answered an empty list
    for the charge's own `ch_` (its `balance_transaction` is that very row). The `pi_` still
    works; another merchant's charge finds nothing."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    intent_id = await charge(http, key, 3000, good_card(), world.run_worker_once)
    intent = (await call(http, "GET", f"/v1/payment_intents/{intent_id}", key=key)).body
    charge_id = intent["latest_charge"]
    own = (await call(http, "GET", f"/v1/charges/{charge_id}", key=key)).body
    by_charge = await call(http, "GET", f"/v1/balance_transactions?source={charge_id}", key=key)
    assert [row["id"] for row in by_charge.body["data"]] == [own["balance_transaction"]]
    by_intent = await call(http, "GET", f"/v1/balance_transactions?source={intent_id}", key=key)
    assert by_intent.body["data"] == by_charge.body["data"]
    other = (await new_merchant(http, world.admin_token, name="Other"))["secret_key"]
    theirs = await call(http, "GET", f"/v1/balance_transactions?source={charge_id}", key=other)
    assert (theirs.status, theirs.body["data"]) == (200, [])


async def test_refund_and_fee_refund_updates_carry_previous_attributes(
    world: World, world_http: ClientSession
) -> None:
    """`refund.updated`, Stripe's older `charge.refund.updated` and
    `application_fee.refund.updated` of a metadata update say what changed, as every Stripe
    `*.updated` does (they were null)."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    seller = (await call(http, "POST", "/v1/accounts", key=key, form="country=US")).body["id"]
    method = await card_method(http, key, good_card())
    intent = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=5000&currency=usd&confirm=true&payment_method={method}"
        f"&transfer_data[destination]={seller}&application_fee_amount=500",
    )
    assert intent.body["status"] == "succeeded", intent.body
    refund = await call(
        http, "POST", "/v1/refunds", key=key, form=f"payment_intent={intent.body['id']}&amount=100"
    )
    assert refund.status == 200, refund.body
    await call(http, "POST", f"/v1/refunds/{refund.body['id']}", key=key, form="metadata[k]=v")
    for kind in ("refund.updated", "charge.refund.updated"):
        assert await _previous(http, key, kind, refund.body["id"]) == {"metadata": {"k": None}}

    fee = f"fee_{intent.body['id'].removeprefix('pi_')}"
    fee_refund = await call(
        http, "POST", f"/v1/application_fees/{fee}/refunds", key=key, form="amount=50"
    )
    assert fee_refund.status == 200, fee_refund.body
    await call(
        http,
        "POST",
        f"/v1/application_fees/{fee}/refunds/{fee_refund.body['id']}",
        key=key,
        form="metadata[k]=v",
    )
    assert await _previous(http, key, "application_fee.refund.updated", fee_refund.body["id"]) == {
        "metadata": {"k": None}
    }


async def test_a_refunds_completion_carries_its_previous_status(
    world: World, world_http: ClientSession
) -> None:
    """A refund is pending until the PSP answers; `refund.updated` and `charge.refund.updated`
    of its completion say what the completion changed, as Stripe's `*.updated` do: the status
    was pending, and it had no balance transaction yet (they were null)."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    intent = await charge(http, key, 3000, good_card(), world.run_worker_once)
    refund = await call(http, "POST", "/v1/refunds", key=key, form=f"payment_intent={intent}")
    assert refund.status == 200, refund.body
    assert refund.body["status"] == "succeeded"
    created = await call(
        http, "GET", f"/v1/events?type=refund.created&object_id={refund.body['id']}", key=key
    )
    assert created.body["data"][0]["data"]["object"]["status"] == "pending"
    for kind in ("refund.updated", "charge.refund.updated"):
        assert await _previous(http, key, kind, refund.body["id"]) == {
            "status": "pending",
            "balance_transaction": None,
        }
