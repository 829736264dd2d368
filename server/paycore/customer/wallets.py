"""Digital wallets' cryptograms: a wallet token's one-time cryptogram must reach the PSP with
the charge, and nothing else may keep it. It is never written to PostgreSQL nor logged: from
CreatePaymentMethod it is held in Redis, sealed by the vault (AES-GCM bound to the payment
method, so the Redis value alone reveals nothing), for PAYCORE_WALLET_CRYPTOGRAM_TTL_SECONDS,
and opened only on the charge path (outside any transaction). A wallet card charged after
that is sent without one, as a merchant-initiated charge on the network token: the PSP accepts
it once the token had a charge authenticated by its cryptogram (a subscription's renewal, a
saved card's off-session payment) and declines it otherwise (the buyer pays with a new token).
It is not dropped after its first charge: a retry of that charge must send the same one."""

from __future__ import annotations

import logging

from paycore.customer.vault import Vault
from paycore.secret import Secret
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
_PURPOSE = ":cryptogram"


class WalletCryptograms:
    def __init__(self, redis: Redis, key_prefix: str, vault: Vault, ttl_seconds: int) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._vault = vault
        self._ttl_seconds = ttl_seconds

    def _key(self, payment_method_id: str) -> str:
        return f"{self._prefix}wallet_cryptogram:{payment_method_id}"

    async def hold(self, merchant_id: str, payment_method_id: str, cryptogram: Secret) -> None:
        sealed = self._vault.seal(cryptogram, merchant_id, payment_method_id + _PURPOSE)
        try:
            await self._redis.set(self._key(payment_method_id), sealed, ex=self._ttl_seconds)
        except (RedisError, OSError) as error:
            # The payment method stands; its charge will go without a cryptogram (declined).
            log.warning("wallet cryptogram of %s not held: %s", payment_method_id, type(error))

    async def take(self, merchant_id: str, payment_method_id: str) -> Secret | None:
        try:
            sealed = await self._redis.get(self._key(payment_method_id))
        except (RedisError, OSError) as error:
            log.warning("wallet cryptogram of %s unreadable: %s", payment_method_id, type(error))
            return None
        if sealed is None:
            return None
        raw = sealed if isinstance(sealed, bytes) else sealed.encode("latin-1")
        return self._vault.open(raw, merchant_id, payment_method_id + _PURPOSE)
