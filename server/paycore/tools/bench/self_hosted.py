"""What every self-hosted bench (`paycore bench ledger|fraud|payouts|webhooks|reconciliation`)
shares: the servers it defaults to, and running it as `python -m paycore.tools.bench.<name>`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

AddArguments = Callable[[argparse.ArgumentParser, str, str], None]
RunFromArguments = Callable[[argparse.ArgumentParser, argparse.Namespace], None]


def default_urls() -> tuple[str, str]:
    """(the first of PAYCORE_DATABASE_URLS, PAYCORE_REDIS_URL), "" where unset."""
    database_url = os.environ.get("PAYCORE_DATABASE_URLS", "").split(",")[0]
    return database_url, os.environ.get("PAYCORE_REDIS_URL", "")


def module_main(
    module: str, description: str | None, add: AddArguments, run: RunFromArguments
) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    add(parser, *default_urls())
    run(parser, parser.parse_args())
