"""SubscriptionService: products and prices (the catalogue), billing-period arithmetic,
proration, test clocks, coupons and their discounts (coupon_store.py, discounts.py).
Subscriptions, invoices, the billing clock and dunning come next."""
