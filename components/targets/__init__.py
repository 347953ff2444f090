"""Targets: the only modules that know a platform. `make_target` picks one from the settings."""

from components.service import Target
from components.settings import Settings


def make_target(settings: Settings) -> Target:
    if settings.target == "kubernetes":
        from components.targets.kubernetes import KubernetesTarget

        return KubernetesTarget(settings.project, settings.stack, settings.kubernetes, settings.retain_data)
    from components.targets.docker import DockerTarget

    return DockerTarget(settings.project, settings.stack, settings.retain_data)
