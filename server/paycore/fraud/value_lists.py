"""Radar value lists (Stripe's `radar.value_list` and `radar.value_list_item`) over the one
store of blocked values: a list's items are blocklist items (`BlocklistItem.value_list` its id),
and a merchant's default block list of an item type is the blocklist's items of that type
(`rsl_block_<item_type>`, never stored as a list). A rule naming a list's alias (`@alias` as a
condition's feature) fires for a payment whose value is on the list; the default lists block
as the blocklist always has (docs/fraud.md, "Value lists")."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from paycore.errors import invalid, not_found
from paycore.fraud.models import (
    DEFAULT_LIST_PREFIX,
    STRIPE_ITEM_TYPES,
    BlocklistItem,
    NewValueList,
    ValueList,
    ValueListChanges,
    default_list,
)
from paycore.fraud.repository import PolicyRepository, ValueListRepository
from paycore.fraud.rules import Policy
from paycore.ids import Prefix, new_merchant_id
from paycore.ranges import SecondsRange
from paycore.storage import Shards
from paycore.storage.reads import Cursor, Page, page_after
from sqlalchemy.ext.asyncio import AsyncConnection

VALUE_LISTS_MAX = 100
"""A merchant's own lists (its default lists aside)."""
ALIAS = re.compile(r"^[A-Za-z0-9_]{1,100}$")
LIST_FEATURE = "@"
"""A rule condition's feature `@<alias>`: 1 when the payment's value is on that list."""
VALUE_LIST = "value_list"
VALUE_LIST_ITEM = "value_list_item"
ITEM_TYPES = {name: kind for kind, name in STRIPE_ITEM_TYPES.items()}


def is_default_id(list_id: str) -> bool:
    return list_id.removeprefix(DEFAULT_LIST_PREFIX) in ITEM_TYPES


def defaults(merchant_id: str) -> list[ValueList]:
    return [default_list(merchant_id, kind) for kind in STRIPE_ITEM_TYPES]


def list_aliases(policy: Policy) -> dict[str, str]:
    """The value lists the policy's rules name: alias -> the first rule naming it."""
    named: dict[str, str] = {}
    for rule in policy.rules:
        for condition in rule.conditions:
            if condition.feature.startswith(LIST_FEATURE):
                named.setdefault(condition.feature.removeprefix(LIST_FEATURE), rule.name)
    return named


def _in_range(created: int, seconds: SecondsRange) -> bool:
    return (seconds.start is None or created >= seconds.start) and (
        seconds.end is None or created < seconds.end
    )


