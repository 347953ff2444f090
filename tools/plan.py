"""What a stack would start, offline: no engine, no cluster, no Pulumi CLI.

    python -m tools.plan --stack local        (make plan STACK=local)

The program runs under Pulumi mocks (tools/mock_deploy.py), so this is what `pulumi up` would declare:
every service with its replicas, image and memory, the one-shot tasks, the URLs it publishes, and the
total memory the long-running containers need; for Kubernetes stacks also each container's CPU and
memory requests and limits, and what the scheduler must find. A bad stack config fails with one line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from components.service import Lifecycle, ServiceSpec
from tools.footprint import footprint
from tools.mock_deploy import Deployment, deployment_or_exit

WORKLOAD_KINDS = ("StatefulSet", "Deployment", "Job")


def _kubernetes_resources(deployment: Deployment) -> dict[str, dict[str, Any]]:
    """The container resources of each declared workload, by its name."""
    found = {}
    for resource in deployment.resources:
        if resource.type.startswith("kubernetes:") and resource.inputs.get("kind") in WORKLOAD_KINDS:
            spec = resource.inputs["spec"]
            pod = spec["template"]["spec"]
            found[resource.inputs["metadata"]["name"]] = pod["containers"][0].get("resources", {})
    return found


def _row(spec: ServiceSpec, kubernetes: dict[str, dict[str, Any]]) -> list[str]:
    image = spec.image.facts.reference
    row = [spec.name, str(spec.replicas), image, f"{spec.resources.memory_mib} MiB"]
    if kubernetes:
        resources = kubernetes.get(spec.name, {})
        requests, limits = resources.get("requests", {}), resources.get("limits", {})
        row += [
            f"{requests.get('cpu', '-')} / {limits.get('cpu', '-')}",
            f"{requests.get('memory', '-')} / {limits.get('memory', '-')}",
        ]
    return row


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def describe(stack: str, deployment: Deployment) -> list[str]:
    """The plan of `stack` as lines of text."""
    kubernetes = _kubernetes_resources(deployment)
    target = "kubernetes" if kubernetes else "docker"
    header = ["service", "replicas", "image", "memory each"]
    if kubernetes:
        header += ["cpu request / limit", "memory request / limit"]
    services = [spec for spec in deployment.specs if spec.lifecycle is Lifecycle.LONG_RUNNING]
    tasks = [spec for spec in deployment.specs if spec.lifecycle is not Lifecycle.LONG_RUNNING]
    lines = [f"stack {stack} (target {target}): {len(services)} services, {len(tasks)} one-shot tasks", ""]
    lines += _table(header, [_row(spec, kubernetes) for spec in services])
    lines += ["", "one-shot tasks (run during `up`, exit when done):"]
    lines += _table(header, [_row(spec, kubernetes) for spec in tasks])
    total = footprint(deployment)
    if total.cpu_millis is None:
        lines += ["", f"memory of the {total.processes} long-running containers: {total.memory_mib:,} MiB "
                  f"({total.memory_gib:.1f} GiB): give Docker at least this much"]  # fmt: skip
    else:
        lines += ["", f"requests of the {total.processes} long-running pods: {total.memory_mib:,} MiB memory, "
                  f"{total.cpu_millis / 1000:.2f} CPU: the nodes must have this free"]  # fmt: skip
    published = {name: value for name, value in deployment.outputs.items() if name not in deployment.secret_outputs}
    lines += ["", "published (stack outputs):"]
    lines += [f"  {name:<24} {value}" for name, value in published.items()]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="local", help="stack whose Pulumi.<stack>.yaml is planned (default: local)")
    options = parser.parse_args(argv)
    print("\n".join(describe(options.stack, deployment_or_exit(options.stack))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
