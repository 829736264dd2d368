"""Collecting an open invoice through a payment intent, in phases like every PSP call:

  start (in the caller's transaction): the attempt is counted, the invoice marked `charging`
        and an off-session payment intent recorded with its execution (the recovery point);
  run   (no transaction): the execution steps at the PSP (paycore.payment.off_session);
  settle (a short transaction): the intent's outcome is applied to the invoice and the
        subscription: paid -> invoice paid, subscription active; failed -> dunning.

The PSP key is "<invoice id>-<attempt>", so a crash anywhere, a resumed request or a second
worker never make a second charge for one attempt: the executor resumes the same execution,
and whoever settles first wins (the others find the invoice no longer charging)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace

from paycore.currency.rules import CurrencyRules
from paycore.customer.repository import CustomerRepository
from paycore.errors import ApiError, Reason
from paycore.invariants import violated
from paycore.payment.models import Intent, IntentStatus
from paycore.payment.off_session import OffSessionCharge, OffSessionCharges
from paycore.payment.repository import PayInRepository
from paycore.subscription import dunning, invoices, lifecycle
from paycore.subscription.events import (
    INVOICE_PAYMENT_ACTION_REQUIRED,
    INVOICE_PAYMENT_FAILED,
    SubscriptionEvents,
)
from paycore.subscription.invoice_store import InvoiceRepository
from paycore.subscription.models import Invoice, InvoiceStatus, Subscription, SubscriptionStatus
from paycore.subscription.store import SubscriptionRepository
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# Intent metadata: which invoice an intent collects and whether the attempt was a scheduled
# one (it advances the dunning schedule) or asked for (PayInvoice, a new payment method).
INVOICE_KEY = "invoice"
ATTEMPT_KEY = "attempt"
SCHEDULED = "scheduled"
REQUESTED = "requested"
# An intent left for the customer to confirm (CreateSubscription's default_incomplete), and
# whether the payment method that pays it becomes the subscription's default.
BY_CUSTOMER = "customer"
SAVE_KEY = "save_default_payment_method"
ON_SUBSCRIPTION = "on_subscription"
# Why an intent left for the customer is canceled: its invoice voided (an incomplete
# subscription expired, VoidInvoice), or paid another way (PayInvoice).
VOID_INVOICE = "void_invoice"
PAID_OTHERWISE = "abandoned"
# The decline of an off-session charge of a card that must authenticate (3-D Secure).
AUTHENTICATION_REQUIRED = "authentication_required"
SETTLE_POLL_SECONDS = 0.05
# error_if_incomplete's refusal of a first invoice waiting for the customer's authentication.
INVOICE_REQUIRES_ACTION = "invoice_payment_intent_requires_action"
# A refund's reason for a second payment of one invoice (Stripe's refund reasons).
DUPLICATE = "duplicate"
DUNNED = frozenset({SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID})
# An invoice's intent the customer has confirmed (ConfirmPaymentIntent with its client_secret):
# their payment is in flight or done, so it alone may pay the invoice.
CONFIRMED = frozenset(
    {IntentStatus.PROCESSING, IntentStatus.REQUIRES_CAPTURE, IntentStatus.SUCCEEDED}
)


@dataclass(frozen=True, slots=True)
class Collection:
    charges: OffSessionCharges
    events: SubscriptionEvents
    rules: CurrencyRules
    """The currency rules in force: an invoice below the least charge is carried, not charged
    (paycore.subscription.invoices.finalize)."""

    async def start(
        self,
        connection: AsyncConnection,
        subscription: Subscription | None,
        invoice: Invoice,
        at: int,
        *,
        scheduled: bool,
        payment_method_id: str | None = None,
        save_payment_method: bool = False,
        off_session: bool = True,
    ) -> Invoice:
        """Starts an attempt on the open invoice at clock time `at`. Without a payment method
        to charge, the attempt fails at once (dunning goes on as for a decline).
        `save_payment_method`: once paid, the method charged becomes the subscription's
        default (payment_settings.save_default_payment_method=on_subscription).
        `off_session` False: the customer is present (PayInvoice off_session=false), so a card
        that must authenticate leaves the intent in requires_action (settle). `subscription`
        None: a one-off invoice, charged to the customer's default; no dunning follows."""
        method = payment_method_id or await self.payment_method(connection, subscription or invoice)
        attempt = replace(
            invoice,
            attempt_count=invoice.attempt_count + 1,
            retry_count=invoice.retry_count + (scheduled and invoice.attempt_count > 0),
            attempted_at=at,
        )
        # One payment per invoice: the invoice's intent so far (declined, left for the
        # customer, or waiting for their authentication) is canceled, locked, so that the
        # customer can no longer confirm it once this attempt charges; one they confirmed
        # already (in flight or succeeded) pays the invoice, and this attempt may not start.
        if not await self.withdraw_from_customer(connection, invoice, PAID_OTHERWISE):
            raise ApiError(
                Reason.INVOICE_UNEXPECTED_STATE,
                param="id",
                id=invoice.id,
                status="charging",
                action="charged",
            )
        if method is None:
            await invoices.save(connection, self.events, attempt, INVOICE_PAYMENT_FAILED)
            if subscription is not None:
                await dunning.failed(
                    connection, self.events, subscription, attempt, scheduled=scheduled
                )
            return attempt
        intent = await self.charges.record(
            connection,
            _invoice_charge(
                invoice,
                method,
                f"{invoice.id}-{attempt.attempt_count}",
                SCHEDULED if scheduled else REQUESTED,
                save_payment_method=save_payment_method,
                off_session=off_session,
            ),
        )
        charging = replace(attempt, charging=True, payment_intent_id=intent.id)
        await invoices.save(connection, self.events, charging)
        return charging

    async def leave_to_customer(
        self,
        connection: AsyncConnection,
        subscription: Subscription,
        invoice: Invoice,
        *,
        save_payment_method: bool,
    ) -> Invoice:
        """default_incomplete: the open invoice gets a payment intent that nobody confirms here
        (nothing is charged); the customer confirms it with its client_secret. When it
        succeeds, the billing job marks the invoice paid (paid_by_customer), its first attempt
        counted then. None is scheduled: as every first invoice, it is not retried."""
        method = await self.payment_method(connection, subscription)
        charge = _invoice_charge(
            invoice, method or "", "", BY_CUSTOMER, save_payment_method=save_payment_method
        )
        intent = await self.charges.record_for_customer(connection, charge)
        awaiting = replace(invoice, payment_intent_id=intent.id)
        await invoices.save(connection, self.events, awaiting)
        return awaiting

    async def paid_by_customer(
        self,
        connection: AsyncConnection,
        subscription: Subscription,
        open_invoices: list[Invoice],
        at: int,
    ) -> bool:
        """Marks paid (in the caller's transaction, the subscription locked) an open invoice
        whose intent the customer has confirmed and that has succeeded: the subscription is
        active (unless another invoice is dunned) and, with save_default_payment_method
        on_subscription, charges that payment method from now on. Exactly once: the invoice
        is no longer open afterwards. False when there is none."""
        for invoice in open_invoices:
            if invoice.charging or invoice.payment_intent_id is None:
                continue
            intent = await PayInRepository(connection).intent(
                invoice.merchant_id, invoice.payment_intent_id
            )
            if intent is None or intent.status is not IntentStatus.SUCCEEDED:
                continue
            # The customer's payment counts as the invoice's first attempt, as Stripe counts
            # any payment attempt (only automatic retries count more).
            attempted = replace(
                invoice,
                attempt_count=max(invoice.attempt_count, 1),
                attempted_at=invoice.attempted_at if invoice.attempted_at is not None else at,
            )
            await paid(
                connection,
                self.events,
                subscription,
                attempted,
                at,
                saving=saved_payment_method(intent),
            )
            return True
        return False

    async def declined_by_customer(
        self,
        connection: AsyncConnection,
        open_invoices: list[Invoice],
        at: int,
    ) -> bool:
        """default_incomplete: the customer's confirmation of an open invoice's intent failed
        (the intent wants another payment method, with its error: declined, or their
        authentication failed after requires_action): the merchant hears
        `invoice.payment_failed`, once per invoice (`failure_reported`; later declines of the
        customer's are not reported). Before any attempt was counted, this was the invoice's
        first attempt, as Stripe counts it (attempt_count 1); after requires_action it was
        counted then. In the caller's transaction, the subscription locked. Nothing is
        scheduled: a first invoice is not dunned; the customer may confirm again. False when
        there is none."""
        for invoice in open_invoices:
            if invoice.failure_reported:
                continue
            intent = await _customers_intent(
                connection, invoice, IntentStatus.REQUIRES_PAYMENT_METHOD
            )
            if intent is None or intent.last_error is None:
                continue
            attempted = replace(
                invoice,
                attempt_count=max(invoice.attempt_count, 1),
                attempted_at=at if invoice.attempt_count == 0 else invoice.attempted_at,
                failure_reported=True,
            )
            await invoices.save(connection, self.events, attempted, INVOICE_PAYMENT_FAILED)
            return True
        return False

    async def action_required_by_customer(
        self,
        connection: AsyncConnection,
        open_invoices: list[Invoice],
        at: int,
    ) -> bool:
        """default_incomplete: the customer's confirmation of an open invoice's intent asks
        for their authentication (3-D Secure, requires_action) before any attempt was
        counted: that is the invoice's first attempt (attempt_count 1), and the merchant hears
        `invoice.payment_action_required`, once (in the caller's transaction, the
        subscription locked). The subscription stays incomplete until the intent succeeds
        (paid_by_customer). False when there is none."""
        for invoice in open_invoices:
            if invoice.attempt_count:
                continue
            if await _customers_intent(connection, invoice, IntentStatus.REQUIRES_ACTION) is None:
                continue
            attempted = replace(invoice, attempt_count=1, attempted_at=at)
            await invoices.save(connection, self.events, attempted, INVOICE_PAYMENT_ACTION_REQUIRED)
            return True
        return False

    async def withdraw_from_customer(
        self,
        connection: AsyncConnection,
        invoice: Invoice,
        reason: str,
        *,
        every_attempt: bool = True,
    ) -> bool:
        """Before the invoice is charged again, voided or paid another way: its intent, locked,
        is canceled with `reason` while the customer could still confirm it (left for them,
        declined, or waiting for their authentication), so that it cannot pay the invoice a
        second time; a confirmation racing this waits for the lock and is then refused.
        False when the customer has confirmed it already (in flight or succeeded): that
        payment settles the invoice, and nothing else may charge, void or pay it meanwhile.
        `every_attempt` False (a subscription canceled now, its open invoices left open):
        only an intent left for the customer or waiting for their authentication is
        canceled; a declined attempt's stays payable as the invoice does."""
        if invoice.payment_intent_id is None or invoice.charging:
            return True
        intent = await PayInRepository(connection).intent(
            invoice.merchant_id, invoice.payment_intent_id, lock=True
        )
        if intent is None:
            return True
        if intent.status in CONFIRMED:
            return False
        if (
            every_attempt
            or intent.status is IntentStatus.REQUIRES_ACTION
            or intent.metadata.get(ATTEMPT_KEY) == BY_CUSTOMER
        ):
            await self.charges.cancel_unconfirmed(
                connection, invoice.merchant_id, invoice.payment_intent_id, reason
            )
        return True

    async def customer_paying(self, connection: AsyncConnection, invoice: Invoice) -> bool:
        """Whether the customer has confirmed the invoice's intent (locked) and that payment
        is in flight or has succeeded (not yet applied by billing): no attempt may start."""
        if invoice.payment_intent_id is None or invoice.charging:
            return False
        intent = await PayInRepository(connection).intent(
            invoice.merchant_id, invoice.payment_intent_id, lock=True
        )
        return intent is not None and intent.status in CONFIRMED

    async def refund_duplicates(
        self, connection: AsyncConnection, subscription: Subscription
    ) -> list[str]:
        """A second payment of one of the subscription's invoices (should the PSP ever have
        charged it twice; an intent confirmed before this rule held) is refunded in full,
        reason `duplicate`, in the caller's transaction (the refund reserved and recorded as
        CreateRefund's, in the ledger; the caller runs it after commit: run_refunds). The
        invoice stays paid once, by its own payment_intent. Answers the intents refunded."""
        refunded: list[str] = []
        for intent_id, left in await InvoiceRepository(connection).duplicate_payments(
            subscription.merchant_id, subscription.id
        ):
            log.warning("refunding %s: a second payment of an invoice", intent_id)
            if await self.charges.record_refund(
                connection, subscription.merchant_id, intent_id, left, reason=DUPLICATE
            ):
                refunded.append(intent_id)
        return refunded

    async def settle(self, engine: AsyncEngine, merchant_id: str, invoice_id: str) -> bool:
        """Runs the invoice's charge if one is in flight and applies its outcome. False while
        the outcome is not known yet (the PSP is slow or down: the executor retries, and the
        billing job settles it later)."""
        async with engine.connect() as reader:
            invoice = await InvoiceRepository(reader).get(merchant_id, invoice_id)
        if invoice is None or not invoice.charging or invoice.payment_intent_id is None:
            return True
        intent = await self.charges.run(merchant_id, invoice.payment_intent_id)
        if intent is None or intent.status is IntentStatus.PROCESSING:
            return False
        async with engine.begin() as connection:
            subscription = await invoice_subscription(connection, invoice)
            current = await InvoiceRepository(connection).get(merchant_id, invoice_id, lock=True)
            if current is None:
                violated(f"invoice {invoice_id} vanished")
            if not current.charging or current.payment_intent_id != intent.id:
                return True  # someone else settled it
            scheduled = intent.metadata.get(ATTEMPT_KEY) == SCHEDULED
            settled = replace(current, charging=False)
            if intent.status is IntentStatus.SUCCEEDED:
                await paid(
                    connection,
                    self.events,
                    subscription,
                    settled,
                    settled.attempted_at or 0,
                    saving=saved_payment_method(intent),
                )
            elif intent.status is IntentStatus.REQUIRES_ACTION:
                # On-session (PayInvoice off_session=false): the customer must authenticate.
                # Not a failure: the subscription stays as it is until the intent succeeds
                # (paid_by_customer) or the next scheduled attempt.
                await invoices.save(
                    connection, self.events, settled, INVOICE_PAYMENT_ACTION_REQUIRED
                )
            else:
                await invoices.save(connection, self.events, settled, INVOICE_PAYMENT_FAILED)
                if needs_authentication(intent):
                    # Off-session, the card asked for the customer: the merchant brings them
                    # on-session to confirm the intent (Stripe's payment_action_required).
                    await self.events.invoice.record(
                        connection, INVOICE_PAYMENT_ACTION_REQUIRED, settled
                    )
                if subscription is not None:
                    await dunning.failed(
                        connection, self.events, subscription, settled, scheduled=scheduled
                    )
        return True

    async def settle_within(
        self, engine: AsyncEngine, merchant_id: str, invoice_id: str, seconds: float
    ) -> None:
        """Settles the invoice's charge, waiting up to `seconds` while another runner (a
        billing run that took it at the same moment) holds its execution."""
        deadline = time.monotonic() + seconds
        while not await self.settle(engine, merchant_id, invoice_id):
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(SETTLE_POLL_SECONDS)

    async def retry_on_new_method(
        self, connection: AsyncConnection, subscription: Subscription, at: int
    ) -> Invoice | None:
        """A dunned subscription whose payment method changed since its open invoice's last
        attempt (UpdateSubscription, or the customer's invoice_settings default): that invoice
        is retried at once (an attempt asked for, so the schedule stays as it was). Not while
        its intent waits for the customer's authentication (PayInvoice on-session with
        another card): that payment is theirs to complete."""
        if subscription.status not in DUNNED:
            return None
        method = await self.payment_method(connection, subscription)
        if method is None:
            return None
        repository = PayInRepository(connection)
        for invoice in await InvoiceRepository(connection).of_subscription(
            subscription.merchant_id, subscription.id, (InvoiceStatus.OPEN,)
        ):
            if invoice.charging or invoice.payment_intent_id is None:
                continue
            last = await repository.intent(
                subscription.merchant_id, invoice.payment_intent_id, lock=True
            )
            if last is not None and (
                last.status is IntentStatus.REQUIRES_ACTION or last.status in CONFIRMED
            ):
                continue  # the customer's to complete, or they are paying it
            if last is not None and last.payment_method_id != method:
                return await self.start(connection, subscription, invoice, at, scheduled=False)
        return None

    async def payment_method(
        self, connection: AsyncConnection, payer: Subscription | Invoice
    ) -> str | None:
        """What an attempt on the subscription's invoices charges: its default payment method,
        else its customer's invoice default; None for nothing to charge. A one-off invoice
        (`payer` the invoice) charges its customer's invoice default."""
        if isinstance(payer, Subscription) and payer.default_payment_method_id:
            return payer.default_payment_method_id
        customer = await CustomerRepository(connection).get(payer.merchant_id, payer.customer_id)
        return None if customer is None else customer.default_payment_method


