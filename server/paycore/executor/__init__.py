"""The executor: runs one operation (charge, authorize, capture, void, refund) of a payment
against the PSP, exactly once, whatever crashes or times out on the way.

    service.py     Executor: enqueue, claim, run, resume, requeue; completions per operation
    machine.py     the execution state machine
    breaker.py     the circuit breaker in front of the PSP, one per mode (Breakers)
    modes.py       each merchant's mode (test, live), which picks its breaker
    repository.py  executions and attempts (and ClaimedInsert, the CTE parts others compose)
    servicer/      ExecutorService over gRPC (operators): messages.py, register()
"""
