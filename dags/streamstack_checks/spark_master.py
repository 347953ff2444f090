"""Is the streaming query alive, and should the supervisor resubmit it or give up?

Judged from the Spark standalone master's status document (`GET http://<master>:<ui port>/json/`):
a streaming query never finishes on purpose, so every completed application with the query's
name is a death. Too many deaths in a short window means resubmitting only feeds a crash loop.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

STREAMING_APP_NAME = "streamstack-events"  # spark.app.name set by workloads/streaming_job/session.py
ALIVE_STATES = frozenset({"RUNNING", "WAITING", "SUBMITTED"})


@dataclass(frozen=True)
class SparkApp:
    """One application as the master lists it."""

    app_id: str
    name: str
    state: str
    started_ms: int
    duration_ms: int

    @property
    def ended_ms(self) -> int:
        return self.started_ms + self.duration_ms


class Action(enum.Enum):
    KEEP = "keep"  # the query is running: nothing to do
    SUBMIT = "submit"  # not running: submit it again
    GIVE_UP = "give-up"  # it keeps dying: resubmitting would only hide the crash loop


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str


def parse_apps(master_status: Mapping[str, Any], key: str) -> list[SparkApp]:
    """Applications under `activeapps` or `completedapps` of the master's JSON."""
    return [
        SparkApp(
            app_id=str(app["id"]),
            name=str(app["name"]),
            state=str(app["state"]),
            started_ms=int(app["starttime"]),
            duration_ms=int(app.get("duration", 0)),
        )
        for app in master_status.get(key, [])
    ]


def alive_apps(master_status: Mapping[str, Any], app_name: str = STREAMING_APP_NAME) -> list[SparkApp]:
    """Active applications called `app_name` that hold or wait for executors."""
    active = parse_apps(master_status, "activeapps")
    return [app for app in active if app.name == app_name and app.state in ALIVE_STATES]


def judge_streaming_query(
    master_status: Mapping[str, Any],
    now: datetime,
    window: timedelta,
    max_deaths: int,
    app_name: str = STREAMING_APP_NAME,
) -> Verdict:
    """Decide what the supervisor does, with the numbers that led there in `reason`."""
    if master_status.get("status", "ALIVE") != "ALIVE":
        return Verdict(Action.GIVE_UP, f"Spark master is {master_status['status']}, not ALIVE")
    alive = alive_apps(master_status, app_name)
    if alive:
        running = ", ".join(f"{app.app_id} ({app.state})" for app in alive)
        return Verdict(Action.KEEP, f"{app_name} is alive: {running}")
    since_ms = int((now - window).timestamp() * 1000)
    completed = parse_apps(master_status, "completedapps")
    deaths = sorted(
        (app for app in completed if app.name == app_name and app.ended_ms >= since_ms), key=lambda app: app.ended_ms
    )
    minutes = int(window.total_seconds() // 60)
    if len(deaths) >= max_deaths:
        listed = ", ".join(f"{app.app_id} {app.state} after {app.duration_ms // 1000}s" for app in deaths)
        return Verdict(
            Action.GIVE_UP,
            f"{app_name} died {len(deaths)} times in the last {minutes} min (limit {max_deaths}): {listed}",
        )
    return Verdict(Action.SUBMIT, f"{app_name} is not running ({len(deaths)} deaths in the last {minutes} min)")


def master_status_url(master_url: str, ui_port: int) -> str:
    """The status document's URL for a master given as `spark://host:port` (or a bare host)."""
    parsed = urlsplit(master_url if "://" in master_url else f"spark://{master_url}")
    if not parsed.hostname:
        raise ValueError(f"no host in Spark master URL {master_url!r}")
    return f"http://{parsed.hostname}:{ui_port}/json/"
