"""PaymentService over gRPC: request -> checks (requests.py) -> domain call (through Mutations
for changes) -> message (messages.py), nothing more. A change's checks that read what changes
(`requests.Parties`: an exchange rate's age, a customer; the intent's status) run inside
`prepare`, after the idempotency key's lookup (`Mutations.prepared`): a retry of a call that
went through replays its answer, whatever changed since."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar, overload

from google.protobuf.message import Message
from grpc import aio
from paycore import search, validation
from paycore.account.service import AccountService
from paycore.currency.service import Currencies
from paycore.customer.service import CustomerService
from paycore.errors import ApiError, Reason, invalid
from paycore.ids import Prefix
from paycore.payment.authenticated import Authentications, back_to_merchant, redirect_status
from paycore.payment.client_secrets import ClientSecrets
from paycore.payment.intents import cancel, capture, confirm, create, update
from paycore.payment.intents.answer import answer
from paycore.payment.intents.flow import IntentFlow
from paycore.payment.models import (
    CHARGE_SEARCH_FIELDS,
    INTENT_SEARCH_FIELDS,
    Charge,
    Intent,
    Payment,
    Refund,
    SetupIntent,
    buyer_message,
)
from paycore.payment.pay_in import PayIn
from paycore.payment.servicer import requests, setup_requests
from paycore.payment.servicer.messages import (
    application_fee_message,
    charge_message,
    fee_refund_message,
    intent_message,
    order_message,
    payment_message,
    refund_message,
    setup_message,
)
from paycore.payment.setup import cancel as setup_cancel
from paycore.payment.setup import confirm as setup_confirm
from paycore.payment.setup import create as setup_create
from paycore.payment.setup import update as setup_update
from paycore.payment.setup.answer import answer as setup_answer
from paycore.payment.setup.flow import SetupFlow
from paycore.runtime.context import CallerKind, current_call
from paycore.runtime.messages import Converter
from paycore.runtime.mutations import Mutations, Phases
from paycore.runtime.servicing import (
    ChangingRpcs,
    Context,
    add_servicer,
    merchant_and_cursor,
    merchant_and_id,
    page_response,
    search_cursor,
    search_response,
)
from paycore.v1 import payment_pb2, payment_pb2_grpc

RefundsOf = TypeVar("RefundsOf", payment_pb2.CreateRefundRequest, payment_pb2.ListRefundsRequest)


def register(
    server: aio.Server,
    pay_in: PayIn,
    mutations: Mutations,
    accounts: AccountService,
    customers: CustomerService,
    client_secrets: ClientSecrets,
    currencies: Currencies,
    authentications: Authentications,
) -> str:
    """Adds PaymentService to `server`; returns its full name."""
    parties = requests.Parties(accounts, customers, currencies)
    servicer = PaymentServicer(
        pay_in, mutations, parties, client_secrets, currencies, authentications
    )
    return add_servicer(server, payment_pb2_grpc.add_PaymentServiceServicer_to_server, servicer)


rpcs: ChangingRpcs[PaymentServicer] = ChangingRpcs()


@dataclass(frozen=True, slots=True)
class PaymentServicer(payment_pb2_grpc.PaymentServiceServicer):
    _pay_in: PayIn
    _mutations: Mutations
    _parties: requests.Parties
    _client_secrets: ClientSecrets
    _currencies: Currencies
    _authentications: Authentications

    @property
    def _intents(self) -> IntentFlow:
        return self._pay_in.intents

    # -- payments (checkouts) -------------------------------------------------------------------

    async def CreatePayment(
        self, request: payment_pb2.CreatePaymentRequest, context: Context
    ) -> payment_pb2.Payment:
        call = current_call()
        merchant_id = call.require_merchant()
        new = requests.new_payment(request, self._currencies.rules)
        checkouts = self._pay_in.checkouts
        client_ip = call.buyer_address()

        async def prepare() -> Phases[Payment]:
            await self._parties.check_payment(merchant_id, new)
            return await checkouts.prepare(merchant_id, new, client_ip)

        return await self._mutations.prepared(
            merchant_id,
            request,
            payment_message,
            prepare,
            checkouts.orders.completion(merchant_id),
        )

    GetPayment = rpcs.get(Prefix.PAYMENT, lambda s: s._pay_in.checkouts.orders.get, payment_message)

    async def ListPayments(
        self, request: payment_pb2.ListPaymentsRequest, context: Context
    ) -> payment_pb2.ListPaymentsResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.PAYMENT)
        customer, checkout_id = requests.payment_filters(request)
        page = await self._pay_in.checkouts.orders.list(merchant_id, cursor, customer, checkout_id)
        return page_response(payment_pb2.ListPaymentsResponse, page, payment_message)

    GetPaymentOrder = rpcs.get(
        Prefix.PAYMENT_ORDER, lambda s: s._pay_in.checkouts.orders.get_order, order_message
    )

    # -- payment intents ------------------------------------------------------------------------

    async def CreatePaymentIntent(
        self, request: payment_pb2.CreatePaymentIntentRequest, context: Context
    ) -> payment_pb2.PaymentIntent:
        call = current_call()
        merchant_id = call.require_merchant()
        client_ip = call.buyer_address()
        new = requests.new_intent(request, self._currencies.rules)
        presence = requests.presence_of(
            request.off_session,
            request.return_url,
            confirming=request.confirm,
            error_on_requires_action=request.error_on_requires_action,
        )

        async def prepare() -> Phases[Intent]:
            # A new key only: the settlement currencies and the rate are read on the connection
            # held for the key's and the card's reads (one pool checkout for all, issue 17).
            await self._parties.check_intent(merchant_id, request, new)
            return await create.prepare(
                self._intents, merchant_id, new, request.confirm, client_ip, presence
            )

        return await self._intent_call(merchant_id, request, prepare)

    async def ConfirmPaymentIntent(
        self, request: payment_pb2.ConfirmPaymentIntentRequest, context: Context
    ) -> payment_pb2.PaymentIntent:
        call = current_call()
        merchant_id = call.require_merchant()
        intent_id, method, presence = requests.confirmation(request)
        publishable = self._buyer_checked(merchant_id, intent_id, request.client_secret)
        confirmed = await self._intent_call(
            merchant_id,
            request,
            lambda: confirm.prepare(
                self._intents,
                self._currencies,
                merchant_id,
                intent_id,
                method,
                call.buyer_address(),
                presence,
                buyer=publishable,
            ),
        )
        return _for_the_buyer(confirmed) if publishable else confirmed

    async def CapturePaymentIntent(
        self, request: payment_pb2.CapturePaymentIntentRequest, context: Context
    ) -> payment_pb2.PaymentIntent:
        merchant_id = current_call().require_merchant()
        intent_id, amount = requests.capture(request)

        async def prepare() -> Phases[Intent]:
            intent = await self._intents.get(merchant_id, intent_id)
            await self._parties.check_capture(merchant_id, intent, amount)
            return capture.phases(self._intents, merchant_id, intent_id, amount)

        return await self._intent_call(merchant_id, request, prepare)

    async def UpdatePaymentIntent(
        self, request: payment_pb2.UpdatePaymentIntentRequest, context: Context
    ) -> payment_pb2.PaymentIntent:
        merchant_id = current_call().require_merchant()
        intent_id, changes = requests.intent_changes(request)

        async def prepare() -> Phases[Intent]:
            intent = await self._intents.get(merchant_id, intent_id)
            await self._parties.check_customer_change(merchant_id, changes)
            return await update.prepare(
                self._intents, self._currencies, merchant_id, intent, changes
            )

        return await self._intent_call(merchant_id, request, prepare)

    async def CancelPaymentIntent(
        self, request: payment_pb2.CancelPaymentIntentRequest, context: Context
    ) -> payment_pb2.PaymentIntent:
        merchant_id = current_call().require_merchant()
        intent_id, reason = requests.cancellation(request)
        phases = cancel.phases(self._intents, merchant_id, intent_id, reason)
        return await self._mutations.run(merchant_id, request, self._intent, phases)

    async def GetPaymentIntent(
        self, request: payment_pb2.GetPaymentIntentRequest, context: Context
    ) -> payment_pb2.PaymentIntent:
        merchant_id, intent_id = merchant_and_id(request.id, Prefix.PAYMENT_INTENT)
        publishable = self._buyer_checked(merchant_id, intent_id, request.client_secret)
        shown = self._shown(await self._intents.get(merchant_id, intent_id))
        return _for_the_buyer(shown) if publishable else shown

    async def ListPaymentIntents(
        self, request: payment_pb2.ListPaymentIntentsRequest, context: Context
    ) -> payment_pb2.ListPaymentIntentsResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.PAYMENT_INTENT)
        customer, status = requests.intent_filters(request)
        page = await self._intents.list(merchant_id, cursor, customer, status)
        return page_response(payment_pb2.ListPaymentIntentsResponse, page, self._shown)

    async def SearchPaymentIntents(
        self, request: payment_pb2.SearchPaymentIntentsRequest, context: Context
    ) -> payment_pb2.SearchPaymentIntentsResponse:
        merchant_id = current_call().require_merchant()
        query = search.parse("query", request.query, INTENT_SEARCH_FIELDS)
        cursor = search_cursor(request, Prefix.PAYMENT_INTENT)
        page = await self._intents.search(merchant_id, cursor, query)
        return search_response(payment_pb2.SearchPaymentIntentsResponse, page, self._shown)

    def _buyer_checked(self, merchant_id: str, owner_id: str, client_secret: str) -> bool:
        """Whether the caller is the buyer's client (a publishable key), which must give the
        client_secret of `owner_id` (a payment intent's "pi_..." or a setup intent's
        "seti_..."); a secret given with any key is checked."""
        call = current_call()
        publishable = call.caller is not None and call.caller.kind is CallerKind.PUBLISHABLE_KEY
        if publishable and not client_secret:
            raise ApiError(Reason.PARAMETER_MISSING, param="client_secret")
        if client_secret:
            self._client_secrets.check(merchant_id, owner_id, client_secret)
        return publishable

    def _shown(self, intent: Intent) -> payment_pb2.PaymentIntent:
        """The intent as answered: with its client_secret (derived, never stored, so events
        carry none; the idempotency store keeps this rendered answer)."""
        message = intent_message(intent)
        message.client_secret = self._client_secrets.of(intent.merchant_id, intent.id)
        return message

    @property
    def _intent(self) -> Converter[Intent, payment_pb2.PaymentIntent]:
        return Converter(payment_pb2.PaymentIntent, self._shown)

    # -- refunds --------------------------------------------------------------------------------

    async def CreateRefund(
        self, request: payment_pb2.CreateRefundRequest, context: Context
    ) -> payment_pb2.Refund:
        merchant_id = current_call().require_merchant()
        resolved = await self._charge_as_intent(merchant_id, request, refund=True)
        new = requests.new_refund(resolved, charge_id=request.charge)
        refunds = self._pay_in.refunds

        async def prepare() -> Phases[Refund]:
            await self._parties.check_refund(merchant_id, new)
            return refunds.phases(merchant_id, new)

        return await self._mutations.prepared(
            merchant_id, request, refund_message, prepare, refunds.completion(merchant_id)
        )

    GetRefund = rpcs.get(Prefix.REFUND, lambda s: s._pay_in.refunds.get, refund_message)

    async def ListRefunds(
        self, request: payment_pb2.ListRefundsRequest, context: Context
    ) -> payment_pb2.ListRefundsResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.REFUND)
        resolved = await self._charge_as_intent(merchant_id, request)
        if resolved is None:  # a charge that was never paid: it has no refunds
            return payment_pb2.ListRefundsResponse()
        intent_id, order_id = requests.refunded(resolved)
        page = await self._pay_in.refunds.list(merchant_id, cursor, intent_id, order_id)
        return page_response(payment_pb2.ListRefundsResponse, page, refund_message)

    @overload
    async def _charge_as_intent(
        self, merchant_id: str, request: RefundsOf, *, refund: Literal[True]
    ) -> RefundsOf: ...

    @overload
    async def _charge_as_intent(self, merchant_id: str, request: RefundsOf) -> RefundsOf | None: ...

    async def _charge_as_intent(
        self, merchant_id: str, request: RefundsOf, *, refund: bool = False
    ) -> RefundsOf | None:
        """The request with its `charge` (Stripe's) replaced by that charge's payment intent:
        RESOURCE_MISSING naming `charge` when the merchant has no such charge. A charge that was
        never paid (declined, or still pending: an intent's earlier attempt) is not its
        intent's money: a refund of it is CHARGE_NOT_REFUNDABLE naming `charge` (it would refund
        the intent's paid charge), and its refunds are none (None)."""
        if not request.charge:
            return request
        charge_id = validation.charge_id("charge", request.charge)
        if request.payment_intent or request.payment_order:
            raise invalid("charge", "give one of charge, payment_intent and payment_order")
        charge = await self._pay_in.charges.get(merchant_id, charge_id, param="charge")
        if not charge.paid:
            if not refund:
                return None
            raise ApiError(
                Reason.CHARGE_NOT_REFUNDABLE,
                param="charge",
                object="charge",
                id=charge.id,
                status=charge.status.value,
            )
        resolved = type(request)()
        resolved.CopyFrom(request)
        resolved.charge = ""
        resolved.payment_intent = charge.payment_intent_id
        return resolved

    UpdateRefund = rpcs.change_metadata(
        Prefix.REFUND, refund_message, lambda s: s._pay_in.refunds.update
    )

    CancelRefund = rpcs.change_by_id(
        Prefix.REFUND, refund_message, lambda s: s._pay_in.refunds.cancel
    )

    # -- charges (paycore.payment.charges): named by the PSP's ch_ ids --------------------------

    async def GetCharge(
        self, request: payment_pb2.GetChargeRequest, context: Context
    ) -> payment_pb2.Charge:
        merchant_id = current_call().require_merchant()
        charge_id = validation.charge_id("id", request.id)
        return charge_message(await self._pay_in.charges.get(merchant_id, charge_id))

    async def UpdateCharge(
        self, request: payment_pb2.UpdateChargeRequest, context: Context
    ) -> payment_pb2.Charge:
        merchant_id = current_call().require_merchant()
        charge_id, changes = requests.charge_changes(request)
        charges = self._pay_in.charges
        return await self._mutations.for_merchant(
            merchant_id,
            request,
            charge_message,
            lambda connection: charges.update(connection, merchant_id, charge_id, changes),
        )

    async def CaptureCharge(
        self, request: payment_pb2.CaptureChargeRequest, context: Context
    ) -> payment_pb2.Charge:
        """Stripe's legacy Charge.capture: CapturePaymentIntent's checks and capture, of the
        intent whose latest charge it is (paycore.payment.intents.capture.charge_phases)."""
        merchant_id = current_call().require_merchant()
        charge_id, amount = requests.charge_capture(request)

        async def prepare() -> Phases[Charge]:
            charge = await self._pay_in.charges.get(merchant_id, charge_id)
            intent = await self._intents.get(merchant_id, charge.payment_intent_id)
            await self._parties.check_capture(merchant_id, intent, amount)
            return capture.charge_phases(self._intents, merchant_id, charge_id, amount)

        resume = capture.charge_completion(self._intents, merchant_id)
        return await self._mutations.prepared(merchant_id, request, charge_message, prepare, resume)

    async def ListCharges(
        self, request: payment_pb2.ListChargesRequest, context: Context
    ) -> payment_pb2.ListChargesResponse:
        merchant_id = current_call().require_merchant()
        cursor = requests.charge_cursor(request)
        intent_id, customer_id, group = requests.charge_filters(request)
        page = await self._pay_in.charges.list(merchant_id, cursor, intent_id, customer_id, group)
        return page_response(payment_pb2.ListChargesResponse, page, charge_message)

    async def SearchCharges(
        self, request: payment_pb2.SearchChargesRequest, context: Context
    ) -> payment_pb2.SearchChargesResponse:
        merchant_id = current_call().require_merchant()
        query = search.parse("query", request.query, CHARGE_SEARCH_FIELDS)
        cursor = requests.charge_search_cursor(request)
        page = await self._pay_in.charges.search(merchant_id, cursor, query)
        return search_response(payment_pb2.SearchChargesResponse, page, charge_message)

    # -- application fees (docs/connect.md) -----------------------------------------------------

    GetApplicationFee = rpcs.get(
        Prefix.APPLICATION_FEE, lambda s: s._pay_in.application_fees.get, application_fee_message
    )

    async def ListApplicationFees(
        self, request: payment_pb2.ListApplicationFeesRequest, context: Context
    ) -> payment_pb2.ListApplicationFeesResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.APPLICATION_FEE)
        wanted = requests.application_fee_filter(request)
        page = await self._pay_in.application_fees.list(merchant_id, cursor, wanted)
        return page_response(payment_pb2.ListApplicationFeesResponse, page, application_fee_message)

    async def CreateApplicationFeeRefund(
        self, request: payment_pb2.CreateApplicationFeeRefundRequest, context: Context
    ) -> payment_pb2.FeeRefund:
        merchant_id, fee_id = merchant_and_id(request.id, Prefix.APPLICATION_FEE)
        new = requests.new_fee_refund(request)
        fees = self._pay_in.application_fees
        return await self._mutations.answer(
            merchant_id, request, fee_refund_message, fees.refund, fee_id, new
        )

    async def ListApplicationFeeRefunds(
        self, request: payment_pb2.ListApplicationFeeRefundsRequest, context: Context
    ) -> payment_pb2.ListApplicationFeeRefundsResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.APPLICATION_FEE_REFUND)
        fee_id = validation.object_id("id", request.id, Prefix.APPLICATION_FEE)
        page = await self._pay_in.application_fees.refunds(merchant_id, fee_id, cursor)
        return page_response(
            payment_pb2.ListApplicationFeeRefundsResponse, page, fee_refund_message
        )

    UpdateApplicationFeeRefund = rpcs.change_held_metadata(
        Prefix.APPLICATION_FEE,
        ("refund", Prefix.APPLICATION_FEE_REFUND),
        fee_refund_message,
        lambda s: s._pay_in.application_fees.update_refund,
    )

    async def GetApplicationFeeRefund(
        self, request: payment_pb2.GetApplicationFeeRefundRequest, context: Context
    ) -> payment_pb2.FeeRefund:
        merchant_id, fee_id = merchant_and_id(request.id, Prefix.APPLICATION_FEE)
        refund_id = validation.object_id("refund", request.refund, Prefix.APPLICATION_FEE_REFUND)
        found = await self._pay_in.application_fees.refund_of(merchant_id, fee_id, refund_id)
        return fee_refund_message(found)

    # -- setup intents (paycore.payment.setup) --------------------------------------------------

    @property
    def _setups(self) -> SetupFlow:
        return self._pay_in.setups

    async def CreateSetupIntent(
        self, request: payment_pb2.CreateSetupIntentRequest, context: Context
    ) -> payment_pb2.SetupIntent:
        merchant_id = current_call().require_merchant()
        new = setup_requests.new_setup(request)

        async def prepare() -> Phases[SetupIntent]:
            await self._parties.customer(merchant_id, new.customer_id)
            return await setup_create.prepare(
                self._setups, merchant_id, new, request.confirm, request.return_url
            )

        return await self._setup_call(merchant_id, request, prepare)

    async def ConfirmSetupIntent(
        self, request: payment_pb2.ConfirmSetupIntentRequest, context: Context
    ) -> payment_pb2.SetupIntent:
        merchant_id = current_call().require_merchant()
        setup_id, method = setup_requests.confirmation(request)
        publishable = self._buyer_checked(merchant_id, setup_id, request.client_secret)
        confirmed = await self._setup_call(
            merchant_id,
            request,
            lambda: setup_confirm.prepare(
                self._setups, merchant_id, setup_id, method, request.return_url
            ),
        )
        return _setup_for_the_buyer(confirmed) if publishable else confirmed

    async def UpdateSetupIntent(
        self, request: payment_pb2.UpdateSetupIntentRequest, context: Context
    ) -> payment_pb2.SetupIntent:
        merchant_id = current_call().require_merchant()
        setup_id, changes = setup_requests.setup_changes(request)

        async def prepare() -> Phases[SetupIntent]:
            setup = await self._setups.get(merchant_id, setup_id)
            await self._parties.customer(merchant_id, changes.customer_id)
            return await setup_update.prepare(self._setups, merchant_id, setup, changes)

        return await self._setup_call(merchant_id, request, prepare)

    async def CancelSetupIntent(
        self, request: payment_pb2.CancelSetupIntentRequest, context: Context
    ) -> payment_pb2.SetupIntent:
        merchant_id = current_call().require_merchant()
        setup_id, reason = setup_requests.cancellation(request)
        setups = self._setups
        return await self._mutations.for_merchant(
            merchant_id,
            request,
            self._setup,
            lambda connection: setup_cancel.cancel(
                setups, connection, merchant_id, setup_id, reason
            ),
        )

    async def GetSetupIntent(
        self, request: payment_pb2.GetSetupIntentRequest, context: Context
    ) -> payment_pb2.SetupIntent:
        merchant_id, setup_id = merchant_and_id(request.id, Prefix.SETUP_INTENT)
        publishable = self._buyer_checked(merchant_id, setup_id, request.client_secret)
        shown = self._shown_setup(await self._setups.get(merchant_id, setup_id))
        return _setup_for_the_buyer(shown) if publishable else shown

    async def ListSetupIntents(
        self, request: payment_pb2.ListSetupIntentsRequest, context: Context
    ) -> payment_pb2.ListSetupIntentsResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.SETUP_INTENT)
        customer = setup_requests.customer_filter(request)
        page = await self._setups.list(merchant_id, cursor, customer)
        return page_response(payment_pb2.ListSetupIntentsResponse, page, self._shown_setup)

    # -- 3-D Secure: the buyer's return ---------------------------------------------------------

    async def ReturnFromAuthentication(
        self, request: payment_pb2.ReturnFromAuthenticationRequest, context: Context
    ) -> payment_pb2.AuthenticationReturn:
        merchant_id, prefix, object_id, secret = requests.authentication_return(request)
        self._client_secrets.check(merchant_id, object_id, secret)
        returned: Intent | SetupIntent
        if prefix is Prefix.SETUP_INTENT:
            returned = await self._authentications.returned_setup(merchant_id, object_id)
            name = "setup_intent"
        else:
            returned = await self._authentications.returned_intent(merchant_id, object_id)
            name = "payment_intent"
        status = redirect_status(returned.status)
        return payment_pb2.AuthenticationReturn(
            return_url=back_to_merchant(returned.next_action, name, object_id, secret, status),
            status=returned.status.value,
        )

    def _shown_setup(self, setup: SetupIntent) -> payment_pb2.SetupIntent:
        """The setup as answered: with its client_secret (derived, never stored)."""
        message = setup_message(setup)
        message.client_secret = self._client_secrets.of(setup.merchant_id, setup.id)
        return message

    @property
    def _setup(self) -> Converter[SetupIntent, payment_pb2.SetupIntent]:
        return Converter(payment_pb2.SetupIntent, self._shown_setup)

    async def _setup_call(
        self,
        merchant_id: str,
        request: Message,
        prepare: Callable[[], Awaitable[Phases[SetupIntent]]],
    ) -> payment_pb2.SetupIntent:
        resume = setup_answer(self._setups, merchant_id)
        return await self._mutations.prepared(merchant_id, request, self._setup, prepare, resume)

    # -- shared ---------------------------------------------------------------------------------

    async def _intent_call(
        self,
        merchant_id: str,
        request: Message,
        prepare: Callable[[], Awaitable[Phases[Intent]]],
    ) -> payment_pb2.PaymentIntent:
        """An intent's change whose checks read (`prepare` checks, then makes the phases):
        after the key's lookup, for a new key only (`Mutations.prepared`)."""
        resume = answer(self._intents, merchant_id)
        return await self._mutations.prepared(merchant_id, request, self._intent, prepare, resume)


