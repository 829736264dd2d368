"""A subscription paid with an Apple Pay / Google Pay card renews after the wallet token's
cryptogram expired: the first invoice's charge is authenticated by the cryptogram, the
renewals go merchant-initiated on the same network token (as at Stripe)."""

from __future__ import annotations

import pytest
from paycore.config import Settings
from paycore.v1 import subscription_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import fee, good_card, open_shop
from tests.payment.wallets import (
    held_cryptogram,
    payin_with_cryptogram_ttl,
    wait_until_cryptogram_expired,
    wallet_card,
    wallet_token,
)
from tests.subscription.support import JAN_31_2026, Billed

# Long enough for the first invoice's charge right after the card is made, short to wait out.
CRYPTOGRAM_TTL_SECONDS = 3
MAR_1_2026 = JAN_31_2026 + 29 * 86_400  # one renewal due (2026-02-28)


@pytest.mark.parametrize("wallet", ["apple_pay", "google_pay"])
async def test_a_subscription_paid_by_a_wallet_card_renews_after_the_cryptogram_expired(
    migrated: Settings, psp: PspSimulator, wallet: str
) -> None:
    async with payin_with_cryptogram_ttl(migrated, psp, CRYPTOGRAM_TTL_SECONDS) as payin:
        shop = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
        try:
            billed = await Billed(payin, shop).setup(good_card(), unit_amount=2000)
            # The subscription pays with a wallet card of the same customer, not setup's card.
            token = await wallet_token(psp, wallet)
            billed.card = (await wallet_card(shop, token, billed.customer)).id
            held = await held_cryptogram(payin, billed.card)
            subscription = await billed.subscribe()
            await wait_until_cryptogram_expired(payin, held)

            await billed.advance(MAR_1_2026)

            invoices = await billed.invoices(subscription.id)
            assert [invoice.status for invoice in invoices] == [
                subscription_pb2.INVOICE_STATUS_PAID
            ] * 2, invoices
            assert [invoice.amount_paid for invoice in invoices] == [2000, 2000]
            renewed = await billed.subscription(subscription.id)
            assert renewed.status == subscription_pb2.SUBSCRIPTION_STATUS_ACTIVE
            assert (await shop.balance())[1] == {"usd": 2 * (2000 - fee(2000))}
            await shop.assert_books_balance()
        finally:
            await shop.close()
