"""The README's footprint table is what the stacks declare, and the laptop stacks fit their budgets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.footprint import footprint
from tools.mock_deploy import run_program

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_rows() -> dict[str, tuple[int, int, str]]:
    """stack -> (processes, memory MiB, CPU requested) from the README's footprint table."""
    rows = {}
    for line in README.read_text().splitlines():
        match = re.match(r"^\| `(\w+)` \| \w+ \| [^|]+ \| (\d+) \w+ \| (\d+) MiB [^|]*\| ?([\d.]*) ?\|$", line)
        if match:
            rows[match.group(1)] = (int(match.group(2)), int(match.group(3)), match.group(4))
    return rows


@pytest.mark.parametrize("stack", ["local", "minimal", "kind", "dev"])
def test_the_readme_states_each_stacks_footprint(stack: str) -> None:
    found = footprint(run_program(stack))
    cpu = "" if found.cpu_millis is None else f"{found.cpu_millis / 1000:g}"
    assert readme_rows()[stack] == (found.processes, found.memory_mib, cpu)


def test_the_laptop_kubernetes_stack_requests_at_most_4_cpu_and_8_gib() -> None:
    found = footprint(run_program("kind"))
    assert found.cpu_millis is not None
    assert (found.processes, found.memory_mib, found.cpu_millis) == (13, 7872, 3550)
    assert found.cpu_millis <= 4000 and found.memory_mib <= 8 * 1024
