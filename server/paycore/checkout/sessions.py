"""Checkout sessions: creating one with its payment intent, reading them, expiring them (by
the merchant or the worker's sweep), and recording those paid. A session's page tokenizes
with the merchant's hosted-page publishable key (`PageKeys`) and confirms the intent with its
client_secret; the session follows its intent (repository.shown_status)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from paycore.account.repository import MerchantRepository
from paycore.account.service import AccountService
from paycore.checkout.models import (
    ALWAYS,
    INTENT_SESSION_KEY,
    HostedPage,
    NewSession,
    Session,
    SessionStatus,
)
from paycore.checkout.page_secrets import PageSecrets
from paycore.checkout.repository import (
    EXPIRABLE_INTENT_STATUSES,
    SESSIONS,
    CheckoutRepository,
    last_error_code,
    last_error_message,
    page_query,
    payer,
    session_of,
    sessions_query,
)
from paycore.currency.rules import CurrencyRules, Purpose
from paycore.customer.models import NewCustomer
from paycore.customer.repository import CUSTOMERS
from paycore.customer.service import CustomerService
from paycore.customer.vault import Vault
from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.events import Recorder
from paycore.ids import Prefix, logical_shard_of, new_merchant_id
from paycore.invariants import violated
from paycore.payment.intents import cancel, create
from paycore.payment.intents.flow import IntentFlow
from paycore.payment.models import CaptureMethod, Intent, IntentStatus, NewIntent
from paycore.payment.repository import PAYMENT_INTENTS, PayInRepository
from paycore.records import MetadataChange
from paycore.secret import Secret
from paycore.storage import Shards
from paycore.storage.reads import Cursor, Named, Page, Reads, fetch_one
from paycore.subscription import discounts
from paycore.subscription.models import NewPrice, Purchase
from paycore.subscription.service import SubscriptionService
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

SESSION_COMPLETED = "checkout.session.completed"
SESSION_EXPIRED = "checkout.session.expired"
PAGE_KEY_NAME = "Hosted checkout pages"
SWEEP_BATCH_MAX = 100
_CODE = "promotion_code"
"""What the page's promotion code form names."""
_KEY_PURPOSE = "checkout_key:"
_ABANDONED = "abandoned"


@dataclass(frozen=True, slots=True)
class PageKeys:
    """The publishable key a merchant's hosted pages tokenize with: issued on the merchant's
    first session, kept sealed by the vault (the page must show it; api_keys keeps only its
    hash), and issued again if the merchant revokes it."""

    _accounts: AccountService
    _vault: Vault

    async def ensure(self, connection: AsyncConnection, merchant_id: str) -> None:
        repository = CheckoutRepository(connection)
        if await repository.page_key(merchant_id, datetime.now(UTC)) is not None:
            return
        issued = await self._accounts.issue_publishable_key(connection, merchant_id, PAGE_KEY_NAME)
        sealed = self._vault.seal(issued.secret, merchant_id, _KEY_PURPOSE + issued.key.id)
        await repository.save_page_key(merchant_id, issued.key.id, sealed)

    async def key(self, connection: AsyncConnection, merchant_id: str) -> Secret | None:
        found = await CheckoutRepository(connection).page_key(merchant_id, datetime.now(UTC))
        if found is None:
            return None
        return self._vault.open(found.sealed_key, merchant_id, _KEY_PURPOSE + found.key_id)