def _for_the_buyer(intent: payment_pb2.PaymentIntent) -> payment_pb2.PaymentIntent:
    """The intent as the buyer's own client (a publishable key: the hosted page, a browser)
    sees it: without the fraud check's score and reasons, and a fraud block told as an
    ordinary decline, which would tell a card tester which signals to change; without its
    customer and metadata (the merchant's), as Stripe answers a publishable key and as a
    SetupIntent is shown. The merchant reads them with its secret key."""
    shown = payment_pb2.PaymentIntent()
    shown.CopyFrom(intent)
    shown.ClearField("risk_assessment")
    shown.ClearField("customer")
    shown.ClearField("metadata")
    if shown.HasField("last_payment_error"):
        failure = shown.last_payment_error
        failure.message = buyer_message(failure.code, failure.message)
    return shown


def _setup_for_the_buyer(setup: payment_pb2.SetupIntent) -> payment_pb2.SetupIntent:
    """The setup as the buyer's own client (a publishable key) sees it, as Stripe answers one:
    without its customer and metadata (the merchant's), a failure told as to any buyer."""
    shown = payment_pb2.SetupIntent()
    shown.CopyFrom(setup)
    shown.ClearField("customer")
    shown.ClearField("metadata")
    if shown.HasField("last_setup_error"):
        failure = shown.last_setup_error
        failure.message = buyer_message(failure.code, failure.message)
    return shown


__all__ = ["PaymentServicer", "register"]
