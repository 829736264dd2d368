"""PayoutService and the balance it pays out over HTTP, as a new merchant tries it: a charge,
a bank account, a schedule, funds that settle, payouts (one canceled, one paid), the balance
transactions an automatic payout contains."""

from __future__ import annotations

from aiohttp import ClientSession, CookieJar
from paycore.edge import start_edge

from tests.edge.helpers import call, card_method, charge, new_merchant
from tests.payment.shop import fee, good_card
from tests.payout.support import NO_ACCOUNT, PAID, ROUTING, World


async def test_bank_accounts_schedules_payouts_and_balance_transactions_over_http(
    world: World, world_http: ClientSession
) -> None:
    http = world_http
    merchant = await new_merchant(http, world.admin_token)
    key = merchant["secret_key"]
    intent = await charge(http, key, 10_000, good_card(), world.run_worker_once)
    net = 10_000 - fee(10_000)

    created = await call(
        http,
        "POST",
        "/v1/bank_accounts",
        key=key,
        form=f"country=US&currency=usd&account_holder_name=Jenny+Rosen"
        f"&account_holder_type=company&routing_number={ROUTING}&account_number={PAID}",
    )
    assert created.status == 200, created.body
    bank_account = created.body
    assert (bank_account["last4"], bank_account["status"]) == ("6789", "new")
    assert "account_number" not in bank_account
    assert bank_account["bank_name"] is None  # paycore does not know it: null, as Stripe's
    fetched = await call(http, "GET", f"/v1/bank_accounts/{bank_account['id']}", key=key)
    assert fetched.body == bank_account
    listed = await call(http, "GET", "/v1/bank_accounts", key=key)
    assert [found["id"] for found in listed.body["data"]] == [bank_account["id"]]
    bad = await call(
        http,
        "POST",
        "/v1/bank_accounts",
        key=key,
        json_body={"country": "DE", "currency": "eur", "account_holder_name": "J",
                   "account_number": "DE00370400440532013000"},
    )  # fmt: skip
    assert (bad.status, bad.error["param"]) == (400, "account_number")

    schedule = await call(
        http, "POST", "/v1/payout_schedule", key=key, form="interval=daily&delay_days=3"
    )
    assert (schedule.status, schedule.body["interval"], schedule.body["delay_days"]) == (
        200,
        "daily",
        3,
    )
    read = await call(http, "GET", "/v1/payout_schedule", key=key)
    assert read.body == schedule.body
    # The charge was made before the delay changed: it settles after the old 2 days.
    await world.advance(2)
    balance = await call(http, "GET", "/v1/balance", key=key)
    assert balance.body["pending"] == [{"amount": 0, "currency": "usd"}]
    [automatic] = (await call(http, "GET", "/v1/payouts", key=key)).body["data"]
    assert (automatic["amount"], automatic["automatic"], automatic["status"]) == (
        net,
        True,
        "in_transit",
    )
    assert (automatic["description"], automatic["failure_code"]) == (None, None)  # Stripe's null
    contained = await call(
        http, "GET", f"/v1/balance_transactions?payout={automatic['id']}", key=key
    )
    assert sorted((txn["type"], txn["source"]) for txn in contained.body["data"]) == [
        ("charge", intent),
        ("payout", automatic["id"]),
    ]
    [payment] = [txn for txn in contained.body["data"] if txn["type"] == "charge"]
    one = await call(http, "GET", f"/v1/balance_transactions/{payment['id']}", key=key)
    assert one.body == payment
    assert (payment["net"], payment["status"]) == (net, "available")

    await call(http, "POST", "/v1/payout_schedule", key=key, form="interval=manual")
    await charge(http, key, 5000, good_card(), world.run_worker_once)
    await world.advance(3)
    manual = await call(
        http,
        "POST",
        "/v1/payouts",
        key=key,
        headers={"Idempotency-Key": "http-payout-1"},
        form="amount=1000&currency=usd&description=weekly+rent",
    )
    assert (manual.status, manual.body["status"]) == (200, "pending"), manual.body
    assert (manual.body["failure_code"], manual.body["failure_message"]) == (None, None)
    canceled = await call(http, "POST", f"/v1/payouts/{manual.body['id']}/cancel", key=key)
    assert canceled.body["status"] == "canceled", canceled.body
    again = await call(http, "POST", f"/v1/payouts/{manual.body['id']}/cancel", key=key)
    assert (again.status, again.error["code"]) == (400, "payout_not_cancelable")
    got = await call(http, "GET", f"/v1/payouts/{manual.body['id']}", key=key)
    assert got.body == canceled.body
    too_much = await call(http, "POST", "/v1/payouts", key=key, form="amount=99999999&currency=usd")
    assert (too_much.status, too_much.error["code"]) == (400, "balance_insufficient")
    paid = await call(http, "GET", "/v1/payouts?status=paid", key=key)
    assert [found["id"] for found in paid.body["data"]] == [automatic["id"]]
    # Stripe's created[...]: the manual payout was made days after the automatic one.
    since = manual.body["created"]
    assert automatic["created"] < since
    recent = await call(http, "GET", f"/v1/payouts?created[gte]={since}", key=key)
    assert [found["id"] for found in recent.body["data"]] == [manual.body["id"]]
    older = await call(http, "GET", f"/v1/payouts?created[lt]={since}", key=key)
    assert [found["id"] for found in older.body["data"]] == [automatic["id"]]


