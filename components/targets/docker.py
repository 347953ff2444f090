"""The one place that knows Docker: ServiceSpecs become containers on one user-defined network.

Every container joins the network under its service name and its replica name (`kafka` and
`kafka-0`), publishes ports on 127.0.0.1 only, keeps its state in named volumes, has a memory
limit with swap disabled, and is created only after the containers it depends on are healthy
(`wait=True` on every container with a health check; one-shot tasks are awaited to completion).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import pulumi
import pulumi_docker as docker

from components.service import Lifecycle, Port, ServiceHandle, ServiceSpec
from components.targets.images import REPOSITORY_ROOT, build_image

PUBLISH_ADDRESS = "127.0.0.1"
DOCKER_SOCKET = "/var/run/docker.sock"
_RESOURCE_NAME = re.compile(r"[^a-zA-Z0-9-]+")


def docker_socket_group() -> list[str] | None:
    """The group owning this engine's socket, so a non-root launcher may use it (None if absent)."""
    try:
        return [str(os.stat(DOCKER_SOCKET).st_gid)]
    except FileNotFoundError:
        return None


def _seconds(value: int) -> str:
    return f"{value}s"


class DockerTarget:
    """Runs services as containers of the local Docker engine."""

    def __init__(self, project: str, stack: str) -> None:
        self._prefix = f"{project}-{stack}"
        self._network: docker.Network | None = None
        self._parent: pulumi.Resource | None = None
        self._images: dict[str, docker.RemoteImage] = {}
        self._shared_volumes: dict[str, docker.Volume] = {}

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

    def upstream_image(self, reference: str, parent: pulumi.Resource) -> pulumi.Input[str]:
        if reference not in self._images:
            self._images[reference] = docker.RemoteImage(
                f"image-{_RESOURCE_NAME.sub('-', reference)}",
                name=reference,
                keep_locally=True,
                opts=pulumi.ResourceOptions(parent=self._parent or parent),
            )
        return self._images[reference].image_id

    def built_image(
        self, name: str, dockerfile: str, build_args: Mapping[str, str], parent: pulumi.Resource
    ) -> pulumi.Input[str]:
        image = build_image(
            name, f"streamstack/{name}:{self._prefix}", dockerfile, build_args, push=False, parent=parent
        )
        return image.image_name

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

    def _volume(self, spec: ServiceSpec, ordinal: int, volume_name: str, shared: bool, parent: pulumi.Resource) -> str:
        if shared:
            if volume_name not in self._shared_volumes:
                self._shared_volumes[volume_name] = docker.Volume(
                    f"volume-{volume_name}",
                    name=f"{self._prefix}-{volume_name}",
                    opts=pulumi.ResourceOptions(parent=self._parent or parent),
                )
            return self._shared_volumes[volume_name].name
        volume = docker.Volume(
            f"{spec.name}-{ordinal}-{volume_name}",
            name=f"{self._prefix}-{spec.name}-{ordinal}-{volume_name}",
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return volume.name

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
        volumes = [
            docker.ContainerVolumeArgs(
                volume_name=self._volume(spec, ordinal, volume.name, volume.shared, parent),
                container_path=volume.mount_path,
            )
            for volume in spec.volumes
        ]
        volumes += [
            docker.ContainerVolumeArgs(
                host_path=str(REPOSITORY_ROOT / source), container_path=container_path, read_only=True
            )
            for container_path, source in sorted(spec.directories.items())
        ]
        if spec.launches_containers:
            volumes.append(docker.ContainerVolumeArgs(host_path=DOCKER_SOCKET, container_path=DOCKER_SOCKET))
        health = spec.health
        return docker.Container(
            replica,
            name=f"{self._prefix}-{replica}",
            image=spec.image,
            hostname=replica,
            entrypoints=list(spec.entrypoint) if spec.entrypoint is not None else None,
            command=list(spec.args) if spec.args is not None else None,
            envs=envs,
            user=spec.user,
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
            wait_timeout=(health.start_period_seconds + health.interval_seconds * health.retries) if health else None,
            labels=[
                docker.ContainerLabelArgs(label="streamstack.stack", value=self._prefix),
                docker.ContainerLabelArgs(label="streamstack.service", value=spec.name),
            ],
            opts=pulumi.ResourceOptions(parent=parent, depends_on=waits_on),
        )
