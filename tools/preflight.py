"""Checks before anything slow: `make up`, `make down` and `make status` run this first.

    python -m tools.preflight --stack local --for up

Each check prints one line; a failed one says how to fix it and where to get what is missing. The exit
status is 1 when any check failed. What the stack needs (its target, host ports, memory) comes from the
stack config, read offline like `make plan`, so a bad config fails here too, in one line.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.settings import Settings, parse_settings
from tools.footprint import CONTAINER, footprint
from tools.mock_deploy import Deployment, deployment_or_exit, stack_config

PULUMI_INSTALL = (
    "install it: curl -fsSL https://get.pulumi.com | sh (https://www.pulumi.com/docs/iac/download-install/)"
)
DOCKER_INSTALL = "https://docs.docker.com/engine/install/ (or Docker Desktop)"
TIMEOUT_S = 10


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def pulumi_cli(which: Callable[[str], str | None] = shutil.which, run: Callable[..., Any] = subprocess.run) -> Check:
    """The Pulumi CLI on PATH, version 3 (the SDK's major version)."""
    if which("pulumi") is None:
        return Check("pulumi", False, f"the Pulumi CLI is not on PATH; {PULUMI_INSTALL}")
    result = run(["pulumi", "version"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    version = result.stdout.strip()
    if result.returncode != 0 or not re.match(r"^v3\.\d+", version):
        return Check(
            "pulumi", False, f"`pulumi version` said {version or result.stderr.strip()!r}; need v3; {PULUMI_INSTALL}"
        )
    return Check("pulumi", True, version)


def passphrase(environ: Mapping[str, str]) -> Check:
    """The local file backend encrypts each stack's secrets with a passphrase the CLI reads from the environment."""
    if environ.get("PULUMI_CONFIG_PASSPHRASE") is not None or environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return Check("passphrase", True, "set")
    return Check(
        "passphrase",
        False,
        "export PULUMI_CONFIG_PASSPHRASE (it encrypts this stack's secrets; keep it: without it the stack's "
        "secrets, and `make down`, cannot be decrypted)",
    )


def docker_engine(connect: Callable[[], Any] | None = None) -> tuple[Check, dict[str, Any]]:
    """A Docker engine answering, and its `docker info`."""
    try:
        if connect is None:
            import docker

            client = docker.from_env(timeout=TIMEOUT_S)
        else:
            client = connect()
        info = client.info()
    except Exception as error:  # the SDK raises several kinds; each means the same to the user
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Check(
            "docker", False, f"no Docker engine answers ({reason}); start it, or install: {DOCKER_INSTALL}"
        ), {}
    return Check("docker", True, f"engine {info.get('ServerVersion', '?')}, {info.get('NCPU', '?')} CPUs"), info


def docker_memory(info: Mapping[str, Any], stack: str, needed_mib: int, minimal_mib: int) -> Check:
    """The engine's memory against the memory limits of the stack's long-running containers."""
    total_mib = int(info.get("MemTotal", 0)) // (1024 * 1024)
    detail = (
        f"the engine has {total_mib / 1024:.1f} GiB; stack {stack} limits its containers to {needed_mib / 1024:.1f} GiB"
    )
    if total_mib >= needed_mib:
        return Check("memory", True, detail)
    advice = "raise Docker's memory (Docker Desktop: Settings > Resources > Memory)"
    if stack != "minimal" and total_mib >= minimal_mib:
        advice += f", or use STACK=minimal ({minimal_mib / 1024:.1f} GiB)"
    return Check("memory", False, f"{detail}: {advice}")


def kube_context(settings: Settings, load: Callable[..., Any] | None = None) -> Check:
    """The kube context the stack names (or the current one) and its API server answering."""
    kubernetes = settings.kubernetes
    name = kubernetes.context or "the current context"
    try:
        from kubernetes import client, config

        (load or config.load_kube_config)(config_file=kubernetes.kubeconfig, context=kubernetes.context)
        version = client.VersionApi().get_code(_request_timeout=TIMEOUT_S)
    except Exception as error:  # config, connection and API errors all mean: no cluster to deploy to
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Check(
            "kubernetes",
            False,
            f"{name} does not answer ({reason}); create a cluster (README: The dev stack on Kubernetes) or set "
            "kubernetes.context",
        )
    return Check("kubernetes", True, f"{name}, server {version.git_version}")


def published_ports(deployment: Deployment) -> list[tuple[str, int]]:
    """(container, host port) of every port the stack's containers publish."""
    found = []
    for container in deployment.of_type(CONTAINER):
        for port in container.inputs.get("ports") or []:
            if port.get("external"):
                found.append((container.inputs["name"], int(port["external"])))
    return found


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def host_ports(
    ports: Sequence[tuple[str, int]], ours: set[int], is_free: Callable[[int], bool] = port_is_free
) -> Check:
    """The host ports the stack publishes are free, or already published by the stack itself (a re-run)."""
    taken = [(container, port) for container, port in ports if port not in ours and not is_free(port)]
    if not taken:
        return Check("host ports", True, f"{len(ports)} free or already the stack's")
    container, port = taken[0]
    more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
    return Check(
        "host ports",
        False,
        f"port {port}, which {container} publishes, is in use by another program{more}: stop it (`lsof -i :{port}`) "
        "or change the port in the stack config (`make plan` lists them)",
    )


def _ports_of_running_stack(prefix: str) -> set[int]:
    import docker

    client = docker.from_env(timeout=TIMEOUT_S)
    running = client.containers.list(filters={"label": f"streamstack.stack={prefix}"})
    return {
        int(binding["HostPort"])
        for container in running
        for bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).values()
        for binding in bindings or []
    }


def checks(command: str, stack: str, environ: Mapping[str, str]) -> list[Check]:
    deployment = deployment_or_exit(stack)
    config, secret_keys = stack_config(stack)
    settings = parse_settings(config, secret_keys, "streamstack", stack)
    found = []
    if command in ("up", "down"):
        found += [pulumi_cli(), passphrase(environ)]
    if settings.target == "docker":
        engine, info = docker_engine()
        found.append(engine)
        if engine.ok and command == "up":
            minimal = footprint(deployment_or_exit("minimal")).memory_mib
            found.append(docker_memory(info, stack, footprint(deployment).memory_mib, minimal))
            ours = _ports_of_running_stack(f"{settings.project}-{stack}")
            found.append(host_ports(published_ports(deployment), ours))
    else:
        found.append(kube_context(settings))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="local")
    parser.add_argument("--for", dest="command", choices=("up", "down", "status"), default="up")
    options = parser.parse_args(argv)
    results = checks(options.command, options.stack, os.environ)
    for result in results:
        print(result.line(), file=sys.stderr if not result.ok else sys.stdout)
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
