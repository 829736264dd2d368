"""The simulator's durable store: one SQLite file (standard library) in WAL mode.

Durability: every answered operation was committed first. With synchronous=NORMAL a commit
reaches the WAL file in the operating system's page cache before the answer is sent, so a crash
or kill of the simulator loses nothing it answered; a power loss or kernel crash may lose the
last few commits (the ones since the last WAL checkpoint sync), which a simulator may.

One connection, used only from the event loop's thread: every operation runs synchronously
between two awaits (a few tens of microseconds), so operations never interleave inside the
process, and `BEGIN IMMEDIATE` keeps them serial against any other process on the same file.
The card number is never stored: charges keep brand, last4, expiry and a keyed fingerprint;
a wallet token authenticated by its cryptogram is kept as a keyed digest of its type and DPAN
(paycore.tools.psp.wallets.token_digest), with the merchant and the charge that did it.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from paycore.ids import random_base62

DATABASE_FILE = "psp.sqlite3"
KEY_FILE = "fingerprint.key"
BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
create table if not exists operations (
    idempotency_key text primary key,
    operation text not null,
    request_hash text not null,
    http_status integer not null,
    body text not null,
    created_ms integer not null
) without rowid;
create table if not exists charges (
    id text primary key,
    merchant text not null,
    reference text not null,
    amount integer not null,
    amount_captured integer not null,
    amount_refunded integer not null,
    currency text not null,
    status text not null,
    decline_code text not null,
    message text not null,
    card_brand text not null,
    card_last4 text not null,
    card_exp_month integer not null,
    card_exp_year integer not null,
    card_fingerprint text not null,
    fee integer not null,
    created_ms integer not null,
    captured_ms integer
) without rowid;
create index if not exists charges_by_capture on charges (captured_ms)
    where captured_ms is not null;
create table if not exists refunds (
    id text primary key,
    charge text not null references charges (id),
    amount integer not null,
    currency text not null,
    status text not null,
    created_ms integer not null
) without rowid;
create index if not exists refunds_by_time on refunds (created_ms);
create index if not exists refunds_by_charge on refunds (charge, created_ms);
create table if not exists bank_payouts (
    id text primary key,
    idempotency_key text not null unique,
    merchant text not null,
    reference text not null,
    amount integer not null,
    currency text not null,
    method text not null,
    destination_type text not null,
    destination_last4 text not null,
    destination_fingerprint text not null,
    submitted_ms integer not null,
    arrival_ms integer not null,
    paid_ms integer,
    failed_ms integer,
    failure_code text not null,
    failure_message text not null
) without rowid;
create index if not exists bank_payouts_by_submission on bank_payouts (submitted_ms);
create index if not exists bank_payouts_by_payment on bank_payouts (paid_ms);
create index if not exists bank_payouts_by_failure on bank_payouts (failed_ms);
create table if not exists dispute_plans (
    charge text primary key references charges (id),
    reason text not null,
    inquiry integer not null
) without rowid;
create table if not exists disputes (
    id text primary key,
    charge text not null unique references charges (id),
    status text not null,
    reason text not null,
    due_by_ms integer not null,
    evidence text not null,
    submitted_ms integer,
    outcome text not null,
    created_ms integer not null
) without rowid;
create table if not exists dispute_events (
    sequence integer primary key autoincrement,
    dispute text not null references disputes (id),
    type text not null,
    time_ms integer not null,
    body text not null
);
create table if not exists dispute_funds (
    dispute text not null references disputes (id),
    type text not null,
    amount integer not null,
    currency text not null,
    time_ms integer not null,
    primary key (dispute, type)
) without rowid;
create index if not exists dispute_funds_by_time on dispute_funds (time_ms);
create table if not exists wallet_authentications (
    merchant text not null,
    token text not null,
    charge text not null references charges (id),
    primary key (merchant, token)
) without rowid;
create table if not exists authentications (
    id text primary key,
    merchant text not null,
    operation text not null,
    reference text not null,
    card_fingerprint text not null,
    amount integer not null,
    currency text not null,
    status text not null,
    return_url text not null,
    used_by text not null,
    created_ms integer not null
) without rowid;
create table if not exists early_fraud_warnings (
    sequence integer primary key autoincrement,
    id text not null unique,
    charge text not null unique references charges (id),
    fraud_type text not null,
    created_ms integer not null
);
create table if not exists authentication_events (
    sequence integer primary key autoincrement,
    authentication text not null references authentications (id),
    time_ms integer not null
);
create table if not exists card_setups (
    merchant text not null,
    card_fingerprint text not null,
    authentication text not null references authentications (id),
    primary key (merchant, card_fingerprint)
) without rowid;
"""


