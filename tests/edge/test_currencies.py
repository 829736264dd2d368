"""CurrencyService over HTTP, as a new merchant tries it (issue 19): rates, settlement
currencies, a charge in yen settled in dollars whose balance transaction shows the locked rate,
and the named errors of a pair without a rate and of an amount a currency does not allow."""

from __future__ import annotations

from pathlib import Path

from aiohttp import ClientSession

from tests.currency.support import import_ecb
from tests.edge.helpers import call, card_method, new_merchant
from tests.payment.shop import good_card
from tests.payout.support import World

RATES = "Date, USD, JPY,\n07 December 2026, 1.2000, 150.00,\n"


async def _intent(http: ClientSession, key: str, amount: int, currency: str) -> dict[str, object]:
    method = await card_method(http, key, good_card())
    answer = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount={amount}&currency={currency}&confirm=true&payment_method={method}",
    )
    return {**answer.body, "http_status": answer.status}


async def test_rates_settlement_currencies_and_a_converted_charge_over_http(
    fx_world: World, world_http: ClientSession, tmp_path: Path
) -> None:
    http = world_http  # the same world as fx_world's, without rates
    await import_ecb(fx_world, tmp_path / "eurofxref.csv", RATES)
    merchant = await new_merchant(http, fx_world.admin_token)
    key = merchant["secret_key"]

    found = await call(http, "GET", "/v1/exchange_rates/jpy/usd", key=key)
    assert found.status == 200, found.body
    assert {name: found.body[name] for name in ("pair", "rate", "source", "stale")} == {
        "pair": "jpy_usd",
        "rate": "0.008",
        "source": "ecb",
        "stale": False,
    }
    listed = await call(http, "GET", "/v1/exchange_rates?base=usd", key=key)
    assert listed.status == 200 and listed.body["object"] == "list", listed.body
    assert [rate["pair"] for rate in listed.body["data"]] == ["usd_eur", "usd_jpy"]
    identity = await call(http, "GET", "/v1/exchange_rates/usd/usd", key=key)
    assert identity.status == 200, identity.body
    assert {name: identity.body[name] for name in ("rate", "source", "age_seconds", "stale")} == {
        "rate": "1",
        "source": "identity",
        "age_seconds": 0,
        "stale": False,
    }
    missing = await call(http, "GET", "/v1/exchange_rates/usd/bhd", key=key)
    assert missing.status == 404 and missing.body["error"]["param"] == "quote", missing.body

    settled = await call(
        http, "POST", "/v1/settlement_currencies", key=key, form="currencies[0]=usd"
    )
    assert settled.status == 200 and settled.body["currencies"] == ["usd"], settled.body
    read = await call(http, "GET", "/v1/settlement_currencies", key=key)
    assert read.body["currencies"] == ["usd"]
    # The merchant naming its own account means its own balance, as leaving it out does.
    own = await call(http, "GET", f"/v1/settlement_currencies?account={merchant['id']}", key=key)
    assert own.status == 200 and own.body == read.body, own.body

    intent = await _intent(http, key, 10_000, "jpy")
    assert intent["http_status"] == 200 and intent["currency"] == "jpy", intent
    rows = await call(http, "GET", "/v1/balance_transactions", key=key)
    (row,) = rows.body["data"]
    # Stripe's exchange_rate: a number that takes the presentment amount to the settled one,
    # each in its currency's smallest unit (10,000 yen x 0.8 = 8,000 cents; gRPC's "0.008" is
    # dollars per yen).
    assert (row["amount"], row["currency"], row["exchange_rate"]) == (8_000, "usd", 0.8)
    assert row["presentment_amount"] * row["exchange_rate"] == row["amount"]
    assert (row["presentment_amount"], row["presentment_currency"]) == (10_000, "jpy")
    assert {line["type"]: line["amount"] for line in row["fee_details"]} == {
        "processing_fee": 256,
        "conversion_fee": 80,
    }
    same = await _intent(http, key, 5_000, "usd")
    assert same["http_status"] == 200, same
    rows = await call(http, "GET", f"/v1/balance_transactions?source={same['id']}", key=key)
    assert rows.body["data"][0]["exchange_rate"] is None  # nothing converted: Stripe's null

    unsupported = await _intent(http, key, 1_000, "bhd")
    assert unsupported["http_status"] == 400, unsupported
    assert unsupported["error"]["code"] == "currency_pair_unsupported"  # type: ignore[index]
    not_allowed = await _intent(http, key, 1_005, "kwd")
    assert not_allowed["http_status"] == 400, not_allowed
    error = not_allowed["error"]
    assert (error["code"], error["param"]) == ("amount_not_allowed", "amount")  # type: ignore[index]


async def test_the_balance_lists_no_empty_presentment_currency(
    fx_world: World, world_http: ClientSession, tmp_path: Path
) -> None:
    """A usd merchant's euro charge, authorized then captured, settles in dollars: the balance
    lists dollars only, as Stripe's (it listed `{amount: 0, currency: eur}` beside them, the
    hold's currency), and a refused kwd charge adds no kwd."""
    http = world_http
    await import_ecb(fx_world, tmp_path / "eurofxref.csv", RATES)
    key = (await new_merchant(http, fx_world.admin_token))["secret_key"]
    await call(http, "POST", "/v1/settlement_currencies", key=key, form="currencies[0]=usd")
    method = await card_method(http, key, good_card())
    held = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=2000&currency=eur&confirm=true&capture_method=manual&payment_method={method}",
    )
    assert held.body["status"] == "requires_capture", held.body
    captured = await call(http, "POST", f"/v1/payment_intents/{held.body['id']}/capture", key=key)
    assert captured.body["status"] == "succeeded", captured.body
    refused = await _intent(http, key, 1_005, "kwd")
    assert refused["http_status"] == 400, refused
    balance = await call(http, "GET", "/v1/balance", key=key)
    assert balance.status == 200, balance.body
    for side in ("available", "pending"):
        assert [each["currency"] for each in balance.body[side]] == ["usd"], balance.body
    assert balance.body["pending"][0]["amount"] > 0, balance.body


async def test_a_list_cursor_not_a_pair_says_what_it_must_be(
    fx_world: World, world_http: ClientSession, tmp_path: Path
) -> None:
    """`starting_after` (and `ending_before`) is the `pair` of a rate in the list: a value that
    is none names the field and says so (it called "bogus" an invalid currency code, and a bare
    currency code, Stripe's cursor, a missing parameter)."""
    http = world_http
    await import_ecb(fx_world, tmp_path / "eurofxref.csv", RATES)
    key = (await new_merchant(http, fx_world.admin_token))["secret_key"]
    for field, value in [
        ("starting_after", "bogus"),
        ("starting_after", "usd"),
        ("starting_after", "usd_bogus"),
        ("ending_before", "bogus"),
    ]:
        refused = await call(http, "GET", f"/v1/exchange_rates?{field}={value}", key=key)
        assert (refused.status, refused.error["code"], refused.error["param"]) == (
            400,
            "parameter_invalid",
            field,
        ), refused.error
        message = refused.error["message"]
        assert "pair of a rate in the list" in message and "usd_eur" in message, message
        assert "not a supported ISO 4217 currency code" not in message, message

    paged = await call(http, "GET", "/v1/exchange_rates?base=usd&starting_after=USD_EUR", key=key)
    assert paged.status == 200, paged.body
    assert [rate["pair"] for rate in paged.body["data"]] == ["usd_jpy"]
