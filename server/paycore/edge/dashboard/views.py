"""The merchant dashboard's pages (/dashboard on the edge): server-rendered HTML over paycore's
gRPC clients, called with the key the browser's session signed in with (sessions.py).

    /dashboard/login, /dashboard/logout      sign in with a secret or restricted key (or, for
                                             operators, the admin token and a merchant id)
    /dashboard/payments[/<pi>[/refund]]      payments, filters and search; a payment's page with
                                             its refunds, its events' timeline and a refund form
    /dashboard/balance                       balances, the pending/available chart (chart.py)
    /dashboard/payouts[/<po>]                payouts and their balance transactions
    /dashboard/webhooks[/<we>]               webhook endpoints and their delivery log
    /dashboard/reviews/<prv>                 operators: a held payment's review, approved or
                                             rejected with a note
    /dashboard/<list>                        the other lists (listings.py): checkout sessions,
                                             subscriptions, invoices, and for operators the fraud
                                             review queue and reconciliation discrepancies
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlencode

from aiohttp import web
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from grpc import StatusCode, aio
from jinja2 import Environment
from paycore.account.keys import API_KEY_PREFIXES
from paycore.checkout.models import INTENT_SESSION_KEY
from paycore.edge.dashboard.chart import balance_chart
from paycore.edge.dashboard.listings import (
    GUEST_EMAIL_FILTER,
    LISTINGS,
    LISTINGS_BY_SLUG,
    PAGE_SIZE,
    Listing,
    Stubs,
)
from paycore.edge.dashboard.payment_status import with_payment_status
from paycore.edge.dashboard.sessions import (
    COOKIE,
    COOKIE_PATH,
    IDLE_SECONDS,
    SessionStore,
    SignedIn,
)
from paycore.edge.errors import EdgeError, from_rpc_error
from paycore.edge.params import parse_params
from paycore.edge.web import money, page
from paycore.iso import CURRENCY_EXPONENTS, amount_max, currency_exponent
from paycore.stripe_json import stripe_json
from paycore.transcoding import JsonRejected, checked, to_message
from paycore.v1 import (
    checkout_pb2,
    customer_pb2,
    dispute_pb2,
    event_pb2,
    fraud_pb2,
    payment_pb2,
    payout_pb2,
    wallet_pb2,
)

CALL_TIMEOUT_SECONDS = 10.0
MAJOR_UNITS = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+", re.ASCII)
"""A refund form's amount: ASCII digits with a decimal point, no sign, exponent nor grouping
(which Decimal would read, as it reads "NaN" and "Infinity")."""
BALANCE_TRANSACTIONS_PAGES = 4
"""The balance chart reads at most this many pages of 100 balance transactions."""
SEARCH_HINT = (
    "Search by a payment (pi_...), a checkout session (cs_...), a dispute (dp_...), a charge"
    " (ch_...), a customer (cus_...) or an email."
)
REFUND_REASONS = ("requested_by_customer", "duplicate", "fraudulent")
WALLET_NAMES = {"apple_pay": "Apple Pay", "google_pay": "Google Pay"}
"""A card's `wallet.type` as the payment page names it."""
REFUNDABLE = ("succeeded", "partially_refunded")
"""A payment's statuses (payment_status) whose page offers a refund form."""
Handler = Callable[[web.Request, SignedIn], Awaitable[web.StreamResponse]]


