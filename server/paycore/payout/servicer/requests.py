"""Pay-out requests checked into domain values; each failure an ApiError naming its field."""

from __future__ import annotations

from paycore import validation
from paycore.currency.rules import CurrencyRules, Purpose
from paycore.errors import ApiError, invalid
from paycore.ids import Prefix
from paycore.payout.bank_accounts import external_param
from paycore.payout.models import (
    DELAY_DAYS_MAX,
    DELAY_DAYS_MIN,
    SOURCE_TYPE_CARD,
    HolderType,
    Interval,
    NewBankAccount,
    NewPayout,
    NewPayoutCard,
    NewTransfer,
    NewTransferReversal,
    PayoutFilter,
    PayoutMethod,
    PayoutStatus,
    ScheduleChange,
    TransferChange,
    TransferFilter,
)
from paycore.runtime.messages import by_number, by_number_or_none, member
from paycore.runtime.servicing import cursor_with, metadata_change
from paycore.secret import Secret
from paycore.storage.reads import Cursor
from paycore.v1 import payout_pb2

HOLDER_NAME_LENGTH_MAX = 200
CHARGE_PREFIX = "ch_"  # a PSP's charge id, as Charges name it (paycore.payment.charges)
CHARGE_ID_LENGTH_MAX = 100
ACCOUNT_NUMBER_LENGTH_MAX = 40
ROUTING_NUMBER_LENGTH_MAX = 20

# UNSPECIFIED: the default holder type and method.
HOLDER_TYPES = {
    0: HolderType.INDIVIDUAL,
    **by_number(HolderType, payout_pb2.BankAccountHolderType),
}
METHODS = {0: PayoutMethod.STANDARD, **by_number(PayoutMethod, payout_pb2.PayoutMethod)}
STATUSES = by_number_or_none(PayoutStatus, payout_pb2.PayoutStatus)
INTERVALS = by_number_or_none(Interval, payout_pb2.PayoutScheduleInterval)
WEEKDAYS = {0: None, **{number: number for number in range(1, 8)}}
"""PayoutWeeklyAnchor's numbers (1 Monday .. 7 Sunday), a schedule's weekly_anchor."""


def account(value: str) -> str:
    return validation.object_id("account", value, Prefix.ACCOUNT, required=False)


def listed_account(
    request: payout_pb2.ListBankAccountsRequest | payout_pb2.ListPayoutCardsRequest,
) -> str:
    """A List's `account` filter: a seller's objects, or "" for the merchant's own."""
    return account(request.account)


def new_bank_account(request: payout_pb2.CreateBankAccountRequest) -> NewBankAccount:
    currency = validation.currency("currency", request.currency)
    holder_type = member(
        "account_holder_type",
        request.account_holder_type,
        HOLDER_TYPES,
        payout_pb2.BankAccountHolderType,
    )
    number = request.account_number.strip()
    if len(number) > ACCOUNT_NUMBER_LENGTH_MAX:
        raise invalid("account_number", f"at most {ACCOUNT_NUMBER_LENGTH_MAX} characters")
    return NewBankAccount(
        account=account(request.account),
        country=validation.country("country", request.country),
        currency=currency,
        account_holder_name=validation.text(
            "account_holder_name",
            request.account_holder_name,
            maximum=HOLDER_NAME_LENGTH_MAX,
            required=True,
        ),
        account_holder_type=holder_type,
        routing_number=validation.text(
            "routing_number", request.routing_number, maximum=ROUTING_NUMBER_LENGTH_MAX
        ),
        account_number=Secret(number),
        default_for_currency=request.default_for_currency,
        metadata=validation.metadata("metadata", request.metadata),
    )