def needs_authentication(intent: Intent) -> bool:
    """Whether the intent was declined because its card must authenticate (off-session)."""
    failure = intent.last_error
    return failure is not None and failure.decline_code == AUTHENTICATION_REQUIRED


def requested(intent: Intent) -> bool:
    """Whether the intent is an attempt asked for (PayInvoice, a new payment method), not a
    scheduled one."""
    return intent.metadata.get(ATTEMPT_KEY) == REQUESTED


async def expire_incomplete(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    subscription: Subscription,
    open_invoices: list[Invoice],
    at: int,
) -> None:
    """An incomplete subscription ends unpaid (23 hours on, or a declined
    error_if_incomplete create): its open invoices void, the subscription
    incomplete_expired (terminal)."""
    for invoice in open_invoices:
        await invoices.close(connection, events, invoice, InvoiceStatus.VOID, at)
    expired = replace(subscription, status=SubscriptionStatus.INCOMPLETE_EXPIRED, ended_at=at)
    await lifecycle.save(connection, events, subscription, expired)


def declined(intent: Intent, invoice_id: str) -> ApiError:
    """A failed charge as Stripe answers it: CARD_DECLINED with the intent's code and
    decline_code (the REST edge renders 402 card_error with them: paycore.edge.errors)."""
    failure = intent.last_error
    if failure is None:
        violated(f"intent {intent.id} failed without an error")
    metadata = {"payment_intent": intent.id, "code": failure.code.lower()}
    if failure.decline_code:
        metadata["decline_code"] = failure.decline_code
    return ApiError(
        Reason.CARD_DECLINED,
        metadata=metadata,
        detail=failure.message or "The card was declined.",
        invoice=invoice_id,
    )


