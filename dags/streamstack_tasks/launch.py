"""Run or restart workloads on whatever the deployment targets, without the DAG knowing which.

Docker deployments get a DockerOperator on the stack's network; Kubernetes deployments get a
KubernetesPodOperator in the stack's namespace. The choice is made when the DAG file is parsed,
from the `target` of the deployment Variable, so the same DAG file serves both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from airflow.providers.docker.hooks.docker import DockerHook
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import BaseOperator
from kubernetes.client import models as k8s
from streamstack_checks.deployment import Deployment, Target
from streamstack_checks.jobs import streaming_job_container_labels, streaming_job_pod_selector

DOCKER_SOCKET = "unix://var/run/docker.sock"


def batch_job_operator(
    task_id: str,
    deployment: Deployment,
    image: str,
    arguments: Sequence[str],
    environment: Mapping[str, str],
    *,
    secret_environment: Mapping[str, str] | None = None,
) -> BaseOperator:
    """An operator that runs `arguments` in `image` to completion and fails when it exits non-zero.

    `arguments` and `environment` may hold templates; both operators render them at run time. Values of
    `secret_environment` reach a container on Docker as given (an Airflow Variable's template); on
    Kubernetes the pod takes each from the deployment's Secret, key = variable name, never from Airflow.
    A pod also gets the security contexts, requests and limits the namespace's restricted profile needs,
    and no service-account token.
    """
    secrets = dict(secret_environment or {})
    if deployment.target is Target.DOCKER:
        return DockerOperator(
            task_id=task_id,
            image=image,
            command=list(arguments),
            environment={**environment, **secrets},
            network_mode=deployment.docker_network,
            docker_url=DOCKER_SOCKET,
            auto_remove="success",
            mount_tmp_dir=False,
        )
    pod = deployment.kubernetes_pod_spec
    resources = pod.get("resources")
    return KubernetesPodOperator(
        task_id=task_id,
        name=task_id.replace("_", "-"),
        namespace=deployment.kubernetes_namespace,
        image=image,
        cmds=list(arguments[:1]),
        arguments=list(arguments[1:]),
        env_vars=dict(environment),
        secrets=[Secret("env", name, pod["secret"], name) for name in sorted(secrets)],
        labels=dict(deployment.kubernetes_pod_labels),
        security_context=pod.get("security_context"),
        container_security_context=pod.get("container_security_context"),
        container_resources=k8s.V1ResourceRequirements(**resources) if resources else None,
        automount_service_account_token=False,
        in_cluster=True,
        get_logs=True,
        on_finish_action="delete_succeeded_pod",
    )


class StreamingJobNotFoundError(RuntimeError):
    """The deployment's streaming-job service is not there to restart."""


def restart_streaming_job(deployment: Deployment) -> list[str]:
    """Restart the deployment's streaming-job service; returns what was restarted.

    Docker: the job's container is restarted in place. Kubernetes: the job's pods are deleted and
    their controller recreates them. Either way the new driver submits the query to the master.
    """
    if deployment.target is Target.DOCKER:
        client = DockerHook(docker_conn_id=None, base_url=DOCKER_SOCKET).api_client
        containers = client.containers(all=True, filters={"label": streaming_job_container_labels(deployment)})
        for container in containers:
            client.restart(container["Id"])
        restarted = [container["Names"][0].lstrip("/") for container in containers]
    else:
        pods = KubernetesHook(conn_id=None, in_cluster=True).core_v1_client
        namespace = deployment.kubernetes_namespace
        found = pods.list_namespaced_pod(namespace, label_selector=streaming_job_pod_selector()).items
        for pod in found:
            pods.delete_namespaced_pod(pod.metadata.name, namespace)
        restarted = [pod.metadata.name for pod in found]
    if not restarted:
        raise StreamingJobNotFoundError(f"no streaming-job container or pod found on {deployment.target.value}")
    return restarted
