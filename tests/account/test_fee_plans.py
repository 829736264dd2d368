"""Fee plans: the default, an operator's change, who may read and change them, and a payment
paying the changed plan."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore
from paycore.v1 import account_pb2

from tests.helpers import MerchantFixture, rich_error
from tests.payment.shop import Shop, good_card


async def test_a_merchant_pays_the_default_until_an_operator_sets_its_plan(
    admin: Paycore, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    default = await merchant.client.accounts.GetFeePlan(
        account_pb2.GetFeePlanRequest(merchant=merchant_id)
    )
    assert (default.percent_basis_points, default.fixed_amount, default.default) == (290, 30, True)

    updated = await admin.accounts.UpdateFeePlan(
        account_pb2.UpdateFeePlanRequest(
            merchant=merchant_id, percent_basis_points=150, fixed_amount=10
        )
    )
    read = await merchant.client.accounts.GetFeePlan(
        account_pb2.GetFeePlanRequest(merchant=merchant_id)
    )

    assert updated == read
    assert (read.percent_basis_points, read.fixed_amount, read.default) == (150, 10, False)


async def test_only_operators_change_plans_and_merchants_read_only_their_own(
    merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    with pytest.raises(aio.AioRpcError) as changed:
        await merchant.client.accounts.UpdateFeePlan(
            account_pb2.UpdateFeePlanRequest(
                merchant=merchant.merchant.id, percent_basis_points=0, fixed_amount=0
            )
        )
    with pytest.raises(aio.AioRpcError) as read:
        await merchant.client.accounts.GetFeePlan(
            account_pb2.GetFeePlanRequest(merchant=other_merchant.merchant.id)
        )

    assert changed.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert read.value.code() == grpc.StatusCode.NOT_FOUND
    assert rich_error(read.value).metadata["param"] == "merchant"


@pytest.mark.parametrize(
    ("field", "value"),
    [("percent_basis_points", -1), ("percent_basis_points", 10_001), ("fixed_amount", -5)],
)
async def test_a_plan_out_of_bounds_is_refused_and_changes_nothing(
    admin: Paycore, merchant: MerchantFixture, field: str, value: int
) -> None:
    request = account_pb2.UpdateFeePlanRequest(
        merchant=merchant.merchant.id, percent_basis_points=100, fixed_amount=5
    )
    setattr(request, field, value)

    with pytest.raises(aio.AioRpcError) as raised:
        await admin.accounts.UpdateFeePlan(request)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).metadata["param"] == field
    plan = await merchant.client.accounts.GetFeePlan(
        account_pb2.GetFeePlanRequest(merchant=merchant.merchant.id)
    )
    assert plan.default


async def test_a_payment_pays_the_merchants_plan_rounded_half_up(shop: Shop) -> None:
    await shop.operator.accounts.UpdateFeePlan(
        account_pb2.UpdateFeePlanRequest(merchant=shop.id, percent_basis_points=125, fixed_amount=7)
    )

    await shop.pay(good_card(), 1234)  # 1.25 % of 1234 = 15.425 -> 15, + 7
    await shop.pay(good_card(), 1000, currency="jpy")  # 12.5 -> 13 (half up), + 7

    assert (await shop.balance())[1] == {"usd": 1234 - 22, "jpy": 1000 - 20}
    await shop.assert_books_balance("usd")
    await shop.assert_books_balance("jpy")