def requires_action(intent: Intent, invoice_id: str) -> ApiError:
    """error_if_incomplete with a first invoice whose card must authenticate: Stripe creates
    nothing and answers 402 `invoice_payment_intent_requires_action` with the intent (here
    CARD_DECLINED with that code and the intent's id, rendered 402 card_error at the REST
    edge, as a decline)."""
    return ApiError(
        Reason.CARD_DECLINED,
        metadata={"payment_intent": intent.id, "code": INVOICE_REQUIRES_ACTION},
        detail=(
            "This payment requires additional user action before it can be completed successfully."
        ),
        invoice=invoice_id,
    )


def saved_payment_method(intent: Intent) -> str | None:
    """The payment method a succeeded intent makes its subscription's default
    (save_default_payment_method=on_subscription), None for none."""
    if intent.metadata.get(SAVE_KEY) != ON_SUBSCRIPTION:
        return None
    return intent.payment_method_id


async def invoice_subscription(
    connection: AsyncConnection, invoice: Invoice
) -> Subscription | None:
    """The invoice's subscription, locked (None for a one-off invoice: it has none)."""
    if not invoice.subscription_id:
        return None
    subscription = await SubscriptionRepository(connection).get(
        invoice.merchant_id, invoice.subscription_id, lock=True
    )
    if subscription is None:
        violated(f"invoice {invoice.id}'s subscription vanished")
    return subscription


