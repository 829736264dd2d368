"""Test cards with fixed outcomes (Stripe's test numbers plus three of ours), and what the
simulator may keep of a card: brand, last four digits, expiry and a keyed fingerprint."""

from __future__ import annotations

import enum

CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_INSUFFICIENT_FUNDS = "4000000000009995"
CARD_EXPIRED = "4000000000000069"
CARD_INCORRECT_CVC = "4000000000000127"
CARD_CHARGE_CUSTOMER_FAIL = "4000000000000341"
"""Stripe's card that attaches to a customer but whose every charge is declined
(generic_decline): a subscription's trial on it ends past_due (dunning tests)."""
CARD_PROCESSING_ERROR = "4000000000000119"
"""Declined with decline code processing_error, as Stripe declines it (HTTP 402 card_error
`processing_error`, pm_card_chargeDeclinedProcessingError): a final answer, recorded."""
CARD_PSP_ERROR = "4000000000009839"
"""Ours, not a Stripe test card: answered as a transient failure (HTTP 500, psp_error) every
time, nothing recorded: the executor's retries, dead letters and circuit breaker."""
CARD_TIMES_OUT = "4000000000009813"
"""Never processed: the answer is held longer than any client waits; nothing is recorded."""
CARD_ANSWER_LOST = "4000000000009821"
"""Charged and recorded, then the connection is dropped: the caller must look it up."""
CARD_BYPASS_PENDING = "4000000000000077"
"""Succeeds, and its captured funds are available at once (Stripe's "bypass pending balance"
test card): its charge answers carry `"bypass_pending": true`, and paycore's balance
transaction of the capture is due at once instead of after the payout delay."""
CARD_AUTHENTICATION_REQUIRED = "4000002500003155"
"""Stripe's "requires authentication unless set up" card: an on-session charge or a setup
answers requires_action (3-D Secure, paycore.tools.psp.authentication); an off-session charge
is declined `authentication_required` unless the merchant set the card up with an
authentication before (a setup that authenticated), then it goes on without one."""
CARD_AUTHENTICATION_ALWAYS = "4000002760003184"
"""Stripe's "always authenticate" card: every on-session charge and setup answers
requires_action, every off-session charge is declined `authentication_required`."""
CARD_THREE_D_SECURE_2_REQUIRED = "4000000000003220"
CARD_THREE_D_SECURE_REQUIRED = "4000000000003063"
"""Stripe's 3-D Secure test cards ("authentication must be completed for the payment to be
successful"): as 4000002760003184, every on-session charge and setup answers requires_action,
every off-session charge is declined `authentication_required`. Its 4000000000003055 (3-D
Secure supported, not required) succeeds as any other number."""
AUTHENTICATING_CARDS = frozenset(
    {
        CARD_AUTHENTICATION_REQUIRED,
        CARD_AUTHENTICATION_ALWAYS,
        CARD_THREE_D_SECURE_2_REQUIRED,
        CARD_THREE_D_SECURE_REQUIRED,
    }
)

# Disputes (issue 22): captured, then disputed by the buyer's bank after the simulator's
# dispute delay (paycore.tools.psp.disputes). Stripe's numbers, plus two of ours (duplicate).
CARD_DISPUTE_FRAUDULENT = "4000000000000259"
CARD_DISPUTE_PRODUCT_NOT_RECEIVED = "4000000000002685"
CARD_DISPUTE_DUPLICATE = "4000000000008419"
CARD_EARLY_FRAUD_WARNING = "4000000000005423"
"""Stripe's early fraud warning card: the charge succeeds, then the issuer warns that it may be
fraudulent (an early fraud warning, fraud_type `made_with_stolen_card`, on the simulator's
early fraud warnings feed at once). It is also the duplicate-dispute card it was before
Stripe's warnings were simulated (docs/disputes.md named it), so a warned charge is disputed
after the dispute delay, as a warned charge often is."""
CARD_DISPUTE_INQUIRY = "4000000000001976"
"""An inquiry (reason fraudulent): no money moves unless it escalates to a chargeback."""

DISPUTES = {
    CARD_DISPUTE_FRAUDULENT: ("fraudulent", False),
    CARD_DISPUTE_PRODUCT_NOT_RECEIVED: ("product_not_received", False),
    CARD_DISPUTE_DUPLICATE: ("duplicate", False),
    CARD_EARLY_FRAUD_WARNING: ("duplicate", False),
    CARD_DISPUTE_INQUIRY: ("fraudulent", True),
}
"""number -> (reason, inquiry) of the cards whose captured charges are disputed."""
EARLY_FRAUD_TYPE = "made_with_stolen_card"
DISPUTE_DELAY_SECONDS_DEFAULT = 60
"""How long after capture they are disputed, unless configured (--dispute-delay-seconds)."""
DISPUTE_RESPONSE_SECONDS_DEFAULT = 7 * 86_400
"""How long after it opens a dispute's evidence is due (its due_by), unless configured
(--dispute-response-seconds): 7 days."""


class Outcome(enum.Enum):
    SUCCEEDS = "succeeds"
    DECLINED = "generic_decline"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED = "expired_card"
    INCORRECT_CVC = "incorrect_cvc"
    PROCESSING_ERROR = "processing_error"
    PSP_ERROR = "psp_error"
    TIMES_OUT = "times_out"
    ANSWER_LOST = "answer_lost"

    @property
    def decline_code(self) -> str:
        """The decline code of a declining outcome, "" otherwise."""
        return self.value if self in _DECLINES else ""


_DECLINES = frozenset(
    {
        Outcome.DECLINED,
        Outcome.INSUFFICIENT_FUNDS,
        Outcome.EXPIRED,
        Outcome.INCORRECT_CVC,
        Outcome.PROCESSING_ERROR,
    }
)

_OUTCOMES = {
    CARD_DECLINED: Outcome.DECLINED,
    CARD_CHARGE_CUSTOMER_FAIL: Outcome.DECLINED,
    CARD_INSUFFICIENT_FUNDS: Outcome.INSUFFICIENT_FUNDS,
    CARD_EXPIRED: Outcome.EXPIRED,
    CARD_INCORRECT_CVC: Outcome.INCORRECT_CVC,
    CARD_PROCESSING_ERROR: Outcome.PROCESSING_ERROR,
    CARD_PSP_ERROR: Outcome.PSP_ERROR,
    CARD_TIMES_OUT: Outcome.TIMES_OUT,
    CARD_ANSWER_LOST: Outcome.ANSWER_LOST,
}

DECLINE_MESSAGES = {
    Outcome.DECLINED: "Your card was declined.",
    Outcome.INSUFFICIENT_FUNDS: "Your card has insufficient funds.",
    Outcome.EXPIRED: "Your card has expired.",
    Outcome.INCORRECT_CVC: "Your card's security code is incorrect.",
    Outcome.PROCESSING_ERROR: "An error occurred while processing your card. Try again in a"
    " little bit.",
}


def outcome_of(number: str) -> Outcome:
    """Every Luhn-valid number not listed above succeeds."""
    return _OUTCOMES.get(number, Outcome.SUCCEEDS)


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for position, digit in enumerate(int(character) for character in reversed(number)):
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    """The card network by the number's prefix (IIN ranges), "unknown" if none matches."""
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"34", "37"}:
        return "amex"
    if "51" <= number[:2] <= "55" or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number.startswith(("6011", "65")) or "644" <= number[:3] <= "649":
        return "discover"
    if "3528" <= number[:4] <= "3589":
        return "jcb"
    if number[:2] in {"36", "38", "39"} or "300" <= number[:3] <= "305":
        return "diners"
    return "unknown"
