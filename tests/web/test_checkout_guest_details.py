"""A guest's hosted page in Chromium asks for their email (the session's customer_email,
shown read-only, when given) and the name on the card, sent only as the card's billing
details: the complete session shows them as `customer_details`, and a session of
`customer_creation: always` makes the guest a customer of them as it completes."""

from __future__ import annotations

import time

import pytest
from paycore.v1 import checkout_pb2, customer_pb2
from playwright.async_api import Browser, expect

from tests.web.conftest import Storefront
from tests.web.test_checkout_page import new_session, type_card

pytestmark = pytest.mark.timeout(120)


async def test_a_guests_email_and_name_typed_on_the_page_make_their_customer(
    storefront: Storefront, browser: Browser
) -> None:
    session = await new_session(storefront, customer_email="", customer_creation="always")
    page = await browser.new_page()
    await page.goto(session.url)
    await page.get_by_label("Email").fill("not-an-address")
    await page.get_by_label("Name on card").fill("Grace Hopper")
    await type_card(page, "4242 4242 4242 4242")
    await page.get_by_role("button", name="Pay 28.50 USD").click()
    await expect(page.locator("#pay-error")).to_have_text("Your email address is invalid.")
    await page.get_by_label("Email").fill("grace@navy.test")
    await page.get_by_role("button", name="Pay 28.50 USD").click()
    await page.wait_for_url(f"{storefront.site_url}/thanks?session={session.id}")
    await page.close()

    assert await storefront.sweep(time.time()) >= 1
    client = storefront.shop.client
    done = await client.checkout.GetCheckoutSession(
        checkout_pb2.GetCheckoutSessionRequest(id=session.id)
    )
    assert (done.customer_details.email, done.customer_details.name) == (
        "grace@navy.test",
        "Grace Hopper",
    )
    customer = await client.customers.GetCustomer(customer_pb2.GetCustomerRequest(id=done.customer))
    assert (customer.email, customer.name) == ("grace@navy.test", "Grace Hopper")


async def test_a_given_customer_email_is_shown_read_only_and_a_customers_page_asks_none(
    storefront: Storefront, browser: Browser
) -> None:
    guest = await new_session(storefront)
    page = await browser.new_page()
    await page.goto(guest.url)
    await expect(page.get_by_label("Email")).to_have_value("buyer@example.com")
    assert await page.get_by_label("Email").get_attribute("readonly") is not None
    customer = await storefront.shop.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(email="known@example.com", name="Known")
    )
    known = await new_session(storefront, customer=customer.id, customer_email="")
    await page.goto(known.url)
    await expect(page.get_by_label("Card number")).to_be_visible()
    assert await page.get_by_label("Email").count() == 0
    await page.close()
