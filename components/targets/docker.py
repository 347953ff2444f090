"""The one place that knows Docker: ServiceSpecs become containers on one user-defined network.

Every container joins the network under its service name and its replica name (`kafka` and
`kafka-0`), publishes ports on 127.0.0.1 only, keeps its state in named volumes, has a memory
limit with swap disabled, and is created only after the containers it depends on are healthy
(`wait=True` on every container with a health check) and the one-shot tasks it depends on succeeded.

What the Docker provider (pulumi-docker, wrapping kreuzwerker/terraform-provider-docker) does and
does not do, read in resource_docker_container_funcs.go at v4.5.0: with `attach=True` it waits for
the container to stop and records `exitCode`, but a non-zero exit code does not fail the create.
So each one-shot task's exit code is checked here: a failure fails the deployment with the task's
name, exit code and last output, and every container that depends on the task carries that check
in its inputs, so none of them is ever created after a failed task.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_docker as docker

from components.image_facts import ROOT, BuiltImage, ImageFacts
from components.service import Image, Lifecycle, Port, ServiceHandle, ServiceSpec, Volume
from components.targets.images import REPOSITORY_ROOT, build_image

PUBLISH_ADDRESS = "127.0.0.1"
DOCKER_SOCKET = "/var/run/docker.sock"
TASK_LOG_LINES = 20
_RESOURCE_NAME = re.compile(r"[^a-zA-Z0-9-]+")
_AFTER_LABEL = "streamstack.after"


def docker_socket_group() -> list[str] | None:
    """The group owning this engine's socket, so a non-root launcher may use it (None if absent)."""
    try:
        return [str(os.stat(DOCKER_SOCKET).st_gid)]
    except FileNotFoundError:
        return None


def _seconds(value: int) -> str:
    return f"{value}s"


class OneShotTaskFailedError(pulumi.RunError):
    """A one-shot task exited non-zero: the deployment stops before anything that needs it starts."""


def task_outcome(task: str, exit_code: int | None, logs: str | None, urn: str) -> str:
    """`task` when it exited 0; otherwise raise with its exit code, its last lines and how to re-run it."""
    if exit_code == 0:
        return task
    tail = "\n".join((logs or "").strip().splitlines()[-TASK_LOG_LINES:]) or "(no output)"
    raise OneShotTaskFailedError(
        f"one-shot task {task} failed with exit code {exit_code}; nothing that depends on it was started. "
        f"Its last output:\n{tail}\nFix the cause, then run it again: pulumi up --replace '{urn}'"
    )


def needs_volume_owner(facts: ImageFacts, mount_path: str, spec: ServiceSpec) -> bool:
    """Whether a fresh named volume at `mount_path` must be handed to the spec's user first.

    Docker fills a fresh volume from the image's directory at the mount point, ownership included;
    where the image has no such directory, the mount point is created root-owned.
    """
    user = spec.runs_as
    if user.is_root:
        return False
    directory = facts.directory(mount_path)
    return directory is None or not directory.writable_by(user)


