"""The shell scripts the Pulumi components run inside containers, run here against real servers.

The unit tests only see these scripts as strings; a script that renders fine can still fail at
deployment time. Each one runs with bash twice, as a restart or a second `pulumi up` would run it,
and the second run must leave everything as the first one made it.
"""

from __future__ import annotations

import os
import secrets
import shlex
import string
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cassandra.cluster import NoHostAvailable

from components.cassandra import DATACENTER, USERNAME, init_script, schema_cql
from components.hdfs import PIPELINE_ROOT, format_once_command, hdfs_site, site_xml
from tests.fixtures._servers import free_port, launch, log_text, stop_process, wait_until
from tests.fixtures.cassandra import CassandraServer, can_log_in, start_cassandra
from tests.fixtures.hdfs import NAMENODE_MAIN, hadoop_java, write_daemon_files

pytestmark = pytest.mark.integration

HDFS_CLUSTER_ID = "streamstack-local"  # what the pipeline passes for the "local" stack
FS_SHELL_MAIN = "org.apache.hadoop.fs.FsShell"
NAMENODE_READY = "NameNode RPC up at"
FORMAT_ANNOUNCEMENT = "formatting new NameNode metadata"
STARTUP_TIMEOUT_S = 90.0
KEYSPACE, TABLE = "streamstack", "user_events"  # the settings' defaults
SCRIPT_TIMEOUT_S = 600


# --- HDFS: the NameNode's format-once start command ---------------------------------------------


def _hdfs_shim(bin_dir: Path, conf: Path) -> None:
    """An `hdfs` launcher that does what the Hadoop image's does for `hdfs namenode ARGS`: run the
    NameNode class with ARGS and the configuration directory `conf`."""
    bin_dir.mkdir()
    shim = bin_dir / "hdfs"
    shim.write_text(
        "#!/bin/sh\n"
        '[ "$1" = namenode ] || { echo "this test shim runs only hdfs namenode, not: $*" >&2; exit 64; }\n'
        "shift\n"
        f'exec {shlex.join(hadoop_java(conf, NAMENODE_MAIN))} "$@"\n'
    )
    shim.chmod(0o755)


def _namenode_conf(conf: Path, name_dir: Path, url: str) -> None:
    """The component's core-site and hdfs-site, with its directories under tmp and its listeners moved."""
    write_daemon_files(conf)
    (conf / "core-site.xml").write_text(site_xml({"fs.defaultFS": url}))
    properties = {
        **hdfs_site(1, name_dir=str(name_dir), data_dir=str(name_dir.parent / "data")),
        # The container listens on all interfaces and on fixed ports; the test on loopback and a free port.
        "dfs.namenode.rpc-bind-host": "127.0.0.1",
        "dfs.namenode.http-address": f"127.0.0.1:{free_port()}",
        # WebHDFS needs Jersey, which the cached jars (those of the test HDFS) do not include.
        "dfs.webhdfs.enabled": "false",
    }
    (conf / "hdfs-site.xml").write_text(site_xml(properties))


