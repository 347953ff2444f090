"""What a stack asks of the machine, read from the resources it declares (under mocks, no engine).

Docker: the memory limits of the long-running containers (swap is off, so they are what the engine
must have). Kubernetes: the CPU and memory requested by the long-running pods (what the scheduler
must find on the nodes). One-shot tasks are left out: they finish before the pipeline runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tools.mock_deploy import Deployment

CONTAINER = "docker:index/container:Container"
LONG_RUNNING_KINDS = ("StatefulSet", "Deployment")


@dataclass(frozen=True)
class Footprint:
    processes: int  # long-running containers or pods
    memory_mib: int
    cpu_millis: int | None  # requested on Kubernetes; Docker caps no CPU

    @property
    def memory_gib(self) -> float:
        return self.memory_mib / 1024


def _mebibytes(quantity: str) -> int:
    value, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(value) * (1024 if unit == "Gi" else 1)


def _millis(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def footprint(deployment: Deployment) -> Footprint:
    containers = [r for r in deployment.of_type(CONTAINER) if r.inputs["mustRun"]]
    if containers:
        return Footprint(len(containers), sum(c.inputs["memory"] for c in containers), None)
    workloads: list[dict[str, Any]] = [
        r.inputs
        for r in deployment.resources
        if r.type.startswith("kubernetes:") and r.inputs.get("kind") in LONG_RUNNING_KINDS
    ]
    pods = memory = cpu = 0
    for workload in workloads:
        replicas = workload["spec"]["replicas"]
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        requests = container["resources"]["requests"]
        pods += replicas
        memory += replicas * _mebibytes(requests["memory"])
        cpu += replicas * _millis(requests["cpu"])
    return Footprint(pods, memory, cpu)
