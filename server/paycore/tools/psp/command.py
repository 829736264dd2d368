"""The `paycore psp` command line: serve the simulator, or print a day's settlement report."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from paycore.config import Settings
from paycore.errors import ConfigurationError
from paycore.tools.psp.cards import (
    DISPUTE_DELAY_SECONDS_DEFAULT,
    DISPUTE_RESPONSE_SECONDS_DEFAULT,
)

Handler = Callable[[argparse.Namespace], None]
DEFAULT_PORT = 8091

DESCRIPTION = """\
The PSP simulator: a process of its own with a durable SQLite store, answering JSON over HTTP
(POST /v1/charges, /v1/charges/{id}/capture, /v1/charges/{id}/void, /v1/refunds; GET
/v1/charges/{id}, /v1/operations/{idempotency_key}, /v1/settlements/{YYYY-MM-DD}). Every
mutating request is idempotent by its `idempotency_key`.

Test cards (any future expiry, any cvc):
  4242424242424242  succeeds (as does any other Luhn-valid number)
  4000000000000002  declined: generic_decline (HTTP 402, recorded)
  4000000000009995  declined: insufficient_funds
  4000000000000069  declined: expired_card
  4000000000000127  declined: incorrect_cvc
  4000000000000341  declined: generic_decline (Stripe's: attaches, every charge fails)
  4000000000000119  declined: processing_error (Stripe's, pm_card_chargeDeclinedProcessingError)
  4000000000009839  psp_error: HTTP 500, nothing recorded (ours: a transient failure)
  4000000000009813  times out: never processed, the answer held --hang-seconds
  4000000000009821  charged and recorded, then the connection is dropped (answer lost)
  4000000000000077  succeeds, its captured funds available at once (bypass pending)
  4000000000000259  disputed --dispute-delay-seconds after capture: fraudulent
  4000000000002685  ... product_not_received;  4000000000008419  ... duplicate
  4000000000005423  succeeds, then an early fraud warning (made_with_stolen_card)
  4000000000001976  an inquiry (warning_needs_response), reason fraudulent
  4100000000000019, 4000000000004954, 4000000000009235  succeed here: Stripe's Radar test
  cards, blocked / blocked / held for review by paycore's fraud scoring (docs/fraud.md)
  (the dispute's outcome: evidence holding winning_evidence / losing_evidence, or
  POST /_control/disputes/{id} {"outcome": "won" | "lost"}; wallet test tokens:
  POST /v1/wallet_tokens {"type": "apple_pay" | "google_pay", "scenario"}: docs/disputes.md)

The bank (payouts; docs/payouts.md): POST /v1/bank/payouts, GET /v1/bank/payouts/{key},
GET /v1/bank/payouts_report/{YYYY-MM-DD} (JSON lines: submitted, paid, failed). Test account
numbers (the last 12 digits of the account number or IBAN; any other is paid):
  000123456789  paid                          000111111116  fails on arrival: no_account
  000111111113  fails: account_closed         000222222227  fails: invalid_account_number
  000333333335  fails: could_not_process      000444444440  paid, returned 3 days later
  000555555553  paid, the first answer lost   000666666664  paid, the first answer times out
(an instant payout to a failing account fails at once; debit cards are always paid)

Faults: --latency-ms and --error-rate here, or at run time
POST /_control/faults {"latency_ms", "error_rate", "down", "lose_answers",
"dispute_delay_seconds", "dispute_response_seconds", "settlement": [...], "bank_payouts": [...]}
(GET shows them; "settlement" and "bank_payouts" alter a day's reports, each item
{"day", "action", "id", ...}: docs/reconciliation.md), with
`Authorization: Bearer <token>`: PAYCORE_PSP_CONTROL_TOKEN, or <data-dir>/control_token's."""


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], handler: Handler
) -> None:
    psp = commands.add_parser(
        "psp",
        help="serve the PSP simulator (or print its settlement report)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument(  # SUPPRESS: `psp --data-dir D settlement` keeps D
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="where its store lives (default: PAYCORE_DATA_DIR/psp)",
    )
    psp.add_argument(
        "--addr",
        help=f"host:port to serve on (default: PAYCORE_PSP_URL's, 127.0.0.1:{DEFAULT_PORT})",
    )
    psp.add_argument(
        "--data-dir", type=Path, help="where its store lives (default: PAYCORE_DATA_DIR/psp)"
    )
    psp.add_argument(
        "--latency-ms", type=int, default=0, help="added before processing each request (0)"
    )
    psp.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        help="fraction of mutating requests answered 503 psp_unavailable, unprocessed (0)",
    )
    psp.add_argument(
        "--dispute-delay-seconds",
        type=int,
        default=DISPUTE_DELAY_SECONDS_DEFAULT,
        help="how long after capture a dispute test card's charge is disputed"
        f" ({DISPUTE_DELAY_SECONDS_DEFAULT})",
    )
    psp.add_argument(
        "--dispute-response-seconds",
        type=int,
        default=DISPUTE_RESPONSE_SECONDS_DEFAULT,
        help="how long after it opens a dispute's evidence is due"
        f" ({DISPUTE_RESPONSE_SECONDS_DEFAULT}: 7 days)",
    )
    psp.add_argument(
        "--hang-seconds",
        type=float,
        default=30.0,
        help="how long the time-out card's answer is held, unless the client leaves first (30)",
    )
    psp.add_argument(
        "--access-log",
        action="store_true",
        help="log a line per request: method, path, status, time (off: at 1,000+ requests/s"
        " it costs a quarter of the simulator's CPU)",
    )
    psp.set_defaults(handler=handler, psp_command="serve")
    actions = psp.add_subparsers(dest="psp_command")
    settlement = actions.add_parser(
        "settlement",
        parents=[data_dir],
        help="print a day's settlement report (JSON lines) from the store",
        description="Prints what GET /v1/settlements/{day} answers: one JSON line per charge"
        " captured and per refund made that UTC day. Reads the store directly; the simulator"
        " may be running.",
    )
    settlement.add_argument("--date", required=True, help="the UTC day, YYYY-MM-DD")