@dataclass(frozen=True)
class StoredOperation:
    idempotency_key: str
    operation: str
    request_hash: str
    http_status: int
    body: str
    created_ms: int


@dataclass(frozen=True)
class Charge:
    id: str
    merchant: str
    reference: str
    amount: int
    amount_captured: int
    amount_refunded: int
    currency: str
    status: str
    decline_code: str
    message: str
    card_brand: str
    card_last4: str
    card_exp_month: int
    card_exp_year: int
    card_fingerprint: str
    fee: int
    created_ms: int
    captured_ms: int | None


@dataclass(frozen=True)
class Authentication:
    """A 3-D Secure authentication the buyer answers on the simulator's page
    (paycore.tools.psp.authentication): pending, then succeeded or failed; `used_by` the
    idempotency key of the one charge or setup that went on with it ("" none yet)."""

    id: str
    merchant: str
    operation: str
    """"charge" | "setup": what asked for it."""
    reference: str
    card_fingerprint: str
    amount: int
    currency: str
    status: str
    """"pending" | "succeeded" | "failed"."""
    return_url: str
    used_by: str
    created_ms: int


@dataclass(frozen=True)
class Refund:
    id: str
    charge: str
    amount: int
    currency: str
    status: str
    created_ms: int


DISPUTE_WITHDRAWAL = "dispute"
DISPUTE_REINSTATEMENT = "dispute_reversal"
"""The report's types of a dispute's money (as Stripe's reporting categories): a chargeback's
funds withdrawn, a won chargeback's funds reinstated."""
DISPUTED_AMOUNT = (
    "(c.amount_captured - coalesce((select sum(r.amount) from refunds r"
    " where r.charge = c.id and r.created_ms <= coalesce((select f.time_ms from dispute_funds f"
    " where f.dispute = d.id and f.type = 'dispute'), 9223372036854775807)), 0))"
)
"""SQL of a dispute's amount (`d` the dispute, `c` its charge): what was captured less what was
refunded before its funds were withdrawn (a chargeback's when it opened, an inquiry's when it
escalated; an inquiry not escalated: every refund so far), as a bank disputes at most what the
buyer still paid; a refund made later (paycore refuses one of a disputed charge) does not
change it."""


@dataclass(frozen=True)
class SettlementRow:
    """One captured charge, one refund or one movement of a dispute's money (its type:
    charge | refund | dispute | dispute_reversal), with its charge's merchant and reference."""

    type: str
    id: str
    charge: str
    merchant: str
    reference: str
    amount: int
    currency: str
    fee: int
    time_ms: int


@dataclass(frozen=True)
class BankPayout:
    """A payout the bank took. Its status at any time follows from the stored times: failed
    from failed_ms, else paid from paid_ms, else in transit (paycore.tools.psp.bank)."""

    id: str
    idempotency_key: str
    merchant: str
    reference: str
    amount: int
    currency: str
    method: str
    destination_type: str
    destination_last4: str
    destination_fingerprint: str
    submitted_ms: int
    arrival_ms: int
    paid_ms: int | None
    failed_ms: int | None
    failure_code: str
    failure_message: str


_CHARGE_COLUMNS = ", ".join(Charge.__dataclass_fields__)
_BANK_PAYOUT_COLUMNS = ", ".join(BankPayout.__dataclass_fields__)
_REFUND_COLUMNS = ", ".join(Refund.__dataclass_fields__)
_AUTHENTICATION_COLUMNS = ", ".join(Authentication.__dataclass_fields__)


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    connection = sqlite3.connect(uri, uri=True, isolation_level=None)
    connection.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
    if not read_only:
        connection.execute("pragma journal_mode = wal")
        connection.execute("pragma synchronous = normal")
    return connection


def load_or_create_key(data_dir: Path) -> bytes:
    """The fingerprint key of this data directory (card fingerprints and request hashes are
    HMACs under it, so a stolen database alone cannot be brute-forced back to numbers)."""
    path = data_dir / KEY_FILE
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


