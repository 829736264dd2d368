"""Bank accounts (ba_): where the merchant's and its sellers' payouts go, and the destination
the executor sends a payout to (`destination_of`). The account number is kept only sealed by
the card vault (bound to the bank account's row), shown as last4, and compared by a keyed
fingerprint; IBANs and US routing numbers are checked (paycore.payout.banking)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from paycore.account.repository import MerchantRepository, SellerAccountRepository
from paycore.currency.repository import settlement
from paycore.customer.models import ChargeableCard, PaymentMethod
from paycore.customer.repository import PaymentMethodRepository
from paycore.customer.vault import Fingerprinter, Vault
from paycore.errors import ApiError, Reason, not_found
from paycore.ids import Prefix, new_merchant_id
from paycore.invariants import invariant
from paycore.iso import COUNTRY_CURRENCIES
from paycore.payout.balances import Clock
from paycore.payout.banking import INSTANT_COUNTRIES, check_bank_details
from paycore.payout.models import (
    BankAccount,
    BankAccountStatus,
    NewBankAccount,
    NewPayoutCard,
    PayoutCard,
)
from paycore.payout.repository import BankAccountRepository
from paycore.psp.client import PayoutDestination
from paycore.secret import Secret
from paycore.storage import Shards
from paycore.storage.locks import lock_until_commit
from sqlalchemy.ext.asyncio import AsyncConnection


class Cards(Protocol):
    """The merchant's cards (paycore.customer): an instant payout may go to a debit card
    registered as the payee's external account (`BankAccounts.register_card`)."""

    async def card_for_charge(self, merchant_id: str, payment_method_id: str) -> ChargeableCard: ...


EXTERNAL_ACCOUNT_OWN = ("id", "account", "default_for_currency", "metadata")
"""CreateExternalAccount's own params: those of its `external_account` hash are the rest."""


def external_param(error: ApiError) -> ApiError:
    """`error` naming its param inside Stripe's `external_account[...]` hash, by its dotted path
    (`external_account.country`, as every nested field on gRPC; the edge writes
    `external_account[country]`)."""
    if error.param and error.param not in EXTERNAL_ACCOUNT_OWN:
        inside = f"external_account.{error.param}"
        if error.message.startswith(error.param):  # the templates begin with the param
            error.message = inside + error.message[len(error.param) :]
        error.param = inside
    return error


async def require_account(
    connection: AsyncConnection, merchant_id: str, account: str, param: str = "account"
) -> None:
    """NOT_FOUND (naming `param`) unless `account` is "" or one of the merchant's sellers."""
    if account and await SellerAccountRepository(connection).get(merchant_id, account) is None:
        raise not_found("account", account, param=param)


