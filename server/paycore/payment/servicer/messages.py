"""Pay-in objects rendered as their proto messages (responses and event payloads:
`PAY_IN_MESSAGES` is the renderer paycore.payment.events.PayInEvents is built with)."""

from __future__ import annotations

from paycore.contracts import enum_number
from paycore.payment.models import Intent, Order, Payment, Refund, Risk
from paycore.v1 import fraud_pb2, payment_pb2


def risk_message(risk: Risk | None) -> fraud_pb2.RiskAssessment | None:
    if risk is None:
        return None
    return fraud_pb2.RiskAssessment(
        score=risk.score,
        decision=enum_number(fraud_pb2.RiskDecision, "RISK_DECISION", risk.decision),
        reasons=list(risk.reasons),
        review=risk.review,
        model_version=risk.model_version,
    )


def intent_message(intent: Intent) -> payment_pb2.PaymentIntent:
    message = payment_pb2.PaymentIntent(
        id=intent.id,
        amount=intent.amount,
        currency=intent.currency,
        status=enum_number(payment_pb2.PaymentIntentStatus, "PAYMENT_INTENT_STATUS", intent.status),
        customer=intent.customer_id or "",
        payment_method=intent.payment_method_id or "",
        capture_method=enum_number(
            payment_pb2.CaptureMethod, "CAPTURE_METHOD", intent.capture_method
        ),
        amount_capturable=intent.amount_capturable,
        amount_received=intent.amount_received,
        amount_refunded=intent.amount_refunded,
        transfer_destination=intent.transfer_destination or "",
        application_fee_amount=intent.application_fee_amount,
        description=intent.description,
        canceled_at=intent.canceled_at or 0,
        created=intent.created,
        metadata=intent.metadata,
        invoice=intent.invoice_id or "",
        disputed=intent.disputed,
    )
    if intent.cancellation_reason:
        message.cancellation_reason = enum_number(
            payment_pb2.PaymentIntentCancellationReason,
            "PAYMENT_INTENT_CANCELLATION_REASON",
            intent.cancellation_reason,
        )
    if intent.last_error is not None:
        message.last_payment_error.CopyFrom(
            payment_pb2.PaymentIntent.LastPaymentError(
                code=intent.last_error.code,
                decline_code=intent.last_error.decline_code,
                message=intent.last_error.message,
            )
        )
    risk = risk_message(intent.risk)
    if risk is not None:
        message.risk_assessment.CopyFrom(risk)
    return message


def order_message(order: Order) -> payment_pb2.PaymentOrder:
    return payment_pb2.PaymentOrder(
        id=order.id,
        payment=order.payment_id,
        payment_order_id=order.payment_order_id,
        seller_account=order.seller_account,
        amount=order.amount,
        currency=order.currency,
        status=enum_number(payment_pb2.PaymentOrderStatus, "PAYMENT_ORDER_STATUS", order.status),
        amount_refunded=order.amount_refunded,
        psp_reference=order.psp_reference,
        failure_code=order.failure_code,
        decline_code=order.decline_code,
        failure_message=order.failure_message,
        created=order.created,
        metadata=order.metadata,
    )


def payment_message(payment: Payment) -> payment_pb2.Payment:
    message = payment_pb2.Payment(
        id=payment.id,
        checkout_id=payment.checkout_id,
        status=enum_number(payment_pb2.PaymentStatus, "PAYMENT_STATUS", payment.status),
        buyer_info=payment_pb2.BuyerInfo(**payment.buyer_info),
        payment_method=payment.payment_method_id,
        customer=payment.customer_id or "",
        payment_orders=[order_message(order) for order in payment.orders],
        failure_code=payment.failure_code,
        failure_message=payment.failure_message,
        created=payment.created,
        metadata=payment.metadata,
    )
    risk = risk_message(payment.risk)
    if risk is not None:
        message.risk_assessment.CopyFrom(risk)
    return message


def refund_message(refund: Refund) -> payment_pb2.Refund:
    message = payment_pb2.Refund(
        id=refund.id,
        amount=refund.amount,
        currency=refund.currency,
        payment_intent=refund.payment_intent_id or "",
        payment_order=refund.payment_order_id or "",
        status=enum_number(payment_pb2.RefundStatus, "REFUND_STATUS", refund.status),
        failure_reason=refund.failure_reason,
        created=refund.created,
        metadata=refund.metadata,
    )
    if refund.reason:
        message.reason = enum_number(payment_pb2.RefundReason, "REFUND_REASON", refund.reason)
    return message


class _PayInMessages:
    """paycore.payment.events.ObjectRenderer."""

    intent = staticmethod(intent_message)
    order = staticmethod(order_message)
    payment = staticmethod(payment_message)
    refund = staticmethod(refund_message)


PAY_IN_MESSAGES = _PayInMessages()