@dataclass(frozen=True, slots=True)
class ValueLists:
    _shards: Shards

    async def create(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        new: NewValueList,
    ) -> ValueList:
        lists = ValueListRepository(connection)
        if new.alias in {found.alias for found in defaults(merchant_id)}:
            raise invalid("alias", "is the alias of a default list")
        if len(await lists.all(merchant_id, "", "")) >= VALUE_LISTS_MAX:
            raise invalid("alias", f"a merchant has at most {VALUE_LISTS_MAX} value lists")
        draft = ValueList(
            id=new_merchant_id(Prefix.VALUE_LIST, merchant_id),
            merchant_id=merchant_id,
            created=0,
            alias=new.alias,
            name=new.name,
            item_type=new.item_type,
            metadata=new.metadata,
        )
        created = await lists.insert(draft)
        if created is None:
            raise invalid("alias", "is the alias of another of the merchant's value lists")
        return created

    async def get(self, merchant_id: str, list_id: str, param: str = "id") -> ValueList:
        async with self._shards.read(merchant_id) as connection:
            return await _found(ValueListRepository(connection), merchant_id, list_id, param)

    async def update(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        list_id: str,
        changes: ValueListChanges,
    ) -> ValueList:
        stored = await _own(ValueListRepository(connection), merchant_id, list_id)
        alias = stored.alias if changes.alias is None else changes.alias
        rule = (await _naming(connection, merchant_id)).get(stored.alias)
        if alias != stored.alias and rule is not None:
            raise invalid("alias", f"rule {rule!r} names this list by its alias")
        if alias in {found.alias for found in defaults(merchant_id)}:
            raise invalid("alias", "is the alias of a default list")
        changed = replace(
            stored,
            alias=alias,
            name=stored.name if changes.name is None else changes.name,
            metadata=(
                changes.metadata.applied_to(stored.metadata)
                if changes.metadata
                else stored.metadata
            ),
        )
        updated = await ValueListRepository(connection).update(changed)
        if updated is None:
            raise invalid("alias", "is the alias of another of the merchant's value lists")
        return updated

    async def delete(self, connection: AsyncConnection, merchant_id: str, list_id: str) -> str:
        stored = await _own(ValueListRepository(connection), merchant_id, list_id)
        rule = (await _naming(connection, merchant_id)).get(stored.alias)
        if rule is not None:
            raise invalid("id", f"rule {rule!r} names this list: change the rule first")
        await ValueListRepository(connection).delete(merchant_id, list_id)
        return list_id

    async def list(
        self, merchant_id: str, cursor: Cursor, alias: str, contains: str
    ) -> Page[ValueList]:
        """The merchant's own lists, newest first, then its default lists."""
        async with self._shards.read(merchant_id) as connection:
            lists = ValueListRepository(connection)
            own = await lists.all(merchant_id, alias, contains)
            holding = await lists.holds(merchant_id, contains) if contains else frozenset()
        found = [
            value_list
            for value_list in own
            + [
                default
                for default in defaults(merchant_id)
                if (not alias or default.alias == alias) and (not contains or default.id in holding)
            ]
            if _in_range(value_list.created, cursor.created)
        ]
        return page_after(found, [value_list.id for value_list in found], cursor, VALUE_LIST)

    async def aliases(self, connection: AsyncConnection, merchant_id: str) -> set[str]:
        """Every alias a rule of the merchant's may name: its lists' and its default lists'."""
        own = await ValueListRepository(connection).all(merchant_id, "", "")
        return {value_list.alias for value_list in own + defaults(merchant_id)}

    async def item(self, merchant_id: str, item_id: str) -> BlocklistItem:
        async with self._shards.read(merchant_id) as connection:
            found = await ValueListRepository(connection).item(merchant_id, item_id)
        if found is None:
            raise not_found(VALUE_LIST_ITEM, item_id)
        return found

    async def remove_item(self, connection: AsyncConnection, merchant_id: str, item_id: str) -> str:
        removed = await ValueListRepository(connection).remove_item(merchant_id, item_id)
        if removed is None:
            raise not_found(VALUE_LIST_ITEM, item_id)
        return item_id

    async def items(
        self, merchant_id: str, list_id: str, cursor: Cursor, value: str
    ) -> Page[BlocklistItem]:
        async with self._shards.read(merchant_id) as connection:
            lists = ValueListRepository(connection)
            value_list = await _found(lists, merchant_id, list_id, VALUE_LIST)
            return await lists.items(value_list, cursor, value)

    async def held(self, connection: AsyncConnection, merchant_id: str, list_id: str) -> ValueList:
        """The list an item is added to, read (a custom list locked) in the adding
        transaction: RESOURCE_MISSING naming `value_list` when it is gone."""
        return await _found(
            ValueListRepository(connection), merchant_id, list_id, VALUE_LIST, lock=True
        )


async def _naming(connection: AsyncConnection, merchant_id: str) -> dict[str, str]:
    """The value lists the merchant's rules name: alias -> the first rule naming it."""
    policy = await PolicyRepository(connection).get(merchant_id)
    return {} if policy is None else list_aliases(policy)


async def _found(
    lists: ValueListRepository, merchant_id: str, list_id: str, param: str, *, lock: bool = False
) -> ValueList:
    if is_default_id(list_id):
        return default_list(merchant_id, ITEM_TYPES[list_id.removeprefix(DEFAULT_LIST_PREFIX)])
    found = await lists.get(merchant_id, list_id, lock=lock)
    if found is None:
        raise not_found(VALUE_LIST, list_id, param)
    return found


async def _own(lists: ValueListRepository, merchant_id: str, list_id: str) -> ValueList:
    """A list the merchant may change: its own (a default list is INVALID naming `id`)."""
    if is_default_id(list_id):
        raise invalid("id", "a default list is not changed or deleted (its items are)")
    return await _found(lists, merchant_id, list_id, "id", lock=True)
