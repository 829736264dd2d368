"""SetupIntents (Stripe's `seti_`): a payment method verified at the PSP and saved for later
(off-session) use, with no money moved. One module per operation, as the intents':

    machine.py     the status transition table (every move checked)
    repository.py  the table, its decoder and the read path's Kind
    flow.py        what the operations share: reads, the executor, the cards, the recorder
    create.py      CreateSetupIntent (with `confirm`, its first phase confirms too)
    confirm.py     ConfirmSetupIntent's first phase: processing, a verification enqueued
    answer.py      the second phase: the executor runs the verification at the PSP
    completion.py  the executor's completion of a verification: succeeded (the payment method
                   attached and saved, a wallet card's network token kept), requires_action,
                   or back to requires_payment_method with last_setup_error
    update.py      UpdateSetupIntent (description, metadata, payment method, customer)
    cancel.py      CancelSetupIntent

The verification is the PSP's zero-amount setup call (POST /v1/setups on the simulator), not
an authorization and void: nothing is held on the card, and nothing reaches the ledger.
"""