async def paid(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    subscription: Subscription | None,
    invoice: Invoice,
    at: int,
    *,
    saving: str | None = None,
) -> Subscription | None:
    """The invoice is paid: the subscription is active again unless it has ended or another
    invoice of it is still being dunned (None: a one-off invoice). `saving`: a payment method
    that becomes the subscription's default."""
    await invoices.mark_paid(connection, events, invoice, at)
    if subscription is None:
        return None
    paying = replace(subscription, default_payment_method_id=saving) if saving else subscription
    return await lifecycle.save(
        connection, events, subscription, await after_payment(connection, paying)
    )


async def after_payment(connection: AsyncConnection, subscription: Subscription) -> Subscription:
    if subscription.status.ended:
        return subscription
    still_open = [
        invoice
        for invoice in await InvoiceRepository(connection).of_subscription(
            subscription.merchant_id, subscription.id, (InvoiceStatus.OPEN,)
        )
        if invoice.next_payment_attempt is not None
    ]
    status = SubscriptionStatus.PAST_DUE if still_open else SubscriptionStatus.ACTIVE
    return replace(subscription, status=status)


async def _customers_intent(
    connection: AsyncConnection, invoice: Invoice, status: IntentStatus
) -> Intent | None:
    """The open invoice's intent when the customer confirmed it (default_incomplete: no attempt
    of billing's is charging) and it is now in `status`; else None."""
    if invoice.charging or invoice.payment_intent_id is None:
        return None
    intent = await PayInRepository(connection).intent(
        invoice.merchant_id, invoice.payment_intent_id
    )
    if intent is None or intent.metadata.get(ATTEMPT_KEY) != BY_CUSTOMER:
        return None
    return intent if intent.status is status else None


def _invoice_charge(
    invoice: Invoice,
    payment_method_id: str,
    psp_key: str,
    attempt: str,
    *,
    save_payment_method: bool,
    off_session: bool = True,
) -> OffSessionCharge:
    """The payment intent that collects `invoice`: its amount due, described "Invoice
    <number>", its metadata naming the invoice, how the attempt came (`attempt`: SCHEDULED,
    REQUESTED or BY_CUSTOMER) and, with `save_payment_method`, that the method that pays it
    becomes the subscription's default."""
    metadata = {INVOICE_KEY: invoice.id, ATTEMPT_KEY: attempt}
    if save_payment_method:
        metadata[SAVE_KEY] = ON_SUBSCRIPTION
    return OffSessionCharge(
        merchant_id=invoice.merchant_id,
        customer_id=invoice.customer_id,
        payment_method_id=payment_method_id,
        amount=invoice.amount_due,
        currency=invoice.currency,
        psp_key=psp_key,
        description=f"Invoice {invoice.number}",
        metadata=metadata,
        invoice_id=invoice.id,
        off_session=off_session,
    )
