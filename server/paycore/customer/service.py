"""Customer domain operations. Mutations take the open transaction they run in (the
idempotency store opens it on the merchant's shard); reads open their own connection through
Shards unless the caller passes one.

A payment method belongs to at most one customer. Detaching is final (as at Stripe): the card
can no longer be attached or charged. The card number enters as a Secret, is sealed by the
vault before it reaches a row, and leaves again only through `card_for_charge`.

Each change records its event (paycore.customer.events) in its own transaction, and only when
something changed: attaching a payment method the customer already has records nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from paycore.account.repository import MerchantRepository
from paycore.customer.cards import check_card, checked_new_expiry
from paycore.customer.events import (
    CUSTOMER_CREATED,
    CUSTOMER_DELETED,
    CUSTOMER_UPDATED,
    PAYMENT_METHOD_ATTACHED,
    PAYMENT_METHOD_DETACHED,
    PAYMENT_METHOD_UPDATED,
    CustomerEvents,
)
from paycore.customer.models import (
    BillingDetails,
    Card,
    CardInput,
    ChargeableCard,
    CheckedCard,
    Customer,
    CustomerChanges,
    DiscountChoice,
    FirstPaymentMethod,
    NewCustomer,
    PaymentMethod,
    PaymentMethodChanges,
    UnsavedCard,
)
from paycore.customer.repository import (
    CARD_TYPE,
    CUSTOMERS,
    PAYMENT_METHODS,
    CustomerRepository,
    PaymentMethodRepository,
    customers_query,
    customers_search,
    payment_methods_query,
)
from paycore.customer.test_methods import (
    TEST_CARD_NUMBERS,
    TEST_CARD_YEARS_VALID,
    is_test_payment_method,
)
from paycore.customer.vault import Fingerprinter, Vault
from paycore.customer.wallets import WalletCryptograms
from paycore.errors import ApiError, Reason, not_found
from paycore.ids import Prefix, new_merchant_id
from paycore.search import SearchQuery
from paycore.secret import Secret
from paycore.storage import Shards
from paycore.storage.reads import Cursor, Named, Page, Reads
from paycore.subscription import discounts
from paycore.subscription.events import DISCOUNT_CREATED, DISCOUNT_DELETED
from paycore.subscription.models import Discount, Purchase
from paycore.subscription.repository import TestClockRepository
from sqlalchemy.ext.asyncio import AsyncConnection

DEFAULT_PAYMENT_METHOD_PARAM = "invoice_settings.default_payment_method"


def utc_now() -> datetime:
    return datetime.now(UTC)


EndSubscriptions = Callable[[AsyncConnection, str, str], Awaitable[object]]
"""Ends at once, in the open transaction, every subscription of (merchant id, customer id) that
has not ended (the composition root passes paycore.subscription's, which depends on this
package and not the other way)."""


@dataclass(frozen=True, slots=True)
class CustomerService:
    _shards: Shards
    _reads: Reads
    _vault: Vault
    _fingerprinter: Fingerprinter
    _events: CustomerEvents
    _wallets: WalletCryptograms | None = None
    """Where wallet tokens' cryptograms wait for their charge (none: a wallet card is charged
    without its cryptogram, which the PSP accepts only for a token it authenticated before)."""
    _end_subscriptions: EndSubscriptions | None = None
    """DeleteCustomer's first step (none: a customer's subscriptions are left as they are)."""
    _clock: Callable[[], datetime] = utc_now

    # --- customers ---------------------------------------------------------------------------

    async def create_customer(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        new: NewCustomer,
        first: FirstPaymentMethod | None = None,
        discount: DiscountChoice | None = None,
    ) -> Customer:
        if new.test_clock_id is not None:
            # Held (FOR SHARE): a DeleteTestClock in progress (which deletes the clock's
            # customers) finishes first, and the clock is then not found, rather than left
            # with a customer on it.
            clock = await TestClockRepository(connection).held(merchant_id, new.test_clock_id)
            if clock is None:
                raise not_found("test_clock", new.test_clock_id, "test_clock")
        customer_id = new_merchant_id(Prefix.CUSTOMER, merchant_id)
        customers = CustomerRepository(connection)
        customer = await customers.insert(merchant_id, customer_id, new)
        attached = None
        if first is not None:
            if first.test_card is not None:
                await self.save_test_card(connection, merchant_id, first.test_card)
            methods = PaymentMethodRepository(connection)
            found = await _locked(methods, merchant_id, first.payment_method_id, "payment_method")
            attached = await _attach(methods, found, customer_id, "payment_method")
            if first.default:
                customer = await customers.replace(
                    replace(customer, default_payment_method=found.id)
                )
        if discount is not None:
            customer = await customers.replace(
                await self._take_discount(connection, customer, discount)
            )
        # As Stripe orders them: the customer exists before its first payment method attaches.
        await self._events.customer.record(connection, CUSTOMER_CREATED, customer)
        if attached is not None:
            await self._events.payment_method.record(connection, PAYMENT_METHOD_ATTACHED, attached)
        return customer

    async def _take_discount(
        self, connection: AsyncConnection, customer: Customer, choice: DiscountChoice
    ) -> Customer:
        """The customer with the discount of the coupon or promotion code chosen, redeemed in
        this transaction at the customer's clock's now (customer.discount.created, and
        .deleted of the discount it replaces); INVALID_ARGUMENT naming `coupon` or
        `promotion_code` as a subscription's redemption (paycore.subscription.discounts)."""
        merchant_id = customer.merchant_id
        now = int(self._clock().timestamp())
        if customer.test_clock_id is not None:
            frozen = await TestClockRepository(connection).frozen_time(
                merchant_id, customer.test_clock_id
            )
            now = now if frozen is None else frozen
        coupon_id, param, code = choice.coupon_id, "coupon", None
        if choice.promotion_code_id:
            code, param = choice.promotion_code_id, "promotion_code"
            purchase = Purchase(None, None, customer.id)  # no amount: the customer's only
            coupon_id = await discounts.claim_code(
                connection, merchant_id, code, now, purchase=purchase
            )
        coupon = await discounts.claim_coupon(connection, merchant_id, None, coupon_id, now, param)
        if customer.discount is not None:
            await self._events.discount.record(connection, DISCOUNT_DELETED, customer.discount)
        discount = discounts.new_discount(coupon, customer.id, "", now, code)
        await self._events.discount.record(connection, DISCOUNT_CREATED, discount)
        return replace(customer, discount=discount)

    async def delete_discount(
        self, connection: AsyncConnection, merchant_id: str, customer_id: str
    ) -> Discount:
        """Ends the customer's discount (customer.discount.deleted, customer.updated);
        NOT_FOUND (naming `id`) when it has none."""
        customer = await self._locked_customer(connection, merchant_id, customer_id, "id")
        if customer.discount is None:
            raise not_found("discount", customer_id)
        saved = await CustomerRepository(connection).replace(replace(customer, discount=None))
        await self._events.discount.record(connection, DISCOUNT_DELETED, customer.discount)
        await self._events.customer.record(connection, CUSTOMER_UPDATED, saved, before=customer)
        return customer.discount

    async def first_payment_method(
        self, merchant_id: str, reference: str, default: bool
    ) -> FirstPaymentMethod | None:
        """CreateCustomer's payment_method (an id or a test payment method's name, "" for
        none), a test one made here, outside the request's transaction."""
        if not reference:
            return None
        if not is_test_payment_method(reference):
            return FirstPaymentMethod(reference, default)
        card = await self.test_card(merchant_id, reference, "payment_method")
        return FirstPaymentMethod(card.payment_method_id, default, card)

    async def _locked_customer(
        self, connection: AsyncConnection, merchant_id: str, customer_id: str, param: str
    ) -> Customer:
        """The merchant's customer read FOR UPDATE; NOT_FOUND naming `param` when it has none
        (or it was deleted, also by a deletion this call waited for)."""
        customer = await CustomerRepository(connection).get(
            merchant_id, customer_id, for_update=True
        )
        if customer is None:
            raise not_found("customer", customer_id, param)
        return customer

    async def get_customer(self, merchant_id: str, customer_id: str) -> Customer:
        return await self._reads.one(merchant_id, CUSTOMERS, customer_id)

    async def require_customer(
        self,
        merchant_id: str,
        customer_id: str,
        param: str = "customer",
        connection: AsyncConnection | None = None,
    ) -> Customer:
        """The merchant's customer; NOT_FOUND naming `param` when it has none of that id."""
        async with self._reading(merchant_id, connection) as reader:
            customer = await CustomerRepository(reader).get(merchant_id, customer_id)
        if customer is None:
            raise not_found("customer", customer_id, param)
        return customer

    async def update_customer(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        customer_id: str,
        changes: CustomerChanges,
    ) -> Customer:
        repository = CustomerRepository(connection)
        customer = await repository.get(merchant_id, customer_id, for_update=True)
        if customer is None:
            raise not_found("customer", customer_id)
        default = customer.default_payment_method
        if changes.default_payment_method is not None:
            default = changes.default_payment_method or None
            if default is not None:
                await self._require_attached(connection, merchant_id, default, customer_id)
        updated = replace(
            customer,
            email=_changed(changes.email, customer.email),
            name=_changed(changes.name, customer.name),
            description=_changed(changes.description, customer.description),
            phone=_changed(changes.phone, customer.phone),
            address=customer.address if changes.address is None else changes.address,
            default_payment_method=default,
            metadata=changes.metadata.applied_to(customer.metadata),
        )
        if changes.discount is not None:
            updated = await self._take_discount(connection, updated, changes.discount)
        saved = await repository.replace(updated)
        if updated != customer:  # an update that changes nothing is no event (as at Stripe)
            await self._events.customer.record(connection, CUSTOMER_UPDATED, saved, before=customer)
        return saved

    async def delete_customer(
        self, connection: AsyncConnection, merchant_id: str, customer_id: str
    ) -> Customer:
        """As Stripe's: the customer's subscriptions end now (their events first), its payment
        methods are detached, then it is marked deleted (`customer.deleted`, the customer as
        it was). NOT_FOUND once deleted."""
        customer = await CustomerRepository(connection).get(
            merchant_id, customer_id, for_update=True
        )
        if customer is None:
            raise not_found("customer", customer_id)
        if self._end_subscriptions is not None:
            await self._end_subscriptions(connection, merchant_id, customer_id)
        methods = PaymentMethodRepository(connection)
        for method in await methods.attached_to(merchant_id, customer_id):
            detached = await methods.set_customer(merchant_id, method.id, None)
            await self._events.payment_method.record(connection, PAYMENT_METHOD_DETACHED, detached)
        deleted = await CustomerRepository(connection).mark_deleted(merchant_id, customer_id)
        await self._events.customer.record(connection, CUSTOMER_DELETED, deleted)
        return deleted

    async def list_customers(self, merchant_id: str, cursor: Cursor, email: str) -> Page[Customer]:
        query = customers_query(merchant_id, email)
        return await self._reads.page(merchant_id, CUSTOMERS, cursor, query)

    async def search_customers(
        self, merchant_id: str, cursor: Cursor, query: SearchQuery
    ) -> Page[Customer]:
        listed = customers_search(merchant_id, query)
        return await self._reads.page(merchant_id, CUSTOMERS, cursor, listed)

    # --- payment methods ---------------------------------------------------------------------

    def check_card(self, card: CardInput) -> CheckedCard:
        """The card checked against today's date (UTC); ApiError naming the bad field."""
        return check_card(card, self._clock())

    def merchant_fingerprint(self, merchant_id: str, fingerprint: str) -> str:
        """The card's fingerprint as one merchant's publishable key sees it: equal for the same
        card within the merchant, unrelated to the platform-wide one."""
        return self._fingerprinter.for_merchant(merchant_id, fingerprint)

    def request_digest(self, label: str, value: Secret) -> str:
        """What an idempotency request hash may hold in place of a card number or cvc: a keyed
        digest, since a plain hash of a card number can be brute-forced."""
        return self._fingerprinter.keyed(label, value)

    async def create_payment_method(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        card: CheckedCard,
        billing_details: BillingDetails,
        metadata: dict[str, str],
    ) -> PaymentMethod:
        payment_method_id = new_merchant_id(Prefix.PAYMENT_METHOD, merchant_id)
        return await PaymentMethodRepository(connection).insert(
            merchant_id,
            payment_method_id,
            card,
            self._fingerprinter.fingerprint(card.number),
            self._vault.seal(card.number, merchant_id, payment_method_id),
            billing_details,
            metadata,
        )

    async def test_card(
        self,
        merchant_id: str,
        name: str,
        param: str,
        connection: AsyncConnection | None = None,
    ) -> ChargeableCard:
        """A new payment method of the test card `name` stands for (`pm_card_visa`:
        paycore.customer.test_methods), to be written by `save_test_card` in the request's own
        transaction (`connection`, when it is open already, also serves the merchant's read);
        NOT_FOUND naming `param` for a live merchant."""
        checked = await self._test_checked(merchant_id, name, param, connection)
        payment_method_id = new_merchant_id(Prefix.PAYMENT_METHOD, merchant_id)
        fingerprint = self._fingerprinter.fingerprint(checked.number)
        return ChargeableCard(
            payment_method_id=payment_method_id,
            customer_id=None,
            number=checked.number,
            exp_month=checked.exp_month,
            exp_year=checked.exp_year,
            brand=checked.brand.value,
            last4=checked.last4,
            fingerprint=fingerprint,
            country=checked.country,
            unsaved=UnsavedCard(
                checked,
                fingerprint,
                self._vault.seal(checked.number, merchant_id, payment_method_id),
            ),
        )

    async def _test_checked(
        self, merchant_id: str, name: str, param: str, connection: AsyncConnection | None = None
    ) -> CheckedCard:
        """The card of the test payment method `name`; NOT_FOUND naming `param` for a live
        merchant."""
        async with self._reading(merchant_id, connection) as reader:
            merchant = await MerchantRepository(reader).get(merchant_id)
        if merchant is None or merchant.livemode:
            raise not_found("payment_method", name, param)
        return self.check_card(
            CardInput(
                number=Secret(TEST_CARD_NUMBERS[name]),
                exp_month=12,
                exp_year=self._clock().year + TEST_CARD_YEARS_VALID,
                cvc=Secret(""),
            )
        )

    async def test_payment_method(self, merchant_id: str, name: str) -> PaymentMethod:
        """GetPaymentMethod of a test payment method's name (Stripe's
        `PaymentMethod.retrieve("pm_card_visa")`): its card, under that name, which every
        place taking a payment method accepts; nothing is stored (each use of the name stores
        a payment method of its own, `test_card`)."""
        checked = await self._test_checked(merchant_id, name, "id")
        card = Card(
            brand=checked.brand,
            last4=checked.last4,
            exp_month=checked.exp_month,
            exp_year=checked.exp_year,
            fingerprint=self._fingerprinter.fingerprint(checked.number),
            country=checked.country,
            funding=checked.funding,
        )
        created = int(self._clock().timestamp())
        return PaymentMethod(
            id=name,
            merchant_id=merchant_id,
            created=created,
            type=CARD_TYPE,
            card=card,
            billing_details=BillingDetails(),
            customer_id=None,
            detached=False,
            metadata={},
        )

    async def save_test_card(
        self, connection: AsyncConnection, merchant_id: str, card: ChargeableCard
    ) -> PaymentMethod | None:
        """Writes the payment method of a `test_card` (None for a stored card)."""
        if card.unsaved is None:
            return None
        return await PaymentMethodRepository(connection).insert(
            merchant_id,
            card.payment_method_id,
            card.unsaved.card,
            card.unsaved.fingerprint,
            card.unsaved.number_sealed,
            BillingDetails(),
            {},
        )

    async def hold_cryptogram(
        self, merchant_id: str, payment_method_id: str, cryptogram: Secret
    ) -> None:
        """After CreatePaymentMethod of a wallet token committed (never inside its
        transaction): its cryptogram waits for the charge (paycore.customer.wallets)."""
        if self._wallets is not None:
            await self._wallets.hold(merchant_id, payment_method_id, cryptogram)

    async def get_payment_method(self, merchant_id: str, payment_method_id: str) -> PaymentMethod:
        """The merchant's payment method, or a test payment method's (`test_payment_method`)."""
        if is_test_payment_method(payment_method_id):
            return await self.test_payment_method(merchant_id, payment_method_id)
        return await self._reads.one(merchant_id, PAYMENT_METHODS, payment_method_id)

    async def customer_payment_method(
        self, merchant_id: str, customer_id: str, payment_method_id: str
    ) -> PaymentMethod:
        """GetCustomerPaymentMethod: the customer's payment method; RESOURCE_MISSING naming
        `customer` without that customer, naming `payment_method` when the payment method is
        not attached to it (another customer's, none's, or none at all)."""
        await self._reads.one(merchant_id, CUSTOMERS, customer_id, "customer")
        found = await self._reads.one(
            merchant_id, PAYMENT_METHODS, payment_method_id, "payment_method"
        )
        if found.customer_id != customer_id:
            raise not_found(PAYMENT_METHODS.name, payment_method_id, "payment_method")
        return found

    async def list_payment_methods(
        self, merchant_id: str, cursor: Cursor, customer_id: str, card_only: bool
    ) -> Page[PaymentMethod]:
        query = payment_methods_query(merchant_id, customer_id, card_only)
        named = [Named("customer", CUSTOMERS, customer_id)]
        return await self._reads.page(merchant_id, PAYMENT_METHODS, cursor, query, named)

    async def attach_payment_method(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        payment_method_id: str,
        customer_id: str,
    ) -> PaymentMethod:
        methods = PaymentMethodRepository(connection)
        if is_test_payment_method(payment_method_id):
            test_card = await self.test_card(merchant_id, payment_method_id, "id", connection)
            await self.save_test_card(connection, merchant_id, test_card)
            payment_method_id = test_card.payment_method_id
        if await methods.get(merchant_id, payment_method_id) is None:
            raise not_found("payment_method", payment_method_id, "id")
        return await self._attached(connection, merchant_id, payment_method_id, customer_id, "id")

    async def save_for_setup(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        payment_method_id: str,
        customer_id: str | None,
        usage: str,
        network_token: str,
    ) -> PaymentMethod:
        """A SetupIntent succeeded (in its completion's transaction): the card is attached to
        `customer_id` (when given and not already: `payment_method.attached`) and marked
        saved for `usage`, with the PSP's network token of a wallet card. Refused as
        AttachPaymentMethod refuses (detached, another customer's)."""
        methods = PaymentMethodRepository(connection)
        param = "payment_method"
        if customer_id is not None:
            await self._attached(connection, merchant_id, payment_method_id, customer_id, param)
        else:
            await _locked(methods, merchant_id, payment_method_id, param)
        return await methods.set_saved(merchant_id, payment_method_id, usage, network_token)

    async def _attached(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        payment_method_id: str,
        customer_id: str,
        param: str,
    ) -> PaymentMethod:
        """The payment method attached to the customer (`_attach`: `param` names it in a
        refusal), `payment_method.attached` recorded unless it was the customer's already.
        The customer's row is locked before the card's, as DeleteCustomer locks them: a
        deletion in progress makes the attach wait, then find the customer gone; an attach in
        progress makes the deletion wait, then detach the card. Either way no card stays
        attached to a deleted customer."""
        methods = PaymentMethodRepository(connection)
        await self._locked_customer(connection, merchant_id, customer_id, "customer")
        found = await _locked(methods, merchant_id, payment_method_id, param)
        attached = await _attach(methods, found, customer_id, param)
        if found.customer_id != attached.customer_id:
            await self._events.payment_method.record(connection, PAYMENT_METHOD_ATTACHED, attached)
        return attached

    async def update_payment_method(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        payment_method_id: str,
        changes: PaymentMethodChanges,
    ) -> PaymentMethod:
        """The fields `changes` gives replaced (Stripe's PaymentMethod.modify), the new expiry
        checked against today; `payment_method.updated` when something changed. NOT_FOUND
        naming `id` for another merchant's, PAYMENT_METHOD_DETACHED for a detached one."""
        methods = PaymentMethodRepository(connection)
        found = await _locked(methods, merchant_id, payment_method_id)
        if found.detached:
            raise ApiError(Reason.PAYMENT_METHOD_DETACHED, param="id", id=payment_method_id)
        card = found.card
        if changes.exp_month is not None or changes.exp_year is not None:
            exp_month, exp_year = checked_new_expiry(
                card.exp_month if changes.exp_month is None else changes.exp_month,
                card.exp_year if changes.exp_year is None else changes.exp_year,
                self._clock(),
            )
            card = replace(card, exp_month=exp_month, exp_year=exp_year)
        billing = found.billing_details
        updated = replace(
            found,
            card=card,
            billing_details=replace(
                billing,
                name=_changed(changes.name, billing.name),
                email=_changed(changes.email, billing.email),
                phone=_changed(changes.phone, billing.phone),
                address=billing.address if changes.address is None else changes.address,
            ),
            metadata=changes.metadata.applied_to(found.metadata),
        )
        if updated == found:  # an update that changes nothing is no event (as at Stripe)
            return found
        saved = await methods.replace_details(updated)
        await self._events.payment_method.record(connection, PAYMENT_METHOD_UPDATED, saved)
        return saved

    async def detach_payment_method(
        self, connection: AsyncConnection, merchant_id: str, payment_method_id: str
    ) -> PaymentMethod:
        methods = PaymentMethodRepository(connection)
        seen = await methods.get(merchant_id, payment_method_id)
        if seen is not None and seen.customer_id is not None:
            # The customer's row before the card's, the order DeleteCustomer takes them in (the
            # default payment method cleared below writes the customer): no deadlock with it.
            await CustomerRepository(connection).get(merchant_id, seen.customer_id, for_update=True)
        found = await _locked(methods, merchant_id, payment_method_id)
        if found.customer_id is None:
            raise ApiError(
                Reason.PAYMENT_METHOD_NOT_ATTACHED,
                param="id",
                id=payment_method_id,
                customer="a customer",
            )
        detached = await methods.set_customer(merchant_id, payment_method_id, None)
        await self._events.payment_method.record(connection, PAYMENT_METHOD_DETACHED, detached)
        # Detaching the customer's default payment method changes the customer too.
        customer = await CustomerRepository(connection).clear_default_payment_method(
            merchant_id, found.customer_id, payment_method_id
        )
        if customer is not None:
            # Only the default changed (the update clears just that payment method).
            before = replace(customer, default_payment_method=payment_method_id)
            await self._events.customer.record(
                connection, CUSTOMER_UPDATED, customer, before=before
            )
        return detached

    async def card_for_charge(
        self,
        merchant_id: str,
        payment_method_id: str,
        connection: AsyncConnection | None = None,
    ) -> ChargeableCard:
        """The card with its number, opened from the vault. NOT_FOUND (param "payment_method")
        for an unknown or another merchant's payment method; FAILED_PRECONDITION
        (PAYMENT_METHOD_DETACHED) for a detached one. Expiry is not checked here: the PSP
        declines an expired card. A wallet card's cryptogram comes along (from Redis) when
        no `connection` is given: the charge path, outside any transaction."""
        async with self._reading(merchant_id, connection) as reader:
            found = await PaymentMethodRepository(reader).get_sealed(merchant_id, payment_method_id)
        if found is None:
            raise not_found("payment_method", payment_method_id, "payment_method")
        method, sealed = found
        if method.detached:
            raise ApiError(
                Reason.PAYMENT_METHOD_DETACHED, param="payment_method", id=payment_method_id
            )
        return ChargeableCard(
            payment_method_id=method.id,
            customer_id=method.customer_id,
            number=self._vault.open(sealed, merchant_id, payment_method_id),
            exp_month=method.card.exp_month,
            exp_year=method.card.exp_year,
            brand=method.card.brand.value,
            last4=method.card.last4,
            fingerprint=method.card.fingerprint,
            country=method.card.country,
            wallet=method.card.wallet.type.value if method.card.wallet else "",
            cryptogram=await self._cryptogram(merchant_id, method, connection),
            network_token=method.network_token or "",
        )

    async def _cryptogram(
        self, merchant_id: str, method: PaymentMethod, connection: AsyncConnection | None
    ) -> Secret | None:
        if method.card.wallet is None or self._wallets is None or connection is not None:
            return None
        return await self._wallets.take(merchant_id, method.id)

    async def _require_attached(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        payment_method_id: str,
        customer_id: str,
    ) -> None:
        found = await PaymentMethodRepository(connection).get(merchant_id, payment_method_id)
        if found is None:
            raise not_found("payment_method", payment_method_id, DEFAULT_PAYMENT_METHOD_PARAM)
        if found.customer_id != customer_id:
            raise ApiError(
                Reason.PAYMENT_METHOD_NOT_ATTACHED,
                param=DEFAULT_PAYMENT_METHOD_PARAM,
                id=payment_method_id,
                customer=customer_id,
            )

    @asynccontextmanager
    async def _reading(
        self, merchant_id: str, connection: AsyncConnection | None
    ) -> AsyncIterator[AsyncConnection]:
        if connection is not None:
            yield connection
            return
        async with self._shards.read(merchant_id) as reader:
            yield reader


