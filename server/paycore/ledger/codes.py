"""The ledger accounts the platform keeps for every merchant and currency, in one place.

Money of a payment flows psp_receivable -> balance_pending (gross), balance_pending ->
fees_revenue (the fee), balance_pending -> balance_available (when it settles),
balance_available -> payouts_in_transit -> (the bank) on a payout. Platform accounts
(psp_receivable, fees_revenue) are kept per merchant too, so that every transfer stays on the
merchant's shard. The wallet reads balance_pending and balance_available.
"""

from __future__ import annotations

from dataclasses import dataclass

from paycore.ledger.models import AccountType


@dataclass(frozen=True)
class AccountCode:
    code: str
    type: AccountType
    debits_must_not_exceed_credits: bool = False
    credits_must_not_exceed_debits: bool = False


BALANCE_PENDING = AccountCode("balance_pending", AccountType.LIABILITY)
# A merchant cannot pay out (or be refunded from) more than it has.
BALANCE_AVAILABLE = AccountCode(
    "balance_available", AccountType.LIABILITY, debits_must_not_exceed_credits=True
)
PAYOUTS_IN_TRANSIT = AccountCode("payouts_in_transit", AccountType.LIABILITY)
PSP_RECEIVABLE = AccountCode("psp_receivable", AccountType.ASSET)
FEES_REVENUE = AccountCode("fees_revenue", AccountType.REVENUE)

MERCHANT_ACCOUNTS = (
    BALANCE_PENDING,
    BALANCE_AVAILABLE,
    PAYOUTS_IN_TRANSIT,
    PSP_RECEIVABLE,
    FEES_REVENUE,
)
BALANCE_ACCOUNTS = (BALANCE_PENDING, BALANCE_AVAILABLE)


def for_seller(spec: AccountCode, seller_account: str) -> AccountCode:
    """A marketplace seller's own balance account: kept by the merchant (on its shard), coded
    `<code>:<seller account id>`."""
    return AccountCode(
        f"{spec.code}:{seller_account}",
        spec.type,
        spec.debits_must_not_exceed_credits,
        spec.credits_must_not_exceed_debits,
    )


def seller_accounts(seller_account: str) -> tuple[AccountCode, ...]:
    return tuple(for_seller(spec, seller_account) for spec in BALANCE_ACCOUNTS)


# Reconciliation (issue 14; paycore.reconciliation.settlement). When the PSP pays a day's net:
# psp_receivable -> platform_cash (the net) and -> psp_fees (the PSP's fee). Differences found
# by reconciliation are settled against the accounts below (docs/reconciliation.md).
PLATFORM_CASH = AccountCode("platform_cash", AccountType.ASSET)
"""The platform's bank cash, kept per merchant and currency (so a payout stays on the merchant's
shard): settlement brings the PSP's net in; a paid payout leaves it (payouts_in_transit ->
platform_cash, issue 13), a returned one comes back."""
PSP_FEES = AccountCode("psp_fees", AccountType.EXPENSE)
PSP_FEE_CLAIMS = AccountCode("psp_fee_claims", AccountType.ASSET)
"""Fees the PSP took above its contract: claimed back (below it: owed to it)."""
RECONCILIATION_WRITE_OFFS = AccountCode("reconciliation_write_offs", AccountType.EXPENSE)
PSP_REFUNDS_DUE = AccountCode("psp_refunds_due", AccountType.LIABILITY)
"""Money the PSP paid the platform that belongs to a cardholder (a duplicate charge, a charge
paycore never sold): owed back through a refund at the PSP."""
RECONCILIATION_ACCOUNTS = (
    PSP_RECEIVABLE,
    BALANCE_PENDING,
    PLATFORM_CASH,
    PSP_FEES,
    PSP_FEE_CLAIMS,
    RECONCILIATION_WRITE_OFFS,
    PSP_REFUNDS_DUE,
)

# Transfer codes the money-moving services use (LedgerTransfer.code).
TRANSFER_PAYMENT = "payment"
TRANSFER_FEE = "fee"
TRANSFER_REFUND = "refund"
TRANSFER_AVAILABILITY = "availability"
TRANSFER_PAYOUT = "payout"
TRANSFER_PAYOUT_CANCEL = "payout_cancel"
TRANSFER_PAYOUT_FAILURE = "payout_failure"
# An instant payout's fee back when its money comes back (failed, canceled): fees_revenue ->
# balance_available, the reverse of the payout's `fee` transfer (paycore.payout.lifecycle).
TRANSFER_PAYOUT_FEE_REVERSAL = "payout_fee_reversal"
# ReversePayout: a paid payout's amount debited back from the bank account, platform_cash ->
# balance_available (paycore.payout.lifecycle).
TRANSFER_PAYOUT_REVERSAL = "payout_reversal"
TRANSFER_APPLICATION_FEE = "application_fee"
TRANSFER_TRANSFER = "transfer"
# A destination charge's refund (paycore.payment.money): reverse_transfer takes the refunded
# amount back, the seller's balance -> the merchant's balance_pending; refund_application_fee
# gives the fee's share back, the merchant's balance -> the seller's balance_pending.
TRANSFER_TRANSFER_REVERSAL = "transfer_reversal"
TRANSFER_APPLICATION_FEE_REFUND = "application_fee_refund"
TRANSFER_ADJUSTMENT = "adjustment"
TRANSFER_SETTLEMENT = "settlement"
TRANSFER_SETTLEMENT_FEE = "settlement_fee"
# Disputes (issue 22; paycore.dispute.money): balance_pending -> psp_receivable (the amount) and
# -> fees_revenue (the fee) when a chargeback opens; back again when it is won. A converted
# charge's go through the pair's FX clearing account, as a refund's (paycore.currency.settlement).
TRANSFER_DISPUTE = "dispute"
TRANSFER_DISPUTE_FEE = "dispute_fee"
TRANSFER_DISPUTE_REVERSAL = "dispute_reversal"
TRANSFER_DISPUTE_FEE_REVERSAL = "dispute_fee_reversal"

# -- pay-out (issue 13) ---------------------------------------------------------------------------


def balance_account_codes(seller_account: str) -> tuple[AccountCode, AccountCode, AccountCode]:
    """(balance_pending, balance_available, payouts_in_transit) of the merchant ("") or of a
    seller account."""
    own = (BALANCE_PENDING, BALANCE_AVAILABLE, PAYOUTS_IN_TRANSIT)
    if not seller_account:
        return own
    pending, available, in_transit = (for_seller(spec, seller_account) for spec in own)
    return pending, available, in_transit


# -- currencies (issue 19, paycore.currency.settlement) -------------------------------------------
# A converted charge: psp_receivable -> fx_clearing (presentment currency), fx_clearing ->
# balance_pending (settlement currency), so that each currency's books sum to zero on their own;
# the clearing pair holds the platform's position in the two currencies. The whole minor units
# that conversions' rounding adds up to go fx_clearing -> fx_rounding (settlement currency).
FX_ROUNDING = AccountCode("fx_rounding", AccountType.REVENUE)
TRANSFER_CONVERSION = "fx_conversion"
TRANSFER_CONVERSION_FEE = "conversion_fee"
TRANSFER_FX_ROUNDING = "fx_rounding"
TRANSFER_FX_GAIN = "fx_gain"
TRANSFER_FX_LOSS = "fx_loss"


def fx_clearing(presentment: str, settlement: str) -> AccountCode:
    """The FX clearing account of a currency pair, kept in each of its two currencies."""
    return AccountCode(f"fx_clearing:{presentment}_{settlement}", AccountType.ASSET)
