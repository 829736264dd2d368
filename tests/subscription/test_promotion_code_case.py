"""Promotion codes match regardless of case, as Stripe's: ListPromotionCodes' `code` finds
WELCOME20 from welcome20, and an active code differing from another active one only by case is
refused at creation naming `code` (and at reactivation naming `active`), since a customer
typing either would not know which one they redeem."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.v1 import subscription_pb2

from tests.helpers import MerchantFixture, rich_error


async def _coupon(merchant: MerchantFixture) -> subscription_pb2.Coupon:
    created: subscription_pb2.Coupon = await merchant.client.subscriptions.CreateCoupon(
        subscription_pb2.CreateCouponRequest(percent_off="20", duration="forever")
    )
    return created


async def test_the_code_filter_matches_regardless_of_case(merchant: MerchantFixture) -> None:
    api = merchant.client.subscriptions
    off = await _coupon(merchant)
    promo = await api.CreatePromotionCode(
        subscription_pb2.CreatePromotionCodeRequest(coupon=off.id, code="WeLcOmE20")
    )

    for typed in ("welcome20", "WELCOME20", "WeLcOmE20"):
        listed = await api.ListPromotionCodes(
            subscription_pb2.ListPromotionCodesRequest(code=typed)
        )
        assert [each.id for each in listed.data] == [promo.id], typed
    assert promo.code == "WeLcOmE20"  # kept as the merchant wrote it


async def test_two_active_codes_differing_only_by_case_are_refused_naming_code(
    merchant: MerchantFixture,
) -> None:
    api = merchant.client.subscriptions
    off = await _coupon(merchant)
    first = await api.CreatePromotionCode(
        subscription_pb2.CreatePromotionCodeRequest(coupon=off.id, code="SUMMER")
    )

    with pytest.raises(aio.AioRpcError) as raised:
        await api.CreatePromotionCode(
            subscription_pb2.CreatePromotionCodeRequest(coupon=off.id, code="summer")
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).param == "code"
    listed = await api.ListPromotionCodes(subscription_pb2.ListPromotionCodesRequest(code="SUMMER"))
    assert [each.id for each in listed.data] == [first.id]  # nothing created


async def test_an_inactive_code_leaves_its_case_variant_free_but_not_reactivated_beside_it(
    merchant: MerchantFixture,
) -> None:
    """Stripe's rule is among active codes: once SPRING is inactive, Spring may be created;
    SPRING then cannot become active again beside it (naming `active`)."""
    api = merchant.client.subscriptions
    off = await _coupon(merchant)
    old = await api.CreatePromotionCode(
        subscription_pb2.CreatePromotionCodeRequest(coupon=off.id, code="SPRING")
    )
    await api.UpdatePromotionCode(
        subscription_pb2.UpdatePromotionCodeRequest(id=old.id, active=False)
    )

    new = await api.CreatePromotionCode(
        subscription_pb2.CreatePromotionCodeRequest(coupon=off.id, code="Spring")
    )
    with pytest.raises(aio.AioRpcError) as raised:
        await api.UpdatePromotionCode(
            subscription_pb2.UpdatePromotionCodeRequest(id=old.id, active=True)
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).param == "active"
    again = await api.GetPromotionCode(subscription_pb2.GetPromotionCodeRequest(id=old.id))
    assert not again.active and new.active
