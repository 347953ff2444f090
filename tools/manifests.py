"""Kubernetes manifests from a mock deployment: what `pulumi up` would send to the cluster.

The pulumi_kubernetes SDK passes an object's fields (camelCase) as the resource's inputs, so the
recorded inputs are the manifest. Secret values are replaced by a marker before anyone sees them.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate

from tools.mock_deploy import DeclaredResource, Deployment

# The Kubernetes release whose OpenAPI schema every manifest must satisfy (strict: no unknown fields).
KUBERNETES_SCHEMA_VERSION = "1.33.0"
KUBERNETES_TYPE_PREFIX = "kubernetes:"
REDACTED = "[secret]"
APPLY_ORDER = (
    "Namespace",
    "NetworkPolicy",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Service",
    "PodDisruptionBudget",
    "StatefulSet",
    "Deployment",
    "Job",
)


def _redacted(value: Any, path: str, secret_paths: set[str]) -> Any:
    if path in secret_paths:
        return {key: REDACTED for key in value} if isinstance(value, dict) else REDACTED
    if isinstance(value, dict):
        return {key: _redacted(item, f"{path}.{key}" if path else key, secret_paths) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item, f"{path}.{index}", secret_paths) for index, item in enumerate(value)]
    return value


def manifest(resource: DeclaredResource) -> dict[str, Any]:
    """The object as the API server would receive it, with secret values redacted."""
    return _redacted(copy.deepcopy(resource.inputs), "", resource.secret_paths)


def manifests(deployment: Deployment) -> list[dict[str, Any]]:
    """Every Kubernetes object the program declares, in declaration order (providers excluded)."""
    return [manifest(r) for r in deployment.resources if r.type.startswith(KUBERNETES_TYPE_PREFIX)]


def validate(document: dict[str, Any]) -> None:
    """Raise kubernetes_validate.ValidationError unless `document` fits the pinned schema strictly."""
    kubernetes_validate.validate(document, KUBERNETES_SCHEMA_VERSION, strict=True)


def file_name(document: dict[str, Any]) -> str:
    """`40-statefulset-kafka.yaml`: stable across changes (so renderings diff well) and ordered so
    that `kubectl apply -f` creates the namespace and what pods reference before the pods."""
    kind = document["kind"]
    rank = APPLY_ORDER.index(kind) if kind in APPLY_ORDER else len(APPLY_ORDER)
    return f"{rank:02d}-{kind.lower()}-{document['metadata']['name']}.yaml"
