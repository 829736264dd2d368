"""`paycore bench reconciliation` on a small day: its own databases, its simulator process,
the faults it injects found among the lines (the figures themselves come from the 1,000,000
line run quoted in the README)."""

from __future__ import annotations

from paycore.tools.bench.reconciliation import run_reconciliation_bench
from paycore.tools.bench.self_hosted import Ports

from tests.conftest import Servers


async def test_the_bench_reconciles_a_day_and_finds_its_faults(servers: Servers) -> None:
    ports = Ports(24160, 24169)  # the simulator listens where it is told (test_bench_ports)
    figures = await run_reconciliation_bench(
        servers.database_urls[0], lines=2_000, with_pgbench=False, ports=ports
    )
    assert len(ports.given) == 1 and 24160 <= min(ports.given) <= 24169

    # 2,000 lines, one dropped, one duplicated: 2,000 in the report; the altered amount,
    # the duplicate and the fee are not matched; the dropped line is missing_at_psp.
    assert figures.lines == 2_000
    assert figures.matched == 2_000 - 3
    assert figures.discrepancies == 4
    assert figures.auto_resolved == 2
    assert figures.seconds > 0