async def _locked(
    methods: PaymentMethodRepository, merchant_id: str, payment_method_id: str, param: str = "id"
) -> PaymentMethod:
    """The merchant's payment method, locked for the change; NOT_FOUND when it has none."""
    found = await methods.get(merchant_id, payment_method_id, for_update=True)
    if found is None:
        raise not_found("payment_method", payment_method_id, param)
    return found


async def _attach(
    methods: PaymentMethodRepository, found: PaymentMethod, customer_id: str, param: str
) -> PaymentMethod:
    """`found` (locked) attached to the customer: as it is when it already is; refused when
    detached or another customer's."""
    if found.detached:
        raise ApiError(Reason.PAYMENT_METHOD_DETACHED, param=param, id=found.id)
    if found.payout_account is not None:
        holder = f"the seller {found.payout_account}" if found.payout_account else "the merchant"
        raise ApiError(
            Reason.PAYMENT_METHOD_IS_PAYOUT_CARD, param=param, id=found.id, holder=holder
        )
    if found.customer_id == customer_id:
        return found
    if found.customer_id is not None:
        raise ApiError(Reason.PAYMENT_METHOD_ALREADY_ATTACHED, param=param, id=found.id)
    return await methods.set_customer(found.merchant_id, found.id, customer_id)


def _changed(value: str | None, current: str) -> str:
    return current if value is None else value
