"""Make a Kafka Connect cluster run exactly the declared connectors, or fail saying why.

Run once per deployment, after the workers are healthy and their internal topics exist. Each declared
connector's config is first validated by Connect itself (`PUT /connector-plugins/<class>/config/validate`),
so a bad config fails the deployment with Connect's own message before anything changes; then it is
applied with `PUT /connectors/<name>/config` (creates or updates: idempotent), connectors the cluster
runs that are no longer declared are deleted (the cluster belongs to the deployment), and the task waits
until every declared connector and its tasks run, and still run SETTLE_S after the configs were written.
The standard library's urllib suffices for five calls.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workloads.producer.retry import backoff_delays, call_with_retries

log = logging.getLogger("workloads.connect")

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
# Connect answers 409 while its workers rebalance, and 5xx while a worker joins the group or forwards a
# request to the leader that is not there yet: both pass.
_TRANSIENT_STATUSES = frozenset({409, 500, 502, 503, 504})
_RETRY_CAP_S = 5.0
SETTLE_S = 5.0
"""How long after the configs are written a RUNNING status is believed. Connect restarts an updated connector
after answering its PUT (DistributedHerder: "Handling connector-only config update by restarting connector"),
and its status, read back from the status topic, shows the old instance's RUNNING until the restart's
UNASSIGNED arrives: seen once on Connect 4.3, when tests/integration/test_cdc_pipeline.py read `connector
UNASSIGNED` right after an update's apply had returned."""

Connectors = Mapping[str, Mapping[str, str]]


