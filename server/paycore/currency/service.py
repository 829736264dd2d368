"""What the CurrencyService and the services that take amounts ask of currencies: rates to
read, settlement currencies to read and set, and the checks a request passes before anything
changes: an amount's rule (`rules`, a pure function of the request, checked first) and a
conversion's rate (read, checked after the idempotency key's lookup, so that a retry of a
request that went through replays its answer even once the rate has gone stale)."""

from __future__ import annotations

from paycore.currency.conversion import convert_down
from paycore.currency.crossing import Crossings
from paycore.currency.models import ExchangeRate, PairCursor, RateView, Settlement
from paycore.currency.rates import Rates
from paycore.currency.rules import CurrencyRules, Purpose
from paycore.currency.settlement import Conversions
from paycore.payout.models import MERCHANT
from paycore.storage import Shards
from paycore.storage.reads import Page
from sqlalchemy.ext.asyncio import AsyncConnection


class Currencies:
    def __init__(
        self,
        shards: Shards,
        conversions: Conversions,
        crossings: Crossings,
        rules: CurrencyRules,
    ) -> None:
        self._shards = shards
        self.conversions = conversions
        self._crossings = crossings
        self.rules = rules

    @property
    def rates(self) -> Rates:
        return self.conversions.rates

    async def get_rate(self, merchant_id: str, base: str, quote: str) -> RateView:
        return await self.rates.get(merchant_id, base, quote)

    async def list_rates(self, merchant_id: str, base: str, cursor: PairCursor) -> Page[RateView]:
        return await self.rates.list(merchant_id, base, cursor)

    async def settlement(self, merchant_id: str, account: str) -> Settlement:
        async with self._shards.read(merchant_id) as connection:
            return await self.conversions.settlement(connection, merchant_id, account)

    async def update_settlement(
        self, connection: AsyncConnection, merchant_id: str, settlement: Settlement
    ) -> Settlement:
        """Sets the currencies (from now on; what was booked stays as it was). A pair without a
        rate is refused when a charge would need it, not here: rates may come later."""
        return await self.conversions.save_settlement(connection, merchant_id, settlement)

    async def check_conversion(
        self,
        merchant_id: str,
        account: str,
        currency: str,
        param: str,
        charged: tuple[int, str] | None = None,
    ) -> None:
        """A new charge in `currency` to `account`'s balance: when it would be converted, a
        fresh rate (CURRENCY_PAIR_UNSUPPORTED or EXCHANGE_RATE_STALE naming `param`) and, for
        `charged` (its amount and the field that names it), an amount that converts to at least
        the settlement currency's least charge (AMOUNT_TOO_SMALL naming that field). What it
        reads changes: callers run it after the idempotency key's lookup, for a new key only
        (docs/currencies.md, "The order of the checks")."""
        async with self._shards.read(merchant_id) as connection:
            rate = await self.conversions.check(connection, merchant_id, account, currency, param)
        if charged is not None:
            self._check_converted(rate, *charged)

    async def check_destination(
        self, merchant_id: str, seller: str, currency: str, param: str
    ) -> None:
        """A destination charge in `currency` to `seller`: when its share (in the currency the
        merchant books the charge in) would cross into the seller's settlement currency, a
        fresh rate (CURRENCY_PAIR_UNSUPPORTED or EXCHANGE_RATE_STALE naming `param`). Run as
        `check_conversion`, after the idempotency key's lookup."""
        async with self._shards.read(merchant_id) as connection:
            await self.check_destination_in(connection, merchant_id, seller, currency, param)

    async def check_destination_in(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        seller: str,
        currency: str,
        param: str,
    ) -> None:
        """`check_destination` on `connection` (UpdatePaymentIntent's, which holds the lock
        of the intent it changes)."""
        settlement = await self.conversions.settlement(connection, merchant_id, MERCHANT)
        booked_in = settlement.target_for(currency) or currency
        await self._crossings.check(connection, merchant_id, seller, booked_in, param)

    async def check_charge_in(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        account: str,
        amount: int,
        currency: str,
        params: tuple[str, str],
    ) -> None:
        """A charge of `amount` `currency` to `account`'s balance: the currency's rule (naming
        params[0], the amount) and `check_conversion` (naming params[1], the currency), on
        `connection` (a transaction on the merchant's shard that holds the lock of what is
        charged: UpdatePaymentIntent checks the intent it writes)."""
        self.rules.check(params[0], amount, currency, Purpose.CHARGE)
        rate = await self.conversions.check(connection, merchant_id, account, currency, params[1])
        self._check_converted(rate, amount, params[0])

    def _check_converted(self, rate: ExchangeRate | None, amount: int, param: str) -> None:
        """A new charge of `amount` converted at `rate` (None: not converted) makes at least
        the settlement currency's least charge."""
        if rate is not None:
            converted = convert_down(amount, rate.rate, rate.base, rate.quote).amount
            self.rules.check_converted(param, amount, rate.base, rate.quote, converted)

    async def check_capture(self, merchant_id: str, amount: int | None, currency: str) -> None:
        """A capture of a payment intent in `currency` (`amount`: a part, or None for all):
        an amount the currency's rule allows, and a fresh rate when it would be converted
        (naming `id`, the intent)."""
        if amount is not None:
            self.rules.check("amount_to_capture", amount, currency, Purpose.AMOUNT)
        async with self._shards.read(merchant_id) as connection:
            await self.conversions.check(connection, merchant_id, "", currency, "id")

    async def check_refund(
        self, merchant_id: str, charge: str, amount: int | None, charge_param: str
    ) -> bool:
        """A refund of `charge` (pi_ or pord_, which the request named by `charge_param`): when
        the charge was converted, a fresh rate and an amount the presentment currency's rule
        allows. Whether it was converted. A stale rate names `amount`, or when none was given
        (a refund of everything) `charge_param`."""
        param = "amount" if amount is not None else charge_param
        async with self._shards.read(merchant_id) as connection:
            presentment = await self.conversions.check_refund(
                connection, merchant_id, charge, param
            )
        if presentment is not None and amount is not None:
            self.rules.check("amount", amount, presentment, Purpose.AMOUNT)
        return presentment is not None

    def check_payout(self, amount: int, currency: str) -> None:
        self.rules.check("amount", amount, currency, Purpose.PAYOUT)
