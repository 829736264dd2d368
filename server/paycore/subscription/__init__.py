"""SubscriptionService: products and prices (the catalogue), billing-period arithmetic,
proration and test clocks. Subscriptions, invoices, the billing clock and dunning come next."""
