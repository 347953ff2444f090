"""Building the repository's own images, shared by every target.

The build context is always the repository root, so a Dockerfile can COPY the event contract
next to its workload. Targets differ only in where the image goes: the local engine (Docker) or
a registry the cluster pulls from (Kubernetes).
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_docker as docker

from components.image_facts import BuiltImage

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def build_image(build: BuiltImage, image_name: str, *, push: bool, parent: pulumi.Resource) -> docker.Image:
    """Declare the build of `build.dockerfile` as `image_name`, pushed when `push`.

    Its `repo_digest` identifies the build: the pushed digest, or without a push the local image id
    (pulumi-docker's provider/image.go: "We set repoDigest to the image ID returned from docker
    inspect"), so a container or pod referencing it is replaced whenever the image changes.
    """
    return docker.Image(
        f"{build.name}-image",
        image_name=image_name,
        build=docker.DockerBuildArgs(
            context=str(REPOSITORY_ROOT),
            dockerfile=str(REPOSITORY_ROOT / build.dockerfile),
            args=dict(build.build_args),
        ),
        skip_push=not push,
        opts=pulumi.ResourceOptions(parent=parent),
    )
