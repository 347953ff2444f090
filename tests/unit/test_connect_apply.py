"""workloads/connect: the order of Connect REST calls and what each answer means, against a scripted stub.

The real Kafka Connect worker runs these same calls in tests/integration/test_cdc_servers.py.
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures.stub_http import Reply
from workloads.connect.apply import (
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    ConnectClient,
    ConnectError,
    apply_all,
    main,
    parse_connectors,
    wait_running,
)

CONFIG = {"connector.class": "io.example.Source", "tasks.max": "2"}
VALID = {"name": "io.example.Source", "error_count": 0, "configs": []}
RUNNING = {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}, {"id": 1, "state": "RUNNING"}]}


def reply(body: object, status: int = 200) -> Reply:
    return Reply(status, json.dumps(body).encode())


def client(url: str) -> ConnectClient:
    return ConnectClient(url, timeout_s=2.0, retry_for_s=5.0, sleep=lambda _s: None)


def test_validates_then_creates_deletes_the_undeclared_and_waits_until_running(http_server) -> None:
    http_server.replies = [
        reply(VALID),
        reply({"name": "orders"}, 201),
        reply(["orders", "retired"]),
        Reply(204),
        reply(RUNNING),
    ]
    changes = apply_all(client(http_server.url), {"orders": CONFIG}, running_within_s=5.0, settle_s=0.0)
    assert changes == ["created orders", "deleted retired"]
    calls = [(request.method, request.path) for request in http_server.requests]
    assert calls == [
        ("PUT", "/connector-plugins/io.example.Source/config/validate"),
        ("PUT", "/connectors/orders/config"),
        ("GET", "/connectors"),
        ("DELETE", "/connectors/retired"),
        ("GET", "/connectors/orders/status"),
    ]
    assert json.loads(http_server.requests[1].body) == CONFIG | {"name": "orders"}


def test_a_status_not_yet_written_is_waited_for(http_server) -> None:
    """Measured on Connect 4.3: right after the PUT, the new connector's status answers 404 for a moment."""
    not_yet = reply({"error_code": 404, "message": "No status found for connector orders"}, 404)
    http_server.replies = [reply(VALID), reply({"name": "orders"}, 201), reply([]), not_yet, reply(RUNNING)]
    changes = apply_all(client(http_server.url), {"orders": CONFIG}, running_within_s=5.0, settle_s=0.0)
    assert changes == ["created orders"]
    assert [request.path for request in http_server.requests][-2:] == ["/connectors/orders/status"] * 2


def test_connects_own_validation_message_fails_before_anything_changes(http_server) -> None:
    refused = {
        "error_count": 1,
        "configs": [
            {"value": {"name": "tasks.max", "errors": []}},
            {"value": {"name": "database.hostname", "errors": ["Missing required configuration"]}},
        ],
    }
    http_server.replies = [reply(refused)]
    with pytest.raises(
        ConnectError, match=r"^connector orders: Connect refused its config: database.hostname: Missing"
    ):
        apply_all(client(http_server.url), {"orders": CONFIG}, running_within_s=5.0, settle_s=0.0)
    assert [request.method for request in http_server.requests] == ["PUT"]


def test_a_rebalancing_cluster_is_retried_and_a_failed_task_fails_with_its_trace(http_server) -> None:
    failed = {
        "connector": {"state": "RUNNING"},
        "tasks": [{"id": 0, "state": "FAILED", "trace": "PSQLException: auth\n\tat"}],
    }
    http_server.replies = [reply({"message": "rebalance in progress"}, 409), reply(VALID), reply({}, 200), reply([]),
                           reply(failed)]  # fmt: skip
    with pytest.raises(ConnectError, match=r"^connector orders failed: task 0: PSQLException: auth$"):
        apply_all(client(http_server.url), {"orders": CONFIG}, running_within_s=5.0, settle_s=0.0)
    assert len(http_server.requests) == 5


class FakeClock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_running_status_counts_only_once_an_update_has_had_time_to_restart_the_connector(http_server) -> None:
    """Seen on Connect 4.3: after a config update, the status still shows the old instance RUNNING until the
    restart's UNASSIGNED reaches the status topic."""
    restarting = {"connector": {"state": "UNASSIGNED"}, "tasks": [{"id": 0, "state": "RUNNING"}]}
    http_server.replies = [reply(RUNNING), reply(restarting), reply(RUNNING)]
    clock = FakeClock()

    wait_running(
        client(http_server.url), "orders", within_s=30.0, settled_at=clock() + 3.0, sleep=clock.sleep, clock=clock
    )

    assert clock() == 103.0  # polled at 100 (stale RUNNING), 101 (UNASSIGNED), 102 and 103 (RUNNING)
    assert len(http_server.requests) == 4


def test_a_connector_that_fails_while_settling_fails_the_apply(http_server) -> None:
    failed = {"connector": {"state": "FAILED", "trace": "ConnectException: slot in use\n\tat"}, "tasks": []}
    http_server.replies = [reply(RUNNING), reply(failed)]
    clock = FakeClock()

    with pytest.raises(ConnectError, match=r"^connector orders failed: connector: ConnectException: slot in use$"):
        wait_running(
            client(http_server.url), "orders", within_s=30.0, settled_at=clock() + 5.0, sleep=clock.sleep, clock=clock
        )
    assert clock() == 101.0


def test_an_unreachable_cluster_exits_with_its_own_status(http_server) -> None:
    http_server.replies = [reply({"message": "starting"}, 503)]
    code = main(["--url", http_server.url, "--connectors", json.dumps({"orders": CONFIG}), "--timeout", "0.2"], {})
    assert code == EXIT_UNREACHABLE
    http_server.replies = [reply({"message": "Connector configuration is invalid"}, 400)]
    assert main(["--url", http_server.url, "--connectors", "{}", "--timeout", "1"], {}) == EXIT_REFUSED


@pytest.mark.parametrize(
    "document",
    ['["a"]', '{"a": {"tasks.max": "1"}}', '{"a": {"connector.class": "X", "tasks.max": 1}}'],
)
def test_a_malformed_connectors_document_is_refused(document: str) -> None:
    with pytest.raises(ValueError):
        parse_connectors(document)