@dataclass(frozen=True, slots=True)
class CheckoutSessions:
    _shards: Shards
    _reads: Reads
    _intents: IntentFlow
    _keys: PageKeys
    _events: Recorder[Session]
    """Its events carry the servicer's message (with the page's url), built by the composition
    root."""
    _page_secrets: PageSecrets
    _rules: CurrencyRules
    """A discounted amount is charged as any: at least the currency's least charge."""
    _catalogue: SubscriptionService
    """Makes a price_data line's price (and product_data's product)."""
    _customers: CustomerService
    """Makes the customer of a session of customer_creation "always"."""

    async def create(
        self, connection: AsyncConnection, merchant_id: str, new: NewSession
    ) -> Session:
        session_id = new_merchant_id(Prefix.CHECKOUT_SESSION, merchant_id)
        new = await self._with_inline_prices(connection, merchant_id, new)
        new = await _discounted(connection, merchant_id, new)
        if new.amount_discount:
            param = "discounts[0]"
            self._rules.check(param, new.amount_total, new.currency, Purpose.CHARGE)
        intent = NewIntent(
            amount=new.amount_total,
            currency=new.currency,
            capture_method=CaptureMethod.AUTOMATIC,
            customer_id=new.customer_id,
            description=new.description,
            metadata={**new.intent_metadata, INTENT_SESSION_KEY: session_id},
            receipt_email=new.receipt_email,
            transfer_group=new.transfer_group,
        )
        phases = await create.prepare(
            self._intents, merchant_id, intent, confirm=False, client_ip=""
        )  # not confirmed: nothing is scored
        created: Intent = await phases.record(connection)
        await self._keys.ensure(connection, merchant_id)
        repository = CheckoutRepository(connection)
        await repository.insert(merchant_id, session_id, created.id, new)
        return await repository.written(merchant_id, session_id)

    async def _with_inline_prices(
        self, connection: AsyncConnection, merchant_id: str, new: NewSession
    ) -> NewSession:
        """The session with the prices of its price_data lines made (and the products of
        their product_data), in its transaction, as Stripe makes them: inactive, one-time,
        read by GetPrice and GetProduct."""
        lines = []
        for index, item in enumerate(new.line_items):
            if item.inline:
                price = await self._catalogue.create_inline_price(
                    connection,
                    merchant_id,
                    NewPrice(
                        product_id=item.product_id or "",
                        unit_amount=item.unit_amount,
                        currency=new.currency,
                        recurring=None,
                        nickname="",
                        active=False,
                        metadata={},
                    ),
                    item.product_data,
                    f"line_items[{index}].price_data.product",
                )
                item = replace(
                    item, price_id=price.id, product_id=price.product_id, product_data=None
                )
            lines.append(item)
        return replace(new, line_items=tuple(lines))

    async def get(self, merchant_id: str, session_id: str) -> Session:
        return await self._reads.one(merchant_id, SESSIONS, session_id)

    async def list(
        self,
        merchant_id: str,
        cursor: Cursor,
        status: SessionStatus | None,
        intent_id: str,
        customer_id: str = "",
        email: str = "",
    ) -> Page[Session]:
        """`customer_id`, `email`: only that customer's sessions, only those given that
        customer_email ("" for either: no such filter)."""
        query = sessions_query(merchant_id, status, intent_id, customer_id, email)
        named = [
            Named("payment_intent", PAYMENT_INTENTS, intent_id),
            Named("customer", CUSTOMERS, customer_id),
        ]
        return await self._reads.page(merchant_id, SESSIONS, cursor, query, named)

    async def update(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        session_id: str,
        metadata: MetadataChange,
    ) -> Session:
        """UpdateCheckoutSession: the metadata alone, whatever the session's status (Stripe's
        Session.modify), on the session locked against the sweep; no event."""
        repository = CheckoutRepository(connection)
        row = await repository.session(merchant_id, session_id, lock=True)
        if row is None:
            raise not_found("checkout_session", session_id)
        changed = metadata.applied_to(row.metadata)
        if changed != row.metadata:
            await repository.set_metadata(merchant_id, session_id, changed)
        return await repository.written(merchant_id, session_id)

    async def expire(
        self, connection: AsyncConnection, merchant_id: str, session_id: str
    ) -> Session:
        """ExpireCheckoutSession: an open session (or one past its expiry the sweep has not
        reached) ends now; a paid one, or one whose payment is in flight, is refused."""
        repository = CheckoutRepository(connection)
        row = await repository.session(merchant_id, session_id, lock=True)
        if row is None:
            raise not_found("checkout_session", session_id)
        shown = session_of(row)
        if row.status != SessionStatus.OPEN or shown.status is SessionStatus.COMPLETE:
            raise _unexpected(shown, "expired")
        if row.intent_status not in EXPIRABLE_INTENT_STATUSES:
            raise _unexpected(shown, "expired", status="being paid")
        await self._end(connection, row, SessionStatus.EXPIRED)
        return await repository.written(merchant_id, session_id)

    async def page(self, session_id: str, secret: str) -> HostedPage:
        """The hosted page's view, read on the shard the session's id names, for the page's
        secret (from the session's url) only: without it, NOT_FOUND as for an unknown id."""
        self._page_secrets.check(session_id, secret)
        logical_shard = logical_shard_of(session_id, Prefix.CHECKOUT_SESSION)
        async with self._shards.read_logical(logical_shard) as connection:
            row = await fetch_one(
                connection, page_query(session_id), _row, "checkout_session", session_id
            )
            merchant = await MerchantRepository(connection).get(row.merchant_id)
            key = await self._keys.key(connection, row.merchant_id)
        return HostedPage(
            session=session_of(row),
            merchant_name=merchant.name if merchant else "",
            publishable_key=key.reveal() if key else "",
            last_error_message=last_error_message(row),
            intent_status=row.intent_status,
            last_error_code=last_error_code(row),
        )

    async def apply_promotion_code(self, session_id: str, secret: str, code: str) -> HostedPage:
        """The buyer's promotion code on the page (Stripe's `allow_promotion_codes`), for the
        page's secret only: the code's coupon taken off the open session and its payment
        intent, not yet being paid, as `discounts[0][promotion_code]` on create (redeemed now,
        restrictions and least charge checked, naming `promotion_code`)."""
        self._page_secrets.check(session_id, secret)
        logical_shard = logical_shard_of(session_id, Prefix.CHECKOUT_SESSION)
        async with self._shards.engine_for_logical(logical_shard).begin() as connection:
            query = page_query(session_id, lock=True)
            row = await fetch_one(connection, query, _row, "checkout_session", session_id)
            session = session_of(row)
            if not session.allow_promotion_codes or session.coupon_id:
                raise invalid(_CODE, "this session takes no promotion code")
            if session.status is not SessionStatus.OPEN:
                raise _unexpected(session, "discounted")
            # The intent locked before its status is judged: a confirmation that began after
            # the session was read has committed (or waits for this change) by then.
            intents = PayInRepository(connection)
            intent = await intents.intent(session.merchant_id, session.payment_intent_id, lock=True)
            if intent is None:
                raise violated("a session's payment intent exists")
            if intent.status is not IntentStatus.REQUIRES_PAYMENT_METHOD:
                raise _unexpected(session, "discounted", status="being paid")
            repository = CheckoutRepository(connection)
            found = await repository.promotion_code(session.merchant_id, code)
            if found is None:
                raise invalid(_CODE, f"{code} is not an active promotion code")
            wanted = replace(session, promotion_code_id=found)
            discounted = await _discounted(connection, session.merchant_id, wanted, _CODE)
            self._rules.check(_CODE, discounted.amount_total, session.currency, Purpose.CHARGE)
            await repository.set_discount(session.merchant_id, session.id, discounted)
            await intents.update_intent(intent, amount=discounted.amount_total)
        return await self.page(session_id, secret)

    async def sweep_on(self, engine: AsyncEngine, now: datetime, limit: int) -> int:
        """The worker's batch on one shard: records the sessions whose intent succeeded
        (complete) and ends those past their expiry whose intent is not being paid (expired,
        their intent canceled), each with its event. Returns how many it ended."""
        async with engine.begin() as connection:
            repository = CheckoutRepository(connection)
            paid = await repository.claim_paid(limit)
            for row in paid:
                await self._end(connection, row, SessionStatus.COMPLETE)
            overdue = await repository.claim_overdue(now, limit - len(paid))
            for row in overdue:
                await self._end(connection, row, SessionStatus.EXPIRED)
        return len(paid) + len(overdue)

    async def _with_customer_made(self, connection: AsyncConnection, row: Row[Any]) -> Row[Any]:
        """A guest's session of customer_creation "always", as it completes: the customer
        made of who paid (their email and card's billing name), the session's and its payment
        intent's customer from then on (Stripe's). Any other session as it is."""
        if row.customer_id is not None or row.customer_creation != ALWAYS:
            return row
        guest = payer(row)
        new = NewCustomer(
            email=guest.email,
            name=guest.name,
            description="",
            phone=guest.phone,
            address=guest.address,
            metadata={},
            test_clock_id=None,
        )
        customer = await self._customers.create_customer(connection, row.merchant_id, new)
        repository = CheckoutRepository(connection)
        await repository.set_customer(row.merchant_id, row.id, customer.id)
        intents = PayInRepository(connection)
        intent = await intents.intent(row.merchant_id, row.payment_intent_id, lock=True)
        if intent is None:
            raise violated("a session's payment intent exists")
        await intents.update_intent(intent, customer_id=customer.id)
        made = await repository.session(row.merchant_id, row.id)
        if made is None:
            raise violated("a session being completed reads back")
        return made

    async def _end(self, connection: AsyncConnection, row: Row[Any], status: SessionStatus) -> None:
        if status is SessionStatus.EXPIRED and row.intent_status != IntentStatus.CANCELED:
            phases = cancel.phases(
                self._intents, row.merchant_id, row.payment_intent_id, _ABANDONED
            )
            await phases.record(connection)
        repository = CheckoutRepository(connection)
        paid_by = None
        if status is SessionStatus.COMPLETE:
            row = await self._with_customer_made(connection, row)
            paid_by = payer(row)
        await repository.close(row.merchant_id, row.id, status, paid_by)
        ended = await repository.written(row.merchant_id, row.id)
        kind = SESSION_COMPLETED if status is SessionStatus.COMPLETE else SESSION_EXPIRED
        await self._events.record(connection, kind, ended)


