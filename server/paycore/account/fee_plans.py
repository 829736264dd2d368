"""Fee plans: what paycore keeps of a merchant's payments; the one place fees are computed.

A fee plan is a percentage in basis points plus a fixed amount in minor units of the charge's
currency (default 2.9% + 30). Rounding rule: the percentage part is rounded half up to the
minor unit (0.5 -> 1), in integers, so zero- and three-decimal currencies round the same way;
the fee never exceeds the amount. Refunds do not return the fee (as at Stripe).
"""

from __future__ import annotations

from dataclasses import dataclass

from paycore.storage.raw import driver_of
from paycore.storage.schema import fee_plans
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

_PLAN = "SELECT percent_basis_points, fixed_amount FROM fee_plans WHERE merchant_id = $1"
BASIS_POINTS = 10_000
FIXED_AMOUNT_MAX = 100_000


@dataclass(frozen=True)
class FeePlan:
    percent_basis_points: int = 290
    fixed_amount: int = 30

    def fee_for(self, amount: int) -> int:
        percentage = (amount * self.percent_basis_points * 2 + BASIS_POINTS) // (2 * BASIS_POINTS)
        return min(amount, percentage + self.fixed_amount)


DEFAULT_PLAN = FeePlan()


async def stored_plan(connection: AsyncConnection, merchant_id: str) -> FeePlan | None:
    """The merchant's own plan; None while it pays the default."""
    driver = await driver_of(connection)  # every captured payment reads it: asyncpg
    row = await driver.fetchrow(_PLAN, merchant_id)
    return None if row is None else FeePlan(row["percent_basis_points"], row["fixed_amount"])


async def plan_of(connection: AsyncConnection, merchant_id: str) -> FeePlan:
    return await stored_plan(connection, merchant_id) or DEFAULT_PLAN


async def save_plan(connection: AsyncConnection, merchant_id: str, plan: FeePlan) -> None:
    statement = insert(fee_plans).values(
        merchant_id=merchant_id,
        percent_basis_points=plan.percent_basis_points,
        fixed_amount=plan.fixed_amount,
    )
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[fee_plans.c.merchant_id],
            set_={
                "percent_basis_points": statement.excluded.percent_basis_points,
                "fixed_amount": statement.excluded.fixed_amount,
                "created_at": func.now(),
            },
        )
    )