@dataclass(frozen=True, slots=True)
class BankAccounts:
    _shards: Shards
    _vault: Vault
    _fingerprinter: Fingerprinter
    _cards: Cards
    _clock: Clock

    async def create_external(
        self, connection: AsyncConnection, merchant_id: str, new: NewBankAccount
    ) -> BankAccount:
        """Stripe's create of a connected account's external account: `create` for the seller
        (its URL's `id`: NOT_FOUND naming `id`), each field's error naming it as Stripe's hash
        does, `external_account.country` (`external_account[country]` at the edge)."""
        await require_account(connection, merchant_id, new.account, param="id")
        try:
            return await self.create(connection, merchant_id, new)
        except ApiError as error:
            raise external_param(error) from None

    async def create(
        self, connection: AsyncConnection, merchant_id: str, new: NewBankAccount
    ) -> BankAccount:
        await require_account(connection, merchant_id, new.account)
        checked = check_bank_details(new.country, new.routing_number, new.account_number)
        number = checked.number.reveal()
        fingerprint = self._fingerprinter.fingerprint(
            Secret(f"bank:{new.country}:{checked.routing_number}:{number}")
        )
        repository = BankAccountRepository(connection)
        await repository.lock_holder_currency(merchant_id, new.account, new.currency)
        existing = await repository.usable_with_fingerprint(
            merchant_id, new.account, new.currency, fingerprint
        )
        if existing is not None:
            raise ApiError(
                Reason.BANK_ACCOUNT_EXISTS,
                param="account_number",
                holder=f"the seller {new.account}" if new.account else "this account",
                currency=new.currency,
                id=existing.id,
            )
        bank_account_id = new_merchant_id(Prefix.BANK_ACCOUNT, merchant_id)
        # The first of a currency is its default, and so is the replacement of an errored
        # default (after a failed payout): without it, payouts to the default went nowhere.
        default = await repository.default_for(merchant_id, new.account, new.currency)
        first = default is None or default.status is BankAccountStatus.ERRORED
        bank_account = BankAccount(
            id=bank_account_id,
            merchant_id=merchant_id,
            account=new.account,
            country=new.country,
            currency=new.currency,
            account_holder_name=new.account_holder_name,
            account_holder_type=new.account_holder_type,
            bank_name="",
            routing_number=checked.routing_number,
            last4=number[-4:],
            fingerprint=fingerprint,
            status=BankAccountStatus.NEW,
            default_for_currency=first or new.default_for_currency,
            instant_supported=new.country in INSTANT_COUNTRIES,
            created=int(self._clock()),
            metadata=new.metadata,
        )
        sealed = self._vault.seal(checked.number, merchant_id, bank_account_id)
        await repository.insert(bank_account, sealed)
        return bank_account

    async def usable(
        self, connection: AsyncConnection, merchant_id: str, account: str, bank_account_id: str
    ) -> BankAccount:
        """The merchant's (or seller's) bank account named as a destination: NOT_FOUND when it
        is another's, BANK_ACCOUNT_ERRORED after a failed payout."""
        found = await BankAccountRepository(connection).get(merchant_id, bank_account_id)
        if found is None or found.account != account:
            raise not_found("bank_account", bank_account_id, param="destination")
        if found.status is BankAccountStatus.ERRORED:
            raise ApiError(Reason.BANK_ACCOUNT_ERRORED, param="destination", id=found.id)
        return found

    async def default_for(
        self, connection: AsyncConnection, merchant_id: str, account: str, currency: str
    ) -> BankAccount | None:
        return await BankAccountRepository(connection).default_for(merchant_id, account, currency)

    async def register_card(
        self, connection: AsyncConnection, merchant_id: str, new: NewPayoutCard
    ) -> PayoutCard:
        """The merchant's debit card registered as the external account of `new.account`, in
        one currency (`payout_card_currency`): a card attached to no customer and never
        detached from one (a customer's card is never a payout destination), once; registered
        already for that payee, as it is (made its currency's default when asked), and in
        another currency, PAYOUT_CARD_CURRENCY_FIXED. The first card of a payee's currency is
        its default."""
        await require_account(connection, merchant_id, new.account)
        param = "payment_method"
        methods = PaymentMethodRepository(connection)
        method = await methods.get(merchant_id, new.payment_method, for_update=True)
        if method is None:
            raise not_found("payment_method", new.payment_method, param=param)
        if method.detached:
            raise ApiError(Reason.PAYMENT_METHOD_DETACHED, param=param, id=method.id)
        if method.customer_id is not None:
            raise ApiError(Reason.PAYMENT_METHOD_ALREADY_ATTACHED, param=param, id=method.id)
        if method.payout_account is not None and method.payout_account != new.account:
            raise ApiError(
                Reason.PAYOUT_CARD_EXISTS,
                param=param,
                id=method.id,
                holder=_holder(method.payout_account),
            )
        _require_debit(method, param)
        currency = await _card_currency(connection, merchant_id, method, new)
        unchanged = method.payout_currency is not None and (
            method.payout_default or not new.default_for_currency
        )
        if not unchanged:
            await lock_until_commit(
                connection, f"payout_cards:{merchant_id}:{new.account}:{currency}"
            )
            first = await methods.payout_default(merchant_id, new.account, currency) is None
            method = await methods.set_payout_account(
                merchant_id,
                method.id,
                new.account,
                currency,
                default=first or new.default_for_currency or method.payout_default,
            )
        return _payout_card(method, new.account)

    async def payout_card(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        account: str,
        payment_method_id: str,
        currency: str,
    ) -> PaymentMethod:
        """The debit card named as a payout's destination, registered as the external account
        of the payout's payee `account`: NOT_FOUND for none of the merchant's,
        INVALID_ARGUMENT (PAYOUT_DESTINATION_NOT_EXTERNAL) for any other card, a customer's
        included, and PAYOUT_CURRENCY_MISMATCH for a payout in another currency than the
        card's."""
        method = await PaymentMethodRepository(connection).get(merchant_id, payment_method_id)
        if method is None:
            raise not_found("payment_method", payment_method_id, param="destination")
        if method.payout_account != account or method.customer_id is not None or method.detached:
            raise ApiError(
                Reason.PAYOUT_DESTINATION_NOT_EXTERNAL,
                param="destination",
                id=payment_method_id,
                holder=_holder(account),
            )
        _require_debit(method, "destination")
        if method.payout_currency != currency:
            raise ApiError(
                Reason.PAYOUT_CURRENCY_MISMATCH,
                param="destination",
                expected=method.payout_currency,
                currency=currency,
            )
        return method

    async def default_card(
        self, connection: AsyncConnection, merchant_id: str, account: str, currency: str
    ) -> PaymentMethod | None:
        """The payee's default payout card for `currency` (an instant payout's destination
        when it names none)."""
        return await PaymentMethodRepository(connection).payout_default(
            merchant_id, account, currency
        )

    async def destination_of(self, merchant_id: str, payout_id: str) -> PayoutDestination:
        """The executor's question (paycore.executor.PayoutDestinations): where the payout's
        money goes, its number opened from the vault."""
        async with self._shards.read(merchant_id) as connection:
            found = await BankAccountRepository(connection).destination_of_payout(
                merchant_id, payout_id
            )
        if found is None:
            raise not_found("payout", payout_id)
        destination, bank = found
        if bank is None:
            if not destination.startswith(Prefix.PAYMENT_METHOD.value + "_"):
                raise not_found("bank_account", destination, param="destination")
            card = await self._cards.card_for_charge(merchant_id, destination)
            return PayoutDestination(
                type="card",
                account_number=card.number,
                exp_month=card.exp_month,
                exp_year=card.exp_year,
            )
        return PayoutDestination(
            type="bank_account",
            account_number=self._vault.open(bank.number_sealed, merchant_id, bank.id),
            country=bank.country,
            routing_number=bank.routing_number,
        )


