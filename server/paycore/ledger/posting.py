"""Applying a batch of transfers to locked accounts, in memory: the ledger's rules in one place.

The repository locks the rows a batch needs and hands them over; `Posting` decides every
transfer's result in order, moves the balances, and collects the rows to write (new transfers,
entries, resolved pending transfers, account balances). Nothing here touches the database, so
the rules are tested and reasoned about as plain Python, and the writes stay set-based.

A linked chain is applied under an undo log: when one of its transfers fails, everything the
chain did is undone and its other transfers answer LINKED_EVENT_FAILED.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from paycore.ids import MalformedId, Prefix, remembered_logical_shard_of
from paycore.ledger.models import (
    EntryKind,
    Outcome,
    Transfer,
    TransferKind,
    TransferRequest,
    TransferResult,
    TransferStatus,
)

R = TransferResult


shard_of = remembered_logical_shard_of


@dataclass
class AccountState:
    """A locked account's row, changed in place as transfers apply."""

    id: str
    merchant_id: str
    currency: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    entry_count: int

    def snapshot(self) -> tuple[int, int, int, int, int]:
        return (
            self.debits_posted,
            self.credits_posted,
            self.debits_pending,
            self.credits_pending,
            self.entry_count,
        )

    def restore(self, saved: tuple[int, int, int, int, int]) -> None:
        (
            self.debits_posted,
            self.credits_posted,
            self.debits_pending,
            self.credits_pending,
            self.entry_count,
        ) = saved


class NewEntry(NamedTuple):
    """An entry to insert, its fields in the table's column order: a batch's entries become
    the write's arrays in one `zip(*entries)`, and a tuple costs a fraction of a frozen
    dataclass to build (two per transfer)."""

    merchant_id: str
    account_id: str
    sequence: int
    id: str
    transfer_id: str
    kind: EntryKind
    is_debit: bool
    currency: str
    code: str
    posted_delta: int
    pending_delta: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int


@dataclass
class _Undo:
    accounts: dict[str, tuple[int, int, int, int, int]] = field(default_factory=dict)
    resolutions: dict[str, tuple[TransferStatus, str] | None] = field(default_factory=dict)
    transfer_count: int = 0
    entry_count: int = 0


def kind_of(request: TransferRequest) -> TransferKind:
    if request.post_pending_id:
        return TransferKind.POST_PENDING
    if request.void_pending_id:
        return TransferKind.VOID_PENDING
    return TransferKind.PENDING if request.pending else TransferKind.POSTED


def pending_id_of(request: TransferRequest) -> str:
    return request.post_pending_id or request.void_pending_id


def static_result(request: TransferRequest) -> Outcome | None:
    """What can be decided from the transfer alone, in the contract's order of precedence."""
    try:
        logical_shard = shard_of(request.id, Prefix.LEDGER_TRANSFER)
    except MalformedId:
        return Outcome(request.id, R.ID_INVALID, "id must be an lt_... id")
    flags = sum(map(bool, (request.pending, request.post_pending_id, request.void_pending_id)))
    if flags > 1:
        return Outcome(request.id, R.FLAGS_ARE_MUTUALLY_EXCLUSIVE)
    if request.debit_account_id and request.debit_account_id == request.credit_account_id:
        return Outcome(request.id, R.ACCOUNTS_MUST_DIFFER)
    pending_id = pending_id_of(request)
    if pending_id == request.id:
        return Outcome(request.id, R.PENDING_ID_MUST_DIFFER)
    if request.timeout_seconds and not request.pending:
        return Outcome(request.id, R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER)
    resolving = bool(pending_id)
    if request.amount < 0 or (request.amount == 0 and not resolving):
        return Outcome(request.id, R.AMOUNT_MUST_BE_POSITIVE)
    if not request.code:
        return Outcome(request.id, R.CODE_REQUIRED)
    return _shard_result(request, logical_shard)


