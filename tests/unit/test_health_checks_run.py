"""The health commands the components declare, run by /bin/sh against real local processes, healthy
and failing: the same functions build them as in the stack, only the port or path is the test's.

Not run here, for want of the program: pg_isready's healthy case (no PostgreSQL server), Kafka's
broker-api-versions, the NameNode's dfsadmin and `airflow jobs check` (their images' CLIs), and the
alpine images' busybox wget (the host's GNU wget stands in).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.object_store import ready_check as object_store_ready
from components.postgres import ready_command
from components.schema_registry import ready_check as registry_ready
from components.service import curl_check, python_http_check, tcp_check, wget_check
from components.workloads import heartbeat_check
from tests.fixtures.stub_http import Reply, ScriptedServer, scripted_server


def passes(command: str) -> bool:
    return subprocess.run(["/bin/sh", "-c", command], capture_output=True, timeout=30, check=False).returncode == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def port_of(server: ScriptedServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


@pytest.mark.parametrize(
    "check", [python_http_check, lambda port: curl_check(port, "/"), lambda port: wget_check(port, "/")]
)
def test_http_checks_pass_on_2xx_and_fail_on_errors_and_silence(check, http_server: ScriptedServer) -> None:
    http_server.replies = [Reply(200, b"{}")]
    assert passes(check(port_of(http_server)))
    http_server.replies = [Reply(503, b"busy")]
    assert not passes(check(port_of(http_server)))
    assert not passes(check(free_port()))


def test_the_schema_registry_is_ready_only_once_it_has_read_its_schemas(http_server: ScriptedServer) -> None:
    command = registry_ready(port_of(http_server))
    http_server.replies = [Reply(200, b'{"status": {"schema_registry_ready": true}, "healthy": true}')]
    assert passes(command)
    http_server.replies = [Reply(200, b'{"status": {"schema_registry_ready": false}, "healthy": true}')]
    assert not passes(command)
    http_server.replies = [Reply(503, b'{"healthy": false}')]
    assert not passes(command)


def test_the_object_store_is_ready_only_once_its_bucket_exists() -> None:
    with scripted_server() as api, scripted_server() as filer:
        command = object_store_ready("lake", api_port=port_of(api), filer_port=port_of(filer))
        api.replies = [Reply(200, b"")]
        filer.replies = [Reply(200, b"{}")]
        assert passes(command)
        assert [(r.path, r.query) for r in filer.requests] == [("/buckets/lake", {"metadata": ["true"]})]
        filer.replies = [Reply(404, b"")]  # listening, bucket not created yet
        assert not passes(command)
        api.replies = [Reply(503, b"")]
        filer.replies = [Reply(200, b"{}")]
        assert not passes(command)


def test_the_tcp_check_passes_while_the_port_listens() -> None:
    with listening() as port:
        assert passes(tcp_check(port))
    assert not passes(tcp_check(port))


def test_the_heartbeat_check_passes_while_the_file_is_fresh(tmp_path: Path) -> None:
    heartbeat = tmp_path / "streamstack" / "healthy"
    command = heartbeat_check(path=str(heartbeat)).command
    assert not passes(command)  # not yet touched
    heartbeat.parent.mkdir()
    heartbeat.touch()
    assert passes(command)
    stale = time.time() - 3 * 60
    os.utime(heartbeat, (stale, stale))
    assert not passes(command)


def test_pg_isready_fails_where_no_server_answers() -> None:
    assert not passes(ready_command("airflow", "airflow", free_port()))
