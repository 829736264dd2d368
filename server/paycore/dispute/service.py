"""Disputes' domain: reads, the merchant's answer (UpdateDispute, CloseDispute), and the
PSP's news (the feed, and the answers to our own calls) applied through one transition,
`_moved`, which moves the money and records the events of each step.

A call to the PSP (evidence, accept) is a phased mutation: the request's transaction records
it (`psp_action`), the call runs outside any transaction with the dispute's own key
(`<dp_ id>/submit`, `<dp_ id>/close`; an inquiry's `<dp_ id>/inquiry/submit`, so the chargeback
it escalates to is answered under keys of its own: the PSP takes each once), and its answer is
applied in a transaction of its own. A retried request with the same idempotency-key resumes
the call."""

from __future__ import annotations

import logging
from collections.abc import MutableSequence
from dataclasses import dataclass, field, replace

from paycore.dispute.charges import disputed_charge, is_charge_owner, mark_disputed
from paycore.dispute.feeds import FEED_BATCH_MAX, read_feed
from paycore.dispute.machine import CLOSED, can_move, check_move, opening_status
from paycore.dispute.models import (
    AWAITING_RESPONSE,
    Dispute,
    DisputeFees,
    DisputeFilter,
    DisputeReason,
    DisputeStatus,
    EvidenceUpdate,
    PspAction,
)
from paycore.dispute.money import DisputeMoney
from paycore.dispute.repository import (
    DISPUTES,
    DisputeRepository,
    claim_stale_calls,
    disputes_query,
    with_balance_transactions,
)
from paycore.errors import ApiError, Reason, not_found
from paycore.events import Recorder
from paycore.fraud.models import Assessment, OutcomeLabel
from paycore.fraud.service import FraudService
from paycore.ids import Prefix, new_merchant_id
from paycore.payment.repository import PAYMENT_INTENTS, PAYMENT_ORDERS
from paycore.psp.client import PspClient, PspDispute, PspDisputeEvent, PspError, PspRejected
from paycore.runtime.mutations import Complete, FinalAnswer, Phases
from paycore.storage import Shards
from paycore.storage.reads import Cursor, Named, Page, Reads
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)
CALL_LEASE_SECONDS = 60
CREATED = "charge.dispute.created"
UPDATED = "charge.dispute.updated"
CLOSED_EVENT = "charge.dispute.closed"
FUNDS_WITHDRAWN = "charge.dispute.funds_withdrawn"
FUNDS_REINSTATED = "charge.dispute.funds_reinstated"


