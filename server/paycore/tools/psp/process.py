"""`paycore psp`: the simulator as its own process, and `paycore psp settlement`."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path
from typing import TextIO

from paycore.runtime.process import stop_on_signal
from paycore.tools.psp.settlement import settlement_lines
from paycore.tools.psp.simulator import HANG_SECONDS_DEFAULT, Faults, start_simulator

logger = logging.getLogger(__name__)


async def run_psp(
    address: str,
    data_dir: Path,
    *,
    faults: Faults,
    hang_seconds: float = HANG_SECONDS_DEFAULT,
    access_log: bool = False,
    control_token: str = "",
) -> None:
    """Serves until SIGTERM or SIGINT."""
    server = await start_simulator(
        address,
        data_dir,
        faults=faults,
        hang_seconds=hang_seconds,
        access_log=access_log,
        control_token=control_token,
    )
    stop = stop_on_signal()
    logger.info(
        "PSP simulator on %s (data in %s, latency %d ms, error rate %.3f)",
        server.url,
        data_dir,
        faults.latency_ms,
        faults.error_rate,
    )
    try:
        await stop.wait()
    finally:
        await server.close()
    logger.info("PSP simulator stopped")


def print_settlement(data_dir: Path, day: dt.date, out: TextIO = sys.stdout) -> int:
    """Prints the day's report (the lines GET /v1/settlements/{day} answers); returns the count."""
    count = 0
    for lines in settlement_lines(data_dir, day):
        out.write("\n".join(lines) + "\n")
        count += len(lines)
    return count