class DockerTarget:
    """Runs services as containers of the local Docker engine."""

    def __init__(self, project: str, stack: str, retain_data: bool = False) -> None:
        self._prefix = f"{project}-{stack}"
        self._retain_data = retain_data
        self._network: docker.Network | None = None
        self._parent: pulumi.Resource | None = None
        self._images: dict[str, docker.RemoteImage] = {}
        self._shared_volumes: dict[str, tuple[docker.Volume, list[pulumi.Resource]]] = {}
        # id(resource or component) -> outcomes of the one-shot tasks it is or contains
        self._outcomes: dict[int, list[pulumi.Output[str]]] = {}

    def prepare(self, parent: pulumi.Resource) -> None:
        self._parent = parent
        self._network = docker.Network(
            "network",
            name=self._prefix,
            driver="bridge",
            labels=[docker.NetworkLabelArgs(label="streamstack.stack", value=self._prefix)],
            opts=pulumi.ResourceOptions(parent=parent),
        )

    @property
    def network_name(self) -> pulumi.Output[str]:
        return self._require_network().name

    def placement(self) -> Mapping[str, pulumi.Input[str]]:
        return {"target": "docker", "docker_network": self.network_name}

    def host(self, service: str, ordinal: int | None = None) -> str:
        return service if ordinal is None else f"{service}-{ordinal}"

    def published_endpoint(self, service: str, port: Port, ordinal: int = 0) -> str:
        if port.host_port is None:
            raise ValueError(f"port {port.name} of {service} is not published on the host")
        return f"{PUBLISH_ADDRESS}:{port.host_port + ordinal}"

    def access(self) -> Mapping[str, pulumi.Input[str]]:
        """Nothing beyond the published ports themselves."""
        return {}

    def upstream_image(self, facts: ImageFacts, parent: pulumi.Resource) -> Image:
        reference = facts.pinned
        if reference not in self._images:
            self._images[reference] = docker.RemoteImage(
                f"image-{_RESOURCE_NAME.sub('-', reference)}",
                name=reference,
                keep_locally=True,
                opts=pulumi.ResourceOptions(parent=self._parent or parent),
            )
        return Image(self._images[reference].image_id, facts)

    def built_image(self, build: BuiltImage, parent: pulumi.Resource) -> Image:
        image = build_image(build, f"streamstack/{build.name}:{self._prefix}", push=False, parent=parent)
        return Image(image.repo_digest, build.facts)

    def run(self, spec: ServiceSpec, parent: pulumi.Resource) -> ServiceHandle:
        containers: list[docker.Container] = []
        for ordinal in range(spec.replicas):
            waits_on = list(spec.depends_on)
            if spec.ordered_start and containers:
                waits_on.append(containers[-1])
            containers.append(self._container(spec, ordinal, parent, waits_on))
        return ServiceHandle(spec=spec, resources=containers)

    def _require_network(self) -> docker.Network:
        if self._network is None:
            raise RuntimeError("DockerTarget.prepare() must run before any service is declared")
        return self._network

    def _outcomes_of(self, resources: Sequence[pulumi.Resource]) -> list[pulumi.Output[str]]:
        return [outcome for resource in resources for outcome in self._outcomes.get(id(resource), [])]

    def _volume(
        self, spec: ServiceSpec, ordinal: int, volume: Volume, parent: pulumi.Resource
    ) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
        """The named volume for `volume`, and the task that hands it to the spec's user, if one is needed."""
        if volume.shared and volume.name in self._shared_volumes:
            shared, owner_tasks = self._shared_volumes[volume.name]
            return shared.name, owner_tasks
        name = volume.name if volume.shared else f"{spec.name}-{ordinal}-{volume.name}"
        named = docker.Volume(
            f"volume-{volume.name}" if volume.shared else name,
            name=f"{self._prefix}-{name}",
            # retainData: `pulumi destroy` forgets the volume instead of deleting it, so the data survives.
            opts=pulumi.ResourceOptions(
                parent=(self._parent or parent) if volume.shared else parent, retain_on_delete=self._retain_data
            ),
        )
        owner_tasks: list[pulumi.Resource] = []
        if needs_volume_owner(spec.image.facts, volume.mount_path, spec):
            owner_tasks.append(self._volume_owner(spec, f"{name}-owner", named, volume.mount_path, parent))
        if volume.shared:
            self._shared_volumes[volume.name] = (named, owner_tasks)
        return named.name, owner_tasks

    def _volume_owner(
        self, spec: ServiceSpec, name: str, volume: docker.Volume, mount_path: str, parent: pulumi.Resource
    ) -> docker.Container:
        """A one-shot task, as root, that gives a fresh volume's mount point to the spec's user (the
        Docker counterpart of Kubernetes' fsGroup): a mount point the image lacks is root-owned."""
        task = docker.Container(
            name,
            name=f"{self._prefix}-{name}",
            image=spec.image.reference,
            entrypoints=["chown", str(spec.runs_as), mount_path],
            user=str(ROOT),
            volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path=mount_path)],
            memory=64,
            memory_swap=64,
            restart="no",
            must_run=False,
            attach=True,
            logs=True,
            labels=self._labels(spec.name, []),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        self._record_outcome(name, task, parent)
        return task

    def _record_outcome(self, task_name: str, task: docker.Container, parent: pulumi.Resource) -> None:
        outcome = pulumi.Output.all(task.exit_code, task.container_logs, task.urn).apply(
            lambda values: task_outcome(task_name, *values)
        )
        for owner in (task, parent):
            self._outcomes.setdefault(id(owner), []).append(outcome)

    def _labels(self, service: str, after: list[pulumi.Output[str]]) -> list[docker.ContainerLabelArgs]:
        labels = [
            docker.ContainerLabelArgs(label="streamstack.stack", value=self._prefix),
            docker.ContainerLabelArgs(label="streamstack.service", value=service),
        ]
        if after:
            # The one-shot tasks this container needs, by name; resolving it fails if any of them failed.
            done = pulumi.Output.all(*after).apply(lambda names: ",".join(sorted(names)))
            labels.append(docker.ContainerLabelArgs(label=_AFTER_LABEL, value=done))
        return labels

    def _container(
        self, spec: ServiceSpec, ordinal: int, parent: pulumi.Resource, waits_on: list[pulumi.Resource]
    ) -> docker.Container:
        replica = self.host(spec.name, ordinal)
        one_shot = spec.lifecycle is Lifecycle.ONE_SHOT
        envs: list[pulumi.Input[str]] = [
            pulumi.Output.concat(key, "=", value) for key, value in sorted(spec.env_for_replica(ordinal).items())
        ]
        envs += [
            pulumi.Output.secret(pulumi.Output.concat(key, "=", value))
            for key, value in sorted(spec.secret_env.items())
        ]
        volumes: list[docker.ContainerVolumeArgs] = []
        for volume in spec.volumes:
            volume_name, owner_tasks = self._volume(spec, ordinal, volume, parent)
            waits_on += owner_tasks
            volumes.append(docker.ContainerVolumeArgs(volume_name=volume_name, container_path=volume.mount_path))
        volumes += [
            docker.ContainerVolumeArgs(
                host_path=str(REPOSITORY_ROOT / source), container_path=container_path, read_only=True
            )
            for container_path, source in sorted(spec.directories.items())
        ]
        if spec.launches_containers:
            # The Airflow worker starts the DAGs' batch containers (DockerOperator) through the engine's API;
            # the socket is as good as root on the host, so it goes to the services that launch, and no other.
            volumes.append(docker.ContainerVolumeArgs(host_path=DOCKER_SOCKET, container_path=DOCKER_SOCKET))
        health = spec.health
        container = docker.Container(
            replica,
            name=f"{self._prefix}-{replica}",
            image=spec.image.reference,
            hostname=replica,
            entrypoints=list(spec.entrypoint) if spec.entrypoint is not None else None,
            command=list(spec.args) if spec.args is not None else None,
            envs=envs,
            user=str(spec.runs_as),
            # Docker has no pre-stop hook: the process gets SIGTERM and this long before SIGKILL.
            stop_timeout=spec.stop_grace_seconds,
            destroy_grace_seconds=spec.stop_grace_seconds,
            read_only=spec.read_only_root,
            tmpfs=dict.fromkeys(spec.scratch, f"rw,nosuid,nodev,uid={spec.runs_as.uid},gid={spec.runs_as.gid}") or None,
            group_adds=docker_socket_group() if spec.launches_containers else None,
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=self.network_name, aliases=[spec.name, replica])
            ],
            ports=[
                docker.ContainerPortArgs(
                    internal=port.container_port, external=port.host_port + ordinal, ip=PUBLISH_ADDRESS
                )
                for port in spec.ports
                if port.host_port is not None
            ],
            volumes=volumes,
            uploads=[
                docker.ContainerUploadArgs(file=path, content=content) for path, content in sorted(spec.files.items())
            ],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD-SHELL", health.command],
                interval=_seconds(health.interval_seconds),
                timeout=_seconds(health.timeout_seconds),
                retries=health.retries,
                start_period=_seconds(health.start_period_seconds),
            )
            if health is not None
            else None,
            memory=spec.resources.memory_mib,
            memory_swap=spec.resources.memory_mib,
            restart="no" if one_shot else "unless-stopped",
            must_run=not one_shot,
            attach=one_shot,
            logs=one_shot,
            wait=health is not None and not one_shot,
            wait_timeout=health.start_budget_seconds if health else None,
            labels=self._labels(spec.name, self._outcomes_of(waits_on)),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=waits_on),
        )
        if one_shot:
            self._record_outcome(replica, container, parent)
        return container
