"""The Kubernetes target's pure parts: replica identity script, probes, security, naming."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from components import versions
from components.image_facts import User
from components.service import HealthCheck, Image, Lifecycle, Port, Resources, ServiceSpec, Volume
from components.targets.kubernetes import (
    REPLICA_SCRIPT_NAME,
    config_map_key,
    container_command,
    container_security_context,
    content_hash,
    deploy_timeout_seconds,
    directory_files,
    needs_identity,
    pod_security_context,
    probes,
    quantities,
)

SMALL = Resources(memory_mib=256, cpu=0.25)
PYTHON = versions.PYTHON


def spec(**fields: object) -> ServiceSpec:
    return ServiceSpec(name="svc", image=Image("image:1", PYTHON), resources=SMALL, **fields)


def run_as(command: list[str], hostname: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env={"HOSTNAME": hostname, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=False
    )


def test_replica_script_exports_values_with_shell_syntax_intact_and_execs_the_entrypoint() -> None:
    tricky = 'it\'s $HOME; `rm -rf /` "quoted"'
    service = spec(
        entrypoint=["/bin/sh", "-c"],
        args=['printf "%s|%s" "$ID" "$NOTE"'],
        replicas=2,
        per_replica_env=lambda ordinal: {"ID": str(ordinal), "NOTE": tricky if ordinal else "plain"},
    )
    command, args = container_command(service)
    assert command is not None and args == ["/bin/sh", "-c", 'printf "%s|%s" "$ID" "$NOTE"']
    assert command[3] == REPLICA_SCRIPT_NAME
    assert run_as([*command, *args], "svc-0").stdout == "0|plain"
    assert run_as([*command, *args], "svc-1").stdout == f"1|{tricky}"
    assert run_as([*command, *args], "svc-2").returncode == 64


def test_without_per_replica_environment_the_command_is_untouched() -> None:
    assert container_command(spec(entrypoint=["run"], args=["--flag"])) == (["run"], ["--flag"])
    assert container_command(spec(args=["server"])) == (None, ["server"])


def test_readiness_runs_the_check_and_liveness_only_a_cheap_one() -> None:
    heavy = HealthCheck("heavy-cli", interval_seconds=10, timeout_seconds=3, retries=5, start_period_seconds=25)
    checks = probes(heavy, [Port("rpc", 8020), Port("ui", 9870)])
    assert checks["readiness_probe"] == {
        "exec": {"command": ["/bin/sh", "-c", "heavy-cli"]},
        "period_seconds": 10,
        "timeout_seconds": 3,
        "failure_threshold": 3,
    }
    assert checks["liveness_probe"] == {"tcp_socket": {"port": 8020}, "period_seconds": 10, "failure_threshold": 5}
    assert checks["startup_probe"] == {"tcp_socket": {"port": 8020}, "period_seconds": 10, "failure_threshold": 3 + 5}
    cheap = HealthCheck("cheap-file-age", interval_seconds=30, retries=4, start_period_seconds=60, cheap=True)
    assert probes(cheap, [Port("http", 8080)])["liveness_probe"]["exec"] == {
        "command": ["/bin/sh", "-c", "cheap-file-age"]
    }
    assert set(probes(heavy, [])) == {"readiness_probe"}  # no port, no cheap check: no liveness at all
    assert probes(None, [Port("http", 8080)])["readiness_probe"]["tcp_socket"] == {"port": 8080}
    with pytest.raises(ValueError, match="health check or a port"):
        probes(None, [])


def test_pulumi_awaits_a_workload_for_its_whole_ordered_start() -> None:
    health = HealthCheck("true", interval_seconds=10, retries=30, start_period_seconds=60)
    assert deploy_timeout_seconds(spec(health=health, replicas=3, ordered_start=True)) == 300 + 3 * (60 + 300)
    assert deploy_timeout_seconds(spec(health=health, replicas=3)) == 300 + 60 + 300
    assert deploy_timeout_seconds(spec(lifecycle=Lifecycle.ONE_SHOT)) == 300 + 900


def test_quantities_request_the_share_and_cap_memory_there_while_cpu_bursts_to_at_least_one_core() -> None:
    assert quantities(Resources(memory_mib=640, cpu=0.1, jvm_heap_mib=256)) == {
        "requests": {"cpu": "100m", "memory": "640Mi"},
        "limits": {"cpu": "1000m", "memory": "640Mi"},
    }
    assert quantities(Resources(memory_mib=1248, cpu=2.0))["limits"] == {"cpu": "4000m", "memory": "1248Mi"}


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (User(185, 186), {"run_as_user": 185, "run_as_group": 186, "fs_group": 186}),
        (User(50000, 0), {"run_as_user": 50000, "run_as_group": 0, "fs_group": 0}),
    ],
)
def test_pods_run_as_their_numeric_non_root_user_under_the_restricted_profile(
    user: User, expected: dict[str, object]
) -> None:
    assert pod_security_context(user) == {
        "seccomp_profile": {"type": "RuntimeDefault"},
        "run_as_non_root": True,
        "fs_group_change_policy": "OnRootMismatch",
        **expected,
    }


def test_a_root_user_is_refused_before_the_namespace_would_refuse_the_pod() -> None:
    with pytest.raises(ValueError, match="user 0:0 is root: the namespace admits only pods that run as non-root"):
        pod_security_context(User(0, 0))


def test_containers_drop_every_capability_and_keep_a_read_only_root_where_asked() -> None:
    assert container_security_context(read_only_root=False) == {
        "allow_privilege_escalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "read_only_root_filesystem": False,
    }
    assert container_security_context(read_only_root=True)["read_only_root_filesystem"] is True


def test_identity_comes_from_owned_data_per_replica_values_order_or_addressing() -> None:
    assert needs_identity(spec(volumes=[Volume("data", "/data")]), addressed_by_replica=False)
    assert not needs_identity(spec(volumes=[Volume("shared", "/s", shared=True)]), addressed_by_replica=False)
    assert needs_identity(spec(ordered_start=True), addressed_by_replica=False)
    assert needs_identity(spec(), addressed_by_replica=True)
    assert not needs_identity(spec(replicas=3), addressed_by_replica=False)


def test_config_map_keys_are_valid_and_distinct_per_path() -> None:
    assert config_map_key("/opt/hadoop/etc/hadoop/core-site.xml") == "opt--hadoop--etc--hadoop--core-site.xml"
    assert config_map_key("dags/a b.py") == "dags--a-b.py"
    assert content_hash({"a": "1"}) != content_hash({"a": "2"})


def test_directory_files_keep_layout_and_hidden_files_but_not_caches(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_text("cache")
    (tmp_path / "pkg" / "m.py").write_text("x = 1\n")
    (tmp_path / ".airflowignore").write_text("tests/\n")
    assert directory_files(tmp_path) == {".airflowignore": "tests/\n", "pkg/m.py": "x = 1\n"}
    with pytest.raises(FileNotFoundError):
        directory_files(tmp_path / "missing")
