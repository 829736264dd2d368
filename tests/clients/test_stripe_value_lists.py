"""stripe-python's Radar value lists (`stripe.radar.ValueList`, `stripe.radar.ValueListItem`)
against the edge, with the merchant's secret key: its default block lists (`rsl_block_<type>`)
are the blocklist (an item on one blocks a payment as the blocklist does, and the operators'
blocklist lists it), and a list of its own blocks once a rule names it (`@alias`)."""

from __future__ import annotations

from typing import Any, cast

import pytest
import stripe
from paycore.client import connect
from paycore.v1 import fraud_pb2

from tests.clients.conftest import EdgeMerchant, new_edge_merchant
from tests.clients.test_stripe_python import card, client, in_thread
from tests.payment.shop import PayIn, good_card

DEFAULT_IDS = [
    "rsl_block_card_fingerprint",
    "rsl_block_email",
    "rsl_block_ip_address",
    "rsl_block_customer_id",
    "rsl_block_country",
]


async def test_value_lists_and_items_over_the_stripe_sdk(
    payin: PayIn, edge_merchant: EdgeMerchant
) -> None:
    stranger = await new_edge_merchant(payin, edge_merchant.url, "Someone else")

    def lists() -> str:
        sdk = client(edge_merchant)
        assert [found.id for found in sdk.v1.radar.value_lists.list().data] == DEFAULT_IDS
        params: Any = {
            "alias": "known_fraudsters",
            "name": "Known fraudsters",
            "item_type": "email",
            "metadata": {"team": "risk"},
        }
        keyed: Any = {"idempotency_key": "list-known-fraudsters"}
        created = sdk.v1.radar.value_lists.create(params=params, options=keyed)
        assert isinstance(created, stripe.radar.ValueList)
        assert (created.object, created.alias, created.item_type) == (
            "radar.value_list",
            "known_fraudsters",
            "email",
        )
        assert created.id.startswith("rsl_") and created.metadata.to_dict() == {"team": "risk"}
        replayed = sdk.v1.radar.value_lists.create(params=params, options=keyed)
        assert replayed.id == created.id  # the key's stored answer, not a second list

        assert [found.id for found in sdk.v1.radar.value_lists.list().data] == [
            created.id,
            *DEFAULT_IDS,
        ]
        page = sdk.v1.radar.value_lists.list(params={"limit": 2, "starting_after": created.id})
        assert [found.id for found in page.data] == DEFAULT_IDS[:2] and page.has_more
        renamed = sdk.v1.radar.value_lists.update(created.id, params={"name": "Fraudsters"})
        assert (renamed.name, renamed.alias) == ("Fraudsters", "known_fraudsters")
        assert sdk.v1.radar.value_lists.retrieve(created.id).name == "Fraudsters"

        item = sdk.v1.radar.value_list_items.create(
            params={"value_list": created.id, "value": "Mallory@Example.com"}
        )
        assert isinstance(item, stripe.radar.ValueListItem)
        assert (item.object, item.value, item.value_list) == (
            "radar.value_list_item",
            "mallory@example.com",
            created.id,
        )
        assert item.id.startswith("rsli_")
        listed = sdk.v1.radar.value_list_items.list(params={"value_list": created.id})
        assert [found.id for found in listed.data] == [item.id]
        assert sdk.v1.radar.value_list_items.retrieve(item.id).value == "mallory@example.com"
        holding = sdk.v1.radar.value_lists.list(params={"contains": "mallory@example.com"})
        assert [found.id for found in holding.data] == [created.id]

        # Errors name the field and change nothing.
        for params, param in (
            ({"alias": "x", "name": "X", "item_type": "card_bin"}, "item_type"),
            ({"alias": "not an alias", "name": "X", "item_type": "email"}, "alias"),
            ({"alias": "known_fraudsters", "name": "X", "item_type": "email"}, "alias"),
            ({"alias": "y", "item_type": "email"}, "name"),
        ):
            with pytest.raises(stripe.InvalidRequestError) as refused:
                sdk.v1.radar.value_lists.create(params=cast(Any, params))
            assert refused.value.param == param, params
        with pytest.raises(stripe.InvalidRequestError) as bad_value:
            sdk.v1.radar.value_list_items.create(
                params={"value_list": created.id, "value": "not an email"}
            )
        assert bad_value.value.param == "value"
        with pytest.raises(stripe.InvalidRequestError) as default_kept:
            sdk.v1.radar.value_lists.delete("rsl_block_email")
        assert default_kept.value.param == "id"
        other = client(stranger)
        with pytest.raises(stripe.InvalidRequestError) as hidden:
            other.v1.radar.value_lists.retrieve(created.id)
        assert hidden.value.http_status == 404
        with pytest.raises(stripe.InvalidRequestError) as hidden_item:
            other.v1.radar.value_list_items.retrieve(item.id)
        assert hidden_item.value.http_status == 404
        assert (
            other.v1.radar.value_list_items.list(params={"value_list": "rsl_block_email"}).data
            == []
        )
        return created.id

    list_id = await in_thread(lists)

    # A list of the merchant's own blocks once a rule names it; the default lists always do.
    operator = connect(payin.target, payin.admin_token, acting_for=edge_merchant.merchant_id)
    merchant = connect(payin.target, edge_merchant.secret_key)
    try:

        async def scored(email: str) -> fraud_pb2.RiskAssessment:
            return await merchant.fraud.ScorePayment(
                fraud_pb2.ScorePaymentRequest(amount=2000, currency="usd", email=email)
            )

        assert (await scored("mallory@example.com")).decision == fraud_pb2.RISK_DECISION_ALLOW
        rule = fraud_pb2.RiskRule(
            name="known_fraudster",
            conditions=[fraud_pb2.RiskCondition(feature="@known_fraudsters", above=0)],
            action=fraud_pb2.RISK_DECISION_BLOCK,
        )
        await operator.fraud.UpdateRiskPolicy(fraud_pb2.UpdateRiskPolicyRequest(rules=[rule]))
        blocked = await scored("mallory@example.com")
        assert blocked.decision == fraud_pb2.RISK_DECISION_BLOCK
        assert blocked.reasons[0] == "known_fraudster"
        assert (await scored("alice@example.com")).decision == fraud_pb2.RISK_DECISION_ALLOW
        with pytest.raises(Exception) as unknown:
            await operator.fraud.UpdateRiskPolicy(
                fraud_pb2.UpdateRiskPolicyRequest(
                    rules=[
                        fraud_pb2.RiskRule(
                            name="nobody",
                            conditions=[fraud_pb2.RiskCondition(feature="@no_such", above=0)],
                            action=fraud_pb2.RISK_DECISION_BLOCK,
                        )
                    ]
                )
            )
        assert "rules[0].conditions[0].feature" in str(unknown.value)

        # An operator's blocklist item is on the merchant's default list, and the reverse.
        added = await operator.fraud.AddBlocklistItem(
            fraud_pb2.AddBlocklistItemRequest(
                type=fraud_pb2.BLOCKLIST_ITEM_TYPE_EMAIL, value="eve@example.com"
            )
        )
        assert (await scored("eve@example.com")).reasons[0] == "blocklisted_email"

        def default_list() -> str:
            sdk = client(edge_merchant)
            items = sdk.v1.radar.value_list_items.list(params={"value_list": "rsl_block_email"})
            assert [found.id for found in items.data] == [added.id]
            with pytest.raises(stripe.InvalidRequestError) as in_use:
                sdk.v1.radar.value_lists.delete(list_id)
            assert in_use.value.param == "id" and "known_fraudster" in str(in_use.value)
            method = card(sdk, good_card())
            fingerprint = (method.card.fingerprint if method.card else None) or ""
            blocked_card = sdk.v1.radar.value_list_items.create(
                params={"value_list": "rsl_block_card_fingerprint", "value": fingerprint}
            )
            with pytest.raises(stripe.CardError) as declined:
                sdk.v1.payment_intents.create(
                    params={
                        "amount": 2000,
                        "currency": "usd",
                        "payment_method": method.id,
                        "confirm": True,
                    }
                )
            assert declined.value.error is not None
            assert declined.value.error.decline_code == "fraudulent"
            deleted = sdk.v1.radar.value_list_items.delete(blocked_card.id)
            assert (deleted.id, deleted.deleted) == (blocked_card.id, True)
            return fingerprint

        fingerprint = await in_thread(default_list)
        listed = await operator.fraud.ListBlocklistItems(
            fraud_pb2.ListBlocklistItemsRequest(merchant=edge_merchant.merchant_id)
        )
        assert [item.value for item in listed.data] == ["eve@example.com"]
        assert fingerprint

        await operator.fraud.UpdateRiskPolicy(fraud_pb2.UpdateRiskPolicyRequest())

        def delete_list() -> None:
            sdk = client(edge_merchant)
            deleted = sdk.v1.radar.value_lists.delete(list_id)
            assert (deleted.id, deleted.deleted, deleted.object) == (
                list_id,
                True,
                "radar.value_list",
            )
            with pytest.raises(stripe.InvalidRequestError) as gone:
                sdk.v1.radar.value_list_items.list(params={"value_list": list_id})
            assert gone.value.param == "value_list"

        await in_thread(delete_list)
    finally:
        await operator.close()
        await merchant.close()