def run_psp_command(arguments: argparse.Namespace, settings: Settings) -> None:
    from paycore.runtime.process import run_async
    from paycore.tools.psp.process import print_settlement, run_psp
    from paycore.tools.psp.requests import PspFailure
    from paycore.tools.psp.settlement import parse_day
    from paycore.tools.psp.simulator import Faults
    from paycore.tools.psp.store import DATABASE_FILE

    data_dir: Path = arguments.data_dir or settings.data_dir / "psp"
    if arguments.psp_command == "settlement":
        try:
            day = parse_day(arguments.date)
        except ValueError:
            raise ConfigurationError(f"--date {arguments.date!r} is not YYYY-MM-DD") from None
        if not (data_dir / DATABASE_FILE).exists():
            # An empty report would read as "nothing happened that day".
            raise ConfigurationError(f"no PSP store in {data_dir} (see --data-dir)")
        print_settlement(data_dir, day)
        return
    faults = Faults()
    try:
        faults.update(
            {
                "latency_ms": arguments.latency_ms,
                "error_rate": arguments.error_rate,
                "dispute_delay_seconds": arguments.dispute_delay_seconds,
                "dispute_response_seconds": arguments.dispute_response_seconds,
            }
        )
    except PspFailure as failure:
        raise ConfigurationError(f"--{failure.param.replace('_', '-')}: {failure}") from None
    run_async(
        run_psp(
            arguments.addr or address_of(settings.psp_url),
            data_dir,
            faults=faults,
            hang_seconds=arguments.hang_seconds,
            access_log=arguments.access_log,
            control_token=os.environ.get("PAYCORE_PSP_CONTROL_TOKEN", ""),
        )
    )


def address_of(url: str) -> str:
    """host:port of an http URL (port 8091 if it names none)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ConfigurationError(f"PAYCORE_PSP_URL {url!r} is not http://host:port")
    port = DEFAULT_PORT if parts.port is None else parts.port
    return f"{parts.hostname}:{port}"
