"""Every annotated route of a service the server serves has an HTTP test: adding a route (or
building a service) without one fails here. Routes of services not built yet answer 501 and are
covered by tests/edge/test_malformed.py."""

from __future__ import annotations

import importlib

from paycore.edge import EdgeServer
from paycore.runtime.server import GrpcServer

_MERCHANTS = "test_accounts::test_admin_creates_a_merchant_which_reads_itself"
_SELLERS = "test_accounts::test_seller_accounts_from_json_and_form_bodies_and_their_pages"
_SELLER_AND_REVOKE = (
    "test_accounts::test_a_seller_account_reads_back_and_a_revoked_key_stops_working"
)
_KEYS = "test_accounts::test_restricted_keys_take_scopes_in_brackets_and_enums_are_stripe_like"
_LEDGER = "test_ledger_wallet::test_ledger_accounts_transfers_entries_and_integrity"
_WALLET = "test_ledger_wallet::test_wallet_balance_and_transactions_after_ledger_movements"
_EVENTS = "test_events::test_events_list_and_read_back_with_their_objects"
_WEBHOOKS = "test_events::test_webhook_endpoints_over_rest_show_the_secret_once"
_FRAUD = "test_fraud::test_scoring_reviews_blocklists_policy_and_outcomes_over_http"
_VALUE_LISTS = "test_radar_value_lists::test_value_lists_and_their_items_over_http"
_WARNINGS = "test_early_fraud_warnings::test_early_fraud_warnings_read_with_the_stripe_sdk"
_FEE_PLANS = "test_fee_plans::test_fee_plans_read_and_changed_over_http"
_INTENTS = "test_payments::test_intents_capture_cancel_and_refunds_over_http"
_CHARGES = "test_charges::test_charges_read_and_listed_over_http"
_SEARCH = "test_search::test_customers_and_payment_intents_searched_over_http"
_CHARGE_SEARCH = "test_charges::test_charges_searched_over_http"
_INTENT_UPDATES = "test_payments::test_an_intent_updated_over_http_then_charged_to_a_destination"
_SETUPS = "test_setup_intents::test_save_a_card_with_a_setup_intent_and_charge_it_later"
_SETUP_UPDATES = "test_stripe_surface::test_a_setup_intent_modified_then_confirmed"
_CHARGE_UPDATES = "test_stripe_surface::test_a_charge_modified"
_FEE_REFUNDS = "test_stripe_surface::test_an_application_fee_refunded_in_two_parts"
_FEE_REFUND_UPDATE = (
    "test_metadata::test_metadata_of_what_the_psp_makes_clears_and_removes_keys_too"
)
_EXTERNAL_ACCOUNTS = "test_stripe_surface::test_a_connected_accounts_external_accounts"
_CHECKOUTS = "test_payments::test_checkouts_and_the_executor_over_http"
_CUSTOMERS = "test_customers::test_customers_create_read_update_and_list"
_CUSTOMER_DELETION = (
    "test_customer_deletion::test_a_customer_deleted_over_http_answers_stripes_stub"
)
_PAYMENT_METHODS = (
    "test_customers::test_payment_methods_tokenize_with_the_publishable_key_attach_and_detach"
)
_PAYMENT_METHOD_UPDATES = "test_customers::test_a_payment_method_modified_over_http"
_CATALOGUE = "test_subscriptions::test_products_and_prices_over_http"
_TEST_CLOCKS = "test_subscriptions::test_test_clocks_over_http"
_CLOCK_DELETION = "test_test_clock_deletion::test_test_clocks_listed_and_deleted_over_http"
_BILLING = "test_subscriptions::test_subscriptions_and_invoices_over_http"
_NESTED_LISTS = "test_subscriptions::test_the_nested_lists_urls_over_http"
_SETTINGS = "test_subscriptions::test_billing_settings_over_http"
_INVOICE_ITEMS = "test_subscriptions::test_invoice_items_over_http"
_CHANGES = "test_subscriptions::test_subscription_update_and_cancel_over_http"
_STRIPE_CANCEL = (
    "test_subscriptions::test_stripes_delete_cancels_and_a_price_without_a_count_is_every_interval"
)
_PAYOUTS = "test_payouts::test_bank_accounts_schedules_payouts_and_balance_transactions_over_http"
_TRANSFERS = "test_transfers::test_transfers_and_reversals_over_http"
_APPLICATION_FEES = "test_transfers::test_application_fees_over_http"
_REVERSAL_UPDATES = (
    "test_transfer_reversal_updates::test_stripe_python_updates_a_reversals_metadata"
)
_REFUND_CANCEL = "test_refund_cancel::test_stripe_python_cancels_a_pending_refund"
_PAYOUT_REVERSALS = "test_payout_reversals::test_stripe_python_reverses_a_paid_payout"
_PAYOUT_CARDS = "test_payouts::test_a_debit_card_registered_as_a_payout_card_over_http"
_PAYOUT_CARD_CURRENCIES = (
    "test_payouts::test_a_payout_card_has_a_currency_and_refuses_payouts_in_another_over_http"
)
_RECONCILIATION = "test_reconciliation::test_runs_and_discrepancies_over_http"
_CURRENCIES = "test_currencies::test_rates_settlement_currencies_and_a_converted_charge_over_http"
_DISPUTES = "test_disputes::test_disputes_read_answered_and_closed_over_http"
_CHECKOUT_SESSIONS = "test_checkout::test_checkout_sessions_over_http"
_METADATA_BY_PSP = "test_metadata::test_metadata_of_what_the_psp_makes_clears_and_removes_keys_too"

