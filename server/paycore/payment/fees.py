"""What paycore charges a merchant for a payment: the one place fees are computed.

A fee plan is a percentage in basis points plus a fixed amount in minor units of the charge's
currency (default 2.9% + 30). Rounding rule: the percentage part is rounded half up to the
minor unit (0.5 -> 1), in integers, so zero- and three-decimal currencies round the same way;
the fee never exceeds the amount. Refunds do not return the fee (as at Stripe).
"""

from __future__ import annotations

from dataclasses import dataclass

from paycore.storage.schema import fee_plans
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class FeePlan:
    percent_basis_points: int = 290
    fixed_amount: int = 30

    def fee_for(self, amount: int) -> int:
        percentage = (amount * self.percent_basis_points * 2 + BASIS_POINTS) // (2 * BASIS_POINTS)
        return min(amount, percentage + self.fixed_amount)


DEFAULT_PLAN = FeePlan()


async def plan_of(connection: AsyncConnection, merchant_id: str) -> FeePlan:
    row = (
        await connection.execute(
            select(fee_plans.c.percent_basis_points, fee_plans.c.fixed_amount).where(
                fee_plans.c.merchant_id == merchant_id
            )
        )
    ).one_or_none()
    return DEFAULT_PLAN if row is None else FeePlan(row.percent_basis_points, row.fixed_amount)
