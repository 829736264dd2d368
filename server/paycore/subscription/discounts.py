"""Discounts: a coupon redeemed onto a subscription, and what it takes off an invoice.

The rules (docs/subscriptions.md "Coupons and discounts"):
- percent_off (hundredths of a percent) is taken off each discounted line, rounded half away
  from zero to the minor unit (`percent_of`), so a proration credit is reduced at the same
  rate as the charge it credits; the invoice's discount is the sum of its lines'.
- amount_off takes min(amount_off, the discounted lines' sum, if positive) off the invoice,
  spread over its positive lines in proportion to their amounts (rounded down, the units
  left one each to the first of them), so no line goes below zero and neither does the total.
- The discounted lines are all of an invoice's lines (the period's items, prorations, invoice
  items) but the line carrying a credit or a small amount from an earlier invoice.
- `once`: the first invoice the discount takes something off, then the discount ends;
  `repeating`: invoices created before start + duration_in_months calendar months; `forever`:
  every invoice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from paycore.errors import invalid, not_found
from paycore.ids import Prefix, new_merchant_id
from paycore.subscription.coupon_store import (
    COUPONS,
    PROMOTION_CODES,
    CouponRepository,
    PromotionCodeRepository,
    customer_discounts,
    end_customer_discount,
    has_paid,
)
from paycore.subscription.events import DISCOUNT_CREATED, DISCOUNT_DELETED, SubscriptionEvents
from paycore.subscription.models import (
    PERCENT_OFF_MAX,
    Coupon,
    CouponDuration,
    Discount,
    InvoiceLine,
    PromotionCode,
    Purchase,
    Subscription,
)
from sqlalchemy.ext.asyncio import AsyncConnection


async def redeem(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    subscription: Subscription,
    coupon_id: str,
    now: int,
    param: str = "coupon",
    promotion_code_id: str | None = None,
) -> Subscription:
    """The subscription with the coupon's discount from `now` (its clock), one redemption
    counted in this transaction (customer.discount.created, and .deleted of the discount it
    replaces); INVALID_ARGUMENT naming `param` for a coupon the merchant
    does not have, one used up or past redeem_by, or an amount_off in another currency."""
    merchant_id = subscription.merchant_id
    redeemed = await claim_coupon(
        connection, merchant_id, subscription.currency, coupon_id, now, param
    )
    discount = new_discount(
        redeemed, subscription.customer_id, subscription.id, now, promotion_code_id
    )
    if subscription.discount is not None:
        await events.discount.record(connection, DISCOUNT_DELETED, subscription.discount)
    await events.discount.record(connection, DISCOUNT_CREATED, discount)
    return replace(subscription, discount=discount)


def new_discount(
    coupon: Coupon,
    customer_id: str,
    subscription_id: str,
    now: int,
    promotion_code_id: str | None = None,
) -> Discount:
    """The coupon's discount from `now` (a subscription's, or with subscription_id "" the
    customer's): a repeating one ends duration_in_months calendar months on."""
    end = None
    if coupon.duration is CouponDuration.REPEATING and coupon.duration_in_months:
        end = months_later(now, coupon.duration_in_months)
    return Discount(
        id=new_merchant_id(Prefix.DISCOUNT, coupon.merchant_id),
        merchant_id=coupon.merchant_id,
        coupon=coupon,
        customer_id=customer_id,
        subscription_id=subscription_id,
        start=now,
        end=end,
        promotion_code_id=promotion_code_id,
    )


async def claim_coupon(
    connection: AsyncConnection,
    merchant_id: str,
    currency: str | None,
    coupon_id: str,
    now: int,
    param: str = "coupon",
) -> Coupon:
    """The coupon, one redemption counted in this transaction, for a purchase in `currency`
    (None: any, a customer's discount: an amount_off one then discounts only invoices in its
    currency);
    INVALID_ARGUMENT naming `param` for a coupon the merchant does not have, one used up or
    past redeem_by, or an amount_off in another currency."""
    repository = CouponRepository(connection)
    coupon = await repository.get(merchant_id, coupon_id)
    if coupon is None:
        raise not_found(COUPONS.name, coupon_id, param)
    if currency is not None and coupon.currency is not None and coupon.currency != currency:
        raise invalid(param, f"coupon {coupon_id} is in {coupon.currency}, not {currency}")
    redeemed = await repository.redeem(merchant_id, coupon_id, now)
    if redeemed is None:
        raise invalid(param, f"coupon {coupon_id} is used up or past its redeem_by")
    return redeemed


