"""Ledger domain objects: what the service, the posting logic and the repository exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.records import Stored


class AccountType(Enum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"

    @property
    def debit_normal(self) -> bool:
        """Which side grows the account's balance: debits for assets and expenses."""
        return self in (AccountType.ASSET, AccountType.EXPENSE)


class TransferKind(Enum):
    POSTED = "posted"
    PENDING = "pending"
    POST_PENDING = "post_pending"
    VOID_PENDING = "void_pending"


class EntryKind(Enum):
    POSTED = "posted"
    PENDING = "pending"
    POST_PENDING = "post_pending"
    VOID_PENDING = "void_pending"
    EXPIRE_PENDING = "expire_pending"


class TransferStatus(Enum):
    POSTED = "posted"
    PENDING = "pending"
    VOIDED = "voided"
    EXPIRED = "expired"


class TransferResult(Enum):
    """One transfer's outcome; names are the contract's LedgerTransferResult values."""

    CREATED = "created"
    EXISTS = "exists"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    ID_INVALID = "id_invalid"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    ACCOUNTS_MUST_DIFFER = "accounts_must_differ"
    PENDING_ID_MUST_DIFFER = "pending_id_must_differ"
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = "timeout_reserved_for_pending_transfer"
    AMOUNT_MUST_BE_POSITIVE = "amount_must_be_positive"
    CODE_REQUIRED = "code_required"
    EXISTS_WITH_DIFFERENT_TERMS = "exists_with_different_terms"
    DEBIT_ACCOUNT_NOT_FOUND = "debit_account_not_found"
    CREDIT_ACCOUNT_NOT_FOUND = "credit_account_not_found"
    ACCOUNTS_MUST_HAVE_SAME_MERCHANT = "accounts_must_have_same_merchant"
    CURRENCY_MISMATCH = "currency_mismatch"
    PENDING_TRANSFER_NOT_FOUND = "pending_transfer_not_found"
    PENDING_TRANSFER_NOT_PENDING = "pending_transfer_not_pending"
    PENDING_TRANSFER_HAS_DIFFERENT_TERMS = "pending_transfer_has_different_terms"
    EXCEEDS_PENDING_AMOUNT = "exceeds_pending_amount"
    PENDING_TRANSFER_ALREADY_POSTED = "pending_transfer_already_posted"
    PENDING_TRANSFER_ALREADY_VOIDED = "pending_transfer_already_voided"
    PENDING_TRANSFER_EXPIRED = "pending_transfer_expired"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"

    @property
    def ok(self) -> bool:
        return self in (TransferResult.CREATED, TransferResult.EXISTS)


@dataclass(frozen=True)
class Balances:
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0


@dataclass(frozen=True)
class NewAccount:
    merchant_id: str
    code: str
    type: AccountType
    currency: str
    debits_must_not_exceed_credits: bool = False
    credits_must_not_exceed_debits: bool = False
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Account(NewAccount):
    """An account as stored: what it was created with, its id, balances and creation time."""

    id: str
    balances: Balances
    created: int


@dataclass(frozen=True)
class TransferRequest:
    """A transfer as a caller asks for it (already checked for well-formed fields)."""

    id: str
    debit_account_id: str = ""
    credit_account_id: str = ""
    amount: int = 0
    currency: str = ""
    pending: bool = False
    post_pending_id: str = ""
    void_pending_id: str = ""
    timeout_seconds: int = 0
    code: str = ""
    linked: bool = False
    metadata: dict[str, str] = field(default_factory=dict)


def sourced_transfer(
    merchant_id: str,
    source: str,
    code: str,
    *,
    debit: str = "",
    credit: str = "",
    amount: int = 0,
    currency: str = "",
    pending: bool = False,
    post: str = "",
    void: str = "",
) -> TransferRequest:
    """A merchant's transfer of the money of `source` (the pi_, re_, po_... it moves): a new id
    on the merchant's shard, linked (the caller's chain closes with its last), and `source` in
    its metadata."""
    return TransferRequest(
        id=new_id(Prefix.LEDGER_TRANSFER, logical_shard_of(merchant_id, Prefix.ACCOUNT)),
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        currency=currency,
        pending=pending,
        post_pending_id=post,
        void_pending_id=void,
        code=code,
        linked=True,
        metadata={"source": source},
    )


@dataclass(frozen=True)
class Transfer(Stored):
    """A transfer as stored: accounts, amount and currency as applied."""

    kind: TransferKind
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str
    pending_id: str
    timeout_seconds: int
    expires_at: int | None
    code: str
    metadata: dict[str, str]
    status: TransferStatus
    resolved_by: str


@dataclass(frozen=True)
class Outcome:
    id: str
    result: TransferResult
    message: str = ""


@dataclass(frozen=True)
class Entry:
    id: str
    account_id: str
    transfer_id: str
    kind: EntryKind
    is_debit: bool
    amount: int
    currency: str
    code: str
    balances: Balances
    created: int


class MismatchKind(Enum):
    CURRENCY_UNBALANCED = "currency_unbalanced"
    TRANSFER_UNBALANCED = "transfer_unbalanced"
    BALANCE_DIFFERS = "balance_differs"
    PENDING_TRANSFER_OVERDUE = "pending_transfer_overdue"


@dataclass(frozen=True)
class Mismatch:
    kind: MismatchKind
    currency: str
    account_id: str = ""
    transfer_id: str = ""
    field: str = ""
    expected: int = 0
    actual: int = 0
    message: str = ""


@dataclass
class IntegrityReport:
    checked: int
    account_count: int = 0
    transfer_count: int = 0
    currencies: dict[str, Balances] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches
