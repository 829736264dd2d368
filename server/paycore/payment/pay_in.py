"""Pay-in's long-lived parts, as the composition root holds them (built by
paycore.payment.services.build_pay_in)."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.executor.service import Executor
from paycore.fraud.service import FraudService
from paycore.payment.application_fees import ApplicationFees
from paycore.payment.charges import Charges
from paycore.payment.checkout import Checkouts
from paycore.payment.intents.flow import IntentFlow
from paycore.payment.off_session import OffSessionCharges
from paycore.payment.refunds import Refunds
from paycore.payment.setup.flow import SetupFlow
from paycore.psp.client import PspClient


@dataclass
class PayIn:
    psp: PspClient
    executor: Executor
    fraud: FraudService
    intents: IntentFlow
    checkouts: Checkouts
    refunds: Refunds
    off_session: OffSessionCharges
    setups: SetupFlow
    charges: Charges
    application_fees: ApplicationFees

    async def close(self) -> None:
        await self.psp.close()
