"""Disputes (issue 22): chargebacks and inquiries the buyer's bank opens against a captured
charge, read from the PSP's feed; the merchant's evidence; the money they move
(docs/disputes.md).

models.py      Dispute, its statuses and reasons, the evidence's fields (frozen dataclasses)
machine.py     the status transition table: an illegal move raises
charges.py     the disputed charge's owner: a payment intent or a checkout payment order
repository.py  rows: the disputes and the feed's position (merchant id first)
money.py       the withdrawal (amount + fee) and the reinstatement, through the balance book
service.py     Get / List, Update (stage, submit once) and Close, and applying the PSP's changes
feed.py        the dispute_feed job: reads the PSP's feed, applies each change once
feeds.py       read_feed: one batch of any PSP feed from its leased position (the disputes',
               the 3-D Secure authentications', the early fraud warnings')
servicer/      DisputeService over gRPC (requests.py, messages.py, register)
"""
