"""Every ServiceSpec of every stack and variation, held against the recorded facts of its image.

The facts live in components/versions.py, each with the source it was read from. These tests check
the components against them: the commands a container runs are tools its image has, the Python it
runs is no newer than the image's, every path its process writes is writable by the user it runs as
(on a fresh Docker named volume and on a fresh PersistentVolumeClaim), the environment it is given is
the environment its image (or its own script) reads, and every image comes from a registry that
serves it. They also keep docs/image-facts.md, the table of facts people read, equal to the module.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from components import versions
from components.image_facts import ImageFacts, User
from components.service import ServiceSpec
from tests.unit.shell import SHELLS, command_words, python_snippets
from tests.unit.variations import CDC, ONE_BROKER_CASSANDRA_ONLY, ONE_BROKER_CASSANDRA_ONLY_ON_KUBERNETES
from tools.mock_deploy import DeclaredResource, Deployment, run_program

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = "docker:index/container:Container"

# Present wherever /bin/sh is: Debian's essential packages (coreutils, findutils, sed, grep) or busybox.
BASE_UTILITIES = frozenset({"find", "seq", "sleep", "sed", "grep", "cat", "mkdir", "chown", "hostname"})
# Repositories whose images are no longer served: minio/minio and minio/mc left Docker Hub in September
# 2026 (MinIO's community edition is source-only since October 2025).
# Docker Hub no longer serves these: MinIO removed its images; Debezium publishes 3.x to quay.io only.
WITHDRAWN = frozenset({"docker.io/minio/minio", "docker.io/minio/mc", "docker.io/debezium/connect"})

STACKS: dict[str, tuple[str, dict[str, Any]]] = {
    "local": ("local", {}),
    "minimal": ("minimal", {}),
    "local, 3 brokers and nodes": (
        "local",
        {
            "kafka": {"brokers": 3, "replicationFactor": 3, "minInsyncReplicas": 2},
            "cassandra": {"nodes": 3, "replicationFactor": 3},
            "spark": {"workers": 2},
            "hdfs": {"datanodes": 2},
        },
    ),
    "local, cassandra only": ("local", ONE_BROKER_CASSANDRA_ONLY),
    "local, cdc": ("local", CDC),
    "dev": ("dev", {}),
    "dev, cdc": ("dev", CDC),
    "kind": ("kind", {}),
    "dev, cassandra only": ("dev", ONE_BROKER_CASSANDRA_ONLY_ON_KUBERNETES),
    "dev, checkpoint volume": (
        "dev",
        {"streamingJob": {"checkpoint": "volume"}, "kubernetes": {"sharedStorageClass": "nfs-client"}},
    ),
}


@cache
def deployment(variation: str) -> Deployment:
    stack, overrides = STACKS[variation]
    return run_program(stack, overrides)


def specs_of(variation: str) -> Iterator[ServiceSpec]:
    yield from deployment(variation).specs


def on_kubernetes(variation: str) -> bool:
    return STACKS[variation][0] in {"dev", "kind"}


def invokes_image_entrypoint(spec: ServiceSpec) -> bool:
    """Whether the container runs its image's own entrypoint (what reads the image's conventions)."""
    if spec.entrypoint is None:
        return True
    facts = spec.image.facts
    script = facts.root_entrypoint.value.script if facts.root_entrypoint else None
    return script is not None and any(script in str(part) for part in [*spec.entrypoint, *(spec.args or [])])


def process_user(spec: ServiceSpec) -> User:
    """The user whose files the process writes: an entrypoint that starts as root hands over."""
    root_entrypoint = spec.image.facts.root_entrypoint
    if spec.runs_as.is_root and root_entrypoint is not None and invokes_image_entrypoint(spec):
        return root_entrypoint.value.drops_to
    return spec.runs_as


def commands_run(spec: ServiceSpec) -> list[str]:
    """The programs the container starts: its entrypoint (or a shell script's commands), its health check."""
    found: list[str] = []
    line = [str(part) for part in [*(spec.entrypoint or []), *(spec.args or [])]]
    if line[:1] and line[0] in SHELLS and line[1:2] == ["-c"]:
        found += [line[0], *command_words(line[2])]
    elif spec.entrypoint:
        found.append(line[0])
    if spec.health is not None:
        found += command_words(spec.health.command)
    return found


def has_tool(facts: ImageFacts, command: str) -> bool:
    """A tool by name, or by its path in a standard directory of PATH (/bin/bash is bash)."""
    head, _, name = command.rpartition("/")
    if head in {"/bin", "/usr/bin", "/usr/local/bin"}:
        command = name
    return facts.has_tool(command) or (facts.has_tool("sh") and command in BASE_UTILITIES)


@pytest.mark.parametrize("variation", sorted(STACKS))
def test_every_command_a_container_runs_is_a_tool_of_its_image(variation: str) -> None:
    missing = [
        f"{spec.name}: {command} is not in {spec.image.facts.reference}"
        for spec in specs_of(variation)
        for command in commands_run(spec)
        if not has_tool(spec.image.facts, command)
    ]
    assert missing == []


@pytest.mark.parametrize("variation", sorted(STACKS))
def test_every_spec_runs_as_a_user_that_is_not_root_once_started(variation: str) -> None:
    rooted = [spec.name for spec in specs_of(variation) if process_user(spec).is_root]
    assert rooted == []


def _fresh_docker_volume_writable(
    spec: ServiceSpec, mount_path: str, container: DeclaredResource, declared: list[DeclaredResource]
) -> bool:
    """A fresh named volume takes the image's directory at the mount point, owner included; a mount
    point the image lacks is created root-owned. Otherwise a one-shot task must hand it over first."""
    user = process_user(spec)
    facts = spec.image.facts
    if spec.runs_as.is_root and facts.root_entrypoint is not None:
        return mount_path in facts.root_entrypoint.value.makes_writable
    directory = facts.directory(mount_path)
    if directory is not None and directory.writable_by(user):
        return True
    (mounted,) = [v["volumeName"] for v in container.inputs["volumes"] if v.get("containerPath") == mount_path]
    owners = [
        task
        for task in declared
        if task.type == CONTAINER
        and task.inputs.get("entrypoints") == ["chown", str(user), mount_path]
        and task.inputs.get("user") == "0:0"
        and any(v.get("volumeName") == mounted for v in task.inputs.get("volumes", []))
    ]
    return len(owners) == 1 and owners[0].urn in container.dependencies


def _claim_writable(spec: ServiceSpec, mount_path: str, pod: dict[str, Any]) -> bool:
    """A fresh claim's root is group-owned by the pod's fsGroup where the volume type supports it (on
    kind's local-path volumes it is mode 0777 instead); an entrypoint that starts as root chowns it."""
    facts = spec.image.facts
    if spec.runs_as.is_root and facts.root_entrypoint is not None:
        return mount_path in facts.root_entrypoint.value.makes_writable
    context = pod["spec"]["securityContext"]
    user = process_user(spec)
    return context.get("fsGroup") == user.gid and context.get("runAsUser") == user.uid


def _pods(deployed: Deployment) -> dict[str, dict[str, Any]]:
    kinds = {"StatefulSet", "Deployment", "Job"}
    return {
        r.inputs["metadata"]["name"]: r.inputs["spec"]["template"]
        for r in deployed.resources
        if r.type.startswith("kubernetes:") and r.inputs.get("kind") in kinds
    }


@pytest.mark.parametrize("variation", sorted(STACKS))
def test_every_volume_is_writable_by_the_process_on_a_fresh_volume(variation: str) -> None:
    deployed = deployment(variation)
    unwritable = []
    if on_kubernetes(variation):
        pods = _pods(deployed)
        unwritable = [
            f"{spec.name}: {volume.mount_path}"
            for spec in deployed.specs
            for volume in spec.volumes
            if not _claim_writable(spec, volume.mount_path, pods[spec.name])
        ]
    else:
        containers = {r.name: r for r in deployed.of_type(CONTAINER)}
        unwritable = [
            f"{spec.name}-{ordinal}: {volume.mount_path}"
            for spec in deployed.specs
            for ordinal in range(spec.replicas)
            for volume in spec.volumes
            if not _fresh_docker_volume_writable(
                spec, volume.mount_path, containers[f"{spec.name}-{ordinal}"], deployed.resources
            )
        ]
    assert unwritable == []


@pytest.mark.parametrize("variation", sorted(STACKS))
def test_every_path_a_process_writes_outside_its_volumes_can_be_created_by_it(variation: str) -> None:
    denied = []
    for spec in specs_of(variation):
        mounts = [volume.mount_path for volume in spec.volumes]
        for path in spec.writes:
            if any(path == mount or path.startswith(f"{mount}/") for mount in mounts):
                continue
            nearest, directory = spec.image.facts.nearest_directory(path)
            if not directory.writable_by(process_user(spec)):
                denied.append(f"{spec.name}: {path} (nearest directory {nearest}, owner {directory.owner})")
    assert denied == []


def _referenced(spec: ServiceSpec, name: str) -> bool:
    text = " ".join(str(part) for part in [*(spec.entrypoint or []), *(spec.args or [])])
    return f"${name}" in text or f"${{{name}}}" in text


def _honoured(facts: ImageFacts, name: str) -> bool:
    return any(
        name == known or (known.endswith("*") and name.startswith(known[:-1])) for known in facts.environment.value
    )


def _resolved_by_config_provider(spec: ServiceSpec, name: str) -> bool:
    """A Connect worker configured with Kafka's EnvVarConfigProvider resolves ${env:NAME} in connector configs
    (tests/unit/test_kafka_connect.py checks the configs name it): a secret held for that, not read at start."""
    return spec.env.get("CONNECT_CONFIG_PROVIDERS") == "env" and name in spec.secret_env


@pytest.mark.parametrize("variation", sorted(STACKS))
def test_every_variable_a_container_is_given_is_read_by_its_image_or_its_script(variation: str) -> None:
    unread = []
    for spec in specs_of(variation):
        names = {*spec.env_for_replica(0), *spec.secret_env}
        unread += [
            f"{spec.name}: {name}"
            for name in sorted(names)
            if not (_honoured(spec.image.facts, name) or _referenced(spec, name))
            and not _resolved_by_config_provider(spec, name)
        ]
    assert unread == []


def _vermin(target: str, paths: list[Path]) -> subprocess.CompletedProcess[str]:
    """vermin knows when each standard-library member appeared: fails on code newer than `target`."""
    return subprocess.run(
        [Path(sys.executable).parent / "vermin", "--no-tips", "--violations", f"-t={target}-", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def _copied_python(dockerfile: Path) -> list[Path]:
    """The Python sources a Dockerfile COPYs from the build context (the repository root)."""
    sources = []
    for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile.read_text(), re.MULTILINE):
        source = ROOT / next(word for word in line.split() if not word.startswith("--"))
        sources += sorted(source.rglob("*.py")) if source.is_dir() else [source] if source.suffix == ".py" else []
    return sources


def test_python_copied_into_an_image_runs_on_that_images_python() -> None:
    checked = {}
    for image in versions.BUILT.values():
        sources = _copied_python(ROOT / image.dockerfile)
        python = image.facts.python.value
        if sources:
            assert python is not None, image.name
            result = _vermin(python, sources)
            assert result.returncode == 0, f"{image.name} (Python {python}):\n{result.stdout}"
            checked[image.name] = python
    assert checked == {"streaming-job": "3.11", "producer": "3.11"}


@pytest.mark.parametrize("variation", ["local", "dev"])
def test_python_a_container_runs_suits_its_images_python(variation: str, tmp_path: Path) -> None:
    """Mounted code (the DAGs in Airflow) and `python3 -c` health checks (Spark, Karapace)."""
    checked = set()
    for spec in specs_of(variation):
        python = spec.image.facts.python.value
        files = [ROOT / source for source in spec.directories.values()]
        snippets = python_snippets(spec.health.command) if spec.health else []
        for index, code in enumerate(snippets):
            files.append(tmp_path / f"{spec.name}-{index}.py")
            files[-1].write_text(code)
        if files:
            assert python is not None, spec.name
            result = _vermin(python, files)
            assert result.returncode == 0, f"{spec.name} (Python {python}):\n{result.stdout}"
            checked.add((spec.name, python))
    assert {("schema-registry", "3.10"), ("spark-master", "3.11"), ("airflow-scheduler", "3.11")} <= checked


def test_vermin_catches_a_standard_library_member_newer_than_the_image(tmp_path: Path) -> None:
    newer = tmp_path / "job.py"
    newer.write_text("from datetime import UTC\n")
    assert _vermin("3.10", [newer]).returncode != 0
    assert _vermin("3.11", [newer]).returncode == 0


def test_every_image_comes_from_a_registry_that_serves_it() -> None:
    for facts in versions.UPSTREAM.values():
        repository = facts.reference.rsplit(":", 1)[0]
        qualified = repository if facts.registry != "docker.io" else f"docker.io/{repository}"
        assert qualified not in WITHDRAWN, facts.reference
        assert facts.published.value == facts.registry, facts.reference


def test_every_upstream_image_a_stack_runs_has_its_facts() -> None:
    used = {spec.image.facts.reference for variation in STACKS for spec in specs_of(variation)}
    built = {image.facts.reference for image in versions.BUILT.values()}
    assert used - built <= set(versions.UPSTREAM)
    assert used == {
        "apache/kafka:4.1.1",
        "ghcr.io/aiven-open/karapace:5.0.3",
        "ghcr.io/kafbat/kafka-ui:v1.4.2",
        "quay.io/debezium/connect:3.6.0.Final",
        "apache/hadoop:3.4.1",
        "cassandra:4.1.11-bookworm",
        "postgres:16.13-bookworm",
        "chrislusf/seaweedfs:4.44",
        "streamstack/streaming-job",
        "streamstack/producer",
        "streamstack/airflow",
    }


def test_the_facts_table_people_read_is_the_one_the_tests_check() -> None:
    assert (ROOT / "docs" / "image-facts.md").read_text() == versions.facts_table() + "\n"


def test_each_built_images_dockerfile_makes_the_facts_recorded_for_it() -> None:
    for image in versions.BUILT.values():
        dockerfile = (ROOT / image.dockerfile).read_text()
        base_arg = next(name for name, value in image.build_args.items() if value in versions.UPSTREAM)
        assert f"FROM ${{{base_arg}}}" in dockerfile, image.name
        base = versions.UPSTREAM[image.build_args[base_arg]]
        users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
        if image.facts.user.value != base.user.value:
            assert users[-1] == str(image.facts.user.value.uid), image.name
        else:  # the base's own user, at most named again
            assert set(users) <= {str(image.facts.user.value.uid)}, image.name
        for path, fact in image.facts.directories.items():
            if path in base.directories:
                continue
            owner = fact.value.owner
            word = rf"\s{re.escape(path)}(\s|$)"
            assert re.search(rf"mkdir -p[^\n]*{word}", dockerfile, re.MULTILINE), f"{image.name}: mkdir {path}"
            assert re.search(rf"chown[^\n]*{word}", dockerfile, re.MULTILINE), f"{image.name}: chown {path}"
            assert re.search(rf"--uid {owner.uid}\b", dockerfile), f"{image.name}: uid {owner.uid}"


class _RecordingEnviron(dict[str, str]):
    """An environment that records every variable a parser asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


def test_the_built_images_recorded_environment_is_what_their_workloads_read() -> None:
    from workloads.connect.apply import parse_arguments as connect_arguments
    from workloads.producer.cli import parse_settings as producer_settings
    from workloads.streaming_job.config import parse_config

    to_kafka, to_postgres, apply_connectors = _RecordingEnviron(), _RecordingEnviron(), _RecordingEnviron()
    to_kafka.update(KAFKA_BOOTSTRAP_SERVERS="kafka-0:9092", EVENTS_TOPIC="events", PSEUDONYM_KEY="key")
    producer_settings([], to_kafka)
    to_postgres.update(
        PRODUCER_SINK="postgres", PIPELINE_DB_HOST="db", PIPELINE_DB_PASSWORD="secret-1", PSEUDONYM_KEY="key"
    )
    producer_settings([], to_postgres)
    apply_connectors.update(CONNECT_URL="http://connect:8083", CONNECTORS="{}")
    connect_arguments([], apply_connectors)
    asked = to_kafka.asked | to_postgres.asked | apply_connectors.asked
    assert asked == set(versions.PRODUCER.facts.environment.value)
    job_environ = _RecordingEnviron()
    job_environ.update(
        KAFKA_BOOTSTRAP_SERVERS="kafka-0:9092", EVENTS_TOPIC="events", SINKS="hdfs", HDFS_URL="hdfs://nn:8020"
    )
    parse_config([], job_environ)
    assert job_environ.asked == set(versions.STREAMING_JOB.facts.environment.value) - {"SPARK_DAEMON_MEMORY"}


@pytest.mark.parametrize("stack", ["local", "dev"])
def test_images_that_start_as_root_only_to_drop_run_as_that_user_with_what_it_needs_writable(stack):
    """Cassandra's and PostgreSQL's entrypoints chown their directories as root, then drop to 999. Started
    as 999 they skip both steps, so each directory they would hand over must already be writable by 999:
    a volume (made writable by the target) or an image directory that is."""
    checked = 0
    for spec in run_program(stack).specs:
        entrypoint = spec.image.facts.root_entrypoint
        if entrypoint is None or spec.user is not None:
            continue
        checked += 1
        assert spec.runs_as == entrypoint.value.drops_to
        volumes = {volume.mount_path for volume in spec.volumes}
        for path in entrypoint.value.makes_writable:
            directory = spec.image.facts.directory(path)
            assert path in volumes or (directory is not None and directory.writable_by(spec.runs_as)), (spec.name, path)
    assert checked == 2  # cassandra and postgres


@pytest.mark.parametrize("stack", ["local", "dev"])
def test_nothing_runs_as_root_but_the_docker_volume_handover(stack):
    assert [spec.name for spec in run_program(stack).specs if spec.runs_as.is_root] == []