def _shard_result(request: TransferRequest, logical_shard: int) -> Outcome | None:
    """Every id a transfer names must carry the same logical shard: one merchant's ledger."""
    shards = {
        shard_of(account, Prefix.LEDGER_ACCOUNT)
        for account in (request.debit_account_id, request.credit_account_id)
        if account
    }
    if len(shards) > 1:
        return Outcome(request.id, R.ACCOUNTS_MUST_HAVE_SAME_MERCHANT)
    pending_id = pending_id_of(request)
    if pending_id:
        shards.add(shard_of(pending_id, Prefix.LEDGER_TRANSFER))
    if shards - {logical_shard}:
        return Outcome(
            request.id,
            R.ID_INVALID,
            "the id must carry the logical shard of the merchant whose accounts it moves",
        )
    return None


def split_chains(
    segment: Sequence[TransferRequest],
) -> tuple[list[list[int]], dict[int, Outcome]]:
    """A caller's transfers as chains of indexes; the transfers of a chain left open at the end
    of the segment are answered at once."""
    chains: list[list[int]] = []
    answered: dict[int, Outcome] = {}
    current: list[int] = []
    for index, request in enumerate(segment):
        current.append(index)
        if not request.linked:
            chains.append(current)
            current = []
    if current:
        for index in current[:-1]:
            answered[index] = Outcome(segment[index].id, R.LINKED_EVENT_FAILED)
        last = current[-1]
        answered[last] = Outcome(segment[last].id, R.LINKED_EVENT_CHAIN_OPEN)
    return chains, answered


def fail_chain(chain: Sequence[TransferRequest], failed_at: int, failure: Outcome) -> list[Outcome]:
    return [
        failure if index == failed_at else Outcome(request.id, R.LINKED_EVENT_FAILED)
        for index, request in enumerate(chain)
    ]


