"""The dashboard's pages whose rows the browser tests (tests/web) cannot easily fill, rendered
from real messages as the edge renders them (stripe_json): a paid payout and its balance
transactions, an endpoint's delivery log, the operators' queues. Values are escaped."""

from __future__ import annotations

from typing import Any

from paycore.edge.dashboard.listings import LISTINGS_BY_SLUG
from paycore.edge.dashboard.sessions import SignedIn
from paycore.edge.web import templates
from paycore.stripe_json import stripe_json
from paycore.v1 import event_pb2, fraud_pb2, payout_pb2, reconciliation_pb2, wallet_pb2

MERCHANT = SignedIn("sk_test_x", operator=False, merchant_id="", csrf="c", expires_at=0)
OPERATOR = SignedIn("admin", operator=True, merchant_id="", csrf="c", expires_at=0)


def render(template: str, session: SignedIn, **context: Any) -> str:
    return (
        templates()
        .get_template(template)
        .render(session=session, navigation=[], merchant_pages=not session.operator, **context)
    )


def test_a_payout_page_lists_its_balance_transactions() -> None:
    payout = stripe_json(
        payout_pb2.Payout(
            id="po_1",
            amount=123456,
            currency="usd",
            status=payout_pb2.PAYOUT_STATUS_PAID,
            destination="ba_1",
            arrival_date=1_800_000_000,
            created=1_799_900_000,
        )
    )
    transaction = stripe_json(
        wallet_pb2.BalanceTransaction(
            id="txn_1",
            amount=-123456,
            net=-123456,
            currency="usd",
            type=wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT,
            status=wallet_pb2.BALANCE_TRANSACTION_STATUS_AVAILABLE,
            source="po_1",
            payout="po_1",
            available_on=1_799_900_000,
            created=1_799_900_000,
        )
    )
    page = render("payout.html", MERCHANT, payout=payout, transactions=[transaction])
    assert "1,234.56 USD" in page and "-1,234.56 USD" in page
    assert "txn_1" in page and "paid" in page and "2027-01-15" in page


def test_an_endpoint_page_shows_its_delivery_log() -> None:
    endpoint = stripe_json(
        event_pb2.WebhookEndpoint(
            id="we_1",
            url="https://shop.example.com/hooks?a=<b>",
            enabled_events=["payment_intent.succeeded"],
        )
    )
    delivery = stripe_json(
        event_pb2.WebhookDelivery(
            id="wd_1",
            event="evt_1",
            event_type="payment_intent.succeeded",
            status=event_pb2.WEBHOOK_DELIVERY_STATUS_FAILED,
            attempt_count=3,
            last_response_status=500,
            last_error="<script>alert(1)</script>",
        )
    )
    page = render("webhook.html", MERCHANT, endpoint=endpoint, deliveries=[delivery], next_page="")
    assert "wd_1" in page and "failed" in page and ">500<" in page
    assert "<script>alert(1)</script>" not in page  # escaped
    assert "&lt;script&gt;" in page and "hooks?a=&lt;b&gt;" in page


def test_the_operators_queues_render_their_rows() -> None:
    review = stripe_json(
        fraud_pb2.Review(
            id="prv_1",
            merchant="acct_1",
            payment="pi_1",
            status=fraud_pb2.REVIEW_STATUS_OPEN,
            amount=5000,
            currency="eur",
            score=91,
        )
    )
    discrepancy = stripe_json(
        reconciliation_pb2.Discrepancy(
            id="disc_1",
            kind=reconciliation_pb2.DISCREPANCY_KIND_MISSING_IN_PAYCORE,
            status=reconciliation_pb2.DISCREPANCY_STATUS_OPEN,
            currency="jpy",
            psp_amount=1200,
            date="2026-12-04",
        )
    )
    for slug, row, shown in [
        ("reviews", review, ["prv_1", "50.00 EUR", "open"]),
        ("discrepancies", discrepancy, ["disc_1", "missing in paycore", "1,200 JPY"]),
    ]:
        listing = LISTINGS_BY_SLUG[slug]
        page = render(
            "list.html",
            OPERATOR,
            listing=listing,
            rows=[row],
            has_more=True,
            filters={},
            search="",
            first_page=f"/dashboard/{slug}",
            next_page=f"/dashboard/{slug}?starting_after={row['id']}",
        )
        for text in shown:
            assert text in page, (slug, text)
        assert 'rel="next"' in page
        assert listing.choices("status")  # the status filter offers the enum's values
