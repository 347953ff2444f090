"""Run a workload image on whatever the deployment targets, without the DAG knowing which.

Docker deployments get a DockerOperator on the stack's network; Kubernetes deployments get a
KubernetesPodOperator in the stack's namespace. The choice is made when the DAG file is parsed,
from the `target` of the deployment Variable, so the same DAG file serves both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.docker.hooks.docker import DockerHook
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import BaseOperator
from kubernetes.client import V1Container, V1EnvVar, V1ObjectMeta, V1Pod, V1PodSpec
from streamstack_checks.deployment import Deployment, Target

DOCKER_SOCKET = "unix://var/run/docker.sock"


def batch_job_operator(
    task_id: str,
    deployment: Deployment,
    image: str,
    arguments: Sequence[str],
    environment: Mapping[str, str],
) -> BaseOperator:
    """An operator that runs `arguments` in `image` to completion and fails when it exits non-zero.

    `arguments` and `environment` may hold templates; both operators render them at run time.
    """
    if deployment.target is Target.DOCKER:
        return DockerOperator(
            task_id=task_id,
            image=image,
            command=list(arguments),
            environment=dict(environment),
            network_mode=deployment.docker_network,
            docker_url=DOCKER_SOCKET,
            auto_remove="success",
            mount_tmp_dir=False,
        )
    return KubernetesPodOperator(
        task_id=task_id,
        name=task_id.replace("_", "-"),
        namespace=deployment.kubernetes_namespace,
        image=image,
        cmds=list(arguments[:1]),
        arguments=list(arguments[1:]),
        env_vars=dict(environment),
        in_cluster=True,
        get_logs=True,
        on_finish_action="delete_succeeded_pod",
    )


def start_detached(deployment: Deployment, name: str, image: str, environment: Mapping[str, str]) -> str:
    """Start a long-running container (Docker) or pod (Kubernetes) and return without waiting.

    Earlier ones of the same name, dead by now, are removed first so they do not pile up.
    """
    if deployment.target is Target.DOCKER:
        return _start_container(deployment, name, image, environment)
    return _start_pod(deployment, name, image, environment)


def _start_container(deployment: Deployment, name: str, image: str, environment: Mapping[str, str]) -> str:
    client = DockerHook(docker_conn_id=None, base_url=DOCKER_SOCKET).api_client
    if client.containers(all=True, filters={"name": f"^/{name}$"}):
        client.remove_container(name, force=True)
    container = client.create_container(
        image=image,
        name=name,
        environment=dict(environment),
        host_config=client.create_host_config(network_mode=deployment.docker_network),
    )
    client.start(container["Id"])
    return str(container["Id"])


def _start_pod(deployment: Deployment, name: str, image: str, environment: Mapping[str, str]) -> str:
    pods = KubernetesHook(conn_id=None, in_cluster=True).core_v1_client
    namespace = deployment.kubernetes_namespace
    label = {"app.kubernetes.io/name": name}
    pods.delete_collection_namespaced_pod(namespace, label_selector=f"app.kubernetes.io/name={name}")
    pod = V1Pod(
        metadata=V1ObjectMeta(generate_name=f"{name}-", labels=label),
        spec=V1PodSpec(
            restart_policy="Never",
            containers=[
                V1Container(
                    name=name,
                    image=image,
                    env=[V1EnvVar(name=key, value=value) for key, value in environment.items()],
                )
            ],
        ),
    )
    created = pods.create_namespaced_pod(namespace, pod)
    return str(created.metadata.name)
