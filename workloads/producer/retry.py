"""Retries with capped exponential backoff and full jitter, shared by every HTTP call the producer makes and
by the connector apply task (workloads/connect), which ships in the same image."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


def backoff_delays(retries: int, base_s: float, cap_s: float, rng: random.Random) -> list[float]:
    """Sleep before each retry: uniform in [0, min(cap, base * 2**n)] ("full jitter").

    Jitter keeps many producers that lost the same upstream from retrying in lock-step.
    """
    return [rng.uniform(0.0, min(cap_s, base_s * 2**attempt)) for attempt in range(retries)]


def call_with_retries(
    action: Callable[[], T],
    *,
    what: str,
    delays: list[float],
    retry_on: tuple[type[Exception], ...],
    sleep: Callable[[float], object],
) -> T:
    """Run `action`, retrying after each delay on the given errors; the last error propagates."""
    for attempt, delay in enumerate(delays, start=1):
        try:
            return action()
        except retry_on as error:
            log.warning(
                "%s failed (attempt %d of %d): %s; retrying in %.2fs", what, attempt, len(delays) + 1, error, delay
            )
        sleep(delay)
    return action()
