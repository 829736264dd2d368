"""Hosted payment pages (issue 21): checkout sessions (`cs_`), each paying one payment intent
on a page the REST edge serves (paycore.edge.pages).

    models.py       the session, what creates one, the hosted page's view
    repository.py   sessions (joined with their intent) and the merchants' page keys
    sessions.py     create, read, expire, the page's view, the worker's sweep; PageKeys
    servicer/       CheckoutService over gRPC
"""