class _NameNodeRun:
    """One container start: the component's command run with bash, the `hdfs` shim first on PATH."""

    def __init__(self, workdir: Path, command: str, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.process = launch(["bash", "-c", command], log_path, cwd=workdir, env=env)
        if not wait_until(
            lambda: NAMENODE_READY in log_text(log_path), self.process, timeout_s=STARTUP_TIMEOUT_S, interval_s=0.5
        ):
            self.stop()
            pytest.fail(f"the NameNode did not come up:\n{log_text(log_path, 60)}", pytrace=False)

    def stop(self) -> None:
        stop_process(self.process, timeout_s=20)


def _version(name_dir: Path) -> dict[str, str]:
    """The NameNode's VERSION file as properties (its first line, a date comment, left out)."""
    lines = (name_dir / "current" / "VERSION").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def _fs_shell(conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hadoop_java(conf, FS_SHELL_MAIN, *args), capture_output=True, text=True, timeout=120, check=False
    )


def _listed_paths(conf: Path, directory: str) -> list[str]:
    listing = _fs_shell(conf, "-ls", directory)
    assert listing.returncode == 0, listing.stderr
    return [line.split()[-1] for line in listing.stdout.splitlines() if line.startswith(("-", "d"))]


def test_namenode_start_command_formats_on_first_start_only(tmp_path: Path) -> None:
    name_dir, conf, bin_dir = tmp_path / "name", tmp_path / "conf", tmp_path / "bin"
    _namenode_conf(conf, name_dir, f"hdfs://127.0.0.1:{free_port()}")
    _hdfs_shim(bin_dir, conf)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    command = format_once_command(HDFS_CLUSTER_ID, name_dir=str(name_dir), hdfs=str(bin_dir / "hdfs"))
    marker = f"{PIPELINE_ROOT}/written-before-restart"

    first = _NameNodeRun(tmp_path, command, env, tmp_path / "first.log")
    try:
        created = _fs_shell(conf, "-mkdir", "-p", PIPELINE_ROOT)
        assert created.returncode == 0, created.stderr
        written = _fs_shell(conf, "-touchz", marker)
        assert written.returncode == 0, written.stderr
        assert _listed_paths(conf, PIPELINE_ROOT) == [marker]
    finally:
        first.stop()
    formatted = _version(name_dir)
    assert FORMAT_ANNOUNCEMENT in log_text(first.log_path)
    assert formatted["clusterID"] == HDFS_CLUSTER_ID
    assert formatted["storageType"] == "NAME_NODE"

    second = _NameNodeRun(tmp_path, command, env, tmp_path / "second.log")
    try:
        assert _listed_paths(conf, PIPELINE_ROOT) == [marker]
    finally:
        second.stop()
    assert FORMAT_ANNOUNCEMENT not in log_text(second.log_path)
    assert _version(name_dir) == formatted


# --- Cassandra: the init task's bootstrap script ------------------------------------------------


@pytest.fixture(scope="module")
def fresh_cassandra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CassandraServer]:
    """A node as the deployment's init task finds it: in the component's datacenter, with only the
    default `cassandra` superuser. Its own, as the script changes who can log in."""
    server = start_cassandra(
        tmp_path_factory.mktemp("cassandra-bootstrap"), datacenter=DATACENTER, create_test_role=False
    )
    yield server
    server.stop()


def _generated_password() -> str:
    """Like the stack's generated passwords: letters and digits only."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24))


def _cluster_state(server: CassandraServer) -> dict[str, Any]:
    """What the script may change: roles, the keyspaces' replication and the table's columns."""
    cluster, session = server.connect()
    try:
        roles = {
            row.role: (row.can_login, row.is_superuser, row.salted_hash)
            for row in session.execute("SELECT role, can_login, is_superuser, salted_hash FROM system_auth.roles")
        }
        replication = {
            row.keyspace_name: dict(row.replication)
            for row in session.execute("SELECT keyspace_name, replication FROM system_schema.keyspaces")
            if row.keyspace_name in (KEYSPACE, "system_auth")
        }
        columns = {
            row.column_name: (row.type, row.kind)
            for row in session.execute(
                "SELECT column_name, type, kind FROM system_schema.columns"
                " WHERE keyspace_name = %s AND table_name = %s",
                (KEYSPACE, TABLE),
            )
        }
    finally:
        cluster.shutdown()
    return {"roles": roles, "replication": replication, "columns": columns}


def _run_script(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S, check=False
    )


APP_PASSWORD, RETIRED_PASSWORD = _generated_password(), _generated_password()


def _script_and_env(server: CassandraServer, cqlsh: Path, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """The component's init script for `server`, and the environment the container would give it."""
    schema_file = tmp_path / "schema.cql"
    schema_file.write_text(schema_cql(KEYSPACE, TABLE, 1))
    script = init_script(server.host, 1, port=server.port, schema_file=str(schema_file))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cqlsh").symlink_to(cqlsh)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),  # cqlsh keeps its history and settings under ~/.cassandra
        "CASSANDRA_USERNAME": USERNAME,
        "CASSANDRA_PASSWORD": APP_PASSWORD,
        "RETIRED_PASSWORD": RETIRED_PASSWORD,
    }
    return script, env


