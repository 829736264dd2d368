"""3-D Secure at the simulator: which charges and setups the buyer must authenticate, the
authentication they answer on the simulator's page, and what a later charge or setup that
names it may do.

A card of `AUTHENTICATING_CARDS` (Stripe's 4000002500003155, 4000002760003184 and its 3-D
Secure cards 4000000000003220 and 4000000000003063):

- 4000002500003155 that the merchant set up before with an authentication that succeeded
  (`card_setups`): no authentication, on-session or off ("no further authentication is
  needed" for subsequent payments, Stripe's test card says);
- otherwise on-session (a charge without `off_session`, or a setup) and naming no
  authentication: a new authentication, pending, is made and the operation answers
  `requires_action` with it ({id, status, url}); nothing is charged, no charge is recorded;
- otherwise off-session, or a charge with `error_on_requires_action`: declined
  `authentication_required`;
- naming an authentication (`authentication`): the same merchant's, of the same card, asked for
  by the same kind of operation (and for a charge the same amount and currency), else 400
  `authentication_invalid`; still pending, the operation answers `requires_action` again;
  failed, it is declined `authentication_failure`; succeeded, it goes on as any card's (and a
  setup, or a charge with `setup_future_usage`, sets the card up as above). Either
  way the authentication is then used: one authentication lets exactly one charge or setup
  through (another key naming it is refused, 400 `authentication_used`, stored under its key),
  so a second confirmation can never charge it twice.

The buyer answers on `GET /authenticate/{id}` (a page with "Complete" and "Fail" buttons that
then sends them to the operation's `return_url`, `redirect_status=succeeded|failed` added to its
query), tests with `POST /v1/authentications/{id}
{"outcome": "complete" | "fail"}`. An answer is final: the same answer again is a replay, the
other one 409 `authentication_answered`. Each answer is a line of the authentications feed
(`GET /v1/authentication_events?after=N`, as the disputes feed), which paycore reads to move
the intent or setup on without waiting for the buyer's return.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from paycore.ids import random_base62
from paycore.tools.psp.cards import AUTHENTICATING_CARDS, CARD_AUTHENTICATION_REQUIRED
from paycore.tools.psp.requests import Authenticating, PspFailure
from paycore.tools.psp.store import Authentication, Store

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
REQUIRES_ACTION = "requires_action"
AUTHENTICATION_REQUIRED = "authentication_required"
AUTHENTICATION_FAILURE = "authentication_failure"
MESSAGES = {
    AUTHENTICATION_REQUIRED: "Your card was declined. This transaction requires authentication.",
    AUTHENTICATION_FAILURE: "The card's authentication failed.",
}
PAGE_PATH = "/authenticate/"
ID_LENGTH = 24


@dataclass(frozen=True, slots=True)
class Asked:
    """A charge or setup as the authentication rules see it."""

    operation: str
    """"charge" | "setup"."""
    idempotency_key: str
    merchant: str
    reference: str
    card_number: str
    card_fingerprint: str
    amount: int
    currency: str
    request: Authenticating


@dataclass(frozen=True, slots=True)
class Gate:
    """What the rules decided: go on (neither set), decline with `decline_code`, or ask the
    buyer to authenticate `pending` first."""

    decline_code: str = ""
    pending: Authentication | None = None


GO_ON = Gate()


def gate(store: Store, asked: Asked, now_ms: int) -> Gate:
    """Runs inside the operation's store transaction."""
    if asked.card_number not in AUTHENTICATING_CARDS:
        return GO_ON
    if asked.request.authentication:
        return _named(store, asked)
    if asked.card_number == CARD_AUTHENTICATION_REQUIRED and store.card_set_up(
        asked.merchant, asked.card_fingerprint
    ):
        return GO_ON
    if asked.request.off_session or asked.request.error_on_requires_action:
        return Gate(AUTHENTICATION_REQUIRED)
    authentication = Authentication(
        id="auth_" + random_base62(ID_LENGTH),
        merchant=asked.merchant,
        operation=asked.operation,
        reference=asked.reference,
        card_fingerprint=asked.card_fingerprint,
        amount=asked.amount,
        currency=asked.currency,
        status=PENDING,
        return_url=asked.request.return_url,
        used_by="",
        created_ms=now_ms,
    )
    store.insert_authentication(authentication)
    return Gate(pending=authentication)