def new_external_account(request: payout_pb2.CreateExternalAccountRequest) -> NewBankAccount:
    """CreateExternalAccount's bank account, checked as CreateBankAccount's (each error naming
    its field inside the hash: `external_account.country`)."""
    seller = validation.object_id("id", request.id, Prefix.ACCOUNT)
    given = request.external_account
    if given.object not in ("", "bank_account"):
        raise invalid(
            "external_account.object",
            "only a bank_account is added here (a debit card: POST /v1/payout_cards)",
        )
    as_bank_account = payout_pb2.CreateBankAccountRequest(
        account=seller,
        country=given.country,
        currency=given.currency,
        account_holder_name=given.account_holder_name,
        account_holder_type=given.account_holder_type,
        routing_number=given.routing_number,
        account_number=given.account_number,
        default_for_currency=request.default_for_currency,
        metadata=request.metadata,
    )
    try:
        return new_bank_account(as_bank_account)
    except ApiError as error:
        raise external_param(error) from None


EXTERNAL_KINDS = ("", "bank_account", "card")
_EXTERNAL_PREFIXES = (f"{Prefix.BANK_ACCOUNT.value}_", f"{Prefix.PAYMENT_METHOD.value}_")


def _external_id(param: str, value: str) -> str:
    if value and not value.startswith(_EXTERNAL_PREFIXES):
        raise invalid(param, "a ba_ or pm_ of the list")
    return value


def external_cursor(request: payout_pb2.ListExternalAccountsRequest) -> Cursor:
    return cursor_with(request, _external_id)


def external_kind(request: payout_pb2.ListExternalAccountsRequest) -> str:
    if request.object not in EXTERNAL_KINDS:
        raise invalid("object", "bank_account or card")
    return request.object


def new_payout_card(request: payout_pb2.CreatePayoutCardRequest) -> NewPayoutCard:
    return NewPayoutCard(
        payment_method=validation.object_id(
            "payment_method", request.payment_method, Prefix.PAYMENT_METHOD
        ),
        account=account(request.account),
        currency=validation.currency("currency", request.currency) if request.currency else "",
        default_for_currency=request.default_for_currency,
    )


def new_payout(request: payout_pb2.CreatePayoutRequest, rules: CurrencyRules) -> NewPayout:
    currency = validation.currency("currency", request.currency)
    amount = validation.required_amount("amount", validation.given(request, "amount"), currency)
    method = member("method", request.method, METHODS, payout_pb2.PayoutMethod)
    destination = _destination(request.destination)
    _source_type(request.source_type)
    return NewPayout(
        account=account(request.account),
        amount=rules.check("amount", amount, currency, Purpose.PAYOUT),
        currency=currency,
        destination=destination,
        method=method,
        description=validation.description(request.description),
        metadata=validation.metadata("metadata", request.metadata),
        statement_descriptor=_statement_descriptor(request.statement_descriptor),
    )


STATEMENT_DESCRIPTOR_LENGTH_MAX = 22
"""Stripe's: a payout's statement descriptor is at most 22 characters (banks cut the rest)."""
_NOT_IN_DESCRIPTORS = frozenset("<>\\'\"*")


def _statement_descriptor(value: str) -> str:
    """Stripe's `statement_descriptor` of a payout, "" none."""
    descriptor = validation.text(
        "statement_descriptor", value, maximum=STATEMENT_DESCRIPTOR_LENGTH_MAX
    )
    if _NOT_IN_DESCRIPTORS.intersection(descriptor):
        raise invalid("statement_descriptor", "may not contain < > \\ ' \" or *")
    return descriptor


def _source_type(value: str) -> None:
    """Checks Stripe's `source_type` of a payout: "card" or none (never stored: every payout
    shows "card")."""
    if value not in ("", SOURCE_TYPE_CARD):
        raise invalid(
            "source_type", "must be card: paycore pays out of card payments' balance only"
        )


def payout_filter(request: payout_pb2.ListPayoutsRequest) -> PayoutFilter:
    status = member("status", request.status, STATUSES, payout_pb2.PayoutStatus)
    return PayoutFilter(
        account=account(request.account),
        status=status,
        destination=_destination(request.destination),
        arrival_date=validation.timestamp_range("arrival_date", request.arrival_date),
    )


def _destination(destination: str) -> str:
    """A payout's destination, or its filter: a bank account, or a debit card's payment
    method (an instant payout's); empty for none."""
    if destination.startswith(Prefix.PAYMENT_METHOD.value + "_"):
        validation.object_id("destination", destination, Prefix.PAYMENT_METHOD)
    else:
        validation.object_id("destination", destination, Prefix.BANK_ACCOUNT, required=False)
    return destination