_COUPONS = "test_coupons::test_coupons_with_stripe_python"
_INVOICE_ITEM_CHANGES = (
    "test_invoice_items::test_invoice_items_listed_modified_and_deleted_with_stripe_python"
)
_ONE_OFF_INVOICES = "test_one_off_invoices::test_a_one_off_invoice_with_stripe_python"
_SUBSCRIPTION_ITEMS = "test_subscription_item_routes::test_subscription_items_with_stripe_python"
_CUSTOMER_DISCOUNTS = "test_customer_discounts::test_customer_discounts_with_stripe_python"
_INVOICE_PREVIEW = "test_invoice_preview::test_invoice_create_preview_with_stripe_python"
_PROMOTION_CODES = "test_coupons::test_promotion_codes_with_stripe_python"
_PRODUCT_UPDATES = "test_catalogue_updates::test_product_modify_changes_the_fields_given"
_PRICE_UPDATES = (
    "test_catalogue_updates::test_price_modify_and_an_inactive_price_takes_no_subscription"
)

# (HTTP method, path template) -> the test that calls it over real HTTP ("module::function").
COVERED: dict[tuple[str, str], str] = {
    ("POST", "/v1/coupons"): _COUPONS,
    ("GET", "/v1/coupons"): _COUPONS,
    ("GET", "/v1/coupons/{id}"): _COUPONS,
    ("DELETE", "/v1/coupons/{id}"): _COUPONS,
    ("POST", "/v1/coupons/{id}"): "test_coupon_updates::"
    "test_a_coupons_name_and_metadata_change_and_its_terms_stay",
    ("POST", "/v1/promotion_codes"): _PROMOTION_CODES,
    ("GET", "/v1/promotion_codes"): _PROMOTION_CODES,
    ("GET", "/v1/promotion_codes/{id}"): _PROMOTION_CODES,
    ("POST", "/v1/promotion_codes/{id}"): _PROMOTION_CODES,
    ("POST", "/v1/checkout/sessions"): _CHECKOUT_SESSIONS,
    ("GET", "/v1/checkout/sessions"): _CHECKOUT_SESSIONS,
    ("GET", "/v1/checkout/sessions/{id}"): _CHECKOUT_SESSIONS,
    ("GET", "/v1/checkout/sessions/{id}/line_items"): _CHECKOUT_SESSIONS,
    ("POST", "/v1/checkout/sessions/{id}/expire"): _CHECKOUT_SESSIONS,
    ("POST", "/v1/checkout/sessions/{id}"): (
        "test_checkout_session_modify::test_modify_merges_removes_and_clears_metadata"
    ),
    ("GET", "/v1/exchange_rates/{base}/{quote}"): _CURRENCIES,
    ("GET", "/v1/exchange_rates"): _CURRENCIES,
    ("GET", "/v1/settlement_currencies"): _CURRENCIES,
    ("POST", "/v1/settlement_currencies"): _CURRENCIES,
    ("POST", "/v1/reconciliation/runs"): _RECONCILIATION,
    ("GET", "/v1/reconciliation/runs/{id}"): _RECONCILIATION,
    ("GET", "/v1/reconciliation/discrepancies"): _RECONCILIATION,
    ("POST", "/v1/reconciliation/discrepancies/{id}/resolve"): _RECONCILIATION,
    ("POST", "/v1/merchants"): _MERCHANTS,
    ("GET", "/v1/merchants/{id}"): _MERCHANTS,
    ("GET", "/v1/account"): _MERCHANTS,
    ("POST", "/v1/accounts"): _SELLERS,
    ("GET", "/v1/accounts"): _SELLERS,
    ("GET", "/v1/accounts/{id}"): _SELLER_AND_REVOKE,
    ("POST", "/v1/api_keys"): _KEYS,
    ("GET", "/v1/api_keys"): _KEYS,
    ("POST", "/v1/api_keys/{id}/revoke"): _SELLER_AND_REVOKE,
    ("POST", "/v1/api_keys/{id}/roll"): (
        "test_accounts::test_a_rolled_key_is_reissued_and_the_old_one_expires"
    ),
    ("POST", "/v1/ledger/accounts"): _LEDGER,
    ("GET", "/v1/ledger/accounts/{id}"): _LEDGER,
    ("GET", "/v1/ledger/accounts"): _LEDGER,
    ("POST", "/v1/ledger/transfers"): _LEDGER,
    ("GET", "/v1/ledger/transfers/{id}"): _LEDGER,
    ("GET", "/v1/ledger/accounts/{account}/entries"): _LEDGER,
    ("GET", "/v1/ledger/integrity"): _LEDGER,
    ("GET", "/v1/balance"): _WALLET,
    ("GET", "/v1/balance_transactions"): _WALLET,
    ("GET", "/v1/balance_transactions/{id}"): _WALLET,
    ("GET", "/v1/events"): _EVENTS,
    ("GET", "/v1/events/{id}"): _EVENTS,
    ("POST", "/v1/webhook_endpoints"): _WEBHOOKS,
    ("GET", "/v1/webhook_endpoints"): _WEBHOOKS,
    ("GET", "/v1/webhook_endpoints/{id}"): _WEBHOOKS,
    ("POST", "/v1/webhook_endpoints/{id}"): _WEBHOOKS,
    ("DELETE", "/v1/webhook_endpoints/{id}"): _WEBHOOKS,
    ("GET", "/v1/webhook_deliveries"): _WEBHOOKS,
    ("POST", "/v1/webhook_endpoints/{id}/roll_secret"): _WEBHOOKS,
    ("POST", "/v1/events/{id}/resend"): _WEBHOOKS,
    ("POST", "/v1/fraud/assessments"): _FRAUD,
    ("POST", "/v1/fraud/outcomes"): _FRAUD,
    ("POST", "/v1/fraud/blocklist_items"): _FRAUD,
    ("DELETE", "/v1/fraud/blocklist_items/{id}"): _FRAUD,
    ("GET", "/v1/fraud/blocklist_items"): _FRAUD,
    ("GET", "/v1/fraud/policy"): _FRAUD,
    ("POST", "/v1/fraud/policy"): _FRAUD,
    ("GET", "/v1/fraud/reviews/{id}"): _FRAUD,
    ("GET", "/v1/fraud/reviews"): _FRAUD,
    ("POST", "/v1/fraud/reviews/{id}/approve"): _FRAUD,
    ("POST", "/v1/fraud/reviews/{id}/reject"): _FRAUD,
    ("GET", "/v1/reviews/{id}"): _FRAUD,
    ("GET", "/v1/reviews"): _FRAUD,
    ("POST", "/v1/reviews/{id}/approve"): _FRAUD,
    ("POST", "/v1/radar/value_lists"): _VALUE_LISTS,
    ("GET", "/v1/radar/early_fraud_warnings"): _WARNINGS,
    ("GET", "/v1/radar/early_fraud_warnings/{id}"): _WARNINGS,
    ("GET", "/v1/radar/value_lists"): _VALUE_LISTS,
    ("GET", "/v1/radar/value_lists/{id}"): _VALUE_LISTS,
    ("POST", "/v1/radar/value_lists/{id}"): _VALUE_LISTS,
    ("DELETE", "/v1/radar/value_lists/{id}"): _VALUE_LISTS,
    ("POST", "/v1/radar/value_list_items"): _VALUE_LISTS,
    ("GET", "/v1/radar/value_list_items"): _VALUE_LISTS,
    ("GET", "/v1/radar/value_list_items/{id}"): _VALUE_LISTS,
    ("DELETE", "/v1/radar/value_list_items/{id}"): _VALUE_LISTS,
    ("POST", "/v1/customers"): _CUSTOMERS,
    ("GET", "/v1/customers/{id}"): _CUSTOMERS,
    ("POST", "/v1/customers/{id}"): _CUSTOMERS,
    ("GET", "/v1/customers"): _CUSTOMERS,
    ("DELETE", "/v1/customers/{id}"): _CUSTOMER_DELETION,
    ("POST", "/v1/payment_methods"): _PAYMENT_METHODS,
    ("GET", "/v1/payment_methods/{id}"): _PAYMENT_METHODS,
    ("GET", "/v1/payment_methods"): _PAYMENT_METHODS,
    ("GET", "/v1/customers/{customer}/payment_methods"): _PAYMENT_METHODS,
    ("DELETE", "/v1/subscriptions/{id}/discount"): (
        "test_stripe_gaps::test_a_subscription_s_discount_deleted"
    ),
    ("GET", "/v1/customers/{customer}/payment_methods/{payment_method}"): (
        "test_stripe_gaps::test_a_customer_s_payment_method_retrieved"
    ),
    ("POST", "/v1/payment_methods/{id}/attach"): _PAYMENT_METHODS,
    ("POST", "/v1/payment_methods/{id}/detach"): _PAYMENT_METHODS,
    ("POST", "/v1/payment_methods/{id}"): _PAYMENT_METHOD_UPDATES,
    ("GET", "/v1/merchants/{merchant}/fee_plan"): _FEE_PLANS,
    ("POST", "/v1/merchants/{merchant}/fee_plan"): _FEE_PLANS,
    ("POST", "/v1/payment_intents"): _INTENTS,
    ("POST", "/v1/payment_intents/{id}"): _INTENT_UPDATES,
    ("POST", "/v1/payment_intents/{id}/confirm"): _INTENTS,
    ("POST", "/v1/payment_intents/{id}/capture"): _INTENTS,
    ("POST", "/v1/charges/{id}/capture"): (
        "test_stripe_gaps::test_an_uncaptured_charge_captured_by_its_ch_id"
    ),
    ("POST", "/v1/payment_intents/{id}/cancel"): _INTENTS,
    ("GET", "/v1/payment_intents/{id}"): _INTENTS,
    ("GET", "/v1/payment_intents"): _INTENTS,
    ("POST", "/v1/setup_intents"): _SETUPS,
    ("POST", "/v1/setup_intents/{id}/confirm"): _SETUPS,
    ("POST", "/v1/setup_intents/{id}/cancel"): _SETUPS,
    ("GET", "/v1/setup_intents/{id}"): _SETUPS,
    ("GET", "/v1/setup_intents"): _SETUPS,
    ("POST", "/v1/setup_intents/{id}"): _SETUP_UPDATES,
    ("POST", "/v1/refunds"): _INTENTS,
    ("GET", "/v1/refunds/{id}"): _INTENTS,
    ("GET", "/v1/refunds"): _INTENTS,
    ("GET", "/v1/charges/{id}"): _CHARGES,
    ("GET", "/v1/charges"): _CHARGES,
    ("POST", "/v1/charges/{id}"): _CHARGE_UPDATES,
    ("GET", "/v1/customers/search"): _SEARCH,
    ("GET", "/v1/payment_intents/search"): _SEARCH,
    ("GET", "/v1/charges/search"): _CHARGE_SEARCH,
    ("POST", "/v1/refunds/{id}"): _METADATA_BY_PSP,
    ("POST", "/v1/payments"): _CHECKOUTS,
    ("GET", "/v1/payments/{id}"): _CHECKOUTS,
    ("GET", "/v1/payments"): _CHECKOUTS,
    ("GET", "/v1/payment_orders/{id}"): _CHECKOUTS,
    ("POST", "/v1/executor/executions"): _CHECKOUTS,
    ("GET", "/v1/executor/executions/{id}"): _CHECKOUTS,
    ("GET", "/v1/executor/executions"): _CHECKOUTS,
    ("GET", "/v1/executor/dead_letters"): _CHECKOUTS,
    ("POST", "/v1/executor/dead_letters/{id}/requeue"): _CHECKOUTS,
    ("POST", "/v1/products"): _CATALOGUE,
    ("GET", "/v1/products/{id}"): _CATALOGUE,
    ("GET", "/v1/products"): _CATALOGUE,
    ("POST", "/v1/products/{id}"): _PRODUCT_UPDATES,
    ("POST", "/v1/prices"): _CATALOGUE,
    ("GET", "/v1/prices/{id}"): _CATALOGUE,
    ("GET", "/v1/prices"): _CATALOGUE,
    ("POST", "/v1/prices/{id}"): _PRICE_UPDATES,
    ("POST", "/v1/test_helpers/test_clocks"): _TEST_CLOCKS,
    ("GET", "/v1/test_helpers/test_clocks/{id}"): _TEST_CLOCKS,
    ("POST", "/v1/test_helpers/test_clocks/{id}/advance"): _TEST_CLOCKS,
    ("GET", "/v1/test_helpers/test_clocks"): _CLOCK_DELETION,
    ("DELETE", "/v1/test_helpers/test_clocks/{id}"): _CLOCK_DELETION,
    ("POST", "/v1/subscriptions"): _BILLING,
    ("GET", "/v1/subscriptions"): _BILLING,
    ("GET", "/v1/subscription_items"): _BILLING,
    ("GET", "/v1/invoices/{id}/lines"): _BILLING,
    ("GET", "/v1/subscriptions/{id}"): _BILLING,
    ("POST", "/v1/subscriptions/{id}"): _CHANGES,
    ("POST", "/v1/subscriptions/{id}/cancel"): _CHANGES,
    ("DELETE", "/v1/subscriptions/{id}"): _STRIPE_CANCEL,
    ("GET", "/v1/invoices"): _BILLING,
    ("POST", "/v1/invoices/create_preview"): _INVOICE_PREVIEW,
    ("DELETE", "/v1/customers/{id}/discount"): _CUSTOMER_DISCOUNTS,
    ("GET", "/v1/invoices/upcoming"): _INVOICE_PREVIEW,
    ("POST", "/v1/invoiceitems"): _INVOICE_ITEMS,
    ("GET", "/v1/invoiceitems/{id}"): _INVOICE_ITEMS,
    ("GET", "/v1/invoiceitems"): _INVOICE_ITEM_CHANGES,
    ("POST", "/v1/invoiceitems/{id}"): _INVOICE_ITEM_CHANGES,
    ("DELETE", "/v1/invoiceitems/{id}"): _INVOICE_ITEM_CHANGES,
    ("POST", "/v1/invoices"): _ONE_OFF_INVOICES,
    ("GET", "/v1/subscription_items/{id}"): _SUBSCRIPTION_ITEMS,
    ("POST", "/v1/subscription_items"): _SUBSCRIPTION_ITEMS,
    ("POST", "/v1/subscription_items/{id}"): _SUBSCRIPTION_ITEMS,
    ("DELETE", "/v1/subscription_items/{id}"): _SUBSCRIPTION_ITEMS,
    ("POST", "/v1/invoices/{id}"): _ONE_OFF_INVOICES,
    ("DELETE", "/v1/invoices/{id}"): _ONE_OFF_INVOICES,
    ("POST", "/v1/invoices/{id}/finalize"): _ONE_OFF_INVOICES,
    ("GET", "/v1/invoices/{id}"): _BILLING,
    ("POST", "/v1/invoices/{id}/pay"): _BILLING,
    ("POST", "/v1/invoices/{id}/void"): _BILLING,
    ("POST", "/v1/invoices/{id}/mark_uncollectible"): _BILLING,
    ("GET", "/v1/billing_settings"): _SETTINGS,
    ("POST", "/v1/billing_settings"): _SETTINGS,
    ("POST", "/v1/bank_accounts"): _PAYOUTS,
    ("GET", "/v1/bank_accounts/{id}"): _PAYOUTS,
    ("GET", "/v1/bank_accounts"): _PAYOUTS,
    ("POST", "/v1/payouts"): _PAYOUTS,
    ("POST", "/v1/transfers"): _TRANSFERS,
    ("GET", "/v1/transfers/{id}"): _TRANSFERS,
    ("GET", "/v1/transfers"): _TRANSFERS,
    ("POST", "/v1/transfers/{id}"): _TRANSFERS,
    ("POST", "/v1/transfers/{id}/reversals"): _TRANSFERS,
    ("GET", "/v1/transfers/{id}/reversals"): _TRANSFERS,
    ("GET", "/v1/transfers/{id}/reversals/{reversal}"): _TRANSFERS,
    ("POST", "/v1/transfers/{id}/reversals/{reversal}"): _REVERSAL_UPDATES,
    ("GET", "/v1/application_fees"): _APPLICATION_FEES,
    ("GET", "/v1/application_fees/{id}"): _APPLICATION_FEES,
    ("POST", "/v1/application_fees/{id}/refunds"): _FEE_REFUNDS,
    ("GET", "/v1/accounts/{id}/external_accounts"): _EXTERNAL_ACCOUNTS,
    ("POST", "/v1/accounts/{id}/external_accounts"): _EXTERNAL_ACCOUNTS,
    ("GET", "/v1/application_fees/{id}/refunds"): _FEE_REFUNDS,
    ("GET", "/v1/application_fees/{id}/refunds/{refund}"): _FEE_REFUNDS,
    ("POST", "/v1/application_fees/{id}/refunds/{refund}"): _FEE_REFUND_UPDATE,
    ("GET", "/v1/payouts/{id}"): _PAYOUTS,
    ("GET", "/v1/payouts"): _PAYOUTS,
    ("POST", "/v1/payouts/{id}/cancel"): _PAYOUTS,
    ("POST", "/v1/payouts/{id}/reverse"): _PAYOUT_REVERSALS,
    ("POST", "/v1/refunds/{id}/cancel"): _REFUND_CANCEL,
    ("POST", "/v1/payouts/{id}"): _METADATA_BY_PSP,
    ("GET", "/v1/disputes"): _DISPUTES,
    ("GET", "/v1/disputes/{id}"): _DISPUTES,
    ("POST", "/v1/disputes/{id}"): _DISPUTES,
    ("POST", "/v1/disputes/{id}/close"): _DISPUTES,
    ("GET", "/v1/payout_schedule"): _PAYOUTS,
    ("POST", "/v1/payout_cards"): _PAYOUT_CARDS,
    ("GET", "/v1/payout_cards"): _PAYOUT_CARD_CURRENCIES,
    ("GET", "/v1/payout_cards/{id}"): _PAYOUT_CARD_CURRENCIES,
    ("POST", "/v1/payout_schedule"): _PAYOUTS,
}


def test_every_served_route_has_an_http_test(
    edge_server: EdgeServer, grpc_server: GrpcServer
) -> None:
    served = {
        (route.http_method, route.template)
        for route in edge_server.edge.router.routes
        if route.rpc_method.strip("/").split("/")[0] in grpc_server.serving
    }
    assert {"paycore.v1.LedgerService", "paycore.v1.WalletService"} <= set(grpc_server.serving)
    missing = sorted(served - COVERED.keys())
    assert not missing, f"annotated routes of served services without an HTTP test: {missing}"
    stale = sorted(COVERED.keys() - served)
    assert not stale, f"COVERED names routes that are not served: {stale}"
    for route, test in COVERED.items():
        module, function = test.split("::")
        found = getattr(importlib.import_module(f"tests.edge.{module}"), function, None)
        assert callable(found), f"{route}: {test} does not exist"
