"""Subscription domain operations, first part: the catalogue (products and their prices) and
test clocks. Mutations take the open transaction they run in (the idempotency store opens it on
the merchant's shard) and record their event in it; reads open their own connection through
Shards unless the caller passes one.

A price is immutable and belongs to an active product of the same merchant. A test clock
belongs to a test-mode merchant; it only moves once billing exists (AdvanceTestClock).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from paycore.account.repository import MerchantRepository
from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.events import Recorder
from paycore.events.recorder import MerchantOwned
from paycore.ids import Prefix, new_merchant_id
from paycore.storage.locks import lock_until_commit
from paycore.storage.reads import Cursor, Named, Page, Reads
from paycore.subscription.coupon_store import (
    COUPONS,
    PROMOTION_CODES,
    CouponRepository,
    PromotionCodeRepository,
    code_lock_name,
    promotion_codes_query,
)
from paycore.subscription.events import (
    COUPON_CREATED,
    COUPON_DELETED,
    COUPON_UPDATED,
    PRICE_CREATED,
    PRICE_UPDATED,
    PRODUCT_CREATED,
    PRODUCT_UPDATED,
    TEST_CLOCK_CREATED,
    SubscriptionEvents,
)
from paycore.subscription.models import (
    Coupon,
    CouponChanges,
    NewCoupon,
    NewPrice,
    NewProduct,
    NewPromotionCode,
    NewTestClock,
    Price,
    PriceChanges,
    Product,
    ProductChanges,
    PromotionCode,
    PromotionCodeChanges,
    TestClock,
)
from paycore.subscription.repository import (
    PRICES,
    PRODUCTS,
    TEST_CLOCKS,
    PriceRepository,
    ProductRepository,
    TestClockRepository,
    prices_query,
    products_query,
)
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class SubscriptionService:
    _reads: Reads
    _events: SubscriptionEvents

    # --- products ----------------------------------------------------------------------------

    async def create_product(
        self, connection: AsyncConnection, merchant_id: str, new: NewProduct
    ) -> Product:
        product_id = new_merchant_id(Prefix.PRODUCT, merchant_id)
        product = await ProductRepository(connection).insert(merchant_id, product_id, new)
        await self._events.product.record(connection, PRODUCT_CREATED, product)
        return product

    async def get_product(self, merchant_id: str, product_id: str, param: str = "id") -> Product:
        return await self._reads.one(merchant_id, PRODUCTS, product_id, param)

    async def list_products(
        self, merchant_id: str, cursor: Cursor, active: bool | None
    ) -> Page[Product]:
        query = products_query(merchant_id, active)
        return await self._reads.page(merchant_id, PRODUCTS, cursor, query)

    async def update_product(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        product_id: str,
        changes: ProductChanges,
    ) -> Product:
        """The product with the fields given changed; `product.updated` when one did.
        NOT_FOUND for none of that id."""
        products = ProductRepository(connection)
        found = await PRODUCTS.require(connection, merchant_id, product_id, lock=True)
        changed = replace(
            found,
            name=_or(changes.name, found.name),
            description=_or(changes.description, found.description),
            active=_or(changes.active, found.active),
            metadata=changes.metadata.applied_to(found.metadata),
        )
        return await saved_if_changed(
            connection, products, self._events.product, PRODUCT_UPDATED, found, changed
        )

    # --- prices ------------------------------------------------------------------------------

    async def create_price(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        new: NewPrice,
        product: NewProduct | None = None,
        transfer_lookup_key: bool = False,
    ) -> Price:
        """NOT_FOUND (param "product") for an unknown or another merchant's product,
        PRODUCT_INACTIVE for an inactive one. With `product` (Stripe's `product_data`) that
        product is made first, in the same transaction, and the price is its. A lookup key
        another price holds: see free_lookup_key."""
        await free_lookup_key(
            connection, self._events, merchant_id, new.lookup_key, "", transfer_lookup_key
        )
        if product is None:
            return await add_price(connection, self._events, merchant_id, new)
        made = await self.create_product(connection, merchant_id, product)
        new = replace(new, product_id=made.id)
        return await add_price(connection, self._events, merchant_id, new, "product_data")

    async def create_inline_price(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        new: NewPrice,
        product: NewProduct | None,
        param: str,
    ) -> Price:
        """A checkout line's `price_data` (paycore.checkout): the price made for the line, of
        `product` made with it (Stripe's `product_data`: inactive as the price, which nothing
        else sells), else of the merchant's active product `new.product_id` (NOT_FOUND,
        PRODUCT_INACTIVE naming `param`)."""
        if product is not None:
            made = await self.create_product(connection, merchant_id, product)
            new = replace(new, product_id=made.id)
        made_with = product is not None
        return await add_price(connection, self._events, merchant_id, new, param, made_with)

    async def get_price(self, merchant_id: str, price_id: str, param: str = "id") -> Price:
        return await self._reads.one(merchant_id, PRICES, price_id, param)

    async def list_prices(
        self,
        merchant_id: str,
        cursor: Cursor,
        product_id: str,
        active: bool | None,
        lookup_keys: tuple[str, ...] = (),
    ) -> Page[Price]:
        """`product_id` "" lists every product's prices; an unknown one is RESOURCE_MISSING.
        `lookup_keys`: only the prices holding one of them (none: every price)."""
        query = prices_query(merchant_id, product_id, active, lookup_keys)
        named = [Named("product", PRODUCTS, product_id)]
        return await self._reads.page(merchant_id, PRICES, cursor, query, named)

    async def update_price(
        self, connection: AsyncConnection, merchant_id: str, price_id: str, changes: PriceChanges
    ) -> Price:
        """The price with the fields given changed; `price.updated` when one did. An inactive
        price takes no new subscription or item (paycore.subscription.creation, .changes).
        NOT_FOUND for none of that id."""
        prices = PriceRepository(connection)
        found = await PRICES.require(connection, merchant_id, price_id, lock=True)
        if changes.lookup_key:
            await free_lookup_key(
                connection,
                self._events,
                merchant_id,
                changes.lookup_key,
                found.id,
                changes.transfer_lookup_key,
            )
        changed = replace(
            found,
            active=_or(changes.active, found.active),
            nickname=_or(changes.nickname, found.nickname),
            metadata=changes.metadata.applied_to(found.metadata),
            lookup_key=_or(changes.lookup_key, found.lookup_key),
        )
        return await saved_if_changed(
            connection, prices, self._events.price, PRICE_UPDATED, found, changed
        )

    # --- test clocks -------------------------------------------------------------------------

    async def create_test_clock(
        self, connection: AsyncConnection, merchant_id: str, new: NewTestClock
    ) -> TestClock:
        """The clock, READY at `new.frozen_time`; FAILED_PRECONDITION (TEST_CLOCK_LIVEMODE) for
        a live merchant."""
        merchant = await MerchantRepository(connection).get(merchant_id)
        if merchant is None:
            raise not_found("merchant", merchant_id)
        if merchant.livemode:
            raise ApiError(Reason.TEST_CLOCK_LIVEMODE, id=merchant_id)
        clock_id = new_merchant_id(Prefix.TEST_CLOCK, merchant_id)
        clock = await TestClockRepository(connection).insert(merchant_id, clock_id, new)
        await self._events.test_clock.record(connection, TEST_CLOCK_CREATED, clock)
        return clock

    async def get_test_clock(self, merchant_id: str, clock_id: str) -> TestClock:
        return await self._reads.one(merchant_id, TEST_CLOCKS, clock_id)

    async def list_test_clocks(self, merchant_id: str, cursor: Cursor) -> Page[TestClock]:
        return await self._reads.page(merchant_id, TEST_CLOCKS, cursor, TEST_CLOCKS.of(merchant_id))

    # --- coupons -----------------------------------------------------------------------------

    async def create_coupon(
        self, connection: AsyncConnection, merchant_id: str, new: NewCoupon
    ) -> Coupon:
        """INVALID_ARGUMENT naming `id` when the merchant has a coupon of that id already
        (a deleted one too: its discounts still name it)."""
        coupon_id = new.requested_id or new_merchant_id(Prefix.COUPON, merchant_id)
        coupon = await CouponRepository(connection).insert(merchant_id, coupon_id, new)
        if coupon is None:
            raise invalid("id", f"a coupon with id {coupon_id} already exists")
        await self._events.coupon.record(connection, COUPON_CREATED, coupon)
        return coupon

    async def get_coupon(self, merchant_id: str, coupon_id: str) -> Coupon:
        return await self._reads.one(merchant_id, COUPONS, coupon_id)

    async def list_coupons(self, merchant_id: str, cursor: Cursor) -> Page[Coupon]:
        return await self._reads.page(merchant_id, COUPONS, cursor)

    async def update_coupon(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        coupon_id: str,
        changes: CouponChanges,
    ) -> Coupon:
        """The coupon with its name and metadata changed as given (its terms never change, as
        Stripe's); `coupon.updated` when something did. NOT_FOUND for none of that id (a
        deleted one included)."""
        coupons = CouponRepository(connection)
        found = await COUPONS.require(connection, merchant_id, coupon_id, lock=True)
        changed = replace(
            found,
            name=_or(changes.name, found.name),
            metadata=changes.metadata.applied_to(found.metadata),
        )
        return await saved_if_changed(
            connection, coupons, self._events.coupon, COUPON_UPDATED, found, changed
        )

    async def delete_coupon(
        self, connection: AsyncConnection, merchant_id: str, coupon_id: str
    ) -> Coupon:
        """The coupon, deleted: no subscription takes it any more; the discounts made from it
        keep applying. NOT_FOUND for none (or one deleted already)."""
        coupon = await CouponRepository(connection).mark_deleted(merchant_id, coupon_id)
        if coupon is None:
            raise not_found(COUPONS.name, coupon_id)
        await self._events.coupon.record(connection, COUPON_DELETED, coupon)
        return coupon

    # --- promotion codes ---------------------------------------------------------------------

    async def create_promotion_code(
        self, connection: AsyncConnection, merchant_id: str, new: NewPromotionCode
    ) -> PromotionCode:
        """INVALID_ARGUMENT naming `coupon` for a coupon the merchant does not have (or has
        deleted), `code` for a code it has already (as written, active or not), or an active
        one equal to it regardless of case (Stripe's rule: a customer types either)."""
        if await CouponRepository(connection).get(merchant_id, new.coupon_id) is None:
            raise not_found(COUPONS.name, new.coupon_id, "coupon")
        code = new.code or "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
        codes = PromotionCodeRepository(connection)
        if new.active:
            await _no_active_twin(connection, merchant_id, code, "code")
        promotion_code_id = new_merchant_id(Prefix.PROMOTION_CODE, merchant_id)
        created = await codes.insert(merchant_id, promotion_code_id, code, new)
        if created is None:
            raise invalid("code", f"a promotion code {code} already exists")
        return created

    async def get_promotion_code(self, merchant_id: str, promotion_code_id: str) -> PromotionCode:
        return await self._reads.one(merchant_id, PROMOTION_CODES, promotion_code_id)

    async def list_promotion_codes(
        self, merchant_id: str, cursor: Cursor, code: str, coupon_id: str, active: bool | None
    ) -> Page[PromotionCode]:
        query = promotion_codes_query(merchant_id, code, coupon_id, active)
        return await self._reads.page(merchant_id, PROMOTION_CODES, cursor, query)

    async def update_promotion_code(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        promotion_code_id: str,
        changes: PromotionCodeChanges,
    ) -> PromotionCode:
        codes = PromotionCodeRepository(connection)
        found = await PROMOTION_CODES.require(connection, merchant_id, promotion_code_id, lock=True)
        if changes.active and not found.active:
            await _no_active_twin(connection, merchant_id, found.code, "active", promotion_code_id)
        changed = replace(
            found,
            active=found.active if changes.active is None else changes.active,
            metadata=changes.metadata.applied_to(found.metadata),
        )
        await codes.save(changed)
        return changed


_CODE_ALPHABET = string.ascii_uppercase + string.digits

T = TypeVar("T")
Owned = TypeVar("Owned", bound=MerchantOwned)
Saved_contra = TypeVar("Saved_contra", contravariant=True)


def _or(given: T | None, kept: T) -> T:
    """An update's field: the value given, or the stored one when it was left out (None)."""
    return kept if given is None else given


class _Saves(Protocol[Saved_contra]):
    async def save(self, changed: Saved_contra, /) -> None: ...


async def saved_if_changed(
    connection: AsyncConnection,
    store: _Saves[Owned],
    recorder: Recorder[Owned],
    kind: str,
    found: Owned,
    changed: Owned,
) -> Owned:
    """An update's end: `changed` saved and its `kind` event recorded with the changed fields'
    old values, unless nothing changed (an update that changes nothing is no event, as at
    Stripe)."""
    if changed != found:
        await store.save(changed)
        await recorder.record(connection, kind, changed, before=found)
    return changed


async def add_price(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    merchant_id: str,
    new: NewPrice,
    param: str = "product",
    made_with: bool = False,
) -> Price:
    """A new price of the merchant's active product (CreatePrice's, and a subscription item's
    price_data): NOT_FOUND naming `param` for an unknown product, PRODUCT_INACTIVE for an
    inactive one (but the product just `made_with` the price); `price.created` recorded."""
    product = await PRODUCTS.require(connection, merchant_id, new.product_id, param)
    if not product.active and not made_with:
        raise ApiError(Reason.PRODUCT_INACTIVE, param=param, id=product.id)
    price_id = new_merchant_id(Prefix.PRICE, merchant_id)
    price = await PriceRepository(connection).insert(merchant_id, price_id, new)
    await events.price.record(connection, PRICE_CREATED, price)
    return price


def lookup_key_lock_name(merchant_id: str, lookup_key: str) -> str:
    """The advisory lock two writers of one lookup key take turns on (a create has no row to
    lock before its insert)."""
    return f"price_lookup_key:{merchant_id}:{lookup_key}"


async def free_lookup_key(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    merchant_id: str,
    lookup_key: str,
    owner_id: str,
    transfer: bool,
) -> None:
    """Makes `lookup_key` free for the price `owner_id` ("" for one being made): another price
    holding it loses it with `transfer` (Stripe's transfer_lookup_key; price.updated for it),
    else INVALID_ARGUMENT naming `lookup_key`. Holds the key's lock until commit."""
    if not lookup_key:
        return
    await lock_until_commit(connection, lookup_key_lock_name(merchant_id, lookup_key))
    prices = PriceRepository(connection)
    holder = await prices.with_lookup_key(merchant_id, lookup_key)
    if holder is None or holder.id == owner_id:
        return
    if not transfer:
        raise invalid(
            "lookup_key",
            f"the price {holder.id} already uses the lookup key {lookup_key!r}: give"
            " transfer_lookup_key=true to move it",
        )
    released = replace(holder, lookup_key="")
    await saved_if_changed(connection, prices, events.price, PRICE_UPDATED, holder, released)


async def _no_active_twin(
    connection: AsyncConnection,
    merchant_id: str,
    code: str,
    param: str,
    promotion_code_id: str = "",
) -> None:
    """INVALID_ARGUMENT naming `param` when another active promotion code of the merchant is
    `code` regardless of case; holds the code's lock until commit, so two writers of such codes
    take turns and the second sees the first."""
    await lock_until_commit(connection, code_lock_name(merchant_id, code))
    codes = PromotionCodeRepository(connection)
    twin = await codes.active_with_code(merchant_id, code, other_than=promotion_code_id)
    if twin is not None:
        raise invalid(
            param,
            f"the active promotion code {twin} is {code} regardless of case: deactivate it first",
        )
