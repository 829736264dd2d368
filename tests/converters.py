"""The converters from domain dataclasses to proto messages, checked against the messages'
descriptors (tests/test_converters.py): each one is given a sample object with every field set
(`sample_of`), and every field of the message it renders must come out set, or be listed in
`omitted` (dotted paths into nested messages), with the reason beside it.

Every converter a servicer's messages.py declares must have one (`servicer_converters`); to add
one, append a `ConverterCase` to `CONVERTERS`:

    ConverterCase(payout_message, sample_of(Payout, status=PayoutStatus.PAID),
                  omitted={"balance_transaction": "not stored yet"})
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, Protocol, Union, get_args, get_origin, get_type_hints

from google.protobuf.message import Message
from paycore.account import models as account
from paycore.account.servicer import messages as account_messages
from paycore.checkout import models as checkout
from paycore.checkout.page_secrets import PageSecrets
from paycore.checkout.servicer.messages import SessionMessages
from paycore.currency import models as currency
from paycore.currency.servicer import messages as currency_messages
from paycore.customer import models as customer
from paycore.customer.servicer import messages as customer_messages
from paycore.dispute import models as dispute
from paycore.dispute.servicer import messages as dispute_messages
from paycore.events.models import Event
from paycore.events.servicer.messages import event_message
from paycore.executor.models import Attempt, Execution, PspAnswer
from paycore.executor.servicer.messages import execution_message
from paycore.fraud import models as fraud
from paycore.fraud.service import Scored
from paycore.fraud.servicer import messages as fraud_messages
from paycore.ledger import models as ledger
from paycore.ledger.servicer import messages as ledger_messages
from paycore.payment.models import (
    ApplicationFee,
    Charge,
    FeeRefund,
    Intent,
    Order,
    Payment,
    PaymentError,
    Refund,
    Risk,
    SetupIntent,
    SetupStatus,
)
from paycore.payment.servicer.messages import (
    application_fee_message,
    charge_message,
    fee_refund_message,
    intent_message,
    order_message,
    payment_message,
    refund_message,
    setup_message,
)
from paycore.payout import models as payout
from paycore.payout.servicer import messages as payout_messages
from paycore.reconciliation import models as reconciliation
from paycore.reconciliation.servicer import messages as reconciliation_messages
from paycore.runtime.messages import Converter
from paycore.subscription import models as subscription
from paycore.subscription.servicer import messages as subscription_messages
from paycore.webhooks import models as webhooks
from paycore.webhooks.servicer import messages as webhook_messages


class Rendering(Protocol):
    """A converter (paycore.runtime.messages.Converter) of any domain type and message type."""

    @property
    def message_type(self) -> type[Message]: ...
    def __call__(self, value: Any, /) -> Message: ...


@dataclass(frozen=True)
class ConverterCase:
    render: Rendering
    sample: Any
    omitted: Mapping[str, str] = field(default_factory=dict)
    """Message fields (dotted for nested ones) deliberately not mapped -> why."""

    @property
    def name(self) -> str:
        """The converter's name in its servicer's messages.py, else its message type's."""
        for name, found in servicer_converters().items():
            if found is self.render:
                return name.rsplit(".", 1)[-1]
        return str(self.render.message_type.DESCRIPTOR.full_name)


def sample_of(model: type[Any], **overrides: Any) -> Any:
    """An instance of the dataclass `model` with every field set to a value that is not its
    type's default (a nested dataclass gets a sample of its own); `overrides` for values that
    must be of a certain kind (an enum-like string, an id)."""
    hints = get_type_hints(model)
    values: dict[str, Any] = {}
    for item in fields(model):
        if item.name in overrides:
            values[item.name] = overrides[item.name]
        elif item.init:
            values[item.name] = _sample_value(item.name, hints[item.name])
        elif item.default is MISSING and item.default_factory is MISSING:
            raise TypeError(f"{model.__name__}.{item.name} has no sample")
    return model(**values)


def _sample_value(name: str, hint: Any) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return _sample_value(name, next(arg for arg in get_args(hint) if arg is not type(None)))
    if origin is dict:
        return {f"{name}_key": f"{name}_value"}
    if origin in (tuple, list):
        item = _sample_value(name, get_args(hint)[0])
        return origin([item])
    if isinstance(hint, type) and issubclass(hint, Enum):
        return list(hint)[-1]
    if is_dataclass(hint) and isinstance(hint, type):
        return sample_of(hint)
    if hint is bool:
        return True
    if hint is int:
        return 7
    if hint is float:
        return 7.5
    if hint is str:
        return f"{name}_sample"
    raise TypeError(f"no sample for {name}: {hint!r}")


_RISK = sample_of(Risk, decision="review")
_BUYER_FIELDS = ("email", "name", "phone", "ip", "country", "user_agent")
_ERROR = sample_of(PaymentError)

_NO_REFUND_OF_A_REVERSAL = {
    "destination_payment_refund": "paycore makes no refund on the seller's side (always null)",
    "source_refund": "a transfer reversal made here is no refund's (always null)",
}

