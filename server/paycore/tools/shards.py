"""`paycore shards`: where each logical shard lives, and moving one to another physical
database while paycore runs (paycore.storage.moves).

    paycore shards show
    paycore shards move --logical 7 --to 2      # prints the move's report as JSON
    paycore shards abort --logical 7            # end a move whose mover died

Logical shard 0, the home shard, never moves (the platform's rows live beside it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict

from paycore.config import Settings, load_settings
from paycore.errors import ConfigurationError
from paycore.runtime.process import run_async
from paycore.storage.migrate import connected
from paycore.storage.moves import MoveRefused, ShardMove, abort, check_logical
from paycore.storage.shards import Shards
from sqlalchemy import make_url, text


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    shards = commands.add_parser("shards", help="show or move logical shards")
    actions = shards.add_subparsers(dest="shards_command", required=True)
    actions.add_parser("show", help="each physical shard and its logical shards").set_defaults(
        handler=lambda arguments: run_async(show(load_settings()))
    )
    move = actions.add_parser("move", help="move a logical shard to another physical shard")
    move.add_argument("--logical", type=int, required=True, help="the logical shard")
    move.add_argument("--to", type=int, required=True, help="the physical shard (0-based)")
    move.set_defaults(
        handler=lambda arguments: run_async(
            run_move(load_settings(), arguments.logical, arguments.to)
        )
    )
    undo = actions.add_parser("abort", help="end a move whose mover stopped")
    undo.add_argument("--logical", type=int, required=True)
    undo.set_defaults(
        handler=lambda arguments: run_async(run_abort(load_settings(), arguments.logical))
    )


async def reached(shards: Shards, settings: Settings) -> None:
    """Connects to every physical shard once, or raises the ConfigurationError naming the one
    it cannot reach and why (`paycore migrate`'s line), before a command reads or moves
    anything: an operator's typo or a stopped database, not a driver traceback."""
    for shard, (engine, url) in enumerate(zip(shards.engines, settings.database_urls, strict=True)):
        connection = await connected(engine.connect(), url, shard)
        try:
            if (
                shard == 0
                and await connection.scalar(text("SELECT to_regclass('shard_map')")) is None
            ):
                shown = make_url(url).render_as_string(hide_password=True)
                raise ConfigurationError(
                    f"shard 0 ({shown}): no shard map yet (migrated by an older paycore): run"
                    " `paycore migrate` first"
                )
        finally:
            await connection.close()


async def show(settings: Settings) -> None:
    shards = Shards(settings)
    try:
        await reached(shards, settings)
        await shards.refresh_map()
        placement: dict[int, list[int]] = {}
        for logical in range(shards.logical_shard_count):
            placement.setdefault(shards.physical_of_logical(logical), []).append(logical)
        for physical in range(len(shards.engines)):
            print(f"physical {physical}: logical {placement.get(physical, [])}")
    finally:
        await shards.dispose()


async def run_move(settings: Settings, logical: int, target: int) -> None:
    shards = Shards(settings)
    try:
        await reached(shards, settings)
        # Every process rereads the map this often; wait twice that before cleaning up.
        refresh_wait_seconds = 2 * settings.shard_map_refresh_ms / 1000 + 1
        try:
            report = await ShardMove(
                shards, logical, target, refresh_wait_seconds=refresh_wait_seconds
            ).run()
        except MoveRefused as refused:
            raise SystemExit(f"paycore shards move: {refused}") from None
        print(json.dumps(asdict(report), indent=2))
    finally:
        await shards.dispose()


async def run_abort(settings: Settings, logical: int) -> None:
    shards = Shards(settings)
    try:
        try:
            check_logical(shards, logical)
        except MoveRefused as refused:
            raise SystemExit(f"paycore shards abort: {refused}") from None
        await reached(shards, settings)
        await shards.refresh_map()
        # Past the switch, the source keeps refusing the shard's inserts.
        owner = shards.physical_of_logical(logical)
        await asyncio.gather(
            *(
                abort(engine, logical, None if physical == owner else owner)
                for physical, engine in enumerate(shards.engines)
            )
        )
        print(f"no move of logical shard {logical} is running any more")
    finally:
        await shards.dispose()
