"""Pay-in: payment intents (authorize/capture/cancel), payments made of payment orders for
several sellers, refunds, setup intents (a card saved without a charge); each PSP operation
runs through the executor.

    servicer/      PaymentService over gRPC: requests.py (message -> dataclass), messages.py
                   (dataclass -> message, also the events' objects), setup_requests.py (the
                   setup intents' checks), fraud.py (the wire to FraudService), register()
    intents/       one module per intent operation (create, confirm, capture, cancel, answer,
                   review); flow.py holds what they share
    setup/         SetupIntents, one module per operation, their state machine, repository
                   and the executor's completion of a verification (setup/__init__.py)
    machine.py     the intent state machine: every status change goes through it
    checkout.py    payments and their orders; refunds.py; off_session.py (subscriptions' charges)
    charges.py     Stripe's Charges, read-only: an intent's PSP attempts (ch_...) as the executor,
                   the intent, its refunds, disputes and balance transactions recorded them
    completion.py  the executor's completion: a finished execution applied to its payment
    charging.py    create-and-confirm's first phase in one statement, composed of its tables'
                   owners' parts
    repository.py  SQL over a given connection, built from storage/schema.py
    events.py      the event types and PayInEvents (their recorders, rendered by the servicer's
                   converters); money.py the ledger postings; risk.py the fraud check's protocol
    services.py    build_pay_in: pay-in's long-lived parts (pay_in.PayIn), for paycore.app
"""
