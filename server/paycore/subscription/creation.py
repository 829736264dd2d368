"""CreateSubscription's first phase: checks, the subscription, its first invoice and (without
a trial) the first charge's record, all in one transaction, so bad input creates nothing."""

from __future__ import annotations

from dataclasses import replace

from paycore.customer.models import Customer
from paycore.customer.repository import CustomerRepository, PaymentMethodRepository
from paycore.errors import ApiError, Reason, invalid, missing, not_found
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.invariants import violated
from paycore.payment.models import Intent, IntentStatus
from paycore.payment.repository import PayInRepository
from paycore.subscription import discounts, invoices, lifecycle
from paycore.subscription.collection import VOID_INVOICE, Collection, expire_incomplete
from paycore.subscription.invoice_store import InvoiceRepository
from paycore.subscription.models import (
    TRIAL_DAYS_MAX,
    BillingReason,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    NewSubscription,
    PaymentBehavior,
    Period,
    Price,
    Recurring,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from paycore.subscription.periods import SECONDS_PER_DAY, period_at
from paycore.subscription.proration import item_amount
from paycore.subscription.repository import PRICES, ProductRepository, TestClockRepository
from paycore.subscription.service import add_price
from paycore.subscription.store import SubscriptionRepository
from sqlalchemy.ext.asyncio import AsyncConnection


async def start_subscription(
    connection: AsyncConnection, collection: Collection, merchant_id: str, new: NewSubscription
) -> Subscription:
    customers = CustomerRepository(connection)
    seen = await customers.get(merchant_id, new.customer_id)
    if seen is None:
        raise not_found("customer", new.customer_id, "customer")
    new = _on_the_customers_clock(new, seen.test_clock_id)
    if new.test_clock_id is not None:
        # Held (FOR SHARE) before the customer is locked, the order DeleteTestClock takes them
        # in: a deletion in progress (which ends the clock's subscriptions) finishes first, and
        # the clock is then not found, rather than left with a live subscription on it.
        clock = await TestClockRepository(connection).held(merchant_id, new.test_clock_id)
        if clock is None:
            raise not_found("test_clock", new.test_clock_id, "test_clock")
    # Locked: a DeleteCustomer in progress (which ends the customer's subscriptions) finishes
    # first, and the customer is then not found, rather than left with a live subscription.
    customer = await customers.get(merchant_id, new.customer_id, for_update=True)
    if customer is None:
        raise not_found("customer", new.customer_id, "customer")
    new, inline = await _made_inline(connection, collection, merchant_id, new)
    prices = await item_prices(connection, merchant_id, new.items, inline)
    period_amount = sum(
        item_amount(price.unit_amount, quantity)
        for price, (_, quantity) in zip(prices, new.items, strict=True)
    )
    invoices.check_collectable(prices[0].currency, period_amount)
    await _require_payment_method(connection, merchant_id, new, customer)
    now = await lifecycle.clock_now(connection, merchant_id, new.test_clock_id)
    shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
    recurring = prices[0].recurring
    if recurring is None:
        violated("a subscription's prices are recurring")
    trial_end = _trial_end(new, now)
    anchor = trial_end or now
    period = Period(now, trial_end) if trial_end else period_at(anchor, recurring, now)
    subscription_id = new_id(Prefix.SUBSCRIPTION, shard)
    subscription = Subscription(
        id=subscription_id,
        merchant_id=merchant_id,
        customer_id=customer.id,
        status=SubscriptionStatus.TRIALING if trial_end else SubscriptionStatus.INCOMPLETE,
        currency=prices[0].currency,
        recurring=recurring,
        billing_cycle_anchor=anchor,
        current_period=period,
        trial_start=now if trial_end else None,
        trial_end=trial_end,
        cancel_at_period_end=new.cancel_at_period_end,
        canceled_at=now if new.cancel_at_period_end else None,
        ended_at=None,
        default_payment_method_id=new.default_payment_method_id,
        latest_invoice_id=None,
        test_clock_id=new.test_clock_id,
        credit_balance=0,
        next_action_at=None,
        created=now,
        metadata=new.metadata,
        items=tuple(
            SubscriptionItem(
                id=new_id(Prefix.SUBSCRIPTION_ITEM, shard),
                subscription_id=subscription_id,
                price=price,
                quantity=quantity,
                created=now,
                metadata=new.item_metadata[index] if new.item_metadata else {},
            )
            for index, (price, (_, quantity)) in enumerate(zip(prices, new.items, strict=True))
        ),
    )
    subscription = await discounts.take(
        connection,
        collection.events,
        subscription,
        new.coupon_id,
        new.promotion_code_id,
        now,
        period_amount,
        new.discount_prefix,
    )
    if trial_end:
        lines = trial_lines(subscription, prices, period)
    else:
        lines = invoices.period_lines(subscription, period)
    events = collection.events
    invoice, subscription = await invoices.create_invoice(
        connection, events, subscription, BillingReason.SUBSCRIPTION_CREATE, period, lines, now
    )
    invoice, subscription = await invoices.finalize(
        connection, events, collection.rules, subscription, invoice, now
    )
    if invoice.status is InvoiceStatus.PAID and trial_end is None:  # below the least charge
        subscription = replace(subscription, status=SubscriptionStatus.ACTIVE)
    saved = await lifecycle.save(connection, events, None, subscription)
    if invoice.status is not InvoiceStatus.OPEN:
        return saved
    return await _collect_first(connection, collection, saved, invoice, now, new)


def _trial_end(new: NewSubscription, now: int) -> int | None:
    """When the trial asked for ends (None: no trial); a trial_end not after `now` (the
    subscription's clock) or beyond TRIAL_DAYS_MAX days is INVALID_ARGUMENT naming it."""
    if new.trial_end is not None:
        if not now < new.trial_end <= now + TRIAL_DAYS_MAX * SECONDS_PER_DAY:
            raise invalid("trial_end", f"must be after now and at most {TRIAL_DAYS_MAX} days on")
        return new.trial_end
    return now + new.trial_period_days * SECONDS_PER_DAY if new.trial_period_days else None


async def _require_payment_method(
    connection: AsyncConnection, merchant_id: str, new: NewSubscription, customer: Customer
) -> None:
    """The default_payment_method, if named, is attached to the customer; without one the
    customer has an invoice default, unless nothing is charged in the call (a trial, or
    default_incomplete: the customer brings a payment method when confirming)."""
    if new.default_payment_method_id:
        await require_attached(
            connection,
            merchant_id,
            new.default_payment_method_id,
            customer.id,
            "default_payment_method",
        )
    elif (
        customer.default_payment_method is None
        and not new.has_trial
        and new.payment_behavior is not PaymentBehavior.DEFAULT_INCOMPLETE
    ):
        raise missing("default_payment_method")


async def _collect_first(
    connection: AsyncConnection,
    collection: Collection,
    subscription: Subscription,
    invoice: Invoice,
    now: int,
    new: NewSubscription,
) -> Subscription:
    """The open first invoice: charged now (its charge settled after commit), or with
    default_incomplete left to the customer, whose payment the billing job settles."""
    save_payment_method = new.save_default_payment_method
    if new.payment_behavior is PaymentBehavior.DEFAULT_INCOMPLETE:
        await collection.leave_to_customer(
            connection, subscription, invoice, save_payment_method=save_payment_method
        )
        return subscription
    # The customer is present when their subscription is created: charged on-session, as
    # Stripe charges it, a card that must authenticate (3-D Secure) leaves the intent in
    # requires_action for them to complete (invoice.payment_action_required), not declined.
    await collection.start(
        connection,
        subscription,
        invoice,
        now,
        scheduled=True,
        save_payment_method=save_payment_method,
        off_session=False,
    )
    # A charge to settle: due now.
    return await lifecycle.save(connection, collection.events, subscription, subscription)


async def expire_declined(
    connection: AsyncConnection, collection: Collection, merchant_id: str, subscription_id: str
) -> Intent | None:
    """error_if_incomplete's refusal: an incomplete subscription (locked) whose first charge
    was declined, or waits for the customer's authentication (requires_action; the intent is
    then canceled, `void_invoice`), ends incomplete_expired, its invoice void; answers the
    intent. None, changing nothing, when that charge is still in flight or has succeeded."""
    subscription = await SubscriptionRepository(connection).get(
        merchant_id, subscription_id, lock=True
    )
    if subscription is None or subscription.status is not SubscriptionStatus.INCOMPLETE:
        return None
    open_invoices = await InvoiceRepository(connection).of_subscription(
        merchant_id, subscription_id, (InvoiceStatus.OPEN,)
    )
    if not open_invoices or any(
        invoice.charging or invoice.payment_intent_id is None for invoice in open_invoices
    ):
        return None
    intent = await PayInRepository(connection).intent(
        merchant_id, open_invoices[0].payment_intent_id or ""
    )
    if intent is None:
        return None
    if intent.status is IntentStatus.REQUIRES_ACTION:
        await collection.withdraw_from_customer(connection, open_invoices[0], VOID_INVOICE)
    elif intent.status is IntentStatus.SUCCEEDED or intent.last_error is None:
        return None
    now = await lifecycle.clock_now(connection, merchant_id, subscription.test_clock_id)
    await expire_incomplete(connection, collection.events, subscription, open_invoices, now)
    return intent


def trial_lines(
    subscription: Subscription, prices: list[Price], period: Period
) -> tuple[InvoiceLine, ...]:
    """The trial's invoice, as Stripe makes one: a line per item, each for nothing."""
    return tuple(
        invoices.item_line(item, price, 0, f"Trial period for {invoices.describe(price)}", period)
        for item, price in zip(subscription.items, prices, strict=True)
    )


async def _made_inline(
    connection: AsyncConnection, collection: Collection, merchant_id: str, new: NewSubscription
) -> tuple[NewSubscription, frozenset[str]]:
    """The prices of the items given with price_data, made (in the create's transaction: a
    refused create leaves none); `new` with their ids, and those ids."""
    items = list(new.items)
    made: set[str] = set()
    for index, data in new.price_data:
        param = f"items[{index}].price_data.product"
        price = await add_price(connection, collection.events, merchant_id, data, param)
        items[index] = (price.id, items[index][1])
        made.add(price.id)
    return replace(new, items=tuple(items), price_data=()), frozenset(made)


async def item_prices(
    connection: AsyncConnection,
    merchant_id: str,
    items: tuple[tuple[str, int], ...],
    inline: frozenset[str] = frozenset(),
) -> list[Price]:
    """Each item's price: the merchant's, recurring, active (and its product), all in the
    first one's currency and at its interval. The `inline` ones (price_data: made for the item,
    inactive so that nothing else takes them) are the items' own; the errors about one name its
    price_data."""
    found: list[Price] = []
    first_recurring: Recurring | None = None
    for index, (price_id, _) in enumerate(items):
        param = f"items[{index}].price_data" if price_id in inline else f"items[{index}].price"
        price = await PRICES.require(connection, merchant_id, price_id, param)
        if price.recurring is None:
            raise invalid(param, "must be a recurring price (this one is one-time)")
        if not price.active and price.id not in inline:
            raise invalid(param, f"the price {price.id} is inactive")
        product = await ProductRepository(connection).get(merchant_id, price.product_id)
        if product is None or not product.active:
            raise ApiError(Reason.PRODUCT_INACTIVE, param=param, id=price.product_id)
        if found and price.currency != found[0].currency:
            raise ApiError(
                Reason.CURRENCY_MISMATCH,
                param=param,
                currency=price.currency,
                expected=found[0].currency,
            )
        if first_recurring is not None and price.recurring != first_recurring:
            raise invalid(param, "every item must bill at the same interval as items[0]")
        first_recurring = first_recurring or price.recurring
        found.append(price)
    return found


async def require_attached(
    connection: AsyncConnection,
    merchant_id: str,
    payment_method_id: str,
    customer_id: str,
    param: str,
) -> None:
    """NOT_FOUND naming `param` for an unknown payment method; PAYMENT_METHOD_NOT_ATTACHED
    when it is not attached to the customer (or detached)."""
    method = await PaymentMethodRepository(connection).get(merchant_id, payment_method_id)
    if method is None:
        raise not_found("payment_method", payment_method_id, param)
    if method.customer_id != customer_id or method.detached:
        raise ApiError(
            Reason.PAYMENT_METHOD_NOT_ATTACHED,
            param=param,
            id=payment_method_id,
            customer=customer_id,
        )


def _on_the_customers_clock(new: NewSubscription, customer_clock: str | None) -> NewSubscription:
    """A customer on a test clock (CreateCustomer's test_clock, as Stripe's) has its
    subscriptions on that clock: named or left out; another clock is INVALID_ARGUMENT."""
    if customer_clock is None:
        return new
    if new.test_clock_id not in (None, customer_clock):
        raise invalid("test_clock", f"must be the customer's test clock, {customer_clock}")
    return replace(new, test_clock_id=customer_clock)
