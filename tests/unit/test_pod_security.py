"""Every pod the Kubernetes stacks declare passes the "restricted" Pod Security Standard, which their namespace
enforces. The rules are those of https://kubernetes.io/docs/concepts/security/pod-security-standards/
(restricted, latest), checked on the manifests exactly as `pulumi up` would send them."""

from typing import Any

import pytest

from tests.unit.variations import CDC, ONE_BROKER_CASSANDRA_ONLY_ON_KUBERNETES
from tools.manifests import manifests
from tools.mock_deploy import run_program

ALLOWED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip
RESTRICTED_LABELS = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What the restricted profile would refuse in a pod spec (empty: admitted)."""
    problems = []
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(f"{flag} is true")
    pod_context = pod.get("securityContext") or {}
    for volume in pod.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} is {sorted(kinds)}")
    if pod_context.get("sysctls"):
        problems.append("sysctls are set")
    containers = [*(pod.get("initContainers") or []), *pod["containers"]]
    for container in containers:
        context = container.get("securityContext") or {}
        name = container["name"]
        if context.get("privileged"):
            problems.append(f"{name} is privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name} does not set allowPrivilegeEscalation: false")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"{name} does not drop ALL capabilities")
        if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name} adds capabilities {capabilities['add']}")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                problems.append(f"{name} uses host port {port['hostPort']}")
        if not (context.get("runAsNonRoot") or pod_context.get("runAsNonRoot")):
            problems.append(f"{name} does not set runAsNonRoot: true")
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            problems.append(f"{name} runs as uid 0")
        seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name} has seccomp profile {seccomp}")
    return problems


def pod_templates(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{document['kind']}/{document['metadata']['name']}": document["spec"]["template"]["spec"]
        for document in documents
        if document["kind"] in ("StatefulSet", "Deployment", "Job")
    }


@pytest.mark.parametrize("stack", ["dev", "kind"])
def test_the_namespace_enforces_restricted_and_every_pod_passes_it(stack: str) -> None:
    documents = manifests(run_program(stack))
    (namespace,) = [document for document in documents if document["kind"] == "Namespace"]
    assert RESTRICTED_LABELS.items() <= namespace["metadata"]["labels"].items()
    templates = pod_templates(documents)
    assert len(templates) >= 15
    assert {name: problems for name, pod in templates.items() if (problems := restricted_violations(pod))} == {}


KUBERNETES_VARIATIONS = {
    "one broker, cassandra only": ONE_BROKER_CASSANDRA_ONLY_ON_KUBERNETES,
    "replicated": {"kafka": {"brokers": 3, "replicationFactor": 3}, "cassandra": {"nodes": 3}, "spark": {"workers": 3}},
    "node ports and an ingress": {"kubernetes": {"uiServiceType": "NodePort", "ingressHost": "streamstack.example"}},
    "change data capture": CDC,
}


@pytest.mark.parametrize("overrides", KUBERNETES_VARIATIONS.values(), ids=list(KUBERNETES_VARIATIONS))
def test_every_kubernetes_variation_passes_restricted(overrides: dict[str, Any]) -> None:
    templates = pod_templates(manifests(run_program("dev", overrides)))
    assert {name: problems for name, pod in templates.items() if (problems := restricted_violations(pod))} == {}


def test_the_checker_refuses_what_the_profile_refuses() -> None:
    pod = {
        "hostNetwork": True,
        "volumes": [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}],
        "containers": [
            {"name": "c", "securityContext": {"capabilities": {"add": ["CHOWN"]}}, "ports": [{"hostPort": 80}]}
        ],
    }
    assert restricted_violations(pod) == [
        "hostNetwork is true",
        "volume docker is ['hostPath']",
        "c does not set allowPrivilegeEscalation: false",
        "c does not drop ALL capabilities",
        "c adds capabilities ['CHOWN']",
        "c uses host port 80",
        "c does not set runAsNonRoot: true",
        "c has seccomp profile None",
    ]