async def _discounted(
    connection: AsyncConnection, merchant_id: str, new: NewSession, code_param: str = ""
) -> NewSession:
    """The session with its discount taken off amount_total (the coupon, or the promotion
    code and its coupon, redeemed in this transaction: a refusal names the field, or
    `code_param` for the code, and creates nothing); the rule of paycore.subscription.discounts,
    over the line items (or the amount)."""
    if not new.coupon_id and not new.promotion_code_id:
        return new
    now = int(time.time())
    coupon_id = new.coupon_id
    param = "discounts[0].coupon"
    if new.promotion_code_id:
        param = code_param or "discounts[0].promotion_code"
        purchase = Purchase(new.amount_total, new.currency, new.customer_id)
        coupon_id = await discounts.claim_code(
            connection, merchant_id, new.promotion_code_id, now, param, purchase
        )
    coupon = await discounts.claim_coupon(
        connection, merchant_id, new.currency, coupon_id, now, param
    )
    amounts = [item.amount_total for item in new.line_items] or [new.amount_total]
    taken = sum(discounts.amounts_off(coupon, amounts))
    if new.amount_total - taken < 0:
        violated("a discount never takes more than the amounts")
    return replace(
        new, coupon_id=coupon_id, amount_total=new.amount_total - taken, amount_discount=taken
    )


def _row(row: Row[Any]) -> Row[Any]:
    return row


def _unexpected(session: Session, action: str, status: str = "") -> ApiError:
    return ApiError(
        Reason.CHECKOUT_SESSION_UNEXPECTED_STATE,
        param="id",
        id=session.id,
        status=status or session.status.value,
        action=action,
    )
