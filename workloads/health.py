"""The heartbeat the producer and the streaming job keep while healthy: a file whose age the
container health check reads (components/workloads.py: heartbeat_check)."""

from __future__ import annotations

from pathlib import Path


def touch_heartbeat(path: Path) -> None:
    """Touch `path`, creating its directory first: a fresh container has none (e.g. /tmp/streamstack)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
