"""The executor: runs one operation (charge, authorize, capture, void, refund) of a payment
against the PSP, exactly once, whatever crashes or times out on the way.

    service.py     Executor: enqueue, claim, run, resume, requeue; completions per operation
    machine.py     the execution state machine
    repository.py  executions and attempts (and ClaimedInsert, the CTE parts others compose)
    servicer/      ExecutorService over gRPC (operators): messages.py, register()
"""