class Posting:
    """One batch on one shard, after its rows are locked."""

    def __init__(
        self,
        accounts: dict[str, AccountState],
        transfers: dict[str, Transfer],
        *,
        now: int,
        new_entry_id: Callable[[], str],
        timeouts_from: int | None = None,
    ) -> None:
        """`now`: the whole seconds holds are expired at (and transfers created at);
        `timeouts_from`: the second a new hold's timeout counts from, the clock rounded up
        (default `now`), so that a hold made at x.9 with a timeout of 1 s expires at x + 2, never
        after the 0.1 s that counting from x would give it."""
        self._accounts = accounts
        self._known = dict(transfers)
        self._now = now
        self._timeouts_from = now if timeouts_from is None else timeouts_from
        self._merchant_id: str | None = None
        self._new_entry_id = new_entry_id
        self._undo: _Undo | None = None
        self.new_transfers: list[Transfer] = []
        self.entries: list[NewEntry] = []
        self.resolutions: dict[str, tuple[TransferStatus, str]] = {}
        self.touched: set[str] = set()

    def expire_overdue(self) -> list[str]:
        """Releases every loaded pending transfer whose timeout has passed (both of its accounts
        are locked). Done before any transfer applies, so no chain can undo it."""
        expired = []
        for transfer in list(self._known.values()):
            if self._overdue(transfer) and self._has_accounts(transfer):
                self._expire(transfer)
                expired.append(transfer.id)
        return expired

    def apply_chain(
        self, chain: Sequence[TransferRequest], merchant_id: str | None = None
    ) -> list[Outcome]:
        """Applies a chain as the merchant `merchant_id` (None: as an operator who may move any
        merchant's accounts); another merchant's accounts and transfers are not found."""
        self._merchant_id = merchant_id
        if len(chain) == 1:
            return [self._apply(chain[0])]
        self._undo = _Undo(transfer_count=len(self.new_transfers), entry_count=len(self.entries))
        outcomes = []
        for index, request in enumerate(chain):
            outcome = self._apply(request)
            if not outcome.result.ok:
                self._rollback()
                return fail_chain(chain, index, outcome)
            outcomes.append(outcome)
        self._undo = None
        return outcomes

    # -- one transfer -------------------------------------------------------------------------

    def _apply(self, request: TransferRequest) -> Outcome:
        existing = self._visible(self._known.get(request.id))
        if existing is not None:
            return self._compare(request, existing)
        if self._known.get(request.id) is not None:
            # Another merchant's transfer holds this id.
            return Outcome(request.id, R.EXISTS_WITH_DIFFERENT_TERMS, "id is taken")
        if pending_id_of(request):
            return self._resolve(request)
        return self._create(request)

    def _create(self, request: TransferRequest) -> Outcome:
        debit = self._account(request.debit_account_id)
        if debit is None:
            return Outcome(request.id, R.DEBIT_ACCOUNT_NOT_FOUND)
        credit = self._account(request.credit_account_id)
        if credit is None:
            return Outcome(request.id, R.CREDIT_ACCOUNT_NOT_FOUND)
        if debit.merchant_id != credit.merchant_id:
            return Outcome(request.id, R.ACCOUNTS_MUST_HAVE_SAME_MERCHANT)
        if request.currency not in (debit.currency, "") or debit.currency != credit.currency:
            return Outcome(
                request.id,
                R.CURRENCY_MISMATCH,
                f"transfer in {request.currency}, debit account in {debit.currency}, "
                f"credit account in {credit.currency}",
            )
        amount = request.amount
        if debit.debits_must_not_exceed_credits and (
            debit.debits_posted + debit.debits_pending + amount > debit.credits_posted
        ):
            return Outcome(request.id, R.EXCEEDS_CREDITS)
        if credit.credits_must_not_exceed_debits and (
            credit.credits_posted + credit.credits_pending + amount > credit.debits_posted
        ):
            return Outcome(request.id, R.EXCEEDS_DEBITS)
        pending = request.pending
        kind = EntryKind.PENDING if pending else EntryKind.POSTED
        posted_delta, pending_delta = (0, amount) if pending else (amount, 0)
        self._entry(debit, True, request.id, kind, request.code, posted_delta, pending_delta)
        self._entry(credit, False, request.id, kind, request.code, posted_delta, pending_delta)
        timeout = request.timeout_seconds
        expires_at = self._timeouts_from + timeout if timeout else None
        self._record_transfer(
            request,
            TransferKind.PENDING if pending else TransferKind.POSTED,
            (debit, credit),
            amount,
            status=TransferStatus.PENDING if pending else TransferStatus.POSTED,
            timeout_seconds=request.timeout_seconds,
            expires_at=expires_at,
        )
        return Outcome(request.id, R.CREATED)

    def _resolve(self, request: TransferRequest) -> Outcome:
        pending = self._visible(self._known.get(pending_id_of(request)))
        if pending is None:
            return Outcome(request.id, R.PENDING_TRANSFER_NOT_FOUND)
        failure = self._resolution_failure(request, pending)
        if failure is not None:
            return Outcome(request.id, failure)
        posting = bool(request.post_pending_id)
        amount = (request.amount or pending.amount) if posting else pending.amount
        debit = self._accounts[pending.debit_account_id]
        credit = self._accounts[pending.credit_account_id]
        kind = EntryKind.POST_PENDING if posting else EntryKind.VOID_PENDING
        posted_delta = amount if posting else 0
        for account, is_debit in ((debit, True), (credit, False)):
            self._entry(
                account, is_debit, request.id, kind, request.code, posted_delta, -pending.amount
            )
        self._resolution(
            pending.id, TransferStatus.POSTED if posting else TransferStatus.VOIDED, request.id
        )
        self._record_transfer(
            request,
            TransferKind.POST_PENDING if posting else TransferKind.VOID_PENDING,
            (debit, credit),
            amount,
            pending_id=pending.id,
        )
        return Outcome(request.id, R.CREATED)

    def _resolution_failure(
        self, request: TransferRequest, pending: Transfer
    ) -> TransferResult | None:
        if pending.kind is not TransferKind.PENDING:
            return R.PENDING_TRANSFER_NOT_PENDING
        if _differs(request.debit_account_id, pending.debit_account_id) or (
            _differs(request.credit_account_id, pending.credit_account_id)
            or _differs(request.currency, pending.currency)
        ):
            return R.PENDING_TRANSFER_HAS_DIFFERENT_TERMS
        if request.amount > pending.amount:
            return R.EXCEEDS_PENDING_AMOUNT
        if request.void_pending_id and request.amount not in (0, pending.amount):
            return R.PENDING_TRANSFER_HAS_DIFFERENT_TERMS
        status = self._status(pending)
        if status is TransferStatus.POSTED:
            return R.PENDING_TRANSFER_ALREADY_POSTED
        if status is TransferStatus.VOIDED:
            return R.PENDING_TRANSFER_ALREADY_VOIDED
        if status is TransferStatus.EXPIRED or self._overdue(pending):
            return R.PENDING_TRANSFER_EXPIRED
        return None

    def _compare(self, request: TransferRequest, existing: Transfer) -> Outcome:
        """A replayed id: EXISTS when the terms are the ones stored, else the first that differs."""
        differing = next(self._differing_terms(request, existing), None)
        if differing:
            return Outcome(
                request.id, R.EXISTS_WITH_DIFFERENT_TERMS, f"{differing} differs from the stored"
            )
        return Outcome(request.id, R.EXISTS)

    def _differing_terms(self, request: TransferRequest, existing: Transfer) -> Iterator[str]:
        """The terms of a replay that differ from the stored transfer's, in the order a reply
        names them (only the first is asked for)."""
        if kind_of(request) is not existing.kind:
            yield "kind"
        if pending_id_of(request) != existing.pending_id:
            yield "pending_id"
        if _differs(request.debit_account_id, existing.debit_account_id):
            yield "debit_account"
        if _differs(request.credit_account_id, existing.credit_account_id):
            yield "credit_account"
        if _differs(request.currency, existing.currency):
            yield "currency"
        if request.amount != self._replayed_amount(request, existing):
            yield "amount"
        if request.timeout_seconds != existing.timeout_seconds:
            yield "timeout_seconds"
        if request.code != existing.code:
            yield "code"
        if request.metadata != existing.metadata:
            yield "metadata"

    def _replayed_amount(self, request: TransferRequest, existing: Transfer) -> int:
        """The amount the request would have to carry to be the stored transfer's replay (a
        post or void may say 0 for "all of it")."""
        if existing.kind is TransferKind.VOID_PENDING:
            return request.amount if request.amount in (0, existing.amount) else existing.amount
        if existing.kind is TransferKind.POST_PENDING and request.amount == 0:
            pending = self._known.get(existing.pending_id)
            return 0 if pending is not None and pending.amount == existing.amount else -1
        return existing.amount

    # -- effects --------------------------------------------------------------------------------

    def _expire(self, pending: Transfer) -> None:
        for account_id, is_debit in (
            (pending.debit_account_id, True),
            (pending.credit_account_id, False),
        ):
            self._entry(
                self._accounts[account_id],
                is_debit,
                pending.id,
                EntryKind.EXPIRE_PENDING,
                pending.code,
                0,
                -pending.amount,
            )
        self._resolution(pending.id, TransferStatus.EXPIRED, "")

    def _entry(
        self,
        account: AccountState,
        is_debit: bool,
        transfer_id: str,
        kind: EntryKind,
        code: str,
        posted_delta: int,
        pending_delta: int,
    ) -> None:
        if self._undo is not None and account.id not in self._undo.accounts:
            self._undo.accounts[account.id] = account.snapshot()
        if is_debit:
            account.debits_posted += posted_delta
            account.debits_pending += pending_delta
        else:
            account.credits_posted += posted_delta
            account.credits_pending += pending_delta
        account.entry_count += 1
        self.touched.add(account.id)
        self.entries.append(
            NewEntry(
                account.merchant_id,
                account.id,
                account.entry_count,
                self._new_entry_id(),
                transfer_id,
                kind,
                is_debit,
                account.currency,
                code,
                posted_delta,
                pending_delta,
                account.debits_posted,
                account.credits_posted,
                account.debits_pending,
                account.credits_pending,
            )
        )

    def _resolution(self, pending_id: str, status: TransferStatus, resolved_by: str) -> None:
        if self._undo is not None and pending_id not in self._undo.resolutions:
            self._undo.resolutions[pending_id] = self.resolutions.get(pending_id)
        self.resolutions[pending_id] = (status, resolved_by)

    def _record_transfer(
        self,
        request: TransferRequest,
        kind: TransferKind,
        accounts: tuple[AccountState, AccountState],
        amount: int,
        *,
        status: TransferStatus = TransferStatus.POSTED,
        pending_id: str = "",
        timeout_seconds: int = 0,
        expires_at: int | None = None,
    ) -> None:
        """Records the transfer `request` makes between (debit, credit): in their merchant's
        ledger and their currency (a pending transfer's, for a post or void of it)."""
        debit, credit = accounts
        self._record(
            Transfer(
                id=request.id,
                merchant_id=debit.merchant_id,
                kind=kind,
                debit_account_id=debit.id,
                credit_account_id=credit.id,
                amount=amount,
                currency=debit.currency,
                pending_id=pending_id,
                timeout_seconds=timeout_seconds,
                expires_at=expires_at,
                code=request.code,
                metadata=request.metadata,
                status=status,
                resolved_by="",
                created=self._now,
            )
        )

    def _record(self, transfer: Transfer) -> None:
        self.new_transfers.append(transfer)
        self._known[transfer.id] = transfer

    def _rollback(self) -> None:
        undo = self._undo
        if undo is None:
            return
        for account_id, saved in undo.accounts.items():
            self._accounts[account_id].restore(saved)
        for pending_id, previous in undo.resolutions.items():
            if previous is None:
                del self.resolutions[pending_id]
            else:
                self.resolutions[pending_id] = previous
        for transfer in self.new_transfers[undo.transfer_count :]:
            del self._known[transfer.id]
        del self.new_transfers[undo.transfer_count :]
        del self.entries[undo.entry_count :]
        self._undo = None

    # -- lookups --------------------------------------------------------------------------------

    def _account(self, account_id: str) -> AccountState | None:
        account = self._accounts.get(account_id)
        if account is None or (self._merchant_id and account.merchant_id != self._merchant_id):
            return None
        return account

    def _visible(self, transfer: Transfer | None) -> Transfer | None:
        if transfer is None or (self._merchant_id and transfer.merchant_id != self._merchant_id):
            return None
        return transfer

    def _status(self, transfer: Transfer) -> TransferStatus:
        resolved = self.resolutions.get(transfer.id)
        return resolved[0] if resolved else transfer.status

    def _overdue(self, transfer: Transfer) -> bool:
        return (
            self._status(transfer) is TransferStatus.PENDING
            and transfer.expires_at is not None
            and transfer.expires_at <= self._now
        )

    def _has_accounts(self, transfer: Transfer) -> bool:
        return (
            transfer.debit_account_id in self._accounts
            and transfer.credit_account_id in self._accounts
        )


def with_resolution(transfer: Transfer, resolution: tuple[TransferStatus, str] | None) -> Transfer:
    if resolution is None:
        return transfer
    return replace(transfer, status=resolution[0], resolved_by=resolution[1])


def _differs(given: str, stored: str) -> bool:
    """Posts and voids may leave accounts and currency empty, meaning the pending transfer's."""
    return bool(given) and given != stored
