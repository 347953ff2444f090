"""What every streamstack DAG is given alike: one start date, no catchup, one active run at a time,
and a retry policy with a time limit for its tasks (whose numbers are each DAG's own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def dag_arguments(*, retries: int, retry_delay: timedelta, execution_timeout: timedelta) -> dict[str, Any]:
    """Keyword arguments for `DAG(...)`: the shared scheduling rules plus the tasks' retry policy."""
    return {
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "default_args": {"retries": retries, "retry_delay": retry_delay, "execution_timeout": execution_timeout},
    }
