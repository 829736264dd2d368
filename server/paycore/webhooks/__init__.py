"""Webhooks (issue 15): merchants' endpoints, and the signed delivery of every event to each
enabled endpoint that wants its type, retried for three days, with a log of every attempt.

    models.py      the domain's types
    repository.py  SQL over a given connection (merchant id first), row decoders
    addresses.py   which URLs and addresses may be called (https, no private networks)
    signing.py     secrets and the two signature schemes (Standard Webhooks, Stripe's)
    schedule.py    when a failed attempt is tried again, and when a delivery gives up
    endpoints.py   Create/Get/List/Update/Delete/Roll of endpoints
    deliveries.py  the delivery log and resending
    sender.py      one POST to an endpoint over the pooled HTTP client
    delivering.py  the worker's side: fan events out to deliveries, attempt due ones
    servicer/      EventService's webhook methods over gRPC

Delivery is at least once and in no guaranteed order: receivers dedupe on the event id (the
`webhook-id` header)."""