@dataclass
class _Step:
    """What one transaction applied: its events, and the fraud labels to count after it."""

    events: list[str] = field(default_factory=list)
    labelled: list[Assessment] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Disputes:
    _shards: Shards
    _reads: Reads
    _money: DisputeMoney
    _psp: PspClient
    _fraud: FraudService
    _fees: DisputeFees
    _events: Recorder[Dispute]

    def now(self) -> int:
        return self._money.now()

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, merchant_id: str, dispute_id: str) -> Dispute:
        return await self._reads.one(merchant_id, DISPUTES, dispute_id)

    async def list(self, merchant_id: str, cursor: Cursor, wanted: DisputeFilter) -> Page[Dispute]:
        query = disputes_query(merchant_id, wanted)
        named = [
            Named("payment_intent", PAYMENT_INTENTS, wanted.payment_intent_id),
            Named("payment_order", PAYMENT_ORDERS, wanted.payment_order_id),
        ]
        return await self._reads.page(merchant_id, DISPUTES, cursor, query, named)

    # -- the merchant's answer ------------------------------------------------------------------

    def update(self, merchant_id: str, dispute_id: str, update: EvidenceUpdate) -> Phases[Dispute]:
        """Stages the evidence (and metadata); with `submit`, sends it to the PSP, once."""

        async def record(connection: AsyncConnection) -> Dispute:
            if not update.evidence and not update.submit:
                return await self._relabelled(connection, merchant_id, dispute_id, update)
            dispute = await self._answerable(connection, merchant_id, dispute_id, update.param)
            given = {**dispute.evidence, **update.evidence}
            evidence = {name: text for name, text in given.items() if text}
            length = sum(len(text) for text in evidence.values())
            if length > self._fees.evidence_chars_max:
                raise ApiError(
                    Reason.DISPUTE_EVIDENCE_TOO_LONG,
                    param="evidence",
                    length=length,
                    maximum=self._fees.evidence_chars_max,
                )
            changed = replace(
                dispute,
                evidence=evidence,
                metadata=update.metadata.applied_to(dispute.metadata),
                psp_action=PspAction.SUBMIT if update.submit else PspAction.NONE,
                psp_action_at=self.now() if update.submit else 0,
            )
            await DisputeRepository(connection).save(changed)
            # A submission's event is recorded with the PSP's answer (under review).
            events = [] if update.submit else [UPDATED]
            return await self._record(connection, changed, events, before=dispute)

        return Phases(record, self._call_psp(merchant_id) if update.submit else None)

    async def _relabelled(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        dispute_id: str,
        update: EvidenceUpdate,
    ) -> Dispute:
        """An update of the metadata alone: the merchant's own bookkeeping, which changes in
        any state (as on Stripe's objects), submitted, under way or closed; the evidence and a
        call to the PSP under way are left as they are."""
        dispute = await self._locked(connection, merchant_id, dispute_id)
        changed = replace(dispute, metadata=update.metadata.applied_to(dispute.metadata))
        if changed.metadata == dispute.metadata:
            return await self._record(connection, dispute, [])
        await DisputeRepository(connection).save(changed)
        return await self._record(connection, changed, [UPDATED], before=dispute)

    def close(self, merchant_id: str, dispute_id: str) -> Phases[Dispute]:
        """Accepts the dispute at the PSP: a chargeback is lost, an inquiry closed."""

        async def record(connection: AsyncConnection) -> Dispute:
            dispute = await self._locked(connection, merchant_id, dispute_id)
            if dispute.status not in AWAITING_RESPONSE or dispute.psp_action:
                raise _not_open(dispute, "close")
            changed = replace(dispute, psp_action=PspAction.CLOSE, psp_action_at=self.now())
            return await DisputeRepository(connection).save(changed)

        return Phases(record, self._call_psp(merchant_id))

    async def _answerable(
        self, connection: AsyncConnection, merchant_id: str, dispute_id: str, param: str
    ) -> Dispute:
        """The dispute, locked, if evidence may change: not submitted (nor being sent), not
        past due, open. Each refusal is a named error raised before anything changes, naming
        `param` (what the update sent: EvidenceUpdate.param) when it is the request's fault."""
        dispute = await self._locked(connection, merchant_id, dispute_id)
        if dispute.submission_count or dispute.psp_action is PspAction.SUBMIT:
            raise ApiError(Reason.DISPUTE_EVIDENCE_SUBMITTED, param=param, id=dispute.id)
        # Past due first: a dispute the bank closed lost for want of evidence by its deadline
        # is refused for that reason, not merely as closed.
        lapsed = dispute.status is DisputeStatus.LOST and self.now() > dispute.due_by
        if dispute.past_due(self.now()) or lapsed:
            raise ApiError(
                Reason.DISPUTE_PAST_DUE, param=param, id=dispute.id, due_by=dispute.due_by
            )
        if dispute.status not in AWAITING_RESPONSE or dispute.psp_action:
            raise _not_open(dispute, "update")
        return dispute

    async def _locked(
        self, connection: AsyncConnection, merchant_id: str, dispute_id: str
    ) -> Dispute:
        dispute = await DisputeRepository(connection).get(merchant_id, dispute_id, lock=True)
        if dispute is None:
            raise not_found("dispute", dispute_id)
        return dispute

    def _call_psp(self, merchant_id: str) -> Complete[Dispute]:
        async def complete(dispute_id: str, final: FinalAnswer[Dispute]) -> Dispute:
            dispute = await self.get(merchant_id, dispute_id)
            action = dispute.psp_action
            if action is PspAction.NONE:
                return dispute  # answered already (a resumed request)
            try:
                answer = await self._send(dispute, action)
            except PspRejected as error:
                await self._forget(merchant_id, dispute_id, action)
                raise ApiError(
                    Reason.DISPUTE_PSP_REFUSED,
                    param="id",
                    id=dispute_id,
                    action=action.value,
                    detail=error.message,
                ) from None
            except PspError:
                raise ApiError(
                    Reason.UNAVAILABLE,
                    detail="The PSP did not answer; retry with the same idempotency-key",
                ) from None
            step = _Step()
            async with self._shards.transaction(merchant_id) as connection:
                dispute = await self._locked(connection, merchant_id, dispute_id)
                if dispute.psp_action is action:
                    sent = replace(dispute, psp_action=PspAction.NONE, psp_action_at=0)
                    if action is PspAction.SUBMIT:
                        sent = replace(sent, submission_count=1, submitted_at=self.now())
                    dispute = await self._moved(connection, sent, answer, step, before=dispute)
                await final.store_in(connection, dispute)
            await self._count(step)
            return dispute

        return complete

    async def _send(self, dispute: Dispute, action: PspAction) -> PspDispute:
        # An inquiry lost escalates to a chargeback answered afresh: its calls are another
        # round, under keys of their own (the chargeback's keep the plain `<dp_>/<action>`).
        key = (
            f"{dispute.id}/inquiry/{action.value}"
            if dispute.status.inquiry
            else f"{dispute.id}/{action.value}"
        )
        if action is PspAction.SUBMIT:
            return await self._psp.submit_dispute_evidence(
                idempotency_key=key, dispute=dispute.psp_dispute, evidence=dispute.evidence
            )
        return await self._psp.close_dispute(idempotency_key=key, dispute=dispute.psp_dispute)

    async def _forget(self, merchant_id: str, dispute_id: str, action: PspAction) -> None:
        """The PSP refused the call for good: it is no longer under way."""
        async with self._shards.transaction(merchant_id) as connection:
            dispute = await self._locked(connection, merchant_id, dispute_id)
            if dispute.psp_action is action:
                await DisputeRepository(connection).save(
                    replace(dispute, psp_action=PspAction.NONE, psp_action_at=0)
                )

    async def resume_stale_calls(self, engine: AsyncEngine, limit: int = FEED_BATCH_MAX) -> int:
        """Finishes the calls to the PSP whose request died between its phases and was not
        retried within CALL_LEASE_SECONDS (the PSP takes each key once, so a call resumed
        twice is sent once)."""
        now = self.now()
        async with engine.begin() as connection:
            taken = await claim_stale_calls(connection, now - CALL_LEASE_SECONDS, now, limit)
        for merchant_id, dispute_id in taken:
            try:
                await self._call_psp(merchant_id)(dispute_id, FinalAnswer.unstored())
            except ApiError as error:
                log.warning("dispute %s: its call to the PSP failed again (%s)", dispute_id, error)
        return len(taken)

    # -- the PSP's news -------------------------------------------------------------------------

    async def read_feed(self, home: AsyncEngine, limit: int = FEED_BATCH_MAX) -> int:
        """One batch of the PSP's disputes feed, each change applied once: the position is
        leased on the home shard, and a change older than what a dispute has seen (its
        psp_sequence) is skipped, so a batch read again after a crash changes nothing."""
        return await read_feed(
            home,
            self._psp.base_url,
            self.now(),
            lambda after: self._psp.dispute_events(after, limit),
            self.apply,
            lambda event: event.sequence,
        )

    async def apply(self, event: PspDisputeEvent) -> None:
        """Applies one change of the feed in the merchant's transaction (once)."""
        news = event.dispute
        if (
            news.status not in _STATUSES
            or not news.merchant.startswith(f"{Prefix.ACCOUNT}_")
            or not is_charge_owner(news.reference)
        ):
            log.warning(
                "dispute %s: not a charge of paycore's (or an unknown status); skipped", news.id
            )
            return
        step = _Step()
        async with self._shards.transaction(news.merchant) as connection:
            dispute = await DisputeRepository(connection).by_psp(news.merchant, news.id)
            if dispute is None:
                await self._open(connection, event, step)
            elif event.sequence > dispute.psp_sequence:
                seen = replace(dispute, psp_sequence=event.sequence, due_by=news.evidence_due_by)
                await self._moved(connection, seen, news, step, before=dispute)
        await self._count(step)

    async def _open(self, connection: AsyncConnection, event: PspDisputeEvent, step: _Step) -> None:
        news = event.dispute
        merchant_id = news.merchant
        charge = await disputed_charge(connection, merchant_id, news.reference, lock=True)
        if charge is None or charge.psp_charge != news.charge:
            log.warning("dispute %s: no payment intent or order has its charge; skipped", news.id)
            return
        reported = DisputeStatus(news.status)
        status = opening_status(reported)
        dispute = Dispute(
            id=new_merchant_id(Prefix.DISPUTE, merchant_id),
            merchant_id=merchant_id,
            payment_intent_id=charge.payment_intent_id,
            payment_order_id=charge.payment_order_id,
            account=charge.account,
            psp_dispute=news.id,
            psp_charge=news.charge,
            amount=news.amount,
            fee=0,
            currency=news.currency,
            reason=_reason(news.reason),
            status=status,
            evidence={},
            due_by=news.evidence_due_by,
            submitted_at=0,
            submission_count=0,
            psp_action=PspAction.NONE,
            psp_action_at=0,
            psp_sequence=event.sequence,
            balance_transaction_ids=(),
            created=self.now(),
        )
        step.events.append(CREATED)
        if not status.inquiry:
            dispute = await self._withdraw(connection, dispute, step)
        await DisputeRepository(connection).insert(dispute)
        await self._record(connection, dispute, step.events)
        step.events.clear()
        if reported is not status:
            await self._moved(connection, dispute, news, step, before=dispute)

    async def _moved(
        self,
        connection: AsyncConnection,
        dispute: Dispute,
        news: PspDispute,
        step: _Step,
        *,
        before: Dispute,
    ) -> Dispute:
        """`dispute` (with what the caller changed) moved to the status the PSP reports, with
        the money and the events of the move; stale or repeated news moves nothing. `before`:
        the dispute as stored before the caller's change (the updated event's previous
        attributes)."""
        wanted = DisputeStatus(news.status)
        if wanted is not dispute.status and can_move(dispute.status, wanted):
            check_move(dispute, wanted)
            if dispute.status.inquiry and not wanted.inquiry:
                # Escalated: the bank charges back what the charge's refunds made while it
                # inquired have left, the amount its news now shows.
                dispute = replace(dispute, amount=news.amount)
            dispute = await self._enter(connection, replace(dispute, status=wanted), step)
        await DisputeRepository(connection).save(dispute)
        return await self._record(connection, dispute, step.events, before=before)

    async def _enter(self, connection: AsyncConnection, dispute: Dispute, step: _Step) -> Dispute:
        status = dispute.status
        if status is DisputeStatus.NEEDS_RESPONSE:  # an inquiry escalated to a chargeback
            step.events.append(UPDATED)
            escalated = replace(dispute, evidence={}, submission_count=0, submitted_at=0)
            return await self._withdraw(connection, escalated, step)
        if status not in CLOSED:
            step.events.append(UPDATED)
            return dispute
        step.events.append(CLOSED_EVENT)
        if status is DisputeStatus.WON:
            fee = dispute.fee if self._fees.returned_on_win else 0
            reinstated = await self._money.reinstate(connection, dispute, fee)
            dispute = replace(
                dispute, balance_transaction_ids=(*dispute.balance_transaction_ids, reinstated)
            )
            step.events.append(FUNDS_REINSTATED)
        if dispute.reason is DisputeReason.FRAUDULENT and not status.inquiry:
            await self._label(connection, dispute, step)
        return dispute

    async def _withdraw(
        self, connection: AsyncConnection, dispute: Dispute, step: _Step
    ) -> Dispute:
        """The chargeback's amount and fee leave the balance the charge credited; the intent
        or order shows `disputed`."""
        charged = replace(dispute, fee=self._fees.fee)
        withdrawn = await self._money.withdraw(connection, charged)
        await mark_disputed(connection, dispute.merchant_id, dispute.charge_id)
        step.events.append(FUNDS_WITHDRAWN)
        return replace(
            charged, balance_transaction_ids=(*charged.balance_transaction_ids, withdrawn)
        )

    async def _label(self, connection: AsyncConnection, dispute: Dispute, step: _Step) -> None:
        """A fraudulent chargeback's outcome is the fraud model's feedback: lost, the payment
        was fraud; won, it was not (a payment order's: its checkout's payment, which fraud
        scored as a whole)."""
        label = (
            OutcomeLabel.FRAUDULENT
            if dispute.status is DisputeStatus.LOST
            else OutcomeLabel.LEGITIMATE
        )
        note = f"dispute {dispute.id} {dispute.status.value}"
        charge = await disputed_charge(connection, dispute.merchant_id, dispute.charge_id)
        scored = dispute.charge_id if charge is None else charge.scored
        try:
            labelled = await self._fraud.label(connection, dispute.merchant_id, scored, label, note)
        except ApiError:  # never scored (paid before scoring existed): nothing to label
            return
        step.labelled.append(labelled)

    async def _record(
        self,
        connection: AsyncConnection,
        dispute: Dispute,
        events: MutableSequence[str],
        *,
        before: Dispute | None = None,
    ) -> Dispute:
        """`dispute` as a Get reads it (with its balance transactions, the rows this
        transaction wrote included), its `events` recorded with that snapshot; an updated
        event with the fields that changed since `before` (Stripe's previous_attributes)."""
        [complete] = await with_balance_transactions(connection, [dispute])
        was = None
        if before is not None and UPDATED in events:
            [was] = await with_balance_transactions(connection, [before])
        for event_type in events:
            previous = was if event_type == UPDATED else None
            await self._events.record(connection, event_type, complete, before=previous)
        events.clear()
        return complete

    async def _count(self, step: _Step) -> None:
        """After the commit: a confirmed fraud counts in the velocity counters (Redis)."""
        for labelled in step.labelled:
            await self._fraud.count_outcome(labelled)


_STATUSES = frozenset(status.value for status in DisputeStatus)


def _reason(text: str) -> DisputeReason:
    try:
        return DisputeReason(text)
    except ValueError:
        return DisputeReason.GENERAL


def _not_open(dispute: Dispute, action: str) -> ApiError:
    return ApiError(
        Reason.DISPUTE_NOT_OPEN,
        param="id",
        id=dispute.id,
        status=dispute.status.value,
        action=action,
    )
