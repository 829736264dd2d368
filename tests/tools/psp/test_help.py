"""`paycore psp --help`, where the README sends a new user for the test cards, names the
bank's side too: its routes, every test account number (a payout's outcome) and the report
faults reconciliation is tested with. It named the cards and the charges' routes only."""

from __future__ import annotations

from paycore.tools.psp.bank import PAID_ACCOUNT, TEST_ACCOUNTS
from paycore.tools.psp.command import DESCRIPTION


def test_the_help_names_the_banks_routes_test_accounts_and_report_faults() -> None:
    for route in ("/v1/bank/payouts", "/v1/bank/payouts_report/{YYYY-MM-DD}"):
        assert route in DESCRIPTION, route
    for number, outcome in {PAID_ACCOUNT: None, **TEST_ACCOUNTS}.items():
        assert number in DESCRIPTION, number
        if outcome is not None and outcome.failure_code:
            assert outcome.failure_code in DESCRIPTION, outcome.failure_code
    for fault in ('"lose_answers"', '"settlement"', '"bank_payouts"'):
        assert fault in DESCRIPTION, fault