class Store:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.path = data_dir / DATABASE_FILE
        self.key = load_or_create_key(data_dir)
        self._connection = connect(self.path)
        self._connection.executescript(_SCHEMA)

    def close(self) -> None:
        self._connection.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self._connection.execute("begin immediate")
        try:
            yield
        except BaseException:
            self._connection.execute("rollback")
            raise
        self._connection.execute("commit")

    def operation(self, idempotency_key: str) -> StoredOperation | None:
        row = self._connection.execute(
            "select idempotency_key, operation, request_hash, http_status, body, created_ms"
            " from operations where idempotency_key = ?",
            (idempotency_key,),
        ).fetchone()
        return None if row is None else StoredOperation(*row)

    def insert_operation(self, stored: StoredOperation) -> None:
        self._connection.execute(
            "insert into operations values (?, ?, ?, ?, ?, ?)",
            (
                stored.idempotency_key,
                stored.operation,
                stored.request_hash,
                stored.http_status,
                stored.body,
                stored.created_ms,
            ),
        )

    def plan_dispute(self, charge_id: str, reason: str, inquiry: bool) -> None:
        """The charge will be disputed once captured (paycore.tools.psp.disputes)."""
        self._connection.execute(
            "insert into dispute_plans values (?, ?, ?)", (charge_id, reason, int(inquiry))
        )

    def move_dispute_funds(self, dispute_id: str, kind: str, time_ms: int) -> None:
        """The disputed amount (DISPUTED_AMOUNT) withdrawn (DISPUTE_WITHDRAWAL) or reinstated
        (DISPUTE_REINSTATEMENT) at `time_ms`: a line of that day's settlement report. Each
        happens once to a dispute (the primary key refuses a second)."""
        self._connection.execute(
            "insert into dispute_funds (dispute, type, amount, currency, time_ms)"
            f" select d.id, ?, {DISPUTED_AMOUNT}, c.currency, ? from disputes d"
            " join charges c on c.id = d.charge where d.id = ?",
            (kind, time_ms, dispute_id),
        )

    def authenticate_wallet(self, merchant: str, token: str, charge_id: str) -> None:
        """The wallet token (`token`: its keyed digest) was authenticated by its cryptogram in
        the merchant's successful charge `charge_id`; the first such charge is kept."""
        self._connection.execute(
            "insert into wallet_authentications values (?, ?, ?) on conflict do nothing",
            (merchant, token, charge_id),
        )

    def wallet_authenticated(self, merchant: str, token: str) -> bool:
        found = self._connection.execute(
            "select 1 from wallet_authentications where merchant = ? and token = ?",
            (merchant, token),
        ).fetchone()
        return found is not None

    def insert_authentication(self, authentication: Authentication) -> None:
        self._connection.execute(
            f"insert into authentications ({_AUTHENTICATION_COLUMNS})"
            f" values ({_placeholders(Authentication)})",
            tuple(getattr(authentication, name) for name in Authentication.__dataclass_fields__),
        )

    def authentication(self, authentication_id: str) -> Authentication | None:
        row = self._connection.execute(
            f"select {_AUTHENTICATION_COLUMNS} from authentications where id = ?",
            (authentication_id,),
        ).fetchone()
        return None if row is None else Authentication(*row)

    def answer_authentication(self, authentication_id: str, status: str) -> bool:
        """Pending -> `status`; False when it was answered before (or is unknown)."""
        changed = self._connection.execute(
            "update authentications set status = ? where id = ? and status = 'pending'",
            (status, authentication_id),
        ).rowcount
        return changed == 1

    def warn_early(self, charge_id: str, fraud_type: str, now_ms: int) -> None:
        """The issuer's early fraud warning of the charge, as the next line of its feed."""
        self._connection.execute(
            "insert into early_fraud_warnings (id, charge, fraud_type, created_ms)"
            " values (?, ?, ?, ?)",
            ("issfr_" + random_base62(24), charge_id, fraud_type, now_ms),
        )

    def early_fraud_warnings(self, after: int, limit: int) -> list[dict[str, Any]]:
        """The warnings feed's lines after `after`, oldest first."""
        rows = self._connection.execute(
            "select w.sequence, w.id, w.charge, c.merchant, c.reference, w.fraud_type,"
            " w.created_ms from early_fraud_warnings w join charges c on c.id = w.charge"
            " where w.sequence > ? order by w.sequence limit ?",
            (after, limit),
        ).fetchall()
        names = ("sequence", "id", "charge", "merchant", "reference", "fraud_type")
        return [
            {**dict(zip(names, row[:6], strict=True)), "created": row[6] // 1000} for row in rows
        ]

    def record_authentication_answer(self, authentication_id: str, now_ms: int) -> None:
        """The buyer's answer, as the next line of the authentications feed."""
        self._connection.execute(
            "insert into authentication_events (authentication, time_ms) values (?, ?)",
            (authentication_id, now_ms),
        )

    def authentication_events(
        self, after: int, limit: int
    ) -> list[tuple[int, int, Authentication]]:
        """The feed's lines after `after`, oldest first: (sequence, time_ms, authentication)."""
        columns = ", ".join(f"a.{name}" for name in Authentication.__dataclass_fields__)
        rows = self._connection.execute(
            f"select e.sequence, e.time_ms, {columns} from authentication_events e"
            " join authentications a on a.id = e.authentication"
            " where e.sequence > ? order by e.sequence limit ?",
            (after, limit),
        ).fetchall()
        return [(row[0], row[1], Authentication(*row[2:])) for row in rows]

    def use_authentication(self, authentication_id: str, idempotency_key: str) -> None:
        self._connection.execute(
            "update authentications set used_by = ? where id = ?",
            (idempotency_key, authentication_id),
        )

    def set_up_card(self, merchant: str, card_fingerprint: str, authentication_id: str) -> None:
        """The merchant set the card up with an authentication: its off-session charges
        need none (Stripe's 4000002500003155); the first such setup is kept."""
        self._connection.execute(
            "insert into card_setups values (?, ?, ?) on conflict do nothing",
            (merchant, card_fingerprint, authentication_id),
        )

    def card_set_up(self, merchant: str, card_fingerprint: str) -> bool:
        found = self._connection.execute(
            "select 1 from card_setups where merchant = ? and card_fingerprint = ?",
            (merchant, card_fingerprint),
        ).fetchone()
        return found is not None

    def execute(self, statement: str, parameters: tuple[Any, ...] = ()) -> int:
        """One statement of a caller's (paycore.tools.psp.disputes); the rows it changed."""
        return self._connection.execute(statement, parameters).rowcount

    def rows(self, statement: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._connection.execute(statement, parameters).fetchall()

    def charge(self, charge_id: str) -> Charge | None:
        row = self._connection.execute(
            f"select {_CHARGE_COLUMNS} from charges where id = ?", (charge_id,)
        ).fetchone()
        return None if row is None else Charge(*row)

    def insert_charge(self, charge: Charge) -> None:
        self._connection.execute(
            f"insert into charges ({_CHARGE_COLUMNS}) values ({_placeholders(Charge)})",
            tuple(getattr(charge, name) for name in Charge.__dataclass_fields__),
        )

    def capture(self, charge_id: str, amount: int, fee: int, captured_ms: int) -> None:
        self._connection.execute(
            "update charges set status = 'captured', amount_captured = ?, fee = ?,"
            " captured_ms = ? where id = ? and status = 'authorized'",
            (amount, fee, captured_ms, charge_id),
        )

    def void(self, charge_id: str) -> None:
        self._connection.execute(
            "update charges set status = 'voided' where id = ? and status = 'authorized'",
            (charge_id,),
        )

    def add_refund(self, refund: Refund) -> bool:
        """Records the refund unless it would take the refunded sum above the captured amount;
        the check and the increment are one statement."""
        updated = self._connection.execute(
            "update charges set amount_refunded = amount_refunded + ?"
            " where id = ? and amount_refunded + ? <= amount_captured",
            (refund.amount, refund.charge, refund.amount),
        ).rowcount
        if updated != 1:
            return False
        self._connection.execute(
            f"insert into refunds ({_REFUND_COLUMNS}) values ({_placeholders(Refund)})",
            tuple(getattr(refund, name) for name in Refund.__dataclass_fields__),
        )
        return True

    def refunds(self, charge_id: str) -> list[Refund]:
        rows = self._connection.execute(
            f"select {_REFUND_COLUMNS} from refunds where charge = ? order by created_ms, id",
            (charge_id,),
        ).fetchall()
        return [Refund(*row) for row in rows]

    def insert_bank_payout(self, payout: BankPayout) -> None:
        self._connection.execute(
            f"insert into bank_payouts ({_BANK_PAYOUT_COLUMNS})"
            f" values ({_placeholders(BankPayout)})",
            tuple(getattr(payout, name) for name in BankPayout.__dataclass_fields__),
        )

    def bank_payout(self, idempotency_key: str) -> BankPayout | None:
        row = self._connection.execute(
            f"select {_BANK_PAYOUT_COLUMNS} from bank_payouts where idempotency_key = ?",
            (idempotency_key,),
        ).fetchone()
        return None if row is None else BankPayout(*row)


def bank_payout_rows(path: Path, start_ms: int, end_ms: int) -> list[BankPayout]:
    """Payouts submitted, paid or failed with start_ms <= time < end_ms, on a connection of its
    own (so it can run beside a live simulator)."""
    connection = connect(path, read_only=True)
    try:
        rows = connection.execute(
            f"select {_BANK_PAYOUT_COLUMNS} from bank_payouts"
            " where (submitted_ms >= ? and submitted_ms < ?)"
            " or (paid_ms >= ? and paid_ms < ?) or (failed_ms >= ? and failed_ms < ?)",
            (start_ms, end_ms) * 3,
        ).fetchall()
        return [BankPayout(*row) for row in rows]
    finally:
        connection.close()


_SETTLEMENT_ROWS = (
    "select 'charge' as type, id, id as charge, merchant, reference,"
    "  amount_captured as amount, currency, fee, captured_ms as time_ms"
    " from charges where captured_ms >= ? and captured_ms < ?"
    " union all"
    " select 'refund', r.id, r.charge, c.merchant, c.reference, r.amount, r.currency, 0,"
    "  r.created_ms"
    " from refunds r join charges c on c.id = r.charge"
    " where r.created_ms >= ? and r.created_ms < ?"
    " union all"
    " select f.type, f.dispute, d.charge, c.merchant, c.reference, f.amount, f.currency, 0,"
    "  f.time_ms"
    " from dispute_funds f join disputes d on d.id = f.dispute join charges c on c.id = d.charge"
    " where f.time_ms >= ? and f.time_ms < ?"
    " order by time_ms, 2, 1"
)


def settlement_rows(
    path: Path, start_ms: int, end_ms: int, batch: int = 1000
) -> Iterator[list[SettlementRow]]:
    """Captured charges, refunds and disputes' money movements with start_ms <= time <
    end_ms, oldest first, in batches; read on a connection of its own, so it can run beside a
    live simulator."""
    connection = connect(path, read_only=True)
    try:
        cursor = connection.execute(_SETTLEMENT_ROWS, (start_ms, end_ms) * 3)
        while rows := cursor.fetchmany(batch):
            yield [SettlementRow(*row) for row in rows]
    finally:
        connection.close()


def _placeholders(model: Any) -> str:
    return ", ".join("?" for _ in fields(model))


_REPORT_LINE = """
select json_object('type', type, 'id', id, 'charge', charge, 'merchant', merchant,
                   'reference', reference, 'amount', amount, 'currency', currency, 'fee', fee,
                   'net', case type when 'charge' then amount - fee
                                    when 'dispute_reversal' then amount else -amount end,
                   'time', strftime('%Y-%m-%dT%H:%M:%S', time_ms / 1000, 'unixepoch')
                           || printf('.%03dZ', time_ms % 1000))
from ({rows})
"""


def settlement_report_lines(
    path: Path, start_ms: int, end_ms: int, batch: int = 5000
) -> Iterator[list[str]]:
    """The report's JSON lines as settlement_rows would render them (paycore.tools.psp.
    settlement.line), rendered by SQLite itself: a million-line day without a Python object
    per line."""
    connection = connect(path, read_only=True)
    try:
        cursor = connection.execute(
            _REPORT_LINE.format(rows=_SETTLEMENT_ROWS), (start_ms, end_ms) * 3
        )
        while rows := cursor.fetchmany(batch):
            yield [row[0] for row in rows]
    finally:
        connection.close()
