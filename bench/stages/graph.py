"""`graph`: seconds to build the `local` and `dev` graphs under the Pulumi mocks (tools/mock_deploy.py), and how
many resources each declares. No baseline: a program declaring nothing takes milliseconds in the same harness."""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.report import Record, record
from bench.servers import Servers
from tools.mock_deploy import run_program

STAGE = "graph"
STACKS = ("local", "dev")


def _timed(stack: str) -> tuple[float, int]:
    started = time.perf_counter()
    deployment = run_program(stack)
    return time.perf_counter() - started, len(deployment.resources)


def run(servers: Servers, runs: int, progress: Callable[[str], None]) -> list[Record]:
    records = []
    for stack in STACKS:
        _timed(stack)  # warm-up: imports, the provider SDKs' schemas
        seconds: list[float] = []
        for round_number in range(1, runs + 1):
            elapsed, resources = _timed(stack)
            seconds.append(elapsed)
            progress(f"round {round_number}/{runs} {stack}: {elapsed:.2f} s for {resources} resources")
        records.append(
            record(STAGE, f"seconds to build the {stack} graph under mocks", "s", seconds, higher_is_better=False)
        )
        records.append(record(STAGE, f"resources the {stack} graph declares", "resources", [resources]))
    return records