CONVERTERS: list[ConverterCase] = [
    ConverterCase(
        event_message,
        sample_of(
            Event,
            object_type="paycore.v1.Refund",
            data={"id": "re_1"},
        ),
        {
            "pending_webhooks": "not counted yet: the deliveries are paycore.webhooks' (always 0)",
        },
    ),
    ConverterCase(
        intent_message,
        sample_of(Intent, risk=_RISK, last_error=_ERROR, cancellation_reason="duplicate"),
        {"client_secret": "derived for each answer by the servicer (ClientSecrets), not stored"},
    ),
    ConverterCase(order_message, sample_of(Order)),
    ConverterCase(
        payment_message,
        sample_of(
            Payment,
            risk=_RISK,
            buyer_info={key: f"{key}_sample" for key in _BUYER_FIELDS},
            orders=(sample_of(Order),),
        ),
    ),
    ConverterCase(refund_message, sample_of(Refund, reason="duplicate")),
    ConverterCase(
        charge_message,
        sample_of(Charge, refunds=(sample_of(Refund, reason="duplicate"),)),
    ),
    ConverterCase(
        setup_message,
        sample_of(
            SetupIntent,
            status=SetupStatus.REQUIRES_ACTION,  # next_action is rendered only while it waits
            last_setup_error=_ERROR,
            cancellation_reason="abandoned",
        ),
        {"client_secret": "derived for each answer by the servicer (ClientSecrets), not stored"},
    ),
    ConverterCase(
        execution_message,
        sample_of(
            Execution,
            attempts=(sample_of(Attempt, started=1.0, finished=2.0),),
            answer=sample_of(PspAnswer),
        ),
    ),
    ConverterCase(
        account_messages.merchant_message,
        sample_of(account.Merchant),
        {
            "secret_key": "shown once, by created_merchant_message",
            "publishable_key": "shown once, by created_merchant_message",
        },
    ),
    ConverterCase(
        SessionMessages("http://edge.test", PageSecrets("converters")).session,
        sample_of(checkout.Session),
        {
            "line_items.price.recurring": "a session's prices are one-time: never recurring",
            "line_items.price.lookup_key": "a line keeps its price's amount, nickname and"
            " metadata as when the session was made, not its lookup key (null)",
            "line_items.price.active": "the sample's line is a price_data line (`inline`), "
            "whose price is made inactive",
            "total_details.amount_shipping": "Stripe's: a session collects no shipping, always 0",
            "total_details.amount_tax": "Stripe's: a session collects no tax, always 0",
        },
    ),
    ConverterCase(
        fraud_messages.review_message,
        sample_of(fraud.Review, payment="pi_sample", status=fraud.ReviewStatus.REJECTED),
        {"open": "Stripe's, False once closed (the sample is rejected)"},
    ),
    # Rendered from a sample as it comes (every field of the dataclass set).
    *(
        ConverterCase(render, sample_of(model))
        for render, model in (
            (account_messages.seller_account_message, account.SellerAccount),
            (account_messages.created_merchant_message, account.CreatedMerchant),
            (account_messages.issued_key_message, account.IssuedKey),
            (currency_messages.settlement_message, currency.Settlement),
            (fraud_messages.assessment_message, Scored),
            (webhook_messages.deleted_message, webhooks.Deleted),
            (webhook_messages.endpoint_with_secret, webhooks.EndpointWithSecret),
            (customer_messages.customer_message, customer.Customer),
            (customer_messages.payment_method_message, customer.PaymentMethod),
            (customer_messages.deleted_customer_message, customer.Customer),
            (customer_messages.deleted_discount_message, subscription.Discount),
            (fraud_messages.blocklist_item_message, fraud.BlocklistItem),
            (fraud_messages.early_fraud_warning_message, fraud.EarlyFraudWarning),
            (payout_messages.bank_account_message, payout.BankAccount),
            (payout_messages.payout_card_message, payout.PayoutCard),
            (application_fee_message, ApplicationFee),
            (fee_refund_message, FeeRefund),
            (payout_messages.balance_transaction_message, payout.BalanceTransaction),
            (subscription_messages.product_message, subscription.Product),
            (subscription_messages.price_message, subscription.Price),
            (subscription_messages.clock_message, subscription.TestClock),
            (subscription_messages.deleted_clock_message, subscription.TestClock),
            (subscription_messages.subscription_message, subscription.Subscription),
            (subscription_messages.settings_message, subscription.BillingSettings),
            (subscription_messages.item_message, subscription.InvoiceItem),
            (subscription_messages.deleted_item_message, subscription.InvoiceItem),
            (subscription_messages.deleted_invoice_message, subscription.Invoice),
            (subscription_messages.placed_item_message, subscription.PlacedItem),
            (
                subscription_messages.deleted_subscription_item_message,
                subscription.SubscriptionItem,
            ),
            (subscription_messages.line_message, subscription.InvoiceLine),
            (subscription_messages.coupon_message, subscription.Coupon),
            (subscription_messages.deleted_coupon_message, subscription.Coupon),
            (subscription_messages.discount_message, subscription.Discount),
            (subscription_messages.deleted_discount_message, subscription.Discount),
            (subscription_messages.promotion_code_message, subscription.PromotionCode),
            (webhook_messages.delivery_message, webhooks.Delivery),
            (ledger_messages.account_message, ledger.Account),
            (ledger_messages.entry_message, ledger.Entry),
        )
    ),
    ConverterCase(
        payout_messages.transfer_message,
        sample_of(payout.Transfer),
        {f"reversals.{name}": reason for name, reason in _NO_REFUND_OF_A_REVERSAL.items()},
    ),
    ConverterCase(
        payout_messages.transfer_reversal_message,
        sample_of(payout.TransferReversal),
        _NO_REFUND_OF_A_REVERSAL,
    ),
    ConverterCase(
        dispute_messages.dispute_message,
        sample_of(
            dispute.Dispute,
            evidence={name: name for name in dispute.EVIDENCE_FIELDS},
            status=dispute.DisputeStatus.WARNING_NEEDS_RESPONSE,  # an inquiry: refundable
            # Submitted after due_by, so that evidence_details.past_due is set (paycore itself
            # refuses evidence past due; the mapping is what is checked here).
            due_by=1_700_000_000,
            submitted_at=1_700_000_001,
            submission_count=1,
        ),
    ),
    ConverterCase(
        ledger_messages.transfer_message,
        sample_of(ledger.Transfer, kind=ledger.TransferKind.POST_PENDING),
        {
            "pending": "a pending transfer's flag; this one posts a pending transfer",
            "void_pending_id": "set on a void; this one posts",
            "linked": "a request's flag (linked chains), not stored with the transfer",
        },
    ),
    ConverterCase(
        payout_messages.payout_message, sample_of(payout.Payout, period=date(2026, 1, 1))
    ),
    ConverterCase(
        payout_messages.account_balance_message,
        sample_of(
            payout.AccountBalance,
            available={"usd": 970},
            pending={"usd": 30},
            instant_available={"usd": 920},
        ),
    ),
    ConverterCase(
        reconciliation_messages.run_message, sample_of(reconciliation.Run, day=date(2026, 1, 1))
    ),
    ConverterCase(
        reconciliation_messages.discrepancy_message,
        sample_of(reconciliation.Discrepancy, day=date(2026, 1, 1), merchant_id="acct_sample"),
    ),
    ConverterCase(
        subscription_messages.invoice_message,
        # Open: amount_remaining is 0 once paid, and auto_advance false once paid, void or
        # uncollectible (tests/edge/test_invoice_paid_flags)
        sample_of(subscription.Invoice, amount_paid=3, status=subscription.InvoiceStatus.OPEN),
        {"paid": "true for a paid invoice only, whose amount_remaining is 0"},
    ),
    ConverterCase(
        account_messages.api_key_message,
        sample_of(account.ApiKey),
        {"secret": "shown once, by issued_key_message"},
    ),
    ConverterCase(
        webhook_messages.endpoint_message,
        sample_of(webhooks.Endpoint),
        {"secret": "shown once, by endpoint_with_secret"},
    ),
    ConverterCase(
        currency_messages.rate_message,
        sample_of(currency.RateView, rate=sample_of(currency.ExchangeRate, rate=Decimal("1.25"))),
    ),
    ConverterCase(fraud_messages.outcome_message, sample_of(fraud.Assessment, label="fraudulent")),
    ConverterCase(fraud_messages.removed_message, "bli_sample"),
    ConverterCase(
        fraud_messages.value_list_message,
        sample_of(fraud.ValueList),
        {"created_by": "Stripe's user who made it: a merchant's API call names none"},
    ),
    ConverterCase(
        fraud_messages.value_list_item_message,
        sample_of(fraud.BlocklistItem),
        {"created_by": "Stripe's user who added it: a merchant's API call names none"},
    ),
    ConverterCase(fraud_messages.deleted_list_message, "rsl_sample"),
    ConverterCase(fraud_messages.deleted_item_message, "rsli_sample"),
    ConverterCase(
        ledger_messages.integrity_message,
        sample_of(ledger.IntegrityReport, currencies={"usd": sample_of(ledger.Balances)}),
        {"ok": "true only without mismatches; this report has one"},
    ),
    ConverterCase(ledger_messages.results_message, [sample_of(ledger.Outcome)]),
    ConverterCase(
        payout_messages.schedule_message,
        sample_of(
            payout.Schedule,
            interval=payout.Interval.WEEKLY,
            minimum_amounts={"usd": 500},
            next_run_on=date(2026, 1, 1),
        ),
        {"monthly_anchor": "a monthly schedule's; this one is weekly"},
    ),
]


@cache
def servicer_converters() -> dict[str, Converter[Any, Any]]:
    """Every Converter the services' servicer/messages.py modules hold, each once, by the
    module and name it has where it is first found."""
    services = Path(account.__file__).parent.parent
    found: dict[str, Converter[Any, Any]] = {}
    for path in sorted(services.glob("*/servicer/messages.py")):
        module = importlib.import_module(f"paycore.{path.parent.parent.name}.servicer.messages")
        for name, value in vars(module).items():
            if isinstance(value, Converter) and value not in found.values():
                found[f"{module.__name__}.{name}"] = value
    return found