async def claim_code(
    connection: AsyncConnection,
    merchant_id: str,
    promotion_code_id: str,
    now: int,
    param: str = "promotion_code",
    purchase: Purchase | None = None,
) -> str:
    """The promotion code's coupon id, the code's redemption counted; INVALID_ARGUMENT naming
    `promotion_code` for a code the merchant does not have, or one inactive, used up or
    expired, or whose restrictions `purchase` does not meet. (Its coupon is claimed by the
    caller.)"""
    codes = PromotionCodeRepository(connection)
    code = await codes.get(merchant_id, promotion_code_id)
    if code is None:
        raise not_found(PROMOTION_CODES.name, promotion_code_id, param)
    if purchase is not None:
        await _check_restrictions(connection, code, purchase, param)
    if not await codes.redeem(merchant_id, promotion_code_id, now):
        raise invalid(param, f"{code.code} is inactive, used up or expired")
    return code.coupon_id


async def take(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    subscription: Subscription,
    coupon_id: str,
    promotion_code_id: str,
    now: int,
    amount: int | None = None,
    prefix: str = "",
) -> Subscription:
    """The subscription with the discount of the coupon or promotion code asked for (one at
    most; neither: unchanged); `amount`: what its items come to for a period (a promotion
    code's restrictions.minimum_amount); a refusal names `<prefix>coupon` or
    `<prefix>promotion_code` (prefix "discounts[0]." for Stripe's discounts[0][...])."""
    if coupon_id:
        return await redeem(connection, events, subscription, coupon_id, now, f"{prefix}coupon")
    if promotion_code_id:
        param = f"{prefix}promotion_code"
        return await redeem_code(
            connection, events, subscription, promotion_code_id, now, amount, param
        )
    return subscription


async def remove(
    connection: AsyncConnection, events: SubscriptionEvents, subscription: Subscription
) -> Subscription:
    """The subscription without its discount (customer.discount.deleted), as Stripe's
    `discounts=""`; unchanged when it has none."""
    if subscription.discount is None:
        return subscription
    await events.discount.record(connection, DISCOUNT_DELETED, subscription.discount)
    return replace(subscription, discount=None)


async def redeem_code(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    subscription: Subscription,
    promotion_code_id: str,
    now: int,
    amount: int | None = None,
    param: str = "promotion_code",
) -> Subscription:
    """`redeem` of the promotion code's coupon, the code's redemption counted too;
    INVALID_ARGUMENT naming `param` for a code the merchant does not have, one
    inactive, used up or past expires_at, or whose restrictions the subscription (its
    customer, its items' `amount`) does not meet (and as `redeem` for its coupon)."""
    purchase = Purchase(amount, subscription.currency, subscription.customer_id)
    coupon_id = await claim_code(
        connection, subscription.merchant_id, promotion_code_id, now, param, purchase
    )
    return await redeem(connection, events, subscription, coupon_id, now, param, promotion_code_id)


async def _check_restrictions(
    connection: AsyncConnection, code: PromotionCode, purchase: Purchase, param: str
) -> None:
    """INVALID_ARGUMENT naming `param` when the purchase does not meet the code's
    restrictions: a first_time_transaction code for a customer with a succeeded payment; a
    minimum_amount the purchase (before the discount) does not reach, or in another currency.
    A purchase without an amount (a customer's discount) is checked for the customer only."""
    rules = code.restrictions
    minimum, currency = rules.minimum_amount, rules.minimum_amount_currency
    if minimum is not None and purchase.amount is not None:
        if purchase.currency != currency:
            raise invalid(
                param,
                f"{code.code} has a minimum amount in {currency}; this purchase is in"
                f" {purchase.currency} (restrictions.minimum_amount_currency)",
            )
        if purchase.amount < minimum:
            raise invalid(
                param,
                f"{code.code} needs a purchase of at least {minimum} {currency}"
                f" (restrictions.minimum_amount); this one is {purchase.amount}",
            )
    customer_id = purchase.customer_id
    if (
        rules.first_time_transaction
        and customer_id is not None
        and await has_paid(connection, code.merchant_id, customer_id)
    ):
        raise invalid(
            param,
            f"{code.code} is for a customer's first purchase only"
            " (restrictions.first_time_transaction); this customer has paid before",
        )