def _holder(account: str) -> str:
    return f"the seller {account}" if account else "the merchant"


def _require_debit(method: PaymentMethod, param: str) -> None:
    if method.card.funding.value != "debit":
        raise ApiError(
            Reason.PAYOUT_METHOD_UNSUPPORTED,
            param=param,
            detail="an instant payout to a card needs a debit card",
        )


async def _card_currency(
    connection: AsyncConnection, merchant_id: str, method: PaymentMethod, new: NewPayoutCard
) -> str:
    """The currency of the card `new` registers: the one it has once registered (another is
    PAYOUT_CARD_CURRENCY_FIXED), else the one given, else its default."""
    if method.payout_currency is None:
        return new.currency or payout_card_currency(
            method.card.country, await payees_currency(connection, merchant_id, new.account)
        )
    if new.currency and new.currency != method.payout_currency:
        raise ApiError(
            Reason.PAYOUT_CARD_CURRENCY_FIXED,
            param="currency",
            id=method.id,
            expected=method.payout_currency,
            currency=new.currency,
        )
    return method.payout_currency


async def payees_currency(connection: AsyncConnection, merchant_id: str, account: str) -> str:
    """The payee's default settlement currency: the first of its settlement currencies, else
    its default_currency (the seller's, or the merchant's for "")."""
    settling = await settlement(connection, merchant_id, account)
    if settling.currencies:
        return settling.currencies[0]
    if account:
        seller = await SellerAccountRepository(connection).get(merchant_id, account)
        invariant(seller is not None, f"the payee {account} was checked")
        return seller.default_currency if seller is not None else ""
    merchant = await MerchantRepository(connection).get(merchant_id)
    invariant(merchant is not None, f"the merchant {merchant_id} is the caller")
    return merchant.default_currency if merchant is not None else ""


def payout_card_currency(card_country: str, payees_currency: str) -> str:
    """A payout card's currency when its registration names none: its issuing country's
    currency where paycore knows it (paycore.iso.COUNTRY_CURRENCIES), else the payee's
    default settlement currency."""
    return COUNTRY_CURRENCIES.get(card_country, payees_currency)


def _payout_card(method: PaymentMethod, account: str) -> PayoutCard:
    invariant(method.payout_currency is not None, f"{method.id} is a payout card")
    return PayoutCard(
        id=method.id,
        merchant_id=method.merchant_id,
        created=method.created,
        account=account,
        brand=method.card.brand.value,
        last4=method.card.last4,
        exp_month=method.card.exp_month,
        exp_year=method.card.exp_year,
        country=method.card.country,
        currency=method.payout_currency or "",
        default_for_currency=method.payout_default,
    )