def schedule_change(request: payout_pb2.UpdatePayoutScheduleRequest) -> ScheduleChange:
    """The fields given (None: kept); `Schedules.update` checks the schedule they leave."""
    interval = member("interval", request.interval, INTERVALS, payout_pb2.PayoutScheduleInterval)
    delay_days = validation.given(request, "delay_days")
    if delay_days is not None and not DELAY_DAYS_MIN <= delay_days <= DELAY_DAYS_MAX:
        raise invalid("delay_days", f"must be from {DELAY_DAYS_MIN} to {DELAY_DAYS_MAX}")
    weekly_anchor = member(
        "weekly_anchor", request.weekly_anchor, WEEKDAYS, payout_pb2.PayoutWeeklyAnchor
    )
    monthly_anchor = validation.given(request, "monthly_anchor")
    if monthly_anchor is not None and not 1 <= monthly_anchor <= 31:
        raise invalid("monthly_anchor", "must be from 1 to 31")
    minimums: dict[str, int] | None = None
    if request.minimum_amounts:
        minimums = {}
        for code, minimum in request.minimum_amounts.items():
            param = f"minimum_amounts[{code[:8]}]"
            currency = validation.currency(param, code)
            # 0 removes the currency's minimum (Schedules.update merges what is given).
            minimums[currency] = minimum and validation.amount(param, minimum, currency)
    return ScheduleChange(
        account=account(request.account),
        interval=interval,
        delay_days=delay_days,
        weekly_anchor=weekly_anchor,
        monthly_anchor=monthly_anchor,
        minimum_amounts=minimums,
    )


# -- transfers (docs/connect.md) -----------------------------------------------------------------


def new_transfer(request: payout_pb2.CreateTransferRequest) -> NewTransfer:
    currency = validation.currency("currency", request.currency)
    return NewTransfer(
        amount=validation.required_amount("amount", validation.given(request, "amount"), currency),
        currency=currency,
        destination=validation.object_id("destination", request.destination, Prefix.ACCOUNT),
        source_transaction=_source_transaction(request.source_transaction),
        transfer_group=validation.transfer_group(request.transfer_group),
        description=validation.description(request.description),
        metadata=validation.metadata("metadata", request.metadata),
    )


def _source_transaction(value: str) -> str:
    """A pi_ of the merchant, or a charge's ch_ (Stripe's `source_transaction` names the charge:
    `payment_intent.latest_charge`), which the transfer resolves to its intent."""
    if value.startswith(CHARGE_PREFIX):
        return validation.text("source_transaction", value, maximum=CHARGE_ID_LENGTH_MAX)
    return validation.object_id("source_transaction", value, Prefix.PAYMENT_INTENT, required=False)


def reversed_transfer(request: payout_pb2.ListTransferReversalsRequest) -> str:
    """The transfer whose reversals are listed (`id`)."""
    return validation.object_id("id", request.id, Prefix.TRANSFER)


def transfer_filter(request: payout_pb2.ListTransfersRequest) -> TransferFilter:
    return TransferFilter(
        destination=validation.object_id(
            "destination", request.destination, Prefix.ACCOUNT, required=False
        ),
        transfer_group=validation.transfer_group(request.transfer_group),
    )


def transfer_change(request: payout_pb2.UpdateTransferRequest) -> TransferChange:
    description = None
    if request.HasField("description"):
        description = validation.description(request.description)
    return TransferChange(metadata_change(request), description)


def new_transfer_reversal(
    request: payout_pb2.CreateTransferReversalRequest,
) -> NewTransferReversal:
    if request.HasField("amount") and request.amount <= 0:
        raise invalid("amount", "must be positive (or left out: all that is not reversed)")
    return NewTransferReversal(
        amount=request.amount if request.HasField("amount") else 0,
        description=validation.description(request.description),
        metadata=validation.metadata("metadata", request.metadata),
    )
