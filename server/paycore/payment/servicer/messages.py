"""Pay-in objects rendered as their proto messages (responses and event payloads: the
composition root builds paycore.payment.events.PayInEvents' recorders with these)."""

from __future__ import annotations

from paycore.payment.models import (
    PAYMENT_METHOD_TYPES,
    ApplicationFee,
    Charge,
    FeeRefund,
    Intent,
    IntentStatus,
    NextAction,
    Order,
    Payment,
    Refund,
    Risk,
    SetupIntent,
    SetupStatus,
)
from paycore.payment.repository import application_fee_id
from paycore.runtime.messages import converts, derived, message_of
from paycore.v1 import fraud_pb2, payment_pb2


def _risk_message(risk: Risk | None, payment: str) -> fraud_pb2.RiskAssessment | None:
    """The fraud check of the payment `payment` (the intent or payment showing it)."""
    return None if risk is None else message_of(fraud_pb2.RiskAssessment, risk, payment=payment)


def _next_action(next_action: NextAction | None, waiting: bool) -> payment_pb2.NextAction | None:
    """Stripe's next_action, shown only while the intent waits for it (requires_action)."""
    if next_action is None or not waiting:
        return None
    return payment_pb2.NextAction(
        type="redirect_to_url",
        redirect_to_url=payment_pb2.NextAction.RedirectToUrl(
            url=next_action.url, return_url=next_action.return_url
        ),
    )


@converts(payment_pb2.PaymentIntent)
def intent_message(intent: Intent) -> payment_pb2.PaymentIntent:
    return message_of(
        payment_pb2.PaymentIntent,
        intent,
        cancellation_reason=intent.cancellation_reason or None,
        last_payment_error=intent.last_error,
        risk_assessment=_risk_message(intent.risk, intent.id),
        # The paid charge, else (declined) the failed one, as Stripe's.
        latest_charge=intent.psp_charge
        or (intent.last_error.failed_charge if intent.last_error else None),
        next_action=_next_action(intent.next_action, intent.status is IntentStatus.REQUIRES_ACTION),
        transfer_data=payment_pb2.TransferData(destination=intent.transfer_destination)
        if intent.transfer_destination
        else None,
        payment_method_types=list(PAYMENT_METHOD_TYPES),
    )


order_message = derived(Order, payment_pb2.PaymentOrder)


@converts(payment_pb2.Payment)
def payment_message(payment: Payment) -> payment_pb2.Payment:
    return message_of(
        payment_pb2.Payment,
        payment,
        buyer_info=payment_pb2.BuyerInfo(**payment.buyer_info),
        payment_orders=payment.orders,
        risk_assessment=_risk_message(payment.risk, payment.id),
    )


@converts(payment_pb2.Refund)
def refund_message(refund: Refund) -> payment_pb2.Refund:
    reversal, fee = refund.transfer_reversal_amount, refund.application_fee_refund_amount
    return message_of(
        payment_pb2.Refund,
        refund,
        reason=refund.reason or None,
        transfer_reversal=None
        if reversal is None
        else payment_pb2.TransferReversal(amount=reversal, currency=refund.currency),
        application_fee_refund=None
        if fee is None
        else payment_pb2.ApplicationFeeRefund(amount=fee, currency=refund.currency),
    )


@converts(payment_pb2.SetupIntent)
def setup_message(setup: SetupIntent) -> payment_pb2.SetupIntent:
    """The setup without its client_secret (derived by the servicer; events carry none)."""
    return message_of(
        payment_pb2.SetupIntent,
        setup,
        cancellation_reason=setup.cancellation_reason or None,
        payment_method_types=list(setup.payment_method_types),
        next_action=_next_action(setup.next_action, setup.status is SetupStatus.REQUIRES_ACTION),
    )


@converts(payment_pb2.Charge)
def charge_message(charge: Charge) -> payment_pb2.Charge:
    return message_of(
        payment_pb2.Charge,
        charge,
        transfer_data=payment_pb2.TransferData(destination=charge.transfer_destination)
        if charge.transfer_destination
        else None,
        refunds=[refund_message(refund) for refund in charge.refunds],
    )


@converts(payment_pb2.ApplicationFee)
def application_fee_message(fee: ApplicationFee) -> payment_pb2.ApplicationFee:
    return message_of(
        payment_pb2.ApplicationFee,
        fee,
        refunded=fee.amount_refunded == fee.amount,
        refunds=[fee_refund_message(refund) for refund in fee.refunds],
    )


@converts(payment_pb2.FeeRefund)
def fee_refund_message(refund: FeeRefund) -> payment_pb2.FeeRefund:
    return message_of(
        payment_pb2.FeeRefund, refund, fee=application_fee_id(refund.payment_intent_id)
    )
