"""What a component knows about running its software, independent of where it runs.

A component (Kafka, Cassandra, ...) describes each of its processes as a ServiceSpec: image,
command, environment, ports, volumes, files, health check, memory and the resources it must start
after. A target (Docker, Kubernetes) turns specs into resources. Neither knows the other's
business: components never import a provider SDK, targets never mention Kafka.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pulumi

from components.image_facts import BuiltImage, ImageFacts, User


class Lifecycle(enum.Enum):
    """Long-running services stay up; one-shot tasks run to completion once per deployment."""

    LONG_RUNNING = "long-running"
    ONE_SHOT = "one-shot"  # must be idempotent: `pulumi up` may run it again on any change


@dataclass(frozen=True)
class Port:
    """A port the service listens on; `host_port` publishes it for people on the host.

    Replica i of a replicated service publishes `host_port + i`, so every broker of a Kafka
    cluster can advertise its own host-side address.
    """

    name: str
    container_port: int
    host_port: int | None = None
    http: bool = False  # a UI or HTTP API: a target may route it through an HTTP ingress
    replicas_only: bool = False  # replication, gossip or quorum: for the service's own replicas, not its clients


@dataclass(frozen=True)
class Volume:
    """Persistent storage. Unshared volumes are one per replica; a shared one is mounted by
    every service that names it (e.g. a checkpoint directory seen by Spark driver and executors)."""

    name: str
    mount_path: str
    shared: bool = False


@dataclass(frozen=True)
class HealthCheck:
    """A shell command run inside the container; exit status 0 means healthy.

    It is the thorough check: Docker's health check and Kubernetes' readiness. Kubernetes' liveness
    and startup probes must be cheap and must not kill a slow start, so they run the command only
    when it is `cheap`; otherwise they open the service's first port, and a service with neither
    gets no liveness probe (its process exiting already restarts it).
    """

    command: str
    interval_seconds: int = 10
    timeout_seconds: int = 5
    retries: int = 12
    start_period_seconds: int = 30
    cheap: bool = False

    @property
    def start_budget_seconds(self) -> int:
        """The longest a healthy start may take: the start period, then every retry failing."""
        return self.start_period_seconds + self.interval_seconds * self.retries


def python_http_check(port: int, path: str = "/") -> str:
    """Health command for images that ship Python but no curl (Spark): an HTTP GET on localhost
    that fails on a connection error, a timeout or a non-2xx answer."""
    return f"python3 -c \"import urllib.request; urllib.request.urlopen('http://localhost:{port}{path}', timeout=4)\""


def tcp_check(port: int) -> str:
    """Health command for a port that answers but speaks no HTTP (CQL, the DataNode's data port):
    bash's /dev/tcp opens a connection, no client tool needed."""
    return f"bash -c '</dev/tcp/127.0.0.1/{port}'"


def curl_check(port: int, path: str) -> str:
    """Health command for images that ship curl: a GET on localhost that fails on a non-2xx answer."""
    return f"curl --fail --silent http://localhost:{port}{path}"


def wget_check(port: int, path: str) -> str:
    """Health command for images with busybox wget but no curl (alpine)."""
    return f"wget -q -O /dev/null http://localhost:{port}{path}"


@dataclass(frozen=True)
class Image:
    """What a container runs: the reference a target resolved (an image id or digest) and the
    facts of that image, against which tests hold the spec (tests/unit/test_image_facts.py)."""

    reference: pulumi.Input[str]
    facts: ImageFacts


@dataclass(frozen=True)
class Resources:
    """Memory limit and the CPU the service needs at the pipeline's rates (Kubernetes requests it;
    the limit lets it burst to start); `jvm_heap_mib` records the heap the component configured, so
    the budget can be checked: heap plus off-heap must fit under the limit. Sizes come from the
    parts measured in docs/memory.md."""

    memory_mib: int
    cpu: float = 0.25
    jvm_heap_mib: int | None = None

    def __post_init__(self) -> None:
        if self.jvm_heap_mib is not None and self.jvm_heap_mib >= self.memory_mib:
            raise ValueError(f"JVM heap {self.jvm_heap_mib} MiB must be below the memory limit {self.memory_mib} MiB")


@dataclass(frozen=True)
class ServiceSpec:
    """Everything a target needs to run one service (possibly replicated)."""

    name: str
    image: Image
    resources: Resources
    entrypoint: Sequence[pulumi.Input[str]] | None = None
    args: Sequence[pulumi.Input[str]] | None = None
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    secret_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    per_replica_env: Callable[[int], Mapping[str, str]] | None = None
    ports: Sequence[Port] = ()
    volumes: Sequence[Volume] = ()
    files: Mapping[str, str] = field(default_factory=dict)
    directories: Mapping[str, str] = field(default_factory=dict)
    health: HealthCheck | None = None
    replicas: int = 1
    ordered_start: bool = False
    lifecycle: Lifecycle = Lifecycle.LONG_RUNNING
    depends_on: Sequence[pulumi.Resource] = ()
    user: User | None = None  # None: the image's own user
    writes: Sequence[str] = ()  # paths outside its volumes the process creates or writes
    # With a read-only root filesystem, the directories the process writes get a fresh empty directory each.
    read_only_root: bool = False
    scratch: Sequence[str] = ()
    launches_containers: bool = False
    # Listens on ports it picks at run time besides its declared ones (Spark's executors on the workers).
    listens_beyond_ports: bool = False
    talks_outside: Sequence[int] = ()  # TCP ports it connects to outside the deployment (a public API)
    # Stopping: a command that hands the replica's work over before SIGTERM, and how long it may take
    # from the command's start to the process's exit before it is killed.
    pre_stop: Sequence[str] | None = None
    stop_grace_seconds: int = 30
    runs_client_code: bool = False  # executes code its clients submit (Spark workers): reaches what they reach

    def __post_init__(self) -> None:
        if self.per_replica_env is not None and self.entrypoint is None:
            # Targets that cannot set per-replica environment directly (a StatefulSet has one pod
            # template) wrap the entrypoint in a script, so they must know what to exec.
            raise ValueError(f"{self.name}: per_replica_env needs an explicit entrypoint")
        if self.replicas < 1:
            raise ValueError(f"{self.name}: replicas must be at least 1")
        uncovered = [path for path in self.writes if not any(path.startswith(f"{d.rstrip('/')}/") or path == d
                                                                 for d in self.scratch)]  # fmt: skip
        if self.read_only_root and uncovered:
            raise ValueError(f"{self.name}: a read-only root filesystem needs scratch directories for {uncovered}")

    @property
    def runs_as(self) -> User:
        """The user the container starts as: the spec's; else the image's. An image that starts as root only
        to hand its directories to its own user and drop to it (Cassandra's, PostgreSQL's gosu) starts as
        that user directly: its volumes are made writable for it by the target, and the directories it
        would hand over are writable by it in the image (checked against the image facts by the tests)."""
        if self.user is not None:
            return self.user
        facts = self.image.facts
        if facts.user.value.is_root and facts.root_entrypoint is not None:
            return facts.root_entrypoint.value.drops_to
        return facts.user.value

    def env_for_replica(self, ordinal: int) -> dict[str, pulumi.Input[str]]:
        """Plain environment of replica `ordinal`: shared values overlaid with its own."""
        merged: dict[str, pulumi.Input[str]] = dict(self.env)
        if self.per_replica_env is not None:
            merged.update(self.per_replica_env(ordinal))
        return merged


@dataclass(frozen=True)
class ServiceHandle:
    """What a target returns for a spec: the resources dependents must wait for."""

    spec: ServiceSpec
    resources: Sequence[pulumi.Resource]


class Target(Protocol):
    """Where services run. One implementation per platform; components only use this surface."""

    def prepare(self, parent: pulumi.Resource) -> None:
        """Declare what every service shares (a network, a namespace) before any service."""

    def host(self, service: str, ordinal: int | None = None) -> str:
        """In-network DNS name of a service (any replica) or of one replica."""

    def published_endpoint(self, service: str, port: Port, ordinal: int = 0) -> str:
        """host:port at which a person or client outside the network reaches `port`."""

    def access(self) -> Mapping[str, pulumi.Input[str]]:
        """Stack outputs that tell a person how to reach the published endpoints (e.g. port-forwards).
        Called once every service is declared: a target may declare what needs all of them (egress rules)."""

    def upstream_image(self, facts: ImageFacts, parent: pulumi.Resource) -> Image:
        """An image from a public registry, pinned in components/versions.py."""

    def built_image(self, build: BuiltImage, parent: pulumi.Resource) -> Image:
        """An image built from this repository (build context: the repository root), referenced
        by what identifies this build (image id or pushed digest): a rebuild replaces its users."""

    def run(self, spec: ServiceSpec, parent: pulumi.Resource) -> ServiceHandle:
        """Declare the resources that run `spec`."""

    def placement(self) -> Mapping[str, pulumi.Input[str]]:
        """Where a launcher (Airflow) must start a container for it to join the pipeline's network."""
