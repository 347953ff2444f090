"""Building the repository's own images, shared by every target.

The build context is always the repository root, so a Dockerfile can COPY the event contract
next to its workload. Targets differ only in where the image goes: the local engine (Docker) or
a registry the cluster pulls from (Kubernetes).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pulumi
import pulumi_docker as docker

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def build_image(
    name: str, image_name: str, dockerfile: str, build_args: Mapping[str, str], *, push: bool, parent: pulumi.Resource
) -> docker.Image:
    """Declare the build of `dockerfile` (repository-relative) as `image_name`, pushed when `push`."""
    return docker.Image(
        f"{name}-image",
        image_name=image_name,
        build=docker.DockerBuildArgs(
            context=str(REPOSITORY_ROOT),
            dockerfile=str(REPOSITORY_ROOT / dockerfile),
            args=dict(build_args),
        ),
        skip_push=not push,
        opts=pulumi.ResourceOptions(parent=parent),
    )
