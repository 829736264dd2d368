"""An IPv4 address written the IPv6 way (::ffff:a.b.c.d, what a dual-stack socket reports for
an IPv4 client) is that IPv4 address wherever a caller names one: ScorePayment's `ip`,
blocklist and allow-list items, the list filter. Before, only the address paycore observed
itself (`client_ip`) was read so: a blocklisted 198.51.100.7 did not block a payment naming
::ffff:198.51.100.7, and a card tester alternating the two forms split the IP's velocity
counters and stayed under `ip_velocity_1m`."""

from __future__ import annotations

from collections.abc import Callable

from paycore.client import Paycore
from paycore.v1 import fraud_pb2

from tests.fraud.support import fingerprint, payment_id, returning_customer
from tests.helpers import MerchantFixture

IP = fraud_pb2.BLOCKLIST_ITEM_TYPE_IP


async def test_a_blocklisted_ipv4_address_blocks_it_written_the_ipv6_way(
    merchant: MerchantFixture, admin_client_for: Callable[[str | None], Paycore]
) -> None:
    operator = admin_client_for(merchant.merchant.id)
    await operator.fraud.AddBlocklistItem(
        fraud_pb2.AddBlocklistItemRequest(type=IP, value="198.51.100.7")
    )
    mapped = await operator.fraud.AddBlocklistItem(
        fraud_pb2.AddBlocklistItemRequest(type=IP, value="::ffff:203.0.113.9")
    )
    assert mapped.value == "203.0.113.9"
    for named in ("::ffff:198.51.100.7", "::ffff:c633:6407", "203.0.113.9"):
        scored = await merchant.client.fraud.ScorePayment(
            returning_customer(merchant.merchant.id, ip=named)
        )
        assert scored.decision == fraud_pb2.RISK_DECISION_BLOCK, named
        assert scored.reasons[0] == "blocklisted_ip"
    listed = await operator.fraud.ListBlocklistItems(
        fraud_pb2.ListBlocklistItemsRequest(value="::ffff:198.51.100.7")
    )
    assert [item.value for item in listed.data] == ["198.51.100.7"]


async def test_both_forms_of_one_address_count_as_one_ip(merchant: MerchantFixture) -> None:
    merchant_id = merchant.merchant.id
    scored = []
    for attempt in range(11):
        named = "192.0.2.44" if attempt % 2 else "::ffff:192.0.2.44"
        request = returning_customer(
            merchant_id, ip=named, card_fingerprint=fingerprint(), payment=payment_id(merchant_id)
        )
        scored.append(await merchant.client.fraud.ScorePayment(request))
    assert "ip_velocity_1m" in scored[-1].reasons, scored[-1]
    assert scored[-1].decision == fraud_pb2.RISK_DECISION_BLOCK
