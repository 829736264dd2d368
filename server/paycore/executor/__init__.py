"""The executor: runs one operation (charge, authorize, capture, void, refund) of a payment
against the PSP, exactly once, whatever crashes or times out on the way."""
