"""CustomerService: customers, their card payment methods, and the card vault."""