class ConnectError(Exception):
    """Connect refused a connector, or could not be reached in time; the message says which and why."""

    def __init__(self, message: str, exit_code: int = EXIT_REFUSED, http_status: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.http_status = http_status


class ConnectUnavailableError(ConnectError):
    """An answer of a cluster that is starting or rebalancing: worth asking again."""

    def __init__(self, message: str, http_status: int) -> None:
        super().__init__(message, EXIT_UNREACHABLE, http_status)


@dataclass(frozen=True)
class Response:
    status: int
    body: Any


class ConnectClient:
    """Calls Connect's REST API, retrying what a starting or rebalancing cluster answers."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float,
        retry_for_s: float,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._url = url.rstrip("/")
        self._timeout_s = timeout_s
        self._retry_for_s = retry_for_s
        self._sleep = sleep

    def call(self, method: str, path: str, body: object | None = None) -> Response:
        """One call, retried with the producer's backoff for about `retry_for_s` while the cluster is unreachable
        or answers that it is starting or rebalancing."""
        # Full jitter waits half the cap on average once the backoff reaches it.
        delays = backoff_delays(int(2 * self._retry_for_s / _RETRY_CAP_S), 0.5, _RETRY_CAP_S, random.Random())
        try:
            return call_with_retries(
                lambda: self._once(method, path, body),
                what=f"{method} {path}",
                delays=delays,
                retry_on=(OSError, ConnectUnavailableError),
                sleep=self._sleep,
            )
        except (OSError, ConnectUnavailableError) as error:
            message = f"Kafka Connect at {self._url} did not answer {method} {path}: {error}"
            raise ConnectError(message, EXIT_UNREACHABLE) from error

    def _once(self, method: str, path: str, body: object | None) -> Response:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self._url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                raw = response.read()
                return Response(response.status, json.loads(raw) if raw else None)
        except urllib.error.HTTPError as error:
            raw = error.read()
            message = _error_message(raw) or error.reason
            if error.code in _TRANSIENT_STATUSES:
                raise ConnectUnavailableError(f"HTTP {error.code}: {message}", error.code) from None
            raise ConnectError(f"HTTP {error.code}: {message}", EXIT_REFUSED, error.code) from None


def _error_message(raw: bytes) -> str:
    """Connect's error body is {"error_code": ..., "message": ...}."""
    try:
        return str(json.loads(raw).get("message", "")).strip()
    except (ValueError, AttributeError):
        return raw.decode(errors="replace").strip()


def validation_errors(result: Mapping[str, Any]) -> list[str]:
    """`key: message` for every error in a validate response (its `configs[].value.errors`)."""
    errors = []
    for entry in result.get("configs", []):
        value = entry.get("value", {})
        errors += [f"{value.get('name')}: {message}" for message in value.get("errors", [])]
    return errors


def quoted(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def validate(client: ConnectClient, name: str, config: Mapping[str, str]) -> None:
    plugin = config["connector.class"]
    try:
        path = f"/connector-plugins/{quoted(plugin)}/config/validate"
        result = client.call("PUT", path, {**config, "name": name}).body
    except ConnectError as error:
        if error.exit_code != EXIT_REFUSED:
            raise
        raise ConnectError(f"connector {name}: Connect refused to validate it: {error}") from None
    if result.get("error_count", 0):
        raise ConnectError(f"connector {name}: Connect refused its config: {'; '.join(validation_errors(result))}")


def apply_all(
    client: ConnectClient, declared: Connectors, *, running_within_s: float, settle_s: float = SETTLE_S
) -> list[str]:
    """Validate every declared connector, then apply them and delete the undeclared; returns what changed."""
    for name, config in declared.items():
        validate(client, name, config)
    changes = []
    for name, config in declared.items():
        response = client.call("PUT", f"/connectors/{quoted(name)}/config", {**config, "name": name})
        changes.append(f"{'created' if response.status == 201 else 'updated'} {name}")
    running = client.call("GET", "/connectors").body
    for name in sorted(set(running) - set(declared)):
        client.call("DELETE", f"/connectors/{quoted(name)}")
        changes.append(f"deleted {name}")
    settled_at = time.monotonic() + settle_s
    for name in declared:
        wait_running(client, name, within_s=running_within_s, settled_at=settled_at)
    return changes


def status_parts(status: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The connector and each of its tasks, named, from Connect's status document."""
    return [("connector", status["connector"])] + [(f"task {task['id']}", task) for task in status.get("tasks", [])]


def is_running(status: Mapping[str, Any]) -> bool:
    """The connector and all its tasks, of which there is at least one, are RUNNING."""
    return bool(status.get("tasks")) and all(part["state"] == "RUNNING" for _, part in status_parts(status))


def wait_running(
    client: ConnectClient,
    name: str,
    *,
    within_s: float,
    settled_at: float = 0.0,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Until the connector and all its tasks are RUNNING at `settled_at` (a `clock()` time) or later; a FAILED
    one fails at once with its error."""
    deadline = max(clock(), settled_at) + within_s
    while True:
        try:
            status = client.call("GET", f"/connectors/{quoted(name)}/status").body
        except ConnectError as error:
            if error.http_status != 404 or clock() > deadline:
                raise
            status = {"connector": {"state": "UNASSIGNED"}, "tasks": []}  # its status is not written yet
        states = status_parts(status)
        failed = [f"{what}: {_first_line(part.get('trace', ''))}" for what, part in states if part["state"] == "FAILED"]
        if failed:
            raise ConnectError(f"connector {name} failed: {'; '.join(failed)}")
        if is_running(status) and clock() >= settled_at:
            return
        if clock() > deadline:
            summary = ", ".join(f"{what} {part['state']}" for what, part in states)
            raise ConnectError(f"connector {name} not running after {within_s:.0f}s: {summary or 'no tasks'}")
        sleep(1.0)


def _first_line(trace: str) -> str:
    """A Java stack trace's first line holds the exception and its message."""
    return trace.strip().splitlines()[0] if trace.strip() else "no trace"


def parse_connectors(text: str) -> dict[str, dict[str, str]]:
    """The CONNECTORS document: {name: {config key: string value}}, each with a connector.class."""
    document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError("must be a JSON object of connector name to config")
    for name, config in document.items():
        if not isinstance(config, dict) or not isinstance(config.get("connector.class"), str):
            raise ValueError(f"connector {name}: its config must be an object with connector.class")
        if not all(isinstance(value, str) for value in config.values()):
            raise ValueError(f"connector {name}: every config value must be a string")
    return document


@dataclass(frozen=True)
class Arguments:
    url: str
    connectors: dict[str, dict[str, str]]
    timeout_s: float


def parse_arguments(argv: Sequence[str], environ: Mapping[str, str]) -> Arguments:
    """Flags over environment; exits with usage status on anything missing or malformed."""
    parser = argparse.ArgumentParser(prog="python -m workloads.connect", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=environ.get("CONNECT_URL"), help="Connect's REST API (env CONNECT_URL)")
    parser.add_argument(
        "--connectors",
        default=environ.get("CONNECTORS"),
        help="JSON object: connector name -> config (env CONNECTORS); {} deletes every connector",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the cluster and connectors")
    args = parser.parse_args(argv)
    if not args.url or args.connectors is None:
        parser.error("--url (CONNECT_URL) and --connectors (CONNECTORS) are required")
    try:
        connectors = parse_connectors(args.connectors)
    except ValueError as error:
        parser.error(f"--connectors: {error}")
    return Arguments(args.url, connectors, args.timeout)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv, os.environ if environ is None else environ)
    client = ConnectClient(arguments.url, timeout_s=10.0, retry_for_s=arguments.timeout_s)
    try:
        changes = apply_all(client, arguments.connectors, running_within_s=arguments.timeout_s)
    except ConnectError as error:
        log.error("%s", error)
        return error.exit_code
    log.info("connectors in place (%d): %s", len(arguments.connectors), ", ".join(changes) or "nothing to change")
    return EXIT_OK
