"""Pay-in: payment intents (authorize/capture/cancel), payments made of payment orders for
several sellers, refunds; each PSP operation runs through the executor.

    servicer/      PaymentService over gRPC: requests.py (message -> dataclass), messages.py
                   (dataclass -> message, also the events' objects), fraud.py (the wire to
                   FraudService), register()
    intents/       one module per intent operation (create, confirm, capture, cancel, answer,
                   review); flow.py holds what they share
    machine.py     the intent state machine: every status change goes through it
    checkout.py    payments and their orders; refunds.py; off_session.py (subscriptions' charges)
    completion.py  the executor's completion: a finished execution applied to its payment
    charging.py    create-and-confirm's first phase in one statement, composed of its tables'
                   owners' parts
    repository.py  SQL over a given connection, built from storage/schema.py
    events.py      the event types and PayInEvents (their recorders, rendered by the servicer's
                   converters); money.py the ledger postings; risk.py the fraud check's protocol
    services.py    build_pay_in: pay-in's long-lived parts (pay_in.PayIn), for paycore.app
"""