def _named(store: Store, asked: Asked) -> Gate:
    found = store.authentication(asked.request.authentication)
    same = found is not None and (
        found.merchant,
        found.operation,
        found.card_fingerprint,
        found.amount,
        found.currency,
    ) == (asked.merchant, asked.operation, asked.card_fingerprint, asked.amount, asked.currency)
    if found is None or not same:
        raise PspFailure(
            400,
            "authentication_invalid",
            f"authentication is no authentication of this card for this {asked.operation}",
            param="authentication",
        )
    if found.status == PENDING:
        return Gate(pending=found)
    if found.used_by:
        raise PspFailure(
            400,
            "authentication_used",
            f"authentication {found.id} was used by another operation",
            param="authentication",
            stored=True,
        )
    store.use_authentication(found.id, asked.idempotency_key)
    if found.status == FAILED:
        return Gate(AUTHENTICATION_FAILURE)
    if asked.operation == "setup" or asked.request.setup_future_usage:
        store.set_up_card(asked.merchant, asked.card_fingerprint, found.id)
    return GO_ON


def authentication_body(authentication: Authentication, page_base: str) -> dict[str, Any]:
    """{id, object, status, url, return_url}: `url` the page the buyer answers on."""
    return {
        "id": authentication.id,
        "object": "authentication",
        "status": authentication.status,
        "url": page_base.rstrip("/") + PAGE_PATH + authentication.id,
        "return_url": authentication.return_url,
    }


def answer(store: Store, authentication_id: str, completed: bool, now_ms: int) -> Authentication:
    """The buyer's answer, final (the same one again is a replay), and the next line of the
    authentications feed (`feed`), in one store transaction."""
    wanted = SUCCEEDED if completed else FAILED
    with store.transaction():
        found = store.authentication(authentication_id)
        if found is None:
            raise PspFailure(404, "not_found", f"no authentication {authentication_id}", param="id")
        if found.status == PENDING:
            store.answer_authentication(found.id, wanted)
            store.record_authentication_answer(found.id, now_ms)
        elif found.status != wanted:
            raise PspFailure(
                409, "authentication_answered", f"authentication {found.id} is {found.status}"
            )
        answered = store.authentication(found.id)
    if answered is None:
        raise PspFailure(404, "not_found", f"no authentication {authentication_id}", param="id")
    return answered


def feed(store: Store, after: int, limit: int, page_base: str) -> str:
    """`GET /v1/authentication_events`: every answered authentication once, in the order the
    buyers answered ({sequence, type, time, authentication}), as the disputes feed lists
    disputes: the PSP's news that paycore reads, so that an intent goes on when its buyer
    authenticated even if they never come back to the return_url."""
    found = store.authentication_events(after, limit + 1)
    events = [
        {
            "sequence": sequence,
            "type": f"authentication.{authentication.status}",
            "time": time_ms // 1000,
            "authentication": {
                **authentication_body(authentication, page_base),
                "merchant": authentication.merchant,
                "operation": authentication.operation,
                "reference": authentication.reference,
            },
        }
        for sequence, time_ms, authentication in found[:limit]
    ]
    return json.dumps({"data": events, "has_more": len(found) > limit}, separators=(",", ":"))


def with_outcome(authentication: Authentication) -> str:
    """The operation's return_url with `redirect_status` (the buyer's answer: succeeded or
    failed, as Stripe's redirect names it) added to its query, the rest of it as given."""
    parts = urlsplit(authentication.return_url)
    added = urlencode({"redirect_status": authentication.status})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))


def page(authentication: Authentication) -> str:
    """The buyer's page: what they authenticate, and the two buttons."""
    amount = f"{authentication.amount} {authentication.currency.upper()}".strip()
    action = html.escape(PAGE_PATH + authentication.id)
    if authentication.status != PENDING:
        buttons = f"<p id='status'>{html.escape(authentication.status)}</p>"
    else:
        buttons = "".join(
            f"<form method='post' action='{action}'>"
            f"<input type='hidden' name='outcome' value='{value}'>"
            f"<button type='submit' id='{value}'>{label}</button></form>"
            for value, label in (("complete", "Complete"), ("fail", "Fail"))
        )
    what = "a card set up" if authentication.operation == "setup" else f"a payment of {amount}"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<title>3-D Secure authentication (test)</title></head><body>"
        f"<h1>Authenticate {html.escape(what)}</h1>"
        f"<p>Test authentication {html.escape(authentication.id)} for"
        f" {html.escape(authentication.reference)}.</p>{buttons}</body></html>"
    )


def as_json(authentication: Authentication, page_base: str) -> str:
    return json.dumps(authentication_body(authentication, page_base), separators=(",", ":"))
