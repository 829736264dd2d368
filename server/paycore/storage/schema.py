"""Table definitions for queries (SQLAlchemy Core). Migrations under migrations/ create them;
tests/storage/test_migrations.py fails when the two disagree.

Every table's primary key starts with merchant_id, the shard key, so the schema also fits a
distributed PostgreSQL (Citus) that co-locates a merchant's rows: `_owned` makes such a table.
Column groups every object repeats come from the helpers below (`_required`,
`_metadata_and_created_at`); the order of a table's columns is the order written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

metadata = MetaData()


def _owned(name: str, *items: SchemaItem, key: tuple[str, ...] = ("id",)) -> Table:
    """A table of a merchant's rows: `merchant_id` (the shard key) first, and first in the
    primary key (`merchant_id` then `key`, named <table>_pkey)."""
    return Table(
        name,
        metadata,
        Column("merchant_id", Text, nullable=False),
        *items,
        PrimaryKeyConstraint("merchant_id", *key, name=f"{name}_pkey"),
    )


def _required(type_: type[TypeEngine[Any]], *names: str) -> list[Column[Any]]:
    """NOT NULL columns of one type, in this order."""
    return [Column(name, type_, nullable=False) for name in names]


def _created_at() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def _metadata_and_created_at() -> list[Column[Any]]:
    """What every API object ends with: its merchant-set metadata and its creation time."""
    return [Column("metadata", JSONB, nullable=False), _created_at()]


merchants = _owned(
    "merchants",
    *_required(Text, "name", "email", "country", "default_currency"),
    Column("livemode", Boolean, nullable=False),
    *_metadata_and_created_at(),
    key=(),
)

seller_accounts = _owned(
    "seller_accounts",
    *_required(Text, "id", "email", "business_name", "country", "default_currency"),
    *_metadata_and_created_at(),
    # Stripe's standard | express | custom (migration 0045).
    Column("type", Text, nullable=False, server_default="custom"),
    # Stripe's capabilities requested at creation, name -> "active" (migration 0064).
    Column("capabilities", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
)

api_keys = _owned(
    "api_keys",
    Column("id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("redacted", Text, nullable=False),
    _created_at(),
    Column("revoked_at", DateTime(timezone=True)),
    # Security (issue 23): a rolled key keeps working until then (migration 0013).
    Column("expires_at", DateTime(timezone=True)),
    # The key a roll issued in its place: a key rolls once (migration 0067).
    Column("replaced_by", Text),
    # Authentication finds a key by the id embedded in it, before it knows the merchant.
    Index("api_keys_id_idx", "id", unique=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # The owner: the merchant, "<merchant>/<key class>" (runtime.mutations.idempotency_owner),
    # or an operator's for a merchant or a logical shard (storage.idempotency.operator_owner).
    Column("merchant_id", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("request_hash", LargeBinary, nullable=False),
    # 0 (OK) with the serialized response, or a gRPC status code with the error as JSON.
    # A request that reaches a PSP runs in phases: until it finishes, recovery_point names the
    # last phase committed, the response is that phase's answer, and locked_until is the lease
    # of the request driving it (a retry after the lease resumes from the recovery point).
    Column("response_status", Integer, nullable=False),
    Column("response_body", LargeBinary, nullable=False),
    Column("recovery_point", Text),
    Column("locked_until", DateTime(timezone=True)),
    _created_at(),
    PrimaryKeyConstraint("merchant_id", "key", name="idempotency_keys_pkey"),
    Index("idempotency_keys_created_at_idx", "created_at"),
)


def _balance_columns() -> list[Column[object]]:
    return [
        Column(name, BigInteger, nullable=False, server_default="0")
        for name in ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
    ]


# The ledger (server/paycore/ledger). Balances are sums of entries, kept in the same
# transaction as the entries; CheckIntegrity recomputes them.
ledger_accounts = _owned(
    "ledger_accounts",
    *_required(Text, "id", "code", "type", "currency"),
    *_required(Boolean, "debits_must_not_exceed_credits", "credits_must_not_exceed_debits"),
    *_balance_columns(),
    # Entries so far: the next entry's sequence.
    Column("entry_count", BigInteger, nullable=False, server_default="0"),
    *_metadata_and_created_at(),
    # Transfers name accounts by id alone; the id routes to the shard, this finds the row.
    Index("ledger_accounts_id_idx", "id", unique=True),
    Index("ledger_accounts_code_idx", "merchant_id", "code", "currency", unique=True),
)

ledger_transfers = _owned(
    "ledger_transfers",
    Column("id", Text, nullable=False),
    # posted | pending | post_pending | void_pending
    Column("kind", Text, nullable=False),
    *_required(Text, "debit_account_id", "credit_account_id"),
    # As applied: a post's posted amount, a void's released amount.
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("pending_id", Text),
    Column("timeout_seconds", BigInteger, nullable=False),
    Column("expires_at", BigInteger),
    Column("code", Text, nullable=False),
    Column("metadata", JSONB, nullable=False),
    # posted | pending | voided | expired; only a pending transfer's status ever changes.
    Column("status", Text, nullable=False),
    Column("resolved_by", Text),
    _created_at(),
    Index("ledger_transfers_id_idx", "id", unique=True),
    # The expiry sweep's queue: only pending transfers with a timeout are in it.
    Index(
        "ledger_transfers_expiry_idx",
        "expires_at",
        postgresql_where=text("status = 'pending' AND expires_at IS NOT NULL"),
    ),
    # Reconciliation's dispute movements of a day (paycore.reconciliation.matching's
    # statements spell the same condition, so that the planner uses this index).
    Index(
        "ledger_transfers_disputes_idx",
        "created_at",
        postgresql_where=text("code IN ('dispute', 'dispute_reversal')"),
    ),
)

ledger_entries = _owned(
    "ledger_entries",
    # Per account, entries in the order they were applied; the id is the public name.
    Column("account_id", Text, nullable=False),
    Column("sequence", BigInteger, nullable=False),
    *_required(Text, "id", "transfer_id"),
    # posted | pending | post_pending | void_pending | expire_pending
    Column("kind", Text, nullable=False),
    Column("is_debit", Boolean, nullable=False),
    *_required(Text, "currency", "code"),
    # What the entry adds to the account's posted and pending sums on its side.
    Column("posted_delta", BigInteger, nullable=False),
    Column("pending_delta", BigInteger, nullable=False),
    # The account's balances right after this entry.
    *_balance_columns(),
    _created_at(),
    key=("account_id", "sequence"),
)

# Pay-in (server/paycore/payment) and the executor (server/paycore/executor).
payment_intents = _owned(
    "payment_intents",
    Column("id", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    *_required(Text, "currency", "status", "capture_method"),
    Column("customer_id", Text),
    Column("payment_method_id", Text),
    Column("amount_capturable", BigInteger, nullable=False, server_default="0"),
    Column("amount_received", BigInteger, nullable=False, server_default="0"),
    # Refunds not failed, including those still at the PSP: never above amount_received.
    Column("amount_refunded", BigInteger, nullable=False, server_default="0"),
    Column("fee", BigInteger, nullable=False, server_default="0"),
    Column("transfer_destination", Text),
    Column("application_fee_amount", BigInteger, nullable=False, server_default="0"),
    Column("description", Text, nullable=False, server_default=""),
    # {code, decline_code, message} of the last failed attempt, or null.
    Column("last_error", JSONB),
    # The fraud assessment of the last confirmation: {score, decision, reasons, review, ...}.
    Column("risk", JSONB),
    Column("psp_charge", Text),
    Column("hold_transfer_id", Text),
    Column("execution_id", Text),
    Column("canceled_at", DateTime(timezone=True)),
    Column("cancellation_reason", Text),
    *_metadata_and_created_at(),
    # The subscription invoice it pays (migration 0008).
    Column("invoice_id", Text),
    # Its charge is disputed (a chargeback; migration 0018): refunds are refused.
    Column("disputed", Boolean, nullable=False, server_default=text("false")),
    # While requires_action (3-D Secure, migration 0033): {authentication, url, return_url}.
    Column("next_action", JSONB),
    # Stripe's setup_future_usage (migration 0040): on_session | off_session | null; the payment
    # method is saved for it once the intent succeeds.
    Column("setup_future_usage", Text),
    # Stripe's transfer_group (migration 0042): a label grouping the charge with its transfers.
    Column("transfer_group", Text, nullable=False, server_default=""),
    # Stripe's receipt_email (migration 0049): "" none; its charges' until UpdateCharge's own.
    Column("receipt_email", Text, nullable=False, server_default=""),
    Index("payment_intents_customer_idx", "merchant_id", "customer_id", "id"),
    # A subscription invoice's intents: its duplicate payments, refunded by billing (0038).
    Index(
        "payment_intents_invoice_idx",
        "merchant_id",
        "invoice_id",
        postgresql_where=text("invoice_id IS NOT NULL"),
    ),
)

# Stripe's SetupIntent (seti_, migration 0031): a payment method verified at the PSP and saved
# for later use, no money moved (paycore.payment.setup).
setup_intents = _owned(
    "setup_intents",
    *_required(Text, "id", "status", "usage", "description"),
    Column("customer_id", Text),
    Column("payment_method_id", Text),
    # {code, decline_code, message} of the last failed confirmation, or null.
    Column("last_setup_error", JSONB),
    # The verification running at the PSP, while processing.
    Column("execution_id", Text),
    Column("cancellation_reason", Text),
    *_metadata_and_created_at(),
    # While requires_action (3-D Secure, migration 0033): {authentication, url, return_url}.
    Column("next_action", JSONB),
    Index("setup_intents_customer_idx", "merchant_id", "customer_id", "id"),
)

# What UpdateCharge set of a charge (migration 0041), by its PSP id (ch_): a charge is derived
# from its intent's execution (paycore.payment.charges); a column set here is the charge's own,
# a null one still its intent's.
charge_details = _owned(
    "charge_details",
    Column("charge_id", Text, nullable=False),
    Column("description", Text),
    Column("metadata", JSONB),
    Column("receipt_email", Text),
    # {address{line1, ...}, name, phone, carrier, tracking_number}
    Column("shipping", JSONB),
    key=("charge_id",),
)

payments = _owned(
    "payments",
    *_required(Text, "id", "checkout_id", "status"),
    Column("buyer_info", JSONB, nullable=False),
    Column("customer_id", Text),
    Column("payment_method_id", Text, nullable=False),
    Column("risk", JSONB),
    Column("failure_code", Text, nullable=False, server_default=""),
    Column("failure_message", Text, nullable=False, server_default=""),
    *_metadata_and_created_at(),
    Index("payments_checkout_idx", "merchant_id", "checkout_id", unique=True),
)

payment_orders = _owned(
    "payment_orders",
    *_required(Text, "id", "payment_id"),
    # The merchant's own id of the order; the PSP's idempotency key for its charge.
    Column("payment_order_id", Text, nullable=False),
    Column("seller_account", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    *_required(Text, "currency", "status"),
    Column("amount_refunded", BigInteger, nullable=False, server_default="0"),
    Column("fee", BigInteger, nullable=False, server_default="0"),
    Column("psp_reference", Text, nullable=False, server_default=""),
    Column("failure_code", Text, nullable=False, server_default=""),
    Column("decline_code", Text, nullable=False, server_default=""),
    Column("failure_message", Text, nullable=False, server_default=""),
    Column("execution_id", Text),
    *_metadata_and_created_at(),
    # Its charge is disputed (a chargeback; migration 0023): refunds are refused.
    Column("disputed", Boolean, nullable=False, server_default=text("false")),
    Index("payment_orders_payment_idx", "merchant_id", "payment_id"),
    Index("payment_orders_client_id_idx", "merchant_id", "payment_order_id", unique=True),
)

refunds = _owned(
    "refunds",
    Column("id", Text, nullable=False),
    Column("payment_intent_id", Text),
    Column("payment_order_id", Text),
    Column("amount", BigInteger, nullable=False),
    *_required(Text, "currency", "reason", "status"),
    Column("failure_reason", Text, nullable=False, server_default=""),
    Column("execution_id", Text),
    *_metadata_and_created_at(),
    # A destination charge's refund (migration 0025): what it took back from the seller
    # (reverse_transfer) and gave it back of the application fee (refund_application_fee);
    # null when not asked for.
    Column("transfer_reversal_amount", BigInteger),
    Column("application_fee_refund_amount", BigInteger),
    Index("refunds_payment_intent_idx", "merchant_id", "payment_intent_id"),
    Index("refunds_payment_order_idx", "merchant_id", "payment_order_id"),
)

# One operation (charge, authorize, capture, void, refund) run against the PSP.
executions = _owned(
    "executions",
    *_required(Text, "id", "operation"),
    Column("payment_intent_id", Text),
    Column("payment_order_id", Text),
    Column("refund_id", Text),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("payment_method_id", Text),
    # The PSP object a capture, void or refund acts on.
    Column("psp_charge", Text),
    # What the PSP deduplicates on: every attempt of this execution sends the same key.
    Column("psp_key", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("attempt_count", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    # While running: the runner's lease; after it a worker treats the outcome as unknown.
    Column("lease_until", DateTime(timezone=True)),
    Column("psp_reference", Text, nullable=False, server_default=""),
    Column("result", JSONB),
    Column("failure_code", Text, nullable=False, server_default=""),
    Column("failure_message", Text, nullable=False, server_default=""),
    *_metadata_and_created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("executions_id_idx", "id", unique=True),
    # The worker's queue: executions that are due or whose runner vanished.
    Index(
        "executions_due_idx",
        "next_attempt_at",
        postgresql_where=text("state IN ('queued', 'retry_scheduled', 'unknown_outcome')"),
    ),
    Index("executions_running_idx", "lease_until", postgresql_where=text("state = 'running'")),
    # An intent's attempts, newest first: ListCharges by payment_intent or customer (0035).
    Index(
        "executions_payment_intent_idx",
        "merchant_id",
        "payment_intent_id",
        "id",
        postgresql_where=text("payment_intent_id IS NOT NULL"),
    ),
    Index(
        "executions_dead_idx",
        "merchant_id",
        "id",
        postgresql_where=text("state = 'dead_lettered'"),
    ),
)

execution_attempts = _owned(
    "execution_attempts",
    Column("execution_id", Text, nullable=False),
    Column("number", Integer, nullable=False),
    # request | status_query
    Column("kind", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    # in_flight | succeeded | declined | retryable_error | timeout | not_found
    Column("outcome", Text, nullable=False),
    Column("error_code", Text, nullable=False, server_default=""),
    Column("error_message", Text, nullable=False, server_default=""),
    key=("execution_id", "number"),
)

# A merchant's pricing; merchants without a row pay the default plan (paycore.account.fee_plans).
fee_plans = _owned(
    "fee_plans",
    Column("percent_basis_points", Integer, nullable=False),
    Column("fixed_amount", BigInteger, nullable=False),
    _created_at(),
    key=(),
)

# Events (server/paycore/events): what each state change wrote, in the same transaction, and
# the outbox bookkeeping of the worker that hands them on (published_at stays null until then).
events = _owned(
    "events",
    Column("id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("object_id", Text),
    # The object's proto message, e.g. payment.proto's PaymentIntent: how `data` reads back.
    Column("object_type", Text, nullable=False),
    # The object as paycore renders it in JSON (the edge's mapping: int64 as strings, enums
    # lowercase), right after the change.
    Column("data", JSONB, nullable=False),
    _created_at(),
    Column("published_at", DateTime(timezone=True)),
    # Webhooks (server/paycore/webhooks): null until the event's deliveries are created.
    Column("webhooks_fanned_out_at", DateTime(timezone=True)),
    # Stripe's `data.previous_attributes` of an `*.updated` event: the changed fields' old
    # values as the edge renders them (paycore.events.changes); null on other events (0047).
    Column("previous_attributes", JSONB),
    # Stripe's `request`: the id and idempotency key of the API call that caused the event;
    # null for a background job's event (0065).
    Column("request_id", Text),
    Column("idempotency_key", Text),
    Index("events_type_idx", "merchant_id", "type", "id"),
    # ListEvents' object_id: one object's timeline (the dashboard's payment page, migration 0017).
    Index("events_object_idx", "merchant_id", "object_id", "id"),
    # ListEvents' created[gt|gte|lt|lte] (migration 0027).
    Index("events_created_idx", "merchant_id", "created_at"),
    # The outbox publisher's queue: only events not yet handed on are in it.
    Index("events_unpublished_idx", "id", postgresql_where=text("published_at IS NULL")),
    # The webhook fan-out's queue (webhooks).
    Index("events_unfanned_idx", "id", postgresql_where=text("webhooks_fanned_out_at IS NULL")),
)

# -- fraud (issue 5): assessments, reviews, blocklists, per-merchant policies --------------------

fraud_assessments = _owned(
    "fraud_assessments",
    *_required(Text, "id", "payment"),
    Column("score", Integer, nullable=False),
    # allow | review | block
    Column("decision", Text, nullable=False),
    Column("reasons", ARRAY(Text), nullable=False),
    Column("model_version", Text, nullable=False),
    Column("generator_seed", BigInteger, nullable=False),
    # Scored without the velocity counters (Redis unavailable).
    Column("degraded", Boolean, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    # The payment's entities (card, customer, ip, email, ...) and every feature the model saw:
    # with the label, the next training's rows.
    Column("facts", JSONB, nullable=False),
    Column("features", JSONB, nullable=False),
    # fraudulent | legitimate, once reported
    Column("label", Text),
    Column("label_note", Text),
    Column("labelled_at", DateTime(timezone=True)),
    _created_at(),
    Index("fraud_assessments_payment_idx", "merchant_id", "payment"),
)

fraud_reviews = _owned(
    "fraud_reviews",
    *_required(Text, "id", "payment", "assessment_id"),
    # open | approved | rejected
    Column("status", Text, nullable=False),
    Column("score", Integer, nullable=False),
    Column("reasons", ARRAY(Text), nullable=False),
    Column("amount", BigInteger, nullable=False),
    *_required(Text, "currency", "note"),
    Column("closed_at", DateTime(timezone=True)),
    _created_at(),
    # Operators act on a review by its id alone (the id routes to the shard).
    Index("fraud_reviews_id_idx", "id", unique=True),
    Index("fraud_reviews_status_idx", "merchant_id", "status", "id"),
)

# merchant_id "" for a platform-wide item, which is copied to every physical shard.
fraud_blocklist_items = _owned(
    "fraud_blocklist_items",
    Column("id", Text, nullable=False),
    # card_fingerprint | email | ip | customer | country
    Column("type", Text, nullable=False),
    *_required(Text, "value", "reason"),
    *_metadata_and_created_at(),
    Index("fraud_blocklist_items_id_idx", "id", unique=True),
    # The Radar value list ("rsl_...") the item is on; "" for the blocklist itself (the
    # merchant's default block lists) (migration 0057).
    Column("value_list", Text, nullable=False, server_default=text("''")),
    Index(
        "fraud_blocklist_items_value_idx",
        "merchant_id",
        "type",
        "value",
        "value_list",
        unique=True,
    ),
)

# Early fraud warnings (Stripe's radar.early_fraud_warning, migration 0058): an issuer's warning
# that a charge ("ch_...") of the merchant's may be fraudulent, read from the PSP's feed once
# (psp_warning unique per merchant); payment_intent_id the pi_ whose charge it is.
early_fraud_warnings = _owned(
    "early_fraud_warnings",
    *_required(Text, "id", "psp_warning", "charge", "payment_intent_id", "fraud_type"),
    _created_at(),
    Index("early_fraud_warnings_psp_idx", "merchant_id", "psp_warning", unique=True),
    Index("early_fraud_warnings_charge_idx", "merchant_id", "charge"),
)

# A merchant's Radar value lists (Stripe's radar.value_list); their items are blocklist items
# (migration 0057).
fraud_value_lists = _owned(
    "fraud_value_lists",
    Column("id", Text, nullable=False),
    # card_fingerprint | email | ip | customer | country (BlocklistType's values)
    *_required(Text, "alias", "name", "item_type"),
    *_metadata_and_created_at(),
    Index("fraud_value_lists_alias_idx", "merchant_id", "alias", unique=True),
)

fraud_policies = _owned(
    "fraud_policies",
    Column("review_above", Integer, nullable=False),
    Column("block_above", Integer, nullable=False),
    Column("degraded_review_above_usd", BigInteger, nullable=False),
    # [{"name", "conditions": [{"feature", "above"}], "action": "review" | "block"}]
    Column("rules", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # fraud (issue 18): the merchant's allow list, [{"type", "value"}] (migration 0015)
    Column("allow", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    key=(),
)

# Customers and payment methods (server/paycore/customer). A card's number is stored only
# sealed by the vault (AES-GCM bound to the row); its cvc is never stored.
customers = _owned(
    "customers",
    *_required(Text, "id", "email", "name", "description", "phone"),
    Column("address", JSONB, nullable=False),
    Column("default_payment_method_id", Text),
    *_metadata_and_created_at(),
    # The test clock its subscriptions are billed on (migration 0026), null for none.
    Column("test_clock_id", Text),
    # When DeleteCustomer deleted it (migration 0028), null while it is not: reads leave a
    # deleted customer out.
    Column("deleted_at", DateTime(timezone=True)),
    # The customer's discount (migration 0043), as a subscription's: "di_...", the coupon, its
    # start and end, the promotion code; null for none.
    Column("discount_id", Text),
    Column("discount_coupon_id", Text),
    Column("discount_start", BigInteger),
    Column("discount_end", BigInteger),
    Column("discount_promotion_code_id", Text),
    # ListCustomers' email filter, newest first.
    Index("customers_email_idx", "merchant_id", "email", "id"),
)

payment_methods = _owned(
    "payment_methods",
    *_required(Text, "id", "type"),
    Column("customer_id", Text),
    *_required(Text, "brand", "last4"),
    *_required(Integer, "exp_month", "exp_year"),
    *_required(Text, "fingerprint", "country", "funding"),
    # version | nonce | AES-256-GCM(number), see paycore.customer.vault.
    Column("number_sealed", LargeBinary, nullable=False),
    *_required(JSONB, "billing_details", "metadata"),
    Column("detached_at", DateTime(timezone=True)),
    _created_at(),
    # apple_pay | google_pay for a wallet token's card, else "" (migration 0018). Its
    # cryptogram is never stored (paycore.customer.wallets).
    Column("wallet", Text, nullable=False, server_default=""),
    # A debit card registered as a payee's external account (CreatePayoutCard, migration
    # 0030): "" the merchant's own, "acct_..." a seller's; null for no payee's (a customer's
    # card, or one never registered): no payout goes to it (paycore.payout.bank_accounts).
    Column("payout_account", Text),
    # A payout card's currency, the only one its payouts are in, and whether it is its
    # payee's default card for it (migration 0034): null and false for any other card.
    Column("payout_currency", Text),
    Column("payout_default", Boolean, nullable=False, server_default=text("false")),
    # Set by a succeeded SetupIntent (migration 0031): the usage it was saved for
    # ("off_session" | "on_session"), and for a wallet card the PSP's network token, which
    # charges it without its (expired) cryptogram (paycore.payment.setup).
    Column("setup_usage", Text),
    Column("network_token", Text),
    # ListPaymentMethods' customer filter, newest first.
    Index("payment_methods_customer_idx", "merchant_id", "customer_id", "id"),
    # One default payout card per payee and currency (paycore.payout.bank_accounts).
    Index(
        "payment_methods_payout_default_idx",
        "merchant_id",
        "payout_account",
        "payout_currency",
        unique=True,
        postgresql_where=text("payout_default"),
    ),
)

# Subscriptions (server/paycore/subscription): the catalogue (products and their prices) and
# test clocks. A price is immutable once created; a one-time price has no recurring interval.
products = _owned(
    "products",
    *_required(Text, "id", "name", "description"),
    Column("active", Boolean, nullable=False),
    *_metadata_and_created_at(),
)

prices = _owned(
    "prices",
    *_required(Text, "id", "product_id"),
    Column("unit_amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    # "day" | "week" | "month" | "year", or null for a one-time price (then the count is null).
    Column("recurring_interval", Text),
    Column("recurring_interval_count", Integer),
    Column("nickname", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    *_metadata_and_created_at(),
    # ListPrices' product filter, newest first.
    Index("prices_product_idx", "merchant_id", "product_id", "id"),
    # The merchant's name for the price (Stripe's lookup_key), unique per merchant; null: none
    # (migration 0052).
    Column("lookup_key", Text),
    Index(
        "prices_lookup_key_idx",
        "merchant_id",
        "lookup_key",
        unique=True,
        postgresql_where=text("lookup_key IS NOT NULL"),
    ),
)

test_clocks = _owned(
    "test_clocks",
    *_required(Text, "id", "name"),
    # "Now" for the subscriptions on this clock.
    Column("frozen_time", DateTime(timezone=True), nullable=False),
    # "ready" | "advancing" | "internal_failure"
    Column("status", Text, nullable=False),
    *_metadata_and_created_at(),
    # When DeleteTestClock deleted it (migration 0029), null while it is not.
    Column("deleted_at", DateTime(timezone=True)),
)

# Subscriptions and invoices (issue 7). Times the billing clock compares (periods, trials,
# retries, next_action_at) are unix seconds (BigInteger) on the subscription's clock: a test
# clock's frozen_time, or real time; claimed_until is real time.
subscriptions = _owned(
    "subscriptions",
    *_required(Text, "id", "customer_id"),
    # trialing | active | past_due | unpaid | canceled | incomplete | incomplete_expired
    Column("status", Text, nullable=False),
    Column("currency", Text, nullable=False),
    # Every item's price bills at this interval.
    Column("interval", Text, nullable=False),
    Column("interval_count", Integer, nullable=False),
    *_required(BigInteger, "billing_cycle_anchor", "current_period_start", "current_period_end"),
    Column("trial_start", BigInteger),
    Column("trial_end", BigInteger),
    Column("cancel_at_period_end", Boolean, nullable=False),
    Column("canceled_at", BigInteger),
    Column("ended_at", BigInteger),
    Column("default_payment_method_id", Text),
    Column("latest_invoice_id", Text),
    Column("test_clock_id", Text),
    # Zero or negative: credit the next invoice takes (an earlier invoice's negative total).
    Column("credit_balance", BigInteger, nullable=False),
    # When the billing job next has something to do (renewal, retry, expiry, period-end
    # cancel, a charge to settle); null when nothing is scheduled.
    Column("next_action_at", BigInteger),
    # A billing job run holds the subscription until then (real time); another run skips it.
    Column("claimed_until", DateTime(timezone=True)),
    Column("created", BigInteger, nullable=False),
    *_metadata_and_created_at(),
    # The coupon's discount its invoices take (migration 0037): "di_...", the coupon, and its
    # start and end (null: none) on the subscription's clock; all null without one.
    Column("discount_id", Text),
    Column("discount_coupon_id", Text),
    Column("discount_start", BigInteger),
    Column("discount_end", BigInteger),
    Column("discount_promotion_code_id", Text),
    Index("subscriptions_customer_idx", "merchant_id", "customer_id", "id"),
    Index("subscriptions_clock_idx", "merchant_id", "test_clock_id"),
    Index(
        "subscriptions_due_idx",
        "next_action_at",
        postgresql_where=text("next_action_at IS NOT NULL"),
    ),
    # The billing job's look for dunned subscriptions whose card changed.
    Index(
        "subscriptions_dunned_idx",
        "merchant_id",
        "id",
        postgresql_where=text("status IN ('past_due', 'unpaid')"),
    ),
)

subscription_items = _owned(
    "subscription_items",
    *_required(Text, "id", "subscription_id", "price_id"),
    *_required(BigInteger, "quantity", "created"),
    *_metadata_and_created_at(),
    Index("subscription_items_subscription_idx", "merchant_id", "subscription_id"),
)

invoices = _owned(
    "invoices",
    *_required(Text, "id"),
    # Null: a one-off invoice of the customer's (Invoice.create), no subscription (0051).
    Column("subscription_id", Text),
    Column("customer_id", Text, nullable=False),
    # draft | open | paid | uncollectible | void
    Column("status", Text, nullable=False),
    # subscription_create | subscription_cycle | subscription_update
    Column("billing_reason", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("number", Text),
    *_required(BigInteger, "subtotal", "total", "amount_due", "amount_paid"),
    Column("payment_intent_id", Text),
    Column("attempt_count", Integer, nullable=False),
    # Scheduled (dunning) retries made so far; PayInvoice attempts are not counted.
    Column("retry_count", Integer, nullable=False),
    # Clock time of the latest attempt, and of the next automatic one (null: none).
    Column("attempted_at", BigInteger),
    Column("next_payment_attempt", BigInteger),
    # True while the payment intent of the latest attempt is at the PSP.
    Column("charging", Boolean, nullable=False),
    *_required(BigInteger, "period_start", "period_end"),
    Column("paid_at", BigInteger),
    Column("test_clock_id", Text),
    Column("created", BigInteger, nullable=False),
    *_metadata_and_created_at(),
    # The discount the invoice took ("di_...", null: none) and the sum of its lines'
    # discount_amount (migration 0037).
    Column("discount_id", Text),
    Column("total_discount", BigInteger, nullable=False, server_default=text("0")),
    # The customer's failed payment of it (default_incomplete: declined, or their
    # authentication failed) was reported, invoice.payment_failed, once (migration 0039).
    Column("failure_reported", Boolean, nullable=False, server_default=text("false")),
    # The memo ("" for none) and whether billing advances it by itself (migration 0051).
    Column("description", Text, nullable=False, server_default=text("''")),
    Column("auto_advance", Boolean, nullable=False, server_default=text("true")),
    # Unix seconds of the moves (Stripe's status_transitions), null until they happen (0051).
    Column("finalized_at", BigInteger),
    Column("voided_at", BigInteger),
    Column("marked_uncollectible_at", BigInteger),
    Index("invoices_subscription_idx", "merchant_id", "subscription_id", "id"),
    Index("invoices_customer_idx", "merchant_id", "customer_id", "id"),
    # A renewal is billed once: one period invoice per subscription and period start.
    Index(
        "invoices_period_idx",
        "merchant_id",
        "subscription_id",
        "period_start",
        unique=True,
        postgresql_where=text("billing_reason IN ('subscription_create', 'subscription_cycle')"),
    ),
    Index("invoices_number_idx", "merchant_id", "number", unique=True),
    # Charges in flight, which the billing job settles.
    Index(
        "invoices_charging_idx",
        "merchant_id",
        "subscription_id",
        postgresql_where=text("charging"),
    ),
    # One-off drafts the billing job finalizes by themselves (auto_advance; migration 0066).
    Index(
        "invoices_auto_advance_idx",
        "created",
        postgresql_where=text("status = 'draft' AND auto_advance AND subscription_id IS NULL"),
    ),
)

invoice_lines = _owned(
    "invoice_lines",
    Column("id", Text, nullable=False),
    # Null: a line of a one-off invoice (migration 0051).
    Column("subscription_id", Text),
    # Null: a pending proration line, taken by the subscription's next invoice.
    Column("invoice_id", Text),
    Column("amount", BigInteger, nullable=False),
    *_required(Text, "currency", "description"),
    Column("price_id", Text),
    Column("quantity", BigInteger, nullable=False),
    Column("subscription_item_id", Text),
    Column("proration", Boolean, nullable=False),
    *_required(BigInteger, "period_start", "period_end"),
    _created_at(),
    # What the invoice's discount ("di_...", null: none) took off the line (migration 0037),
    # minor units.
    Column("discount_id", Text),
    Column("discount_amount", BigInteger, nullable=False, server_default=text("0")),
    Index("invoice_lines_invoice_idx", "merchant_id", "invoice_id"),
    Index(
        "invoice_lines_pending_idx",
        "merchant_id",
        "subscription_id",
        postgresql_where=text("invoice_id IS NULL"),
    ),
)

# One-off charges (or credits) for a subscription's next invoice, or (subscription_id null,
# migration 0051) for the customer's next one-off invoice; invoice_id is null while pending and
# set by the transaction that creates (or, given `invoice`, adds it to) that invoice, so an item
# is billed once.
invoice_items = _owned(
    "invoice_items",
    *_required(Text, "id", "customer_id"),
    Column("subscription_id", Text),
    Column("price_id", Text),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("description", Text, nullable=False),
    Column("invoice_id", Text),
    Column("created", BigInteger, nullable=False),
    *_metadata_and_created_at(),
    Index(
        "invoice_items_pending_idx",
        "merchant_id",
        "subscription_id",
        postgresql_where=text("invoice_id IS NULL"),
    ),
)

# Coupons (migration 0037): a discount subscriptions take. percent_off in hundredths of a
# percent (1..10000) or amount_off in minor units of currency; times_redeemed counted by the
# redeeming transaction's conditional update (never past max_redemptions); a deleted coupon
# keeps its row, for the discounts made from it.
coupons = _owned(
    "coupons",
    *_required(Text, "id", "name"),
    Column("percent_off", Integer),
    Column("amount_off", BigInteger),
    Column("currency", Text),
    # once | repeating | forever
    Column("duration", Text, nullable=False),
    Column("duration_in_months", Integer),
    Column("max_redemptions", BigInteger),
    Column("redeem_by", BigInteger),
    Column("times_redeemed", BigInteger, nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
    *_metadata_and_created_at(),
)

# A customer-facing code for a coupon (migration 0037): `code` unique per merchant;
# times_redeemed counted as a coupon's.
promotion_codes = _owned(
    "promotion_codes",
    *_required(Text, "id", "code", "coupon_id"),
    Column("active", Boolean, nullable=False),
    Column("max_redemptions", BigInteger),
    Column("expires_at", BigInteger),
    Column("times_redeemed", BigInteger, nullable=False),
    *_metadata_and_created_at(),
    # Its restrictions (migration 0046): a customer's first purchase only; a minimum amount of
    # the purchase in a currency (null: none).
    Column("first_time_transaction", Boolean, nullable=False, server_default=text("false")),
    Column("minimum_amount", BigInteger),
    Column("minimum_amount_currency", Text),
    Index("promotion_codes_code_idx", "merchant_id", "code", unique=True),
)

# The per-merchant counter behind gapless invoice numbers: taken in the finalizing transaction.
invoice_numbers = _owned(
    "invoice_numbers",
    Column("prefix", Text, nullable=False),
    Column("last_number", BigInteger, nullable=False),
    key=(),
)

billing_settings = _owned(
    "billing_settings",
    Column("retry_schedule_days", ARRAY(Integer), nullable=False),
    # cancel | mark_unpaid
    Column("final_action", Text, nullable=False),
    _created_at(),
    key=(),
)

# -- pay-out (issue 13): balance transactions, bank accounts, payout schedules, payouts ----------
# Times the pay-out clock compares (available_on, created, arrival_date) are unix seconds on the
# platform's injectable clock (paycore.payout), so tests can move them forward.

# One row per credit or debit of a merchant's (or a seller's, `account`) balance, written in the
# transaction of its ledger transfer. pending until the availability job moves it (and its
# money) to balance_available; payout_id is set on the rows an automatic payout sweeps.
balance_transactions = _owned(
    "balance_transactions",
    Column("id", Text, nullable=False),
    # "" for the merchant's own balance, else the seller's acct_ id.
    Column("account", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
    # payment | refund | application_fee | transfer | payout | payout_cancel | payout_failure |
    # adjustment
    Column("type", Text, nullable=False),
    # pending | available
    Column("status", Text, nullable=False),
    Column("available_on", BigInteger, nullable=False),
    Column("source", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("ledger_transfer_id", Text, nullable=False),
    Column("payout_id", Text),
    Column("created", BigInteger, nullable=False),
    # Currencies (issue 19, migration 0019): a converted payment or refund's locked rate (an
    # exact decimal, "" when nothing was converted), what the buyer paid or got back, and the
    # conversion fee (part of `fee`).
    Column("exchange_rate", Text, nullable=False, server_default=""),
    Column("presentment_amount", BigInteger, nullable=False, server_default="0"),
    Column("presentment_currency", Text, nullable=False, server_default=""),
    Column("conversion_fee", BigInteger, nullable=False, server_default="0"),
    # The availability job's queue.
    Index(
        "balance_transactions_due_idx",
        "available_on",
        postgresql_where=text("status = 'pending'"),
    ),
    # What the next automatic payout of an account and currency sweeps.
    Index(
        "balance_transactions_unswept_idx",
        "merchant_id",
        "account",
        "currency",
        postgresql_where=text("status = 'available' AND payout_id IS NULL"),
    ),
    Index(
        "balance_transactions_payout_idx",
        "merchant_id",
        "payout_id",
        postgresql_where=text("payout_id IS NOT NULL"),
    ),
    Index("balance_transactions_source_idx", "merchant_id", "source"),
)

# -- currencies (issue 19, server/paycore/currency; migration 0019) ------------------------------

# Exchange rates: platform data, not a merchant's, kept whole on every physical shard (the rates
# job writes each) so that a conversion reads it in the merchant's own transaction. `rate` is
# exact: units of `quote` for one unit of `base` (major units). valid_to is set when a newer
# rate of the pair and source arrives.
exchange_rates = Table(
    "exchange_rates",
    metadata,
    Column("base", Text, nullable=False),
    Column("quote", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("valid_from", BigInteger, nullable=False),
    Column("valid_to", BigInteger),
    Column("rate", Numeric, nullable=False),
    _created_at(),
    PrimaryKeyConstraint("base", "quote", "source", "valid_from", name="exchange_rates_pkey"),
    Index("exchange_rates_latest_idx", "base", "quote", "valid_from"),
)

# The currencies a balance settles in (`account` "" for the merchant's own, else the seller's
# acct_ id), the default first; no row (or none listed): every charge stays in its currency.
settlement_currencies = _owned(
    "settlement_currencies",
    Column("account", Text, nullable=False),
    Column("currencies", ARRAY(Text), nullable=False),
    _created_at(),
    key=("account",),
)

# The exact fraction of a minor unit that conversions into `currency` rounded off and that has
# not yet made a whole unit on the merchant's fx_rounding account (0 <= carry < 1).
fx_rounding_carries = _owned(
    "fx_rounding_carries",
    Column("currency", Text, nullable=False),
    Column("carry", Numeric, nullable=False),
    key=("currency",),
)

# Where payouts go. The account number is stored only sealed by the vault (bound to the row).
bank_accounts = _owned(
    "bank_accounts",
    Column("id", Text, nullable=False),
    Column("account", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("account_holder_name", Text, nullable=False),
    # individual | company
    Column("account_holder_type", Text, nullable=False),
    Column("bank_name", Text, nullable=False),
    Column("routing_number", Text, nullable=False),
    Column("last4", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("number_sealed", LargeBinary, nullable=False),
    # new | verified | errored
    Column("status", Text, nullable=False),
    Column("default_for_currency", Boolean, nullable=False),
    Column("instant_supported", Boolean, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Index("bank_accounts_id_idx", "id", unique=True),
    Index(
        "bank_accounts_default_idx",
        "merchant_id",
        "account",
        "currency",
        unique=True,
        postgresql_where=text("default_for_currency"),
    ),
)

# When automatic payouts run for the merchant (account "") or a seller. No row: manual, delay 2.
payout_schedules = _owned(
    "payout_schedules",
    Column("account", Text, nullable=False),
    # manual | daily | weekly | monthly
    Column("interval", Text, nullable=False),
    Column("delay_days", Integer, nullable=False),
    # 1 (Monday) .. 7 (Sunday); 1..31 (29-31 mean the month's last day when shorter).
    Column("weekly_anchor", Integer, nullable=False),
    Column("monthly_anchor", Integer, nullable=False),
    # {currency: minor units}: automatic payouts below it wait.
    Column("minimum_amounts", JSONB, nullable=False),
    # The UTC day of the next automatic payout; null when manual.
    Column("next_run_on", Date),
    Column("updated", BigInteger, nullable=False),
    Index(
        "payout_schedules_due_idx",
        "next_run_on",
        postgresql_where=text("next_run_on IS NOT NULL"),
    ),
    key=("account",),
)

payouts = _owned(
    "payouts",
    Column("id", Text, nullable=False),
    Column("account", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    # The instant payout's fee (0 for standard), taken from the balance beside the amount.
    Column("fee", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    # ba_ (a bank account) or pm_ (a debit card, instant only).
    Column("destination", Text, nullable=False),
    # standard | instant
    Column("method", Text, nullable=False),
    # pending | in_transit | paid | failed | canceled
    Column("status", Text, nullable=False),
    Column("automatic", Boolean, nullable=False),
    # An automatic payout's UTC day (its schedule's run); null for a manual one.
    Column("period", Date),
    Column("arrival_date", BigInteger, nullable=False),
    Column("balance_transaction", Text, nullable=False),
    Column("failure_balance_transaction", Text, nullable=False),
    Column("failure_code", Text, nullable=False),
    Column("failure_message", Text, nullable=False),
    Column("bank_reference", Text, nullable=False),
    # The executor's execution that sends it to the bank (paycore.executor, operation payout).
    Column("execution_id", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    # The bank status check's next time (unix seconds on the clock); null when nothing to ask.
    Column("next_check_at", BigInteger),
    Column("metadata", JSONB, nullable=False),
    # ReversePayout: the po_ a reversal reverses, and the po_ that reversed a payout; "" none.
    Column("original_payout", Text, nullable=False, server_default=""),
    Column("reversed_by", Text, nullable=False, server_default=""),
    # Stripe's statement_descriptor of a payout; "" none (migration 0064).
    Column("statement_descriptor", Text, nullable=False, server_default=""),
    Index("payouts_id_idx", "id", unique=True),
    # One automatic payout per account, currency and period, however many workers run.
    Index(
        "payouts_period_idx",
        "merchant_id",
        "account",
        "currency",
        "period",
        unique=True,
        postgresql_where=text("automatic"),
    ),
    Index(
        "payouts_tracking_idx",
        "next_check_at",
        postgresql_where=text("next_check_at IS NOT NULL"),
    ),
    # Reconciliation's paid payouts due on a day (paycore.reconciliation.payout_matching's
    # statement spells the same condition, so that the planner uses this index).
    Index(
        "payouts_paid_arrival_idx",
        "arrival_date",
        postgresql_where=text("status = 'paid' AND bank_reference <> ''"),
    ),
)

# -- operations (issue 20): the shard map every process reads, and moving a logical shard -----
# Platform tables, not a merchant's: they are read and written on physical shard 0 (the
# catalog) and hold no merchant_id, so a shard move never copies them.

shard_map = Table(
    "shard_map",
    metadata,
    # Where each logical shard lives: the settings' map (PAYCORE_SHARD_MAP, or logical mod
    # physical count) as the first `paycore migrate` recorded it, then each move's; a logical
    # shard without a row lives where the settings put it.
    Column("logical_shard", Integer, nullable=False),
    Column("physical_shard", Integer, nullable=False),
    Column("moved_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("logical_shard", name="shard_map_pkey"),
)

shard_moves = Table(
    "shard_moves",
    metadata,
    # A logical shard being moved off this database: its writes are logged (shard_move_log);
    # once `fenced`, refused (SQLSTATE PCM01, answered UNAVAILABLE): the short switch.
    Column("logical_shard", Integer, nullable=False),
    Column("fenced", Boolean, nullable=False, server_default=text("false")),
    _created_at(),
    PrimaryKeyConstraint("logical_shard", name="shard_moves_pkey"),
)

shard_move_log = Table(
    "shard_move_log",
    metadata,
    # The keys of the rows of a moving logical shard written since its copy began, written by
    # the move's triggers; the move replays them onto the target until it has caught up.
    Column("sequence", BigInteger, Identity(), nullable=False),
    Column("logical_shard", Integer, nullable=False),
    Column("table_name", Text, nullable=False),
    Column("primary_key", JSONB, nullable=False),
    PrimaryKeyConstraint("sequence", name="shard_move_log_pkey"),
)

shards_moved_away = Table(
    "shards_moved_away",
    metadata,
    # A logical shard this database has moved away (to `physical_shard`): its inserts here are
    # refused for good (SQLSTATE PCM01, migration 0021), until it is moved back.
    Column("logical_shard", Integer, nullable=False),
    Column("physical_shard", Integer, nullable=False),
    Column("moved_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("logical_shard", name="shards_moved_away_pkey"),
)

# -- webhooks (issue 15): endpoints, deliveries of events to them, and every attempt --------------

webhook_endpoints = _owned(
    "webhook_endpoints",
    Column("id", Text, nullable=False),
    Column("url", Text, nullable=False),
    # ["*"] or event types of the catalogue (paycore.events.types).
    Column("enabled_events", ARRAY(Text), nullable=False),
    Column("description", Text, nullable=False),
    Column("metadata", JSONB, nullable=False),
    # enabled | disabled
    Column("status", Text, nullable=False),
    # The signing secret, sealed by the vault (AES-GCM bound to the endpoint's id).
    Column("secret", LargeBinary, nullable=False),
    # The secret before the last roll, also signing until previous_secret_expires_at.
    Column("previous_secret", LargeBinary),
    Column("previous_secret_expires_at", DateTime(timezone=True)),
    # Since when every attempt has failed (null after a success); three days of it disable.
    Column("failing_since", DateTime(timezone=True)),
    Column("created", BigInteger, nullable=False),
    _created_at(),
    # Stripe's api_version given on create; null when none was (0048).
    Column("api_version", Text),
)

# One event on its way to one endpoint; the worker claims due ones by next_attempt_at (a
# lease while an attempt is under way), and a pending one stops being retried at expires_at.
webhook_deliveries = _owned(
    "webhook_deliveries",
    Column("id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("endpoint_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    # pending | succeeded | failed
    Column("status", Text, nullable=False),
    Column("attempt_count", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("last_response_status", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created", BigInteger, nullable=False),
    _created_at(),
    Index(
        "webhook_deliveries_due_idx",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
    ),
    Index("webhook_deliveries_endpoint_idx", "merchant_id", "endpoint_id", "id"),
    Index("webhook_deliveries_event_idx", "merchant_id", "event_id", "id"),
)

webhook_attempts = _owned(
    "webhook_attempts",
    Column("delivery_id", Text, nullable=False),
    # 1, 2, ... in the delivery's order.
    Column("number", Integer, nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    # 0: no answer.
    Column("response_status", Integer, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("error", Text, nullable=False),
    key=("delivery_id", "number"),
)

# -- reconciliation (issue 14): runs, their per-shard parts, which day settled each paycore item,
# each day's settlement totals, and the discrepancies (server/paycore/reconciliation) ---------

# Platform-wide rows (runs and their parts) are owned by RECONCILIATION_OWNER, not a merchant.
reconciliation_runs = _owned(
    "reconciliation_runs",
    Column("id", Text, nullable=False),
    # psp_settlement | bank_payouts
    Column("source", Text, nullable=False),
    Column("day", Date, nullable=False),
    # running | succeeded | failed
    Column("status", Text, nullable=False),
    Column("record_count", BigInteger, nullable=False, server_default="0"),
    Column("matched_count", BigInteger, nullable=False, server_default="0"),
    Column("discrepancy_count", BigInteger, nullable=False, server_default="0"),
    Column("auto_resolved_count", BigInteger, nullable=False, server_default="0"),
    Column("attempt_count", Integer, nullable=False, server_default="0"),
    # A worker owns a running run until then; after it (the worker died) another takes it over.
    Column("lease_until", DateTime(timezone=True)),
    Column("failure_message", Text, nullable=False, server_default=""),
    Column("finished_at", DateTime(timezone=True)),
    _created_at(),
    Index("reconciliation_runs_day_idx", "merchant_id", "source", "day"),
    Index(
        "reconciliation_runs_due_idx", "lease_until", postgresql_where=text("status = 'running'")
    ),
)

# One physical shard's part of a run, committed with that shard's matching (its checkpoint).
reconciliation_run_parts = _owned(
    "reconciliation_run_parts",
    Column("run_id", Text, nullable=False),
    Column("record_count", BigInteger, nullable=False),
    Column("matched_count", BigInteger, nullable=False),
    Column("discrepancy_count", BigInteger, nullable=False),
    Column("auto_resolved_count", BigInteger, nullable=False),
    _created_at(),
    key=("run_id",),
)

# Which settlement day each paycore item (a captured charge, a refund, a payout) belongs to:
# the day whose report carried it, or the paycore day it was missing from.
reconciliation_items = _owned(
    "reconciliation_items",
    Column("source", Text, nullable=False),
    # The PSP's (or the bank's) id of the item: ch_, rf_, or the payout's reference; a
    # dispute's movement, <du_...>:dispute or <du_...>:dispute_reversal.
    Column("reference", Text, nullable=False),
    Column("object_id", Text, nullable=False),
    Column("day", Date, nullable=False),
    Index("reconciliation_items_day_idx", "day"),
    key=("source", "reference"),
)

# What a day's settlement moved per merchant and currency (the PSP's totals), so that a rerun
# posts only a difference, never the day twice.
reconciliation_settlements = _owned(
    "reconciliation_settlements",
    Column("source", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("currency", Text, nullable=False),
    Column("gross_amount", BigInteger, nullable=False),
    Column("fee_amount", BigInteger, nullable=False),
    _created_at(),
    key=("source", "day", "currency"),
)

reconciliation_discrepancies = _owned(
    "reconciliation_discrepancies",
    Column("id", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("day", Date, nullable=False),
    # What makes it the same discrepancy when the day is run again: kind and reference.
    Column("key", Text, nullable=False),
    Column("kind", Text, nullable=False),
    # open | resolved
    Column("status", Text, nullable=False),
    Column("run_id", Text, nullable=False),
    # charge | refund | dispute | dispute_reversal | payout
    Column("line_type", Text, nullable=False),
    Column("object_id", Text, nullable=False),
    Column("object_ids", ARRAY(Text), nullable=False),
    Column("reference", Text, nullable=False),
    Column("internal_amount", BigInteger, nullable=False),
    Column("internal_currency", Text, nullable=False),
    Column("internal_fee", BigInteger, nullable=False),
    Column("internal_status", Text, nullable=False),
    Column("psp_amount", BigInteger, nullable=False),
    Column("psp_currency", Text, nullable=False),
    Column("psp_fee", BigInteger, nullable=False),
    Column("psp_status", Text, nullable=False),
    # auto | adjust | write_off | refund_at_psp | ignore, once resolved
    Column("action", Text, nullable=False, server_default=""),
    Column("note", Text, nullable=False, server_default=""),
    Column("ledger_transfer_ids", ARRAY(Text), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    _created_at(),
    Index("reconciliation_discrepancies_id_idx", "id", unique=True),
    Index(
        "reconciliation_discrepancies_key_idx",
        "merchant_id",
        "source",
        "day",
        "key",
        unique=True,
    ),
    Index("reconciliation_discrepancies_run_idx", "run_id"),
    Index("reconciliation_discrepancies_day_idx", "source", "day"),
)

# Hosted payment pages (issue 21, migration 0017): a session and the payment intent it pays.
# Its shown status follows the intent's (paycore.checkout.repository.session_of).
checkout_sessions = _owned(
    "checkout_sessions",
    *_required(Text, "id", "currency", "status", "payment_intent_id"),
    Column("amount_total", BigInteger, nullable=False),
    # [{name, unit_amount, quantity}], possibly empty (an amount alone).
    Column("line_items", JSONB, nullable=False),
    Column("customer_id", Text),
    *_required(Text, "customer_email", "success_url", "cancel_url", "description"),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    *_metadata_and_created_at(),
    # The discount (migration 0037): what it took off (amount_total is after it), its coupon
    # and the promotion code redeemed for it (null: none).
    Column("amount_discount", BigInteger, nullable=False, server_default=text("0")),
    Column("discount_coupon_id", Text),
    Column("discount_promotion_code_id", Text),
    # Stripe's client_reference_id, the merchant's own reference (migration 0050; null: none).
    Column("client_reference_id", Text),
    # Stripe's customer_creation, locale and allow_promotion_codes (migration 0054; null:
    # not given), and who paid, as the session completed (null before, and for a session
    # completed before 0054: read live).
    Column("customer_creation", Text, nullable=False, server_default="if_required"),
    Column("locale", Text),
    Column("allow_promotion_codes", Boolean),
    Column("customer_details", JSONB),
    Index("checkout_sessions_intent_idx", "merchant_id", "payment_intent_id"),
    # The worker's sweep: open sessions only.
    Index(
        "checkout_sessions_open_idx",
        "expires_at",
        postgresql_where=text("status = 'open'"),
    ),
)

# The publishable key each merchant's hosted pages tokenize with: issued by paycore on the
# first session (an api_keys row like any other, revocable), kept sealed by the vault because
# the page must show it (api_keys stores only its hash).
checkout_keys = _owned(
    "checkout_keys",
    Column("key_id", Text, nullable=False),
    Column("sealed_key", LargeBinary, nullable=False),
    _created_at(),
    key=(),
)

# What matching reads from pay-in: a succeeded execution by its PSP reference, and a day's
# succeeded executions by the time they succeeded.
executions_psp_reference_idx = Index(
    "executions_psp_reference_idx",
    executions.c.psp_reference,
    postgresql_where=text("psp_reference <> ''"),
)
executions_succeeded_idx = Index(
    "executions_succeeded_idx",
    executions.c.updated_at,
    postgresql_where=text("state = 'succeeded'"),
)

# -- disputes (issue 22): chargebacks and inquiries read from the PSP's feed, and the feed's
# position (server/paycore/dispute) --------------------------------------------------------------
disputes = _owned(
    "disputes",
    *_required(Text, "id", "payment_intent_id", "psp_dispute", "psp_charge"),
    *_required(BigInteger, "amount", "fee"),
    # fraudulent | product_not_received | duplicate | general
    *_required(Text, "currency", "reason"),
    # warning_needs_response | warning_under_review | warning_closed | needs_response |
    # under_review | won | lost
    Column("status", Text, nullable=False),
    # The staged (then submitted) text fields, {name: text}.
    Column("evidence", JSONB, nullable=False),
    *_required(BigInteger, "due_by", "submitted_at"),
    Column("submission_count", Integer, nullable=False),
    # A call to the PSP recorded and not yet answered: "" | submit | close.
    Column("psp_action", Text, nullable=False),
    Column("psp_action_at", BigInteger, nullable=False),
    # The last feed event applied (its sequence): an older or repeated one changes nothing.
    Column("psp_sequence", BigInteger, nullable=False),
    # The txn_ ids of its withdrawal and reinstatement, in order.
    Column("balance_transactions", ARRAY(Text), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("metadata", JSONB, nullable=False),
    # The disputed charge's owner (migration 0023): a checkout payment order's charge has its
    # order here and "" in payment_intent_id (an intent's the reverse); `account` is the
    # balance the charge credited and the dispute's money moves ("" the merchant's, a seller's).
    Column("payment_order_id", Text, nullable=False, server_default=""),
    Column("account", Text, nullable=False, server_default=""),
    Index("disputes_psp_idx", "merchant_id", "psp_dispute", unique=True),
    Index("disputes_intent_idx", "merchant_id", "payment_intent_id", "id"),
    Index("disputes_order_idx", "merchant_id", "payment_order_id", "id"),
    # The calls to the PSP under way, which the dispute_feed job resumes when left behind.
    Index("disputes_psp_action_idx", "psp_action_at", postgresql_where=text("psp_action <> ''")),
)

# How far paycore read the PSP's disputes feed (one row, on the home shard; owner "platform"),
# and who reads it now (a worker's lease).
dispute_feeds = _owned(
    "dispute_feeds",
    Column("name", Text, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("lease_until", BigInteger, nullable=False),
    key=("name",),
)

# Separate charges and transfers (docs/connect.md, migration 0036): money moved from the
# platform's balance to a seller account's, and what reversals took back.
transfers = _owned(
    "transfers",
    Column("id", Text, nullable=False),
    *_required(BigInteger, "amount", "amount_reversed"),
    # destination: the seller's acct_; source_transaction: the pi_ followed, or "".
    *_required(Text, "currency", "destination", "source_transaction", "transfer_group"),
    *_required(Text, "description", "balance_transaction"),
    Column("created", BigInteger, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Index("transfers_destination_idx", "merchant_id", "destination", "id"),
    Index("transfers_group_idx", "merchant_id", "transfer_group", "id"),
    Index("transfers_source_idx", "merchant_id", "source_transaction"),
)

transfer_reversals = _owned(
    "transfer_reversals",
    Column("id", Text, nullable=False),
    Column("transfer_id", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    *_required(Text, "currency", "description"),
    Column("created", BigInteger, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Index("transfer_reversals_transfer_idx", "merchant_id", "transfer_id", "id"),
)

# Application fee refunds (fr_, docs/connect.md, migration 0044): some of a destination
# charge's application fee (the fee_ of payment_intent_id) given back to its seller;
# balance_transaction: the platform's row of it.
application_fee_refunds = _owned(
    "application_fee_refunds",
    Column("id", Text, nullable=False),
    Column("payment_intent_id", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    *_required(Text, "currency", "balance_transaction"),
    Column("created", BigInteger, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Index("application_fee_refunds_charge_idx", "merchant_id", "payment_intent_id", "id"),
)

__all__ = [
    "api_keys",
    "application_fee_refunds",
    "balance_transactions",
    "bank_accounts",
    "billing_settings",
    "checkout_keys",
    "checkout_sessions",
    "customers",
    "dispute_feeds",
    "disputes",
    "early_fraud_warnings",
    "events",
    "exchange_rates",
    "execution_attempts",
    "executions",
    "fee_plans",
    "fraud_assessments",
    "fraud_blocklist_items",
    "fraud_policies",
    "fraud_reviews",
    "fraud_value_lists",
    "fx_rounding_carries",
    "idempotency_keys",
    "invoice_lines",
    "invoice_numbers",
    "invoices",
    "ledger_accounts",
    "ledger_entries",
    "ledger_transfers",
    "merchants",
    "metadata",
    "payment_intents",
    "payment_methods",
    "payment_orders",
    "payments",
    "payout_schedules",
    "payouts",
    "prices",
    "products",
    "reconciliation_discrepancies",
    "reconciliation_items",
    "reconciliation_run_parts",
    "reconciliation_runs",
    "reconciliation_settlements",
    "refunds",
    "seller_accounts",
    "settlement_currencies",
    "setup_intents",
    "shard_map",
    "shard_move_log",
    "shard_moves",
    "subscription_items",
    "subscriptions",
    "test_clocks",
    "transfer_reversals",
    "transfers",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_endpoints",
]
