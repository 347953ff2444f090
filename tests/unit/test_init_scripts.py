"""The one-shot tasks' scripts, run by a real shell against recording stand-ins for cqlsh and airflow.

What they must get right here is order and failure: Cassandra's system_auth replicated before the
pipeline's role exists, and Airflow's migration or user creation failing the task instead of being
swallowed as the image's entrypoint does. (Both also run against real servers in the integration tests
where one can run here: tests/integration/test_deployment_scripts.py.)
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from components.airflow import init_script as airflow_init_script
from components.cassandra import init_script as cassandra_init_script

# A cqlsh that logs each statement: the pipeline's role logs in only once a statement created it, and
# the default role reads as unlocked (True | True) until a statement locked it.
FAKE_CQLSH = """#!/bin/sh
user=""; statement=""
while [ $# -gt 0 ]; do
  case "$1" in
    -u) user="$2"; shift ;;
    -e) statement="$2"; shift ;;
    -f) statement="FILE $2"; shift ;;
  esac
  shift
done
echo "$user: $statement" >> "$LOG"
if [ "$user" = cassandra ]; then
  case "$statement" in *"CREATE ROLE"*) touch "$STATE/created" ;; esac
  exit 0
fi
[ -f "$STATE/created" ] || exit 1
case "$statement" in
  *"SELECT can_login"*) if [ -f "$STATE/locked" ]; then echo " False | False"; else echo " True | True"; fi ;;
  *"ALTER ROLE cassandra"*) touch "$STATE/locked" ;;
esac
"""

FAKE_AIRFLOW = """#!/bin/sh
echo "$*" >> "$LOG"
case "$*" in
  "db migrate") exit "${MIGRATE_EXIT:-0}" ;;
  "users create"*) echo "admin already exist in the db"; exit 0 ;;
esac
"""


def _run(script: str, tools: dict[str, str], tmp_path: Path, **env: str) -> tuple[int, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in tools.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "log"
    log.touch()
    result = subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log), "STATE": str(tmp_path), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result.returncode, log.read_text().splitlines()


CASSANDRA_ENV = {
    "CASSANDRA_USERNAME": "pipeline",
    "CASSANDRA_PASSWORD": "pw-1234567890",
    "RETIRED_PASSWORD": "retired-123",
}
DEFAULT_ROLE = "CONSISTENCY ALL; SELECT can_login, is_superuser FROM system_auth.roles WHERE role = 'cassandra';"
LOCK = "ALTER ROLE cassandra WITH PASSWORD = 'retired-123' AND LOGIN = false AND SUPERUSER = false;"


def test_cassandra_replicates_system_auth_before_it_creates_the_role(tmp_path: Path) -> None:
    code, log = _run(cassandra_init_script("cassandra-0", 3), {"cqlsh": FAKE_CQLSH}, tmp_path, **CASSANDRA_ENV)
    assert code == 0
    replicate = "ALTER KEYSPACE system_auth WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3};"
    assert log == [
        "pipeline: SELECT now() FROM system.local",
        f"cassandra: {replicate} CREATE ROLE IF NOT EXISTS pipeline WITH PASSWORD = 'pw-1234567890'"
        " AND LOGIN = true AND SUPERUSER = true;",
        f"pipeline: {replicate}",
        f"pipeline: {DEFAULT_ROLE}",
        f"pipeline: {LOCK}",
        "pipeline: FILE /streamstack/schema.cql",
    ]


def test_cassandra_rerun_keeps_replication_and_leaves_a_locked_default_superuser_alone(tmp_path: Path) -> None:
    (tmp_path / "created").touch()  # a run before this one created the role and locked the default one
    (tmp_path / "locked").touch()
    code, log = _run(cassandra_init_script("cassandra-0", 2), {"cqlsh": FAKE_CQLSH}, tmp_path, **CASSANDRA_ENV)
    assert code == 0
    assert log == [
        "pipeline: SELECT now() FROM system.local",
        "pipeline: ALTER KEYSPACE system_auth WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 2};",
        f"pipeline: {DEFAULT_ROLE}",
        "pipeline: FILE /streamstack/schema.cql",
    ]


def test_cassandra_locks_a_default_superuser_a_halted_run_left_usable(tmp_path: Path) -> None:
    (tmp_path / "created").touch()
    code, log = _run(cassandra_init_script("cassandra-0", 1), {"cqlsh": FAKE_CQLSH}, tmp_path, **CASSANDRA_ENV)
    assert code == 0
    assert f"pipeline: {LOCK}" in log


def test_airflow_init_migrates_then_puts_the_admin_in_place(tmp_path: Path) -> None:
    code, log = _run(airflow_init_script("admin"), {"airflow": FAKE_AIRFLOW}, tmp_path, ADMIN_PASSWORD="s3cret-pw")
    assert code == 0
    assert log == [
        "db migrate",
        "users create --username admin --role Admin --firstname Airflow --lastname Admin"
        " --email admin@streamstack.invalid --password s3cret-pw",
        "users reset-password --username admin --password s3cret-pw",
    ]


def test_a_failed_migration_fails_the_airflow_init_task(tmp_path: Path) -> None:
    code, log = _run(
        airflow_init_script("admin"), {"airflow": FAKE_AIRFLOW}, tmp_path, ADMIN_PASSWORD="pw", MIGRATE_EXIT="1"
    )
    assert code == 1
    assert log == ["db migrate"]
