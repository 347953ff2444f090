"""Every Kubernetes object the dev stack and its variations declare fits the OpenAPI schema of the
pinned Kubernetes release, in strict mode: an unknown or misspelt field fails, not just a missing one."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import all_versions

from tests.unit.variations import ONE_BROKER_CASSANDRA_ONLY_ON_KUBERNETES
from tools.manifests import KUBERNETES_SCHEMA_VERSION, manifests, validate
from tools.mock_deploy import run_program

VARIATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "dev": ("dev", {}),
    "kind": ("kind", {}),
    "one broker, cassandra only, optional services off": ("dev", ONE_BROKER_CASSANDRA_ONLY_ON_KUBERNETES),
    "ingress host and class": (
        "dev",
        {"kubernetes": {"ingressHost": "streamstack.example.com", "ingressClass": "nginx"}},
    ),
    "NodePort, storage class, checkpoint volume": (
        "dev",
        {
            "kubernetes": {"uiServiceType": "NodePort", "storageClass": "standard", "sharedStorageClass": "nfs-client"},
            "streamingJob": {"checkpoint": "volume"},
        },
    ),
}


@pytest.fixture(scope="module", params=sorted(VARIATIONS))
def documents(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    stack, overrides = VARIATIONS[request.param]
    return manifests(run_program(stack, overrides))


def test_the_schema_version_is_a_supported_kubernetes_release() -> None:
    assert KUBERNETES_SCHEMA_VERSION in all_versions()


def test_every_declared_object_validates_strictly(documents: list[dict[str, Any]]) -> None:
    failures = []
    for document in documents:
        try:
            validate(document)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{document['kind']}/{document['metadata']['name']} {error.json_path}: {error.message}")
    assert failures == []
    assert {"Namespace", "StatefulSet", "Deployment", "Job", "Service", "NetworkPolicy", "Secret"} <= {
        d["kind"] for d in documents
    }


def test_strict_validation_rejects_an_unknown_field(documents: list[dict[str, Any]]) -> None:
    statefulset = copy.deepcopy(next(d for d in documents if d["kind"] == "StatefulSet"))
    statefulset["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenessprobe"):
        validate(statefulset)