def test_cassandra_init_script_replaces_the_default_superuser_once(
    fresh_cassandra: CassandraServer, cqlsh: Path, tmp_path: Path
) -> None:
    app_password, retired_password = APP_PASSWORD, RETIRED_PASSWORD
    script, env = _script_and_env(fresh_cassandra, cqlsh, tmp_path)
    assert app_password not in script
    assert retired_password not in script
    app = replace(fresh_cassandra, username=USERNAME, password=app_password)

    first = _run_script(script, env)
    assert first.returncode == 0, f"first run failed:\n{first.stdout}\n{first.stderr}"
    after_first = _cluster_state(app)
    assert after_first["replication"] == {
        KEYSPACE: {"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", DATACENTER: "1"},
        "system_auth": {"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", DATACENTER: "1"},
    }
    assert after_first["columns"] == {
        "event_id": ("text", "partition_key"),
        "event_time": ("timestamp", "regular"),
        "schema_version": ("int", "regular"),
        "user_id": ("text", "regular"),
        "username": ("text", "regular"),
        "first_name": ("text", "regular"),
        "last_name": ("text", "regular"),
        "gender": ("text", "regular"),
        "email_hash": ("text", "regular"),
        "postcode_hash": ("text", "regular"),
        "city": ("text", "regular"),
        "state": ("text", "regular"),
        "country": ("text", "regular"),
        "nationality": ("text", "regular"),
        "latitude": ("double", "regular"),
        "longitude": ("double", "regular"),
        "age": ("int", "regular"),
        "registered_at": ("timestamp", "regular"),
        "source": ("text", "regular"),
        "ingested_at": ("timestamp", "regular"),
    }
    assert {role: flags[:2] for role, flags in after_first["roles"].items()} == {
        USERNAME: (True, True),
        "cassandra": (False, False),
    }
    for password in ("cassandra", retired_password):
        with pytest.raises(NoHostAvailable, match="Authentication"):
            replace(fresh_cassandra, username="cassandra", password=password).connect()

    second = _run_script(script, env)
    assert second.returncode == 0, f"second run failed:\n{second.stdout}\n{second.stderr}"
    assert "waiting for Cassandra" not in second.stdout
    assert _cluster_state(app) == after_first


def test_cassandra_init_script_locks_a_default_superuser_left_usable_by_an_interrupted_run(
    fresh_cassandra: CassandraServer, cqlsh: Path, tmp_path: Path
) -> None:
    script, env = _script_and_env(fresh_cassandra, cqlsh, tmp_path)
    assert _run_script(script, env).returncode == 0
    app = replace(fresh_cassandra, username=USERNAME, password=APP_PASSWORD)
    cluster, session = app.connect()
    try:
        # The state a run leaves when it stops after creating its role but before locking the default one.
        session.execute("ALTER ROLE cassandra WITH PASSWORD = 'cassandra' AND LOGIN = true AND SUPERUSER = true")
    finally:
        cluster.shutdown()
    # Cassandra caches credentials for a few seconds: wait until the default login really works again.
    assert wait_until(
        lambda: can_log_in(fresh_cassandra.host, fresh_cassandra.port, "cassandra", "cassandra"),
        fresh_cassandra.process,
        timeout_s=30,
        interval_s=0.5,
    ), "the re-enabled default superuser never became usable"

    rerun = _run_script(script, env)

    assert rerun.returncode == 0, f"re-run failed:\n{rerun.stdout}\n{rerun.stderr}"
    roles = _cluster_state(app)["roles"]
    assert roles["cassandra"][:2] == (False, False)
    with pytest.raises(NoHostAvailable, match="Authentication"):
        replace(fresh_cassandra, username="cassandra", password="cassandra").connect()
