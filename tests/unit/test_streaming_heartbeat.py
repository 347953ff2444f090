"""The streaming job's heartbeat: a fresh container has no directory for it, so the job makes one."""

from __future__ import annotations

import os
from pathlib import Path

from components.workloads import HEALTH_FILE
from workloads.health import touch_heartbeat
from workloads.streaming_job.main import wait_while_active


class _Query:
    """Active for `polls` polls, then finished; records each awaitTermination call."""

    def __init__(self, polls: int) -> None:
        self.polls = polls
        self.waits = 0

    @property
    def isActive(self) -> bool:  # noqa: N802 (pyspark's name)
        return self.waits < self.polls

    def awaitTermination(self, timeout: int) -> None:  # noqa: N802 (pyspark's name)
        self.waits += 1

    def stop(self) -> None:
        raise AssertionError("not asked to stop")


def test_the_deployments_heartbeat_lives_in_a_directory_of_its_own() -> None:
    assert HEALTH_FILE == "/tmp/streamstack/healthy"


def test_an_active_query_touches_its_heartbeat_in_a_directory_that_did_not_exist(tmp_path: Path) -> None:
    heartbeat = tmp_path / "streamstack" / "healthy"
    query = _Query(polls=2)
    wait_while_active(query, heartbeat, stop_requested=lambda: False)  # type: ignore[arg-type]
    assert heartbeat.is_file()
    assert query.waits == 2


def test_touching_again_refreshes_the_heartbeat(tmp_path: Path) -> None:
    heartbeat = tmp_path / "nested" / "dir" / "healthy"
    touch_heartbeat(heartbeat)
    past = heartbeat.stat().st_mtime - 600
    os.utime(heartbeat, (past, past))
    touch_heartbeat(heartbeat)
    assert heartbeat.stat().st_mtime > past + 500