def months_later(at: int, months: int) -> int:
    """`at` moved on by calendar months (the day clamped to the month's last)."""
    moment = datetime.fromtimestamp(at, UTC)
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = moment.day
    while True:
        try:
            return int(moment.replace(year=year, month=month, day=day).timestamp())
        except ValueError:
            day -= 1


def in_force(discount: Discount | None, at: int) -> Discount | None:
    """The discount if an invoice created at `at` takes it."""
    if discount is None or (discount.end is not None and at >= discount.end):
        return None
    return discount


def percent_of(amount: int, percent_off: int) -> int:
    """percent_off (hundredths of a percent) of `amount`, rounded half away from zero."""
    taken = (abs(amount) * percent_off + PERCENT_OFF_MAX // 2) // PERCENT_OFF_MAX
    return taken if amount >= 0 else -taken


def apply(
    discount: Discount | None, lines: tuple[InvoiceLine, ...]
) -> tuple[tuple[InvoiceLine, ...], int]:
    """The lines with their discount_amount, and the invoice's total discount."""
    if discount is None:
        return lines, 0
    amounts = amounts_off(discount.coupon, [line.amount for line in lines])
    discounted = tuple(
        replace(line, discount_amount=amount, discount_id=discount.id)
        for line, amount in zip(lines, amounts, strict=True)
    )
    return discounted, sum(amounts)


def amounts_off(coupon: Coupon, amounts: list[int]) -> list[int]:
    """What the coupon takes off each of these amounts (the module's rule)."""
    if coupon.percent_off is not None:
        return [percent_of(amount, coupon.percent_off) for amount in amounts]
    return _spread(coupon.amount_off or 0, amounts)


def _spread(amount_off: int, amounts: list[int]) -> list[int]:
    """amount_off, capped at the lines' sum, over the positive lines by their share."""
    positive = sum(amount for amount in amounts if amount > 0)
    taken = min(amount_off, max(sum(amounts), 0))
    if taken == 0 or positive == 0:
        return [0] * len(amounts)
    shares = [taken * amount // positive if amount > 0 else 0 for amount in amounts]
    left = taken - sum(shares)
    for index, amount in enumerate(amounts):
        if left == 0:
            break
        if amount > 0:
            shares[index] += 1
            left -= 1
    return shares


async def after_invoice(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    subscription: Subscription,
    at: int,
    taken: int,
) -> Subscription:
    """The subscription once an invoice created at `at` took `taken` off: a `once` discount
    that took something, or a discount past its end, is removed (customer.discount.deleted)."""
    discount = subscription.discount
    if discount is None:
        return subscription
    used = discount.coupon.duration is CouponDuration.ONCE and taken != 0
    if used or in_force(discount, at) is None:
        await events.discount.record(connection, DISCOUNT_DELETED, discount)
        return replace(subscription, discount=None)
    return subscription


async def of_invoice(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    subscription: Subscription,
    at: int,
) -> Discount | None:
    """The discount an invoice of the subscription created at `at` takes: the subscription's
    own in force, else its customer's (in force, and for an amount_off coupon in the
    subscription's currency). A customer's discount past its end is removed here
    (customer.discount.deleted); a `once` one is read with the customer's row locked, so that
    two invoices at once do not both take it."""
    own = in_force(subscription.discount, at)
    if own is not None:
        return own
    merchant_id, customer_id = subscription.merchant_id, subscription.customer_id
    found = (await customer_discounts(connection, merchant_id, [customer_id])).get(customer_id)
    if found is not None and found.coupon.duration is CouponDuration.ONCE:
        found = (await customer_discounts(connection, merchant_id, [customer_id], lock=True)).get(
            customer_id
        )
    if found is None:
        return None
    if in_force(found, at) is None:
        if await end_customer_discount(connection, merchant_id, customer_id, found.id):
            await events.discount.record(connection, DISCOUNT_DELETED, found)
        return None
    if found.coupon.currency is not None and found.coupon.currency != subscription.currency:
        return None
    return found


async def after_customer_invoice(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    discount: Discount,
    taken: int,
) -> None:
    """A customer's `once` discount that an invoice took something with is removed from the
    customer (customer.discount.deleted)."""
    if discount.coupon.duration is not CouponDuration.ONCE or taken == 0:
        return
    ended = await end_customer_discount(
        connection, discount.merchant_id, discount.customer_id, discount.id
    )
    if ended:
        await events.discount.record(connection, DISCOUNT_DELETED, discount)
