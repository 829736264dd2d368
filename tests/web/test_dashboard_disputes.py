"""A disputed payment in the dashboard: the buyer's bank took the money back, so its page and
the payments list say it is disputed, its page shows the dispute (reason, status, amount, when
evidence is due) and the dispute's events in its timeline, and it offers no refund form (a
refund of a disputed charge is refused, CHARGE_DISPUTED). An inquiry moves no money and leaves
the payment refundable."""

from __future__ import annotations

import time

import pytest
from paycore.dispute.feed import dispute_feed
from paycore.tools.psp import cards
from paycore.v1 import dispute_pb2, payment_pb2
from playwright.async_api import Browser, expect

from tests.helpers import PspSimulator
from tests.web.conftest import Storefront, screenshot_path
from tests.web.test_dashboard import sign_in

pytestmark = pytest.mark.timeout(120)


async def disputed(storefront: Storefront, psp: PspSimulator, card: str) -> dispute_pb2.Dispute:
    """A payment with the dispute test card `card`, disputed at once, the feed read."""
    await psp.control("faults", {"dispute_delay_seconds": 0})
    intent = await storefront.shop.pay(card, 5000)
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
    job = dispute_feed(storefront.platform.disputes, storefront.platform.shards)
    for engine in storefront.platform.shards.engines:
        while await job.run(engine):
            pass
    found = await storefront.shop.client.disputes.ListDisputes(
        dispute_pb2.ListDisputesRequest(payment_intent=intent.id)
    )
    assert len(found.data) == 1, found
    return found.data[0]


async def test_a_disputed_payment_shows_its_dispute_and_offers_no_refund(
    storefront: Storefront, browser: Browser, psp: PspSimulator
) -> None:
    dispute = await disputed(storefront, psp, cards.CARD_DISPUTE_FRAUDULENT)
    inquiry = await disputed(storefront, psp, cards.CARD_DISPUTE_INQUIRY)
    context = await browser.new_context()
    page = await sign_in(context, storefront, storefront.secret_key)
    table = page.get_by_test_id("payments-table")
    await expect(table.locator("tr", has_text=dispute.payment_intent)).to_contain_text("disputed")

    await page.goto(f"{storefront.edge_url}/dashboard/payments/{dispute.payment_intent}")
    await expect(page.get_by_test_id("status")).to_have_text("disputed")
    disputes = page.get_by_test_id("disputes")
    await expect(disputes).to_contain_text(dispute.id)
    await expect(disputes).to_contain_text("fraudulent")
    await expect(disputes).to_contain_text("needs response")
    await expect(disputes).to_contain_text("50.00 USD")
    timeline = page.get_by_test_id("timeline")
    await expect(timeline).to_contain_text("charge.dispute.created")
    await expect(timeline).to_contain_text("charge.dispute.funds_withdrawn")
    assert await page.locator("form.refund").count() == 0
    await page.screenshot(path=screenshot_path("dashboard-payment-disputed"), full_page=True)

    # The balance page's withdrawal names the dispute, which leads to the payment.
    await page.goto(f"{storefront.edge_url}/dashboard/balance")
    await page.get_by_role("link", name=dispute.id).click()
    await expect(page).to_have_url(
        f"{storefront.edge_url}/dashboard/payments/{dispute.payment_intent}"
    )

    # An inquiry: no money moved, the payment may still be refunded.
    await page.goto(f"{storefront.edge_url}/dashboard/payments/{inquiry.payment_intent}")
    await expect(page.get_by_test_id("status")).to_have_text("succeeded")
    await expect(page.get_by_test_id("disputes")).to_contain_text("warning needs response")
    await expect(page.locator("form.refund")).to_be_visible()
    await context.close()


async def test_a_dispute_or_charge_id_searched_opens_its_payment(
    storefront: Storefront, browser: Browser, psp: PspSimulator
) -> None:
    """The ids a charge.dispute.* webhook names (the dispute's `dp_` and the PSP's `ch_`) find
    the disputed payment, as a `pi_` or `cs_` does: the dashboard has no page of its own for
    either."""
    dispute = await disputed(storefront, psp, cards.CARD_DISPUTE_PRODUCT_NOT_RECEIVED)
    context = await browser.new_context()
    page = await sign_in(context, storefront, storefront.secret_key)
    await expect(page).to_have_url(f"{storefront.edge_url}/dashboard/payments")
    for text in (dispute.id, dispute.charge):
        await page.fill("#q", text)
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(
            f"{storefront.edge_url}/dashboard/payments/{dispute.payment_intent}"
        )
        await page.goto(f"{storefront.edge_url}/dashboard/payments")
    await context.close()


async def test_the_disputes_page_lists_what_needs_a_response_and_leads_to_the_payment(
    storefront: Storefront, browser: Browser, psp: PspSimulator
) -> None:
    """A merchant answers disputes before their evidence is due: the dashboard lists them
    (amount, reason, status, when evidence is due, the payment), filtered by status, each
    leading to its payment. Before, a dispute was found only on its payment's page or by
    searching its id: a merchant had no way to see which disputes were waiting for evidence."""
    dispute = await disputed(storefront, psp, cards.CARD_DISPUTE_FRAUDULENT)
    inquiry = await disputed(storefront, psp, cards.CARD_DISPUTE_INQUIRY)
    context = await browser.new_context()
    page = await sign_in(context, storefront, storefront.secret_key)
    await (
        page.get_by_role("navigation", name="Dashboard")
        .get_by_role("link", name="Disputes", exact=True)
        .click()
    )
    await expect(page).to_have_url(f"{storefront.edge_url}/dashboard/disputes")
    table = page.get_by_test_id("disputes-table")
    row = table.locator("tr", has_text=dispute.id)
    await expect(row).to_contain_text("50.00 USD")
    await expect(row).to_contain_text("fraudulent")
    await expect(row).to_contain_text("needs response")
    due = time.strftime("%Y-%m-%d", time.gmtime(dispute.evidence_details.due_by))
    await expect(row).to_contain_text(due)
    await expect(table.locator("tr", has_text=inquiry.id)).to_contain_text("warning needs response")
    await page.screenshot(path=screenshot_path("dashboard-disputes"), full_page=True)

    await page.select_option("#filter-status", "needs_response")
    await page.get_by_role("button", name="Apply").click()
    await expect(table.locator("tr", has_text=dispute.id)).to_be_visible()
    await expect(table.locator("tr", has_text=inquiry.id)).to_have_count(0)

    await (
        table.locator("tr", has_text=dispute.id)
        .get_by_role("link", name=dispute.payment_intent)
        .click()
    )
    await expect(page).to_have_url(
        f"{storefront.edge_url}/dashboard/payments/{dispute.payment_intent}"
    )
    await context.close()
