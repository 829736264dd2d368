"""Events: what each state change wrote to the outbox in its own transaction, the EventService
reads of them, and the outbox publisher that hands them on (docs/design.md, "Events and background
work").

    types.py       EVENT_TYPES, the catalogue every recorded type must be in
    outbox.py      record_event / record_prepared: the rows written, beside the change
    recorder.py    Recorder[T]: a service's events of one kind of object, rendered by the
                   converter the composition root passes in; how every service records
    objects.py     the event's object: proto message <-> stored JSON <-> Any
    repository.py  rows: merchant-scoped queries, the outbox claim, EventsInsert (the CTE part
                   a statement that writes events beside its change composes)
    publishing.py  the outbox_publisher job and the Redis Stream publisher
    service.py     GetEvent / ListEvents (domain, through paycore.storage.reads)
    servicer/      EventService over gRPC (requests.py, messages.py, register)
"""

from paycore.events.outbox import UnknownEventType, record_event
from paycore.events.recorder import Recorder
from paycore.events.types import EVENT_TYPES

__all__ = ["EVENT_TYPES", "Recorder", "UnknownEventType", "record_event"]