async def test_a_payout_card_is_stripes_external_account_card(
    world: World, world_http: ClientSession
) -> None:
    """A payout card is what Stripe calls an external account card: its fields are a Stripe
    `card`'s (account, brand, last4, exp_month, exp_year, country, currency,
    default_for_currency), and so is its `object`, which was `payout_card` (docs/payouts.md)."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    own = await card_method(http, key, "4000056655665556")

    registered = await call(http, "POST", "/v1/payout_cards", key=key, form=f"payment_method={own}")
    read = await call(http, "GET", f"/v1/payout_cards/{own}", key=key)
    listed = await call(http, "GET", "/v1/payout_cards", key=key)

    assert registered.status == read.status == listed.status == 200, registered.body
    assert registered.body["object"] == read.body["object"] == "card"
    assert [each["object"] for each in listed.body["data"]] == ["card"]
    assert listed.body["object"] == "list"


async def test_a_debit_card_registered_as_a_payout_card_over_http(
    world: World, world_http: ClientSession
) -> None:
    """POST /v1/payout_cards registers the merchant's debit card; a customer's card is refused
    there (400 naming payment_method) and as a payout destination (400 naming destination)."""
    http = world_http
    merchant = await new_merchant(http, world.admin_token)
    key = merchant["secret_key"]
    own = await card_method(http, key, "4000056655665556")
    registered = await call(http, "POST", "/v1/payout_cards", key=key, form=f"payment_method={own}")
    assert registered.status == 200, registered.body
    assert (registered.body["id"], registered.body["account"], registered.body["last4"]) == (
        own,
        None,  # the merchant's own: null, as the edge renders an empty id
        "5556",
    )
    customer = await call(http, "POST", "/v1/customers", key=key, form="email=c%40shop.test")
    theirs = await card_method(http, key, "4000056655665556")
    attached = await call(
        http,
        "POST",
        f"/v1/payment_methods/{theirs}/attach",
        key=key,
        form=f"customer={customer.body['id']}",
    )
    assert attached.status == 200, attached.body
    refused = await call(http, "POST", "/v1/payout_cards", key=key, form=f"payment_method={theirs}")
    assert (refused.status, refused.error["param"]) == (400, "payment_method")
    payout = await call(
        http,
        "POST",
        "/v1/payouts",
        key=key,
        form=f"amount=100&currency=usd&method=instant&destination={theirs}",
    )
    assert (payout.status, payout.error["code"], payout.error["param"]) == (
        400,
        "payout_destination_not_external",
        "destination",
    )


async def test_a_payout_card_has_a_currency_and_refuses_payouts_in_another_over_http(
    world: World, world_http: ClientSession
) -> None:
    """A payout card renders its currency (a US debit card's default: usd) and whether it is
    its currency's default; an instant payout of 1000 EUR to it is 400 payout_currency_mismatch
    naming destination, and nothing moves. Registered with currency=eur, a card takes them."""
    http = world_http
    merchant = await new_merchant(http, world.admin_token)
    key = merchant["secret_key"]
    method = await card_method(http, key, good_card())
    intent = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=20000&currency=eur&confirm=true&payment_method={method}",
    )
    assert intent.body["status"] == "succeeded", intent.body
    await world.advance(2)
    us_card = await card_method(http, key, "4000056655665556")
    registered = await call(
        http, "POST", "/v1/payout_cards", key=key, form=f"payment_method={us_card}"
    )
    assert (registered.body["currency"], registered.body["default_for_currency"]) == ("usd", True)
    balance = await call(http, "GET", "/v1/balance", key=key)

    refused = await call(
        http,
        "POST",
        "/v1/payouts",
        key=key,
        form=f"amount=1000&currency=eur&method=instant&destination={us_card}",
    )
    assert (refused.status, refused.error["code"], refused.error["param"]) == (
        400,
        "payout_currency_mismatch",
        "destination",
    )
    assert "usd" in refused.error["message"] and "eur" in refused.error["message"]
    assert (await call(http, "GET", "/v1/balance", key=key)).body == balance.body
    assert (await call(http, "GET", "/v1/payouts", key=key)).body["data"] == []

    bad = await call(
        http,
        "POST",
        "/v1/payout_cards",
        key=key,
        form=f"payment_method={us_card}&currency=zzz",
    )
    assert (bad.status, bad.error["param"]) == (400, "currency")
    eur_card = await card_method(http, key, "4000056655665556")
    in_eur = await call(
        http, "POST", "/v1/payout_cards", key=key, form=f"payment_method={eur_card}&currency=eur"
    )
    assert in_eur.body["currency"] == "eur", in_eur.body
    # No destination: the eur default card.
    paid = await call(
        http, "POST", "/v1/payouts", key=key, form="amount=1000&currency=eur&method=instant"
    )
    assert (paid.status, paid.body["destination"], paid.body["status"]) == (200, eur_card, "paid")
    # The merchant's payout cards, newest first, with their currencies (a customer's or an
    # unregistered card is none).
    listed = await call(http, "GET", "/v1/payout_cards", key=key)
    assert listed.status == 200, listed.body
    assert [
        (card["id"], card["currency"], card["default_for_currency"]) for card in listed.body["data"]
    ] == [(eur_card, "eur", True), (us_card, "usd", True)]
    assert listed.body["has_more"] is False
    fetched = await call(http, "GET", f"/v1/payout_cards/{eur_card}", key=key)
    assert fetched.body == listed.body["data"][0]
    unregistered = await card_method(http, key, "4000056655665556")
    missing = await call(http, "GET", f"/v1/payout_cards/{unregistered}", key=key)
    assert (missing.status, missing.error["code"]) == (404, "resource_missing")
    by_card = await call(http, "GET", f"/v1/payouts?destination={eur_card}", key=key)
    assert [found["id"] for found in by_card.body["data"]] == [paid.body["id"]], by_card.body


async def test_a_payout_s_nulls_and_its_arrival_date_filter_are_stripes(
    world: World, world_http: ClientSession
) -> None:
    """A payout that has not failed has failure_code and failure_message null, one without a
    description null, as Stripe renders them; GET /v1/payouts takes Stripe's
    `arrival_date[gt|gte|lt|lte]` as it takes `created`'s."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    await charge(http, key, 10_000, good_card(), world.run_worker_once)
    form = f"country=US&currency=usd&account_holder_name=J&routing_number={ROUTING}"
    bank = await call(
        http, "POST", "/v1/bank_accounts", key=key, form=f"{form}&account_number={PAID}"
    )
    assert bank.status == 200, bank.body
    await call(http, "POST", "/v1/payout_schedule", key=key, form="interval=daily")
    await world.advance(2)
    [automatic] = (await call(http, "GET", "/v1/payouts", key=key)).body["data"]
    await call(http, "POST", "/v1/payout_schedule", key=key, form="interval=manual")
    await charge(http, key, 5000, good_card(), world.run_worker_once)
    await world.advance(3)
    manual = await call(http, "POST", "/v1/payouts", key=key, form="amount=1000&currency=usd")
    assert manual.status == 200, manual.body

    for payout in (automatic, manual.body):
        assert (payout["failure_code"], payout["failure_message"]) == (None, None), payout
        assert payout["description"] is None, payout
    first, later = automatic["arrival_date"], manual.body["arrival_date"]
    assert first < later

    async def listed(query: str) -> list[str]:
        answer = await call(http, "GET", f"/v1/payouts?{query}", key=key)
        assert answer.status == 200, answer.body
        return [found["id"] for found in answer.body["data"]]

    both = [manual.body["id"], automatic["id"]]
    assert await listed(f"arrival_date[gte]={first}") == both
    assert await listed(f"arrival_date[gt]={first}") == [manual.body["id"]]
    assert await listed(f"arrival_date[lt]={later}") == [automatic["id"]]
    assert await listed(f"arrival_date[lte]={later}") == both
    assert await listed(f"arrival_date[gt]={first}&arrival_date[lt]={later}") == []
    refused = await call(http, "GET", "/v1/payouts?arrival_date[gt]=-1", key=key)
    assert (refused.status, refused.error["param"]) == (400, "arrival_date[gt]"), refused.body


async def test_a_payout_schedule_is_updated_in_part(
    world: World, world_http: ClientSession
) -> None:
    """Stripe's settings[payouts][schedule] takes any of its fields: what is not given is
    kept. A weekly or monthly schedule needs its anchor, given or kept from the same interval:
    PARAMETER_MISSING naming it otherwise, and a refused change changes nothing."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]

    async def update(form: str) -> tuple[int, dict[str, object]]:
        answer = await call(http, "POST", "/v1/payout_schedule", key=key, form=form)
        return answer.status, answer.body

    weekly = await update("interval=weekly&weekly_anchor=friday&delay_days=4")
    assert weekly == (200, weekly[1]) and weekly[1]["weekly_anchor"] == "friday", weekly
    delay = await update("delay_days=6")
    assert (delay[0], delay[1]["interval"], delay[1]["weekly_anchor"], delay[1]["delay_days"]) == (
        200, "weekly", "friday", 6,
    )  # fmt: skip
    anchor = await update("weekly_anchor=tuesday")
    assert (anchor[1]["interval"], anchor[1]["weekly_anchor"], anchor[1]["delay_days"]) == (
        "weekly", "tuesday", 6,
    )  # fmt: skip
    monthly = await update("interval=monthly")
    assert (monthly[0], monthly[1]["error"]) == (400, monthly[1]["error"])
    assert monthly[1]["error"]["code"] == "parameter_missing"  # type: ignore[index]
    assert monthly[1]["error"]["param"] == "monthly_anchor"  # type: ignore[index]
    bad_day = await update("monthly_anchor=32")
    assert bad_day[1]["error"]["code"] == "parameter_invalid"  # type: ignore[index]
    assert bad_day[1]["error"]["param"] == "monthly_anchor"  # type: ignore[index]
    kept = await call(http, "GET", "/v1/payout_schedule", key=key)
    assert kept.body == anchor[1]
    to_monthly = await update("interval=monthly&monthly_anchor=15")
    assert (to_monthly[1]["interval"], to_monthly[1]["monthly_anchor"]) == ("monthly", 15)
    day = await update("monthly_anchor=20")
    assert (day[1]["interval"], day[1]["monthly_anchor"], day[1]["delay_days"]) == (
        "monthly", 20, 6,
    )  # fmt: skip


async def test_an_anchor_the_interval_does_not_use_is_refused_naming_it(
    world: World, world_http: ClientSession
) -> None:
    """`interval=daily&weekly_anchor=friday` answered 200 with `weekly_anchor: null`: the
    anchor the merchant asked for was dropped without a word. Stripe's anchors are "required
    and applicable only" for their interval: an anchor the schedule left would not use is 400
    `parameter_invalid` naming it, and the schedule is unchanged."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]

    async def update(form: str) -> tuple[int, dict[str, object]]:
        answer = await call(http, "POST", "/v1/payout_schedule", key=key, form=form)
        return answer.status, answer.body

    before = await update("interval=weekly&weekly_anchor=monday")
    assert before[0] == 200, before
    for form, param in (
        ("interval=daily&weekly_anchor=friday", "weekly_anchor"),
        ("interval=daily&monthly_anchor=5", "monthly_anchor"),
        ("interval=manual&weekly_anchor=friday", "weekly_anchor"),
        ("interval=weekly&weekly_anchor=friday&monthly_anchor=5", "monthly_anchor"),
        ("interval=monthly&monthly_anchor=5&weekly_anchor=friday", "weekly_anchor"),
        ("monthly_anchor=5", "monthly_anchor"),  # the kept interval is weekly
    ):
        status, body = await update(form)
        error = body.get("error")
        assert status == 400 and isinstance(error, dict), (form, status, body)
        assert (error["code"], error["param"]) == ("parameter_invalid", param), (form, body)
        assert "weekly" in error["message"] or "monthly" in error["message"], body
    kept = await call(http, "GET", "/v1/payout_schedule", key=key)
    assert kept.body == before[1], kept.body
    # The anchor of the interval given, with it, still goes through.
    daily = await update("interval=daily")
    assert (daily[0], daily[1]["interval"], daily[1]["weekly_anchor"]) == (200, "daily", None)
    weekly = await update("weekly_anchor=friday")
    assert weekly[0] == 400, weekly  # daily now: the anchor would be dropped


async def test_a_currency_minimum_is_set_and_removed_on_its_own(
    world: World, world_http: ClientSession
) -> None:
    """`minimum_amounts[kwd]=50` on a schedule holding a usd minimum dropped the usd one (the
    map given replaced the schedule's), and no minimum could be removed once set (`0` was
    refused, the empty map is "not given"). As metadata's keys at Stripe: the currencies given
    are set, the others kept, and 0 removes a currency's minimum."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]

    async def update(form: str) -> dict[str, object]:
        answer = await call(http, "POST", "/v1/payout_schedule", key=key, form=form)
        assert answer.status == 200, (form, answer.body)
        body: dict[str, object] = answer.body
        return body

    both = await update("interval=daily&minimum_amounts[usd]=5000&minimum_amounts[jpy]=1000")
    assert both["minimum_amounts"] == {"usd": 5000, "jpy": 1000}, both
    kwd = await update("minimum_amounts[kwd]=50")
    assert kwd["minimum_amounts"] == {"usd": 5000, "jpy": 1000, "kwd": 50}, kwd
    changed = await update("minimum_amounts[usd]=7000")
    assert changed["minimum_amounts"] == {"usd": 7000, "jpy": 1000, "kwd": 50}, changed
    removed = await update("minimum_amounts[jpy]=0&minimum_amounts[kwd]=0")
    assert removed["minimum_amounts"] == {"usd": 7000}, removed
    cleared = await update("minimum_amounts[usd]=0")
    assert cleared["minimum_amounts"] == {}, cleared
    read = await call(http, "GET", "/v1/payout_schedule", key=key)
    assert read.body == cleared
    negative = await call(
        http, "POST", "/v1/payout_schedule", key=key, form="minimum_amounts[usd]=-1"
    )
    assert (negative.status, negative.error["param"]) == (400, "minimum_amounts[usd]")


async def test_a_new_bank_account_replaces_an_errored_default(
    world: World, world_http: ClientSession
) -> None:
    """After a payout to the currency's default bank account failed (errored), the answer
    said "add a new bank account to replace it"; the new one, made as the first was (without
    `default_for_currency`), was not the default, so payouts without a destination and the
    automatic ones still went nowhere. A new bank account takes over from an errored default,
    as the first of a currency is its default."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    await available_funds(http, key)

    failing = await bank_account(http, key, NO_ACCOUNT)
    assert failing["default_for_currency"] is True
    failed = await call(
        http, "POST", "/v1/payouts", key=key, form="amount=1000&currency=usd&method=instant"
    )
    assert (failed.status, failed.body["status"]) == (200, "failed"), failed.body
    refused = await call(http, "POST", "/v1/payouts", key=key, form="amount=1000&currency=usd")
    assert (refused.status, refused.error["code"]) == (400, "bank_account_errored")

    replacement = await bank_account(http, key, PAID)
    assert replacement["default_for_currency"] is True, replacement
    old = await call(http, "GET", f"/v1/bank_accounts/{failing['id']}", key=key)
    assert (old.body["status"], old.body["default_for_currency"]) == ("errored", False), old.body
    payout = await call(http, "POST", "/v1/payouts", key=key, form="amount=1000&currency=usd")
    assert (payout.status, payout.body["destination"]) == (200, replacement["id"]), payout.body
    # A further one keeps the usable default, as before.
    third = await bank_account(http, key, "000123456780")
    assert third["default_for_currency"] is False, third


async def test_listing_a_manual_payouts_balance_transactions_is_refused_as_at_stripe(
    world: World, world_http: ClientSession
) -> None:
    """`GET /v1/balance_transactions?payout=po_...` of a manual payout answered an empty list,
    as if it had paid out nothing (even its own row is not listed: it is no automatic payout's).
    Stripe's `payout` filter is for automatic payouts only, and a manual one is refused
    ("can only be filtered on automatic payouts"): 400 `parameter_invalid` naming `payout`."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    await available_funds(http, key)
    await bank_account(http, key, PAID)
    manual = await call(http, "POST", "/v1/payouts", key=key, form="amount=1000&currency=usd")
    assert manual.status == 200, manual.body
    listed = await call(
        http, "GET", f"/v1/balance_transactions?payout={manual.body['id']}", key=key
    )
    assert (listed.status, listed.error["code"], listed.error["param"]) == (
        400, "parameter_invalid", "payout",
    ), listed.body  # fmt: skip
    assert "automatic" in listed.error["message"], listed.body
    # Its own row is found by its source, as any object's.
    own = await call(http, "GET", f"/v1/balance_transactions?source={manual.body['id']}", key=key)
    assert [row["id"] for row in own.body["data"]] == [manual.body["balance_transaction"]]
    # The dashboard's page of the manual payout lists its own rows (it asked by `payout`).
    edge = await start_edge(world.target, "127.0.0.1:0")
    try:
        async with ClientSession(
            base_url=f"http://127.0.0.1:{edge.port}", cookie_jar=CookieJar(unsafe=True)
        ) as web:
            async with web.post("/dashboard/login", data={"key": key}) as signed_in:
                assert signed_in.status == 200
            async with web.get(f"/dashboard/payouts/{manual.body['id']}") as page:
                text = await page.text()
                assert page.status == 200, text
            assert manual.body["balance_transaction"] in text
    finally:
        await edge.close()


async def test_a_payout_takes_stripes_statement_descriptor_and_source_type(
    world: World, world_http: ClientSession
) -> None:
    """Stripe's Payout.create takes `statement_descriptor` (up to 22 characters, shown on the
    payee's bank statement) and `source_type` (which balance pays it: `card` for card
    payments' funds); paycore answered 400 parameter_unknown to both, and its payouts had
    neither field. The descriptor is kept and shown (null when none), `source_type` is `card`
    (the one balance paycore keeps); a longer descriptor or another source is refused naming
    the field."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    await available_funds(http, key)
    await bank_account(http, key, PAID)
    described = await call(
        http,
        "POST",
        "/v1/payouts",
        key=key,
        form="amount=1000&currency=usd&statement_descriptor=SHOP+WEEK+49&source_type=card",
    )
    assert described.status == 200, described.body
    assert (described.body["statement_descriptor"], described.body["source_type"]) == (
        "SHOP WEEK 49", "card",
    )  # fmt: skip
    read = await call(http, "GET", f"/v1/payouts/{described.body['id']}", key=key)
    assert read.body["statement_descriptor"] == "SHOP WEEK 49"
    plain = await call(http, "POST", "/v1/payouts", key=key, form="amount=1000&currency=usd")
    assert (plain.body["statement_descriptor"], plain.body["source_type"]) == (None, "card")
    for form, param in (
        ("statement_descriptor=" + "X" * 23, "statement_descriptor"),
        ("source_type=bank_account", "source_type"),
    ):
        refused = await call(
            http, "POST", "/v1/payouts", key=key, form=f"amount=1000&currency=usd&{form}"
        )
        assert (refused.status, refused.error["param"]) == (400, param), refused.body


async def available_funds(http: ClientSession, key: str) -> None:
    """100.00 USD on the key's merchant's available balance at once (a bypass-pending card)."""
    paid = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form="amount=10000&currency=usd&payment_method=pm_card_bypassPending&confirm=true",
    )
    assert paid.status == 200, paid.body


async def bank_account(http: ClientSession, key: str, number: str) -> dict[str, object]:
    """A US bank account of the key's merchant with account `number` (the bank's test
    numbers: PAID, NO_ACCOUNT...)."""
    created = await call(
        http,
        "POST",
        "/v1/bank_accounts",
        key=key,
        form=f"country=US&currency=usd&account_holder_name=J&routing_number={ROUTING}"
        f"&account_number={number}",
    )
    assert created.status == 200, created.body
    body: dict[str, object] = created.body
    return body