class Dashboard:
    def __init__(
        self,
        channel: aio.Channel,
        internal_channel: aio.Channel,
        environment: Environment,
        secure: bool,
        *,
        operators: bool = True,
    ) -> None:
        """`operators`: the admin token signs in (the edge serves the operator routes); a
        public edge's dashboard takes API keys only."""
        self._stubs = Stubs(channel, internal_channel)
        self._templates = environment
        self._sessions = SessionStore()
        self._secure = secure
        self._operators = operators

    def add_routes(self, app: web.Application) -> None:
        signed_in = self._signed_in
        app.router.add_get("/dashboard", self.home)
        app.router.add_get("/dashboard/login", self.login_form)
        app.router.add_post("/dashboard/login", self.login)
        app.router.add_post("/dashboard/logout", self.logout)
        app.router.add_get("/dashboard/balance", signed_in(self.balance))
        app.router.add_get("/dashboard/payments/{id}", signed_in(self.payment))
        app.router.add_post("/dashboard/payments/{id}/refund", signed_in(self.refund))
        app.router.add_get("/dashboard/payouts/{id}", signed_in(self.payout))
        app.router.add_get("/dashboard/webhooks/{id}", signed_in(self.webhook))
        app.router.add_get("/dashboard/reviews/{id}", signed_in(self.review))
        app.router.add_post("/dashboard/reviews/{id}", signed_in(self.close_review))
        app.router.add_get("/dashboard/{slug}", signed_in(self.listing))
        # Last: what the routes above did not match. No empty segment, so no "//host" location.
        app.router.add_get("/dashboard/{path:(?:[^/]+/)*}", self.without_slash)

    async def without_slash(self, request: web.Request) -> web.StreamResponse:
        """`/dashboard/` and `/dashboard/payments/`: the page without the trailing slash."""
        location = request.rel_url.raw_path.rstrip("/")
        if request.rel_url.raw_query_string:
            location += f"?{request.rel_url.raw_query_string}"
        raise web.HTTPMovedPermanently(location)

    # -- signing in -----------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        if self._session_of(request) is None:
            raise web.HTTPSeeOther("/dashboard/login")
        raise web.HTTPSeeOther("/dashboard/payments")

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        return self._page("login.html", None, error="")

    async def login(self, request: web.Request) -> web.StreamResponse:
        _same_origin(request)
        form = await request.post()
        key = str(form.get("key", "")).strip()
        merchant_id = str(form.get("merchant", "")).strip()
        operator = not key.startswith(API_KEY_PREFIXES)
        if operator and not self._operators:
            problem = "This dashboard takes API keys only: sign in with a secret or restricted key."
        else:
            problem = await self._check_key(key, operator, merchant_id)
        if problem:
            return self._page("login.html", None, status=401, error=problem)
        response = web.HTTPSeeOther("/dashboard/payments" if not operator else "/dashboard/reviews")
        session_id = self._sessions.open(key, operator, merchant_id if operator else "")
        response.set_cookie(
            COOKIE,
            session_id,
            path=COOKIE_PATH,
            httponly=True,
            samesite="Strict",
            secure=self._secure,
            max_age=IDLE_SECONDS,
        )
        raise response

    async def _check_key(self, key: str, operator: bool, merchant_id: str) -> str:
        """Why `key` cannot sign in ("" when it can): one cheap read tells a wrong key."""
        if not key:
            return "Enter a secret key, a restricted key, or the admin token."
        if key.startswith("pk_"):
            return "A publishable key cannot sign in: use a secret or restricted key."
        if not _header_safe(key) or not _header_safe(merchant_id):
            return "That key or token is not valid."  # no gRPC header could carry it
        candidate = SignedIn(key, operator, merchant_id, csrf="", expires_at=0)
        try:
            if operator:
                reviews = fraud_pb2.ListReviewsRequest(limit=1)
                await ask(self._stubs.fraud.ListReviews, reviews, candidate)
            else:
                intents = payment_pb2.ListPaymentIntentsRequest(limit=1)
                await ask(self._stubs.payments.ListPaymentIntents, intents, candidate)
        except aio.AioRpcError as error:
            if error.code() in (StatusCode.UNAUTHENTICATED, StatusCode.PERMISSION_DENIED):
                if operator or error.code() is StatusCode.UNAUTHENTICATED:
                    return "That key or token is not valid."
                return ""  # a restricted key without payments:read: the pages say what it lacks
            return from_rpc_error(error, "sign in").message
        return ""

    async def logout(self, request: web.Request) -> web.StreamResponse:
        _same_origin(request)
        session = self._session_of(request)
        form = await request.post()
        if session is not None and session.csrf_matches(str(form.get("csrf", ""))):
            self._sessions.close(request.cookies.get(COOKIE))
        response = web.HTTPSeeOther("/dashboard/login")
        response.del_cookie(COOKIE, path=COOKIE_PATH)
        raise response

    def _session_of(self, request: web.Request) -> SignedIn | None:
        return self._sessions.find(request.cookies.get(COOKIE))

    def _signed_in(
        self, handler: Handler
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            session = self._session_of(request)
            if session is None:
                raise web.HTTPSeeOther("/dashboard/login")
            if request.method == "POST":
                _same_origin(request)
                form = await request.post()
                if not session.csrf_matches(str(form.get("csrf", ""))):
                    raise web.HTTPForbidden(text="The form is stale: reload the page and retry.")
            try:
                return await handler(request, session)
            except aio.AioRpcError as error:
                if error.code() is StatusCode.UNAUTHENTICATED:
                    self._sessions.close(request.cookies.get(COOKIE))
                    raise web.HTTPSeeOther("/dashboard/login") from None
                return self._error(session, from_rpc_error(error, request.path))
            except JsonRejected as rejected:
                return self._page("error.html", session, status=400, message=rejected.message)

        return handle

    # -- lists ----------------------------------------------------------------------------------

    async def listing(self, request: web.Request, session: SignedIn) -> web.StreamResponse:
        listing = LISTINGS_BY_SLUG.get(request.match_info["slug"])
        if listing is None or (listing.operator and not session.operator):
            return self._no_such_page(session)
        if not listing.operator and session.operator and not session.merchant_id:
            hint = "Sign in with a merchant id to see a merchant's pages."
            return self._page("error.html", session, status=400, message=hint)
        query = {name: value for name, value in request.query.items() if value}
        search = query.pop("q", "").strip()
        if listing.slug == "payments" and search:
            found = await self._search(search, session)
            if isinstance(found, str):
                # Told on the payments page, the search box keeping what was typed.
                status = 400 if found == SEARCH_HINT else 200
                return self._listing_page(
                    listing, session, search=search, error=found, status=status
                )
            if found.get("redirect"):
                raise web.HTTPSeeOther(found["redirect"])
            query.update(found)
        fields = {name: query[name] for name in listing.filters if name in query}
        descriptor = cast(Descriptor, listing.request.DESCRIPTOR)
        message = to_message(
            descriptor,
            checked(
                descriptor,
                # As the REST edge reads a query string: customer_details[email] nests.
                parse_params(
                    {**fields, "limit": str(PAGE_SIZE), **_cursor(query)}.items(), descriptor
                ),
                from_text=True,
            ),
        )
        response = await ask(listing.call(self._stubs), message, session)
        rendered = stripe_json(response)
        rows = rendered["data"]
        return self._listing_page(
            listing,
            session,
            rows=[listing.shown(row) for row in rows] if listing.shown else rows,
            has_more=rendered["has_more"],
            filters=fields,
            search=search,
            first_page=_first_page(request),
            next_page=_next_page(request, rows),
        )

    def _listing_page(
        self,
        listing: Listing,
        session: SignedIn,
        *,
        rows: list[dict[str, Any]] | None = None,
        has_more: bool = False,
        filters: dict[str, str] | None = None,
        search: str = "",
        first_page: str = "",
        next_page: str = "",
        error: str = "",
        status: int = 200,
    ) -> web.Response:
        return self._page(
            "list.html",
            session,
            status=status,
            listing=listing,
            rows=rows or [],
            has_more=has_more,
            filters=filters or {},
            search=search,
            first_page=first_page or f"/dashboard/{listing.slug}",
            next_page=next_page,
            error=error,
        )

    async def _search(self, text: str, session: SignedIn) -> dict[str, str] | str:
        """The payments list's search box: an id (pi_, cs_, dp_, ch_) opens its payment, an email
        or customer id filters by the customer; an email no customer has, the checkout sessions
        given it."""
        if text.startswith("pi_"):
            return {"redirect": f"/dashboard/payments/{text}"}
        if text.startswith("cs_"):
            found = await ask(
                self._stubs.checkout.GetCheckoutSession,
                checkout_pb2.GetCheckoutSessionRequest(id=text),
                session,
            )
            return {"redirect": f"/dashboard/payments/{found.payment_intent}"}
        if text.startswith(("dp_", "ch_")):
            # What a charge.dispute.* webhook names: the dispute, the PSP's charge.
            if text.startswith("dp_"):
                request: Message = dispute_pb2.GetDisputeRequest(id=text)
                owner = await ask(self._stubs.disputes.GetDispute, request, session)
            else:
                request = payment_pb2.GetChargeRequest(id=text)
                owner = await ask(self._stubs.payments.GetCharge, request, session)
            if not owner.payment_intent:
                return f"{text} is of a payment order, which the dashboard has no page for."
            return {"redirect": f"/dashboard/payments/{owner.payment_intent}"}
        if text.startswith("cus_"):
            return {"customer": text}
        if "@" in text:
            customers = await ask(
                self._stubs.customers.ListCustomers,
                customer_pb2.ListCustomersRequest(email=text, limit=1),
                session,
            )
            if customers.data:
                return {"customer": customers.data[0].id}
            # A checkout's guest gave an email and is no customer: its sessions link the payment.
            sessions = await ask(
                self._stubs.checkout.ListCheckoutSessions,
                checkout_pb2.ListCheckoutSessionsRequest(
                    customer_details=checkout_pb2.CheckoutCustomerDetailsFilter(email=text),
                    limit=1,
                ),
                session,
            )
            if sessions.data:
                query = urlencode({GUEST_EMAIL_FILTER: text})
                return {"redirect": f"/dashboard/checkout?{query}"}
            return f"No customer or checkout session has the email {text}."
        return SEARCH_HINT

    # -- a payment ------------------------------------------------------------------------------

    async def payment(self, request: web.Request, session: SignedIn) -> web.StreamResponse:
        return await self._payment_page(request, session, error="", status=200)

    async def _payment_page(
        self,
        request: web.Request,
        session: SignedIn,
        *,
        error: str,
        status: int,
        amount_typed: str = "",
    ) -> web.StreamResponse:
        intent_id = request.match_info["id"]
        (intent, refunds), listed = await asyncio.gather(
            ask_all(
                session,
                (
                    self._stubs.payments.GetPaymentIntent,
                    payment_pb2.GetPaymentIntentRequest(id=intent_id),
                ),
                (
                    self._stubs.payments.ListRefunds,
                    payment_pb2.ListRefundsRequest(payment_intent=intent_id, limit=100),
                ),
            ),
            optional(
                self._stubs.disputes.ListDisputes,
                dispute_pb2.ListDisputesRequest(payment_intent=intent_id, limit=100),
                session,
            ),
        )
        disputes = list(listed.data) if listed else []
        method = (
            await optional(
                self._stubs.customers.GetPaymentMethod,
                customer_pb2.GetPaymentMethodRequest(id=intent.payment_method),
                session,
            )
            if intent.payment_method
            else None
        )
        objects = [
            intent_id,
            *(refund.id for refund in refunds.data),
            *(dispute.id for dispute in disputes),
        ]
        checkout_session = intent.metadata.get(INTENT_SESSION_KEY, "")
        if checkout_session.startswith("cs_"):
            # Paid on a hosted page: the session's own events (checkout.session.completed).
            objects.append(checkout_session)
        list_events = self._stubs.events.ListEvents
        timelines = await ask_all(
            session,
            *(
                (list_events, event_pb2.ListEventsRequest(object_id=id, limit=100))
                for id in objects
            ),
        )
        events = sorted(
            (stripe_json(event) for timeline in timelines for event in timeline.data),
            key=lambda event: (event["created"], event["id"]),
        )
        shown = with_payment_status(stripe_json(intent))
        shown.pop("client_secret", None)
        refundable = shown["amount_received"] - shown["amount_refunded"]
        return self._page(
            "payment.html",
            session,
            status=status,
            intent=shown,
            refunds=stripe_json(refunds)["data"],
            disputes=[stripe_json(dispute) for dispute in disputes],
            method=stripe_json(method) if method else None,
            wallets=WALLET_NAMES,
            events=events,
            # A disputed charge is refused any refund (CHARGE_DISPUTED): no form to fill in.
            refundable=refundable if shown["dashboard_status"] in REFUNDABLE else 0,
            refund_reasons=REFUND_REASONS,
            refund_key=secrets.token_urlsafe(16),
            refunded=request.query.get("refunded", ""),
            error=error,
            amount_typed=amount_typed,
        )

    async def refund(self, request: web.Request, session: SignedIn) -> web.StreamResponse:
        intent_id = request.match_info["id"]
        form = await request.post()
        typed = str(form.get("amount", ""))
        intent = await ask(
            self._stubs.payments.GetPaymentIntent,
            payment_pb2.GetPaymentIntentRequest(id=intent_id),
            session,
        )
        currency = intent.currency
        refundable = intent.amount_received - intent.amount_refunded
        try:
            amount = _minor_units(typed, currency)
            if amount > refundable:
                raise ValueError(
                    f"{money(amount, currency)} is more than the {money(refundable, currency)}"
                    " that remains refundable."
                )
        except ValueError as problem:
            return await self._payment_page(
                request, session, error=str(problem), status=400, amount_typed=typed[:40]
            )
        reason = str(form.get("reason", ""))
        fields: dict[str, Any] = {"payment_intent": intent_id}
        if amount:
            fields["amount"] = amount
        if reason in REFUND_REASONS:
            fields["reason"] = payment_pb2.RefundReason.Value(f"REFUND_REASON_{reason.upper()}")
        # The form's own key: submitting it twice (a double click, a reload) refunds once.
        key = str(form.get("refund_key", "")) or secrets.token_urlsafe(16)
        try:
            created = await ask(
                self._stubs.payments.CreateRefund,
                payment_pb2.CreateRefundRequest(**fields),
                session,
                ("idempotency-key", f"dashboard-refund-{key}"),
            )
        except aio.AioRpcError as error:
            return await self._payment_page(
                request,
                session,
                error=_refusal(error, request),
                status=400,
                amount_typed=typed[:40],
            )
        raise web.HTTPSeeOther(f"/dashboard/payments/{intent_id}?refunded={created.id}")

    # -- balances, payouts, webhooks ------------------------------------------------------------

    async def balance(self, request: web.Request, session: SignedIn) -> web.StreamResponse:
        balance = stripe_json(
            await ask(self._stubs.wallet.GetBalance, wallet_pb2.GetBalanceRequest(), session)
        )
        transactions = await self._balance_transactions(session)
        available = {money["currency"]: money["amount"] for money in balance["available"]}
        pending = {money["currency"]: money["amount"] for money in balance["pending"]}
        currencies = sorted({*available, *pending, *(t["currency"] for t in transactions)})
        currency = request.query.get("currency", "")
        if currency not in currencies:
            # The currency the balance moved in last (transactions come newest first).
            currency = transactions[0]["currency"] if transactions else "".join(currencies[:1])
        chart = None
        if currency:
            chart = balance_chart(
                transactions,
                available.get(currency, 0),
                pending.get(currency, 0),
                currency,
                int(time.time()),
            )
        return self._page(
            "balance.html",
            session,
            available=available,
            pending=pending,
            currencies=currencies,
            currency=currency,
            chart=chart,
            transactions=transactions[:PAGE_SIZE],
        )

    async def _balance_transactions(self, session: SignedIn) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        starting_after = ""
        for _ in range(BALANCE_TRANSACTIONS_PAGES):
            listed = await ask(
                self._stubs.wallet.ListBalanceTransactions,
                wallet_pb2.ListBalanceTransactionsRequest(limit=100, starting_after=starting_after),
                session,
            )
            found.extend(stripe_json(listed)["data"])
            if not listed.has_more:
                break
            starting_after = listed.data[-1].id
        return found

    async def payout(self, request: web.Request, session: SignedIn) -> web.StreamResponse:
        payout_id = request.match_info["id"]
        payout = await ask(
            self._stubs.payouts.GetPayout, payout_pb2.GetPayoutRequest(id=payout_id), session
        )
        # What an automatic payout paid out; a manual one's own rows (the `payout` filter is
        # for automatic payouts only, as Stripe's).
        wanted = (
            wallet_pb2.ListBalanceTransactionsRequest(payout=payout_id, limit=100)
            if payout.automatic
            else wallet_pb2.ListBalanceTransactionsRequest(source=payout_id, limit=100)
        )
        transactions = await ask(self._stubs.wallet.ListBalanceTransactions, wanted, session)
        return self._page(
            "payout.html",
            session,
            payout=stripe_json(payout),
            transactions=stripe_json(transactions)["data"],
        )

    async def webhook(self, request: web.Request, session: SignedIn) -> web.StreamResponse:
        endpoint_id = request.match_info["id"]
        endpoint, deliveries = await ask_all(
            session,
            (
                self._stubs.events.GetWebhookEndpoint,
                event_pb2.GetWebhookEndpointRequest(id=endpoint_id),
            ),
            (
                self._stubs.events.ListDeliveries,
                event_pb2.ListDeliveriesRequest(
                    webhook_endpoint=endpoint_id,
                    limit=PAGE_SIZE,
                    starting_after=request.query.get("starting_after", ""),
                ),
            ),
        )
        shown = stripe_json(endpoint)
        shown.pop("secret", None)
        rendered = stripe_json(deliveries)
        return self._page(
            "webhook.html",
            session,
            endpoint=shown,
            deliveries=rendered["data"],
            next_page=_next_page(request, rendered["data"]) if rendered["has_more"] else "",
        )

    # -- the fraud review queue (operators) -----------------------------------------------------

    async def review(self, request: web.Request, session: SignedIn) -> web.StreamResponse:
        return await self._review_page(request, session, error="", status=200)

    async def _review_page(
        self, request: web.Request, session: SignedIn, *, error: str, status: int
    ) -> web.StreamResponse:
        if not session.operator:
            return self._no_such_page(session)
        review = await ask(
            self._stubs.fraud.GetReview,
            fraud_pb2.GetReviewRequest(id=request.match_info["id"]),
            session,
        )
        return self._page(
            "review.html",
            session,
            status=status,
            review=stripe_json(review),
            review_key=secrets.token_urlsafe(16),
            closed=request.query.get("closed", ""),
            error=error,
        )

    async def close_review(self, request: web.Request, session: SignedIn) -> web.StreamResponse:
        """Approve (the payment is charged) or reject (canceled) a review, with a note."""
        if not session.operator:
            return self._no_such_page(session)
        review_id = request.match_info["id"]
        form = await request.post()
        decision = str(form.get("decision", ""))
        note = str(form.get("note", "")).strip()
        closing: dict[str, tuple[Any, Any]] = {
            "approve": (self._stubs.fraud.ApproveReview, fraud_pb2.ApproveReviewRequest),
            "reject": (self._stubs.fraud.RejectReview, fraud_pb2.RejectReviewRequest),
        }
        if decision not in closing:
            problem = "Choose Approve or Reject."
            return await self._review_page(request, session, error=problem, status=400)
        method, message = closing[decision]
        # The form's own key: submitting it twice (a double click, a reload) closes it once.
        key = str(form.get("review_key", "")) or secrets.token_urlsafe(16)
        try:
            closed = await ask(
                method,
                message(id=review_id, note=note),
                session,
                ("idempotency-key", f"dashboard-review-{decision}-{key}"),
            )
        except aio.AioRpcError as error:
            refused = _refusal(error, request)
            return await self._review_page(request, session, error=refused, status=400)
        status = stripe_json(closed)["status"]
        raise web.HTTPSeeOther(f"/dashboard/reviews/{review_id}?closed={status}")

    # -- rendering ------------------------------------------------------------------------------

    def _no_such_page(self, session: SignedIn) -> web.Response:
        return self._page("error.html", session, status=404, message="No such page.")

    def _page(
        self, template: str, session: SignedIn | None, status: int = 200, **context: Any
    ) -> web.Response:
        navigation = [
            listing
            for listing in LISTINGS
            if session is not None and listing.operator == session.operator
        ]
        return page(
            self._templates,
            template,
            status=status,
            session=session,
            navigation=navigation,
            merchant_pages=session is not None
            and (not session.operator or bool(session.merchant_id)),
            **context,
        )

    def _error(self, session: SignedIn, error: EdgeError) -> web.Response:
        return self._page("error.html", session, status=error.status, message=error.message)


def ask(method: Any, request: Message, session: SignedIn, *metadata: tuple[str, str]) -> Any:
    """A call of paycore with the session's credentials (and `metadata`), under a deadline."""
    return method(request, metadata=(*session.metadata(), *metadata), timeout=CALL_TIMEOUT_SECONDS)


async def optional(method: Any, request: Message, session: SignedIn) -> Any:
    """`ask`'s answer, or None for a restricted key without the call's scope (or an object no
    longer found): what a page shows beside its subject (a payment's card, its disputes), which
    the page shows the rest without."""
    try:
        return await ask(method, request, session)
    except aio.AioRpcError as error:
        if error.code() in (StatusCode.PERMISSION_DENIED, StatusCode.NOT_FOUND):
            return None
        raise


async def ask_all(session: SignedIn, *calls: tuple[Any, Message]) -> list[Any]:
    """The answers of `calls` ((method, request) each, asked as `ask` does), asked at once."""
    return await asyncio.gather(*(ask(method, request, session) for method, request in calls))


def _cursor(query: dict[str, str]) -> dict[str, str]:
    after = query.get("starting_after", "")
    return {"starting_after": after} if after else {}


def _first_page(request: web.Request) -> str:
    """The list's first page as filtered (and searched): its query without the cursor."""
    query = {name: value for name, value in request.query.items() if name != "starting_after"}
    return f"{request.path}?{urlencode(query)}" if query else request.path


def _next_page(request: web.Request, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    query = {name: value for name, value in request.query.items() if name != "starting_after"}
    query["starting_after"] = rows[-1]["id"]
    return f"{request.path}?{urlencode(query)}"


def _refusal(error: aio.AioRpcError, request: web.Request) -> str:
    """What a form's refused call tells the user on the form's page. A sign-in that has lapsed
    (UNAUTHENTICATED) is raised on: `signed_in` sends the browser to sign in again."""
    if error.code() is StatusCode.UNAUTHENTICATED:
        raise error
    return from_rpc_error(error, request.path).message


def _minor_units(text: str, currency: str) -> int:
    """A refund form's amount in the currency's major units ("12.50"); "" for the whole."""
    text = text.strip()
    if not text:
        return 0
    if currency not in CURRENCY_EXPONENTS:
        raise ValueError(f"{currency!r} is not a currency")
    if not MAJOR_UNITS.fullmatch(text):
        raise ValueError(f"{text[:40]!r} is not an amount")
    exponent = currency_exponent(currency)
    value = Decimal(text) * (10**exponent)
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} has more decimals than {currency.upper()} has ({exponent}).")
    if value <= 0:
        raise ValueError(f"{text!r} is not a positive amount of {currency.upper()}")
    if value > amount_max(currency):
        raise ValueError(f"{text!r} is more than any {currency.upper()} charge")
    return int(value)


def _header_safe(value: str) -> bool:
    """Whether `value` can travel in a gRPC header, as every key and id does: printable ASCII."""
    return value.isascii() and value.isprintable()


def _same_origin(request: web.Request) -> None:
    """Browsers send Origin on every POST: one from elsewhere is refused (the CSRF token is the
    other half; the cookie's SameSite=Strict the third)."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise web.HTTPForbidden(text="Cross-origin form refused")
