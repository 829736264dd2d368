"""Payment intents, one module per operation (Stripe's PaymentIntent lifecycle):

    create.py    CreatePaymentIntent (with `confirm`: created and confirmed in one call)
    confirm.py   ConfirmPaymentIntent: the fraud check, then a charge or an authorization
    update.py    UpdatePaymentIntent: Stripe's update, before confirmation
    capture.py   CapturePaymentIntent: full or partial; the rest is released
    cancel.py    CancelPaymentIntent: voids an authorization first
    answer.py    the second phase every one of them shares: run the execution, answer
    review.py    what a closed fraud review does to a held intent
    flow.py      what they share: `IntentFlow` (their collaborators), reads, executions

Each call that reaches the PSP runs as two phases (paycore.runtime.mutations.Phases): the first
transaction moves the intent to `processing` and enqueues an execution (the recovery point);
the second runs the execution outside any transaction and answers with the intent as it then
stands. A crash between the two leaves an execution that the worker resumes. Every change of
status goes through paycore.payment.machine."""
