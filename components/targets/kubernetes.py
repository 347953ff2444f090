"""The one place that knows Kubernetes: ServiceSpecs become workloads in one namespace.

A service with an identity (its own volumes, per-replica environment, ordered start, or addressed
per replica like `spark-master-0`) is a StatefulSet governed by a headless Service of its own
name, so replica i is `<service>-i.<service>.<namespace>.svc.cluster.local`; other long-running
services are Deployments behind a ClusterIP Service; one-shot tasks are Jobs that Pulumi awaits.
Files are ConfigMaps, credentials Secrets. Every pod has probes, requests and limits, no privilege
escalation and dropped capabilities, and NetworkPolicies admit only the services it talks with.

People reach a port in the cluster with `kubectl port-forward svc/<service> <port>`, or, with
`kubernetes.uiServiceType: NodePort`, through the `<service>-published` Service on every node;
with `kubernetes.ingressHost`, every HTTP port is routed by an Ingress as
`<service>-<port>.<ingressHost>`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.image_facts import BuiltImage, ImageFacts, User
from components.service import HealthCheck, Image, Lifecycle, Port, Resources, ServiceHandle, ServiceSpec, Volume
from components.settings import KubernetesSettings
from components.targets.images import REPOSITORY_ROOT, build_image

NAME_LABEL = "app.kubernetes.io/name"
PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF = "streamstack"
# A pod labelled `peer.streamstack.io/<service>: "true"` may connect to <service>: that is how
# services declared after <service> (and pods that Airflow launches) are admitted by its policy.
PEER_LABEL_PREFIX = "peer.streamstack.io/"
CONFIG_HASH_ANNOTATION = "streamstack.io/config-hash"
REPLICA_SCRIPT_NAME = "streamstack-replica"
CPU_LIMIT_FACTOR = 2  # JVMs start faster with some headroom over their steady-state share
MIN_CPU_LIMIT = 1.0  # ... and a small steady-state share must not make a JVM's start crawl
JOB_BACKOFF_LIMIT = 4
READINESS_FAILURES = 3
# pulumi-kubernetes awaits a workload for 10 minutes unless told otherwise (provider/pkg/await/await.go)
IMAGE_PULL_SECONDS = 300
ONE_SHOT_SECONDS = 900
UNPROBED_START_SECONDS = 300
# The API server behind the `kubernetes` Service (443) and on the nodes (6443, kubeadm's and kind's default).
KUBERNETES_API_PORTS = (443, 6443)
# Pod Security Standards, enforced on the namespace: every pod runs as a numeric non-root user with all
# capabilities dropped, no privilege escalation and the runtime's default seccomp profile.
POD_SECURITY_LABELS = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
LAUNCHER_RULES = (
    {"api_groups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
    {"api_groups": [""], "resources": ["pods/log"], "verbs": ["get", "list"]},
    {"api_groups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
)
_CONFIG_KEY_INVALID = re.compile(r"[^-._a-zA-Z0-9]")


def replica_env_script(per_replica: Sequence[Mapping[str, str]]) -> str:
    """POSIX shell that exports replica i's own environment, chosen by the ordinal that ends the
    pod's hostname (`kafka-2` -> 2), then execs the original command passed as arguments."""
    branches = [
        f"  {ordinal}) export {' '.join(f'{key}={shlex.quote(value)}' for key, value in sorted(env.items()))} ;;"
        for ordinal, env in enumerate(per_replica)
    ]
    return "\n".join(
        [
            'case "${HOSTNAME##*-}" in',
            *branches,
            '  *) echo "no per-replica environment for pod $HOSTNAME" >&2; exit 64 ;;',
            "esac",
            'exec "$@"',
        ]
    )


def container_command(spec: ServiceSpec) -> tuple[list[pulumi.Input[str]] | None, list[pulumi.Input[str]] | None]:
    """`command` and `args` of the container; per-replica identity wraps the entrypoint in a script."""
    entrypoint = list(spec.entrypoint) if spec.entrypoint is not None else None
    args = list(spec.args) if spec.args is not None else None
    if spec.per_replica_env is None or entrypoint is None:
        return entrypoint, args
    script = replica_env_script([spec.per_replica_env(ordinal) for ordinal in range(spec.replicas)])
    return ["/bin/sh", "-c", script, REPLICA_SCRIPT_NAME], [*entrypoint, *(args or [])]


def quantities(resources: Resources) -> dict[str, dict[str, str]]:
    """Requests are what the service needs; memory is capped there too, CPU may burst."""
    memory = f"{resources.memory_mib}Mi"
    limit = max(resources.cpu * CPU_LIMIT_FACTOR, MIN_CPU_LIMIT)
    return {
        "requests": {"cpu": f"{round(resources.cpu * 1000)}m", "memory": memory},
        "limits": {"cpu": f"{round(limit * 1000)}m", "memory": memory},
    }


def probes(health: HealthCheck | None, ports: Sequence[Port]) -> dict[str, dict[str, Any]]:
    """Readiness runs the thorough check; startup and liveness only a cheap one (the command when it
    is cheap, else the first port), so a heavy CLI never runs every period inside a small memory
    limit and a slow start (a NameNode in safe mode) is not killed. Failures during the start period
    do not count, then `retries` consecutive liveness failures mean the process is stuck."""
    period = health.interval_seconds if health is not None else 10
    port_open = {"tcp_socket": {"port": ports[0].container_port}, "period_seconds": period} if ports else None
    if health is None:
        if port_open is None:
            raise ValueError("a long-running service needs a health check or a port to probe")
        return {
            "startup_probe": {**port_open, "failure_threshold": 30},
            "readiness_probe": port_open,
            "liveness_probe": port_open,
        }
    check = {
        "exec": {"command": ["/bin/sh", "-c", health.command]},
        "period_seconds": period,
        "timeout_seconds": health.timeout_seconds,
    }
    found: dict[str, dict[str, Any]] = {"readiness_probe": {**check, "failure_threshold": READINESS_FAILURES}}
    alive = check if health.cheap else port_open
    if alive is not None:
        start_attempts = math.ceil(health.start_period_seconds / health.interval_seconds)
        found["startup_probe"] = {**alive, "failure_threshold": start_attempts + health.retries}
        found["liveness_probe"] = {**alive, "failure_threshold": health.retries}
    return found


def deploy_timeout_seconds(spec: ServiceSpec) -> int:
    """How long Pulumi may await the workload: an image pull, then every replica that starts in turn
    taking its whole start budget (a one-shot task: its own bound)."""
    if spec.lifecycle is Lifecycle.ONE_SHOT:
        return IMAGE_PULL_SECONDS + ONE_SHOT_SECONDS
    budget = spec.health.start_budget_seconds if spec.health is not None else UNPROBED_START_SECONDS
    return IMAGE_PULL_SECONDS + budget * (spec.replicas if spec.ordered_start else 1)


def pod_security_context(user: User) -> dict[str, Any]:
    """Runs as `user`, non-root (the namespace enforces the restricted Pod Security Standard); volumes are
    group-owned by its group, relabelled only when their root does not match already."""
    if user.is_root:
        raise ValueError(f"user {user} is root: the namespace admits only pods that run as non-root")
    return {
        "seccomp_profile": {"type": "RuntimeDefault"},
        "run_as_user": user.uid,
        "run_as_group": user.gid,
        "run_as_non_root": True,
        "fs_group": user.gid,
        "fs_group_change_policy": "OnRootMismatch",
    }


def container_security_context(read_only_root: bool) -> dict[str, Any]:
    """No capability, no escalation; a read-only root filesystem where the service writes only where it says."""
    return {
        "allow_privilege_escalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "read_only_root_filesystem": read_only_root,
    }


def spread(service: str) -> dict[str, Any]:
    """Replicas prefer different nodes (soft: a one-node cluster still schedules them all)."""
    return {
        "pod_anti_affinity": {
            "preferred_during_scheduling_ignored_during_execution": [
                {
                    "weight": 100,
                    "pod_affinity_term": {
                        "label_selector": {"match_labels": {NAME_LABEL: service}},
                        "topology_key": "kubernetes.io/hostname",
                    },
                }
            ]
        }
    }


def tcp(ports: Iterable[Port]) -> list[dict[str, Any]]:
    return [{"port": port.container_port, "protocol": "TCP"} for port in ports]


def config_map_key(path: str) -> str:
    """A ConfigMap key naming a file path: `/opt/hadoop/etc/core-site.xml` -> `opt--hadoop--etc--core-site.xml`."""
    return _CONFIG_KEY_INVALID.sub("-", path.strip("/").replace("/", "--"))


def content_hash(contents: Mapping[str, str]) -> str:
    """Changes whenever a file changes, so a pod template annotated with it rolls its pods."""
    return hashlib.sha256(json.dumps(dict(contents), sort_keys=True).encode()).hexdigest()[:16]


def directory_files(directory: Path) -> dict[str, str]:
    """Every text file below `directory` (relative path -> content), without Python caches."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory of the repository")
    return {
        path.relative_to(directory).as_posix(): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def named(services: Sequence[str]) -> dict[str, Any]:
    """A label selector for the pods of any of `services`."""
    return {"match_expressions": [{"key": NAME_LABEL, "operator": "In", "values": sorted(services)}]}


def needs_identity(spec: ServiceSpec, addressed_by_replica: bool) -> bool:
    """StatefulSet or not: replicas that own data or are told apart need stable names."""
    owns_data = any(not volume.shared for volume in spec.volumes)
    return owns_data or spec.per_replica_env is not None or spec.ordered_start or addressed_by_replica


class KubernetesTarget:
    """Runs services in one namespace of the cluster that the stack's kubeconfig/context names."""

    def __init__(self, project: str, stack: str, settings: KubernetesSettings, retain_data: bool = False) -> None:
        if settings.image_registry is None:
            raise ValueError("settings validation guarantees kubernetes.imageRegistry for this target")
        self._settings = settings
        self._retain_data = retain_data
        self._registry = settings.image_registry.rstrip("/")
        self._tag = f"{project}-{stack}"
        self._parent: pulumi.Resource | None = None
        self._provider: k8s.Provider | None = None
        self._namespace: pulumi.Output[str] | None = None
        self._peers_of: dict[str, list[str]] = {}  # service -> the services it converses with (both ways)
        self._reaches: dict[str, set[str]] = {}  # executors -> the services the code they run reaches
        self._addressed_by_replica: set[str] = set()
        self._services_of: dict[int, list[str]] = {}  # id(resource or component) -> service names
        self._shared_claims: dict[str, k8s.core.v1.PersistentVolumeClaim] = {}
        self._directory_maps: dict[str, k8s.core.v1.ConfigMap] = {}
        self._specs: dict[str, ServiceSpec] = {}
        self._forwards: dict[int, str] = {}  # local port -> "<pod or svc> <local>:<container port>"

    def prepare(self, parent: pulumi.Resource) -> None:
        self._parent = parent
        self._provider = k8s.Provider(
            "kubernetes",
            kubeconfig=self._settings.kubeconfig,
            context=self._settings.context,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        namespace = k8s.core.v1.Namespace(
            "namespace",
            metadata={"name": self._settings.namespace, "labels": {PART_OF_LABEL: PART_OF, **POD_SECURITY_LABELS}},
            # Deleting a namespace deletes its claims: with retainData it stays behind, claims and all.
            opts=self._options(parent, retain_on_delete=self._retain_data),
        )
        self._namespace = namespace.metadata.name
        k8s.networking.v1.NetworkPolicy(
            "default-deny-ingress",
            metadata=self._metadata("default-deny-ingress"),
            spec={"pod_selector": {}, "policy_types": ["Ingress"]},
            opts=self._options(parent),
        )

    def placement(self) -> Mapping[str, pulumi.Input[str]]:
        """Namespace and labels (JSON) for pods a launcher starts: the labels admit them to every
        service declared so far, as the launcher's tasks (the producer, checks) need."""
        reachable = sorted(name for name, spec in self._specs.items() if spec.ports)
        labels = {PART_OF_LABEL: PART_OF, **{f"{PEER_LABEL_PREFIX}{name}": "true" for name in reachable}}
        return {
            "target": "kubernetes",
            "kubernetes_namespace": self._settings.namespace,
            "kubernetes_pod_labels": json.dumps(labels, sort_keys=True),
            "kubernetes_pod_spec": json.dumps(self._launched_pod_spec(), sort_keys=True),
        }

    def _launched_pod_spec(self) -> dict[str, Any]:
        """What a pod a launcher starts needs to pass the namespace's restricted profile, in the API's own
        spelling: run as its image's numeric user (the images launchers run, the producer's and the job's,
        have one), drop everything, the producer's requests and limits, and its Secret for credentials."""
        launched: dict[str, Any] = {
            "security_context": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "container_security_context": {
                "allowPrivilegeEscalation": False,
                "privileged": False,
                "capabilities": {"drop": ["ALL"]},
            },
        }
        producer = self._specs.get("producer")
        if producer is not None:
            launched["resources"] = quantities(producer.resources)
            if producer.secret_env:
                launched["secret"] = f"{producer.name}-env"
        return launched

    def host(self, service: str, ordinal: int | None = None) -> str:
        domain = f"{self._settings.namespace}.svc.{self._settings.cluster_domain}"
        if ordinal is None:
            return f"{service}.{domain}"
        self._addressed_by_replica.add(service)
        return f"{service}-{ordinal}.{service}.{domain}"

    def published_endpoint(self, service: str, port: Port, ordinal: int = 0) -> str:
        """Where a person reaches `port` from their machine: through the Ingress for an HTTP port when
        an ingress host is set, otherwise on 127.0.0.1 at the port's host port (+ ordinal for a replica
        addressed on its own, as every Kafka broker is) through the `kubectl port-forward` that
        `access()` lists. Kafka's host listener advertises exactly this address, so a client that
        follows the forwards can reach every broker the metadata names."""
        if port.host_port is None:
            raise ValueError(f"port {port.name} of {service} is not published")
        if port.http and self._settings.ingress_host is not None:
            return f"{self._ingress_host(service, port)}:80"
        local_port = port.host_port + ordinal
        target = f"pod/{service}-{ordinal}" if service in self._addressed_by_replica else f"svc/{service}"
        self._forwards[local_port] = f"{target} {local_port}:{port.container_port}"
        return f"127.0.0.1:{local_port}"

    def access(self) -> Mapping[str, pulumi.Input[str]]:
        """The port-forward commands behind every published 127.0.0.1 address, one per line; and, every
        service now being known, the egress policies."""
        self._egress_policies()
        namespace = self._settings.namespace
        commands = [f"kubectl -n {namespace} port-forward {self._forwards[port]}" for port in sorted(self._forwards)]
        return {"portForwardCommands": "\n".join(commands)} if commands else {}

    def _ingress_host(self, service: str, port: Port) -> str:
        """One DNS label per UI, so a single wildcard record `*.<ingressHost>` serves them all."""
        return f"{service}-{port.name}.{self._settings.ingress_host}"

    def upstream_image(self, facts: ImageFacts, parent: pulumi.Resource) -> Image:
        return Image(facts.pinned, facts)

    def built_image(self, build: BuiltImage, parent: pulumi.Resource) -> Image:
        image = build_image(build, f"{self._registry}/streamstack-{build.name}:{self._tag}", push=True, parent=parent)
        # The digest of the push, not the tag: pods run exactly the image this deployment built.
        return Image(image.repo_digest, build.facts)

    def run(self, spec: ServiceSpec, parent: pulumi.Resource) -> ServiceHandle:
        peers = self._peers(spec, parent)
        self._peers_of[spec.name] = peers
        if spec.lifecycle is Lifecycle.ONE_SHOT:
            workload: pulumi.Resource = self._job(spec, peers, parent)
        else:
            workload = self._long_running(spec, peers, parent)
        self._executor_reach(spec, parent)
        self._specs[spec.name] = spec
        self._services_of.setdefault(id(parent), []).append(spec.name)
        self._services_of[id(workload)] = [spec.name]
        return ServiceHandle(spec=spec, resources=[workload])

    def _peers(self, spec: ServiceSpec, parent: pulumi.Resource) -> list[str]:
        """Services this one converses with: those of its own component and those it depends on.

        A conversation goes both ways (Spark executors call back the driver that submitted to
        them), so the policies of both ends admit the other.
        """
        siblings = set(self._services_of.get(id(parent), []))
        return sorted((siblings | set(self._dependencies(spec))) - {spec.name})

    def _dependencies(self, spec: ServiceSpec) -> list[str]:
        """Services declared by the resources and components `spec` depends on."""
        return sorted({name for owner in spec.depends_on for name in self._services_of.get(id(owner), [])})

    def _options(
        self, parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = (), **extra: Any
    ) -> pulumi.ResourceOptions:
        if self._provider is None:
            raise RuntimeError("KubernetesTarget.prepare() must run before any service is declared")
        return pulumi.ResourceOptions(parent=parent, provider=self._provider, depends_on=list(depends_on), **extra)

    def _awaited(self, spec: ServiceSpec, parent: pulumi.Resource, **extra: Any) -> pulumi.ResourceOptions:
        """Options of what Pulumi awaits for `spec` (its workload, Job and Services): created once
        its dependencies are ready, and given the time its pods need rather than the default 10
        minutes, so a cold first deploy of replicas that start in turn completes."""
        timeout = f"{deploy_timeout_seconds(spec)}s"
        return self._options(
            parent,
            spec.depends_on,
            custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
            **extra,
        )

    def _metadata(self, name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
        return {"name": name, "namespace": self._namespace, "labels": {PART_OF_LABEL: PART_OF, **(labels or {})}}

    def _long_running(self, spec: ServiceSpec, peers: list[str], parent: pulumi.Resource) -> pulumi.Resource:
        selector = {NAME_LABEL: spec.name}
        stateful = needs_identity(spec, spec.name in self._addressed_by_replica)
        service = self._services(spec, stateful, parent)
        if spec.ports:
            self._network_policy(spec, peers, parent)
        template = self._pod_template(spec, peers, parent, restart_policy="Always")
        options = self._awaited(spec, parent)
        workload: pulumi.Resource
        if service is not None and stateful:
            workload = k8s.apps.v1.StatefulSet(
                spec.name,
                metadata=self._metadata(spec.name, selector),
                spec={
                    "service_name": service.metadata.name,
                    "replicas": spec.replicas,
                    "pod_management_policy": "OrderedReady" if spec.ordered_start else "Parallel",
                    "selector": {"match_labels": selector},
                    "template": template,
                    "volume_claim_templates": [
                        self._claim_template(volume) for volume in spec.volumes if not volume.shared
                    ],
                    # Claims outlive a StatefulSet unless told otherwise; `pulumi destroy` removes them
                    # with it, unless retainData (the namespace, which would delete them, is kept too).
                    "persistent_volume_claim_retention_policy": {
                        "when_deleted": "Retain" if self._retain_data else "Delete",
                        "when_scaled": "Retain",
                    },
                },
                opts=options,
            )
        else:
            workload = k8s.apps.v1.Deployment(
                spec.name,
                metadata=self._metadata(spec.name, selector),
                spec={"replicas": spec.replicas, "selector": {"match_labels": selector}, "template": template},
                opts=options,
            )
        if spec.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                spec.name,
                metadata=self._metadata(spec.name, selector),
                spec={"max_unavailable": 1, "selector": {"match_labels": selector}},
                opts=self._options(parent),
            )
        return workload

    def _services(self, spec: ServiceSpec, stateful: bool, parent: pulumi.Resource) -> k8s.core.v1.Service | None:
        """The Service named like the service (headless for a StatefulSet) and, when people should
        reach published ports from outside (NodePort, or an Ingress host), a Service
        `<service>-published` with just those ports, and the Ingress routing its HTTP ones."""
        selector = {NAME_LABEL: spec.name}
        ports = [{"name": p.name, "port": p.container_port, "target_port": p.container_port} for p in spec.ports]
        published = {port.container_port for port in spec.ports if port.host_port is not None}
        routed = [port for port in spec.ports if port.host_port is not None and port.http]
        ingress_host = self._settings.ingress_host
        node_port = self._settings.ui_service_type == "NodePort"
        if published and (node_port or (ingress_host is not None and routed)):
            k8s.core.v1.Service(
                f"{spec.name}-published",
                metadata=self._metadata(f"{spec.name}-published", selector),
                spec={
                    "type": self._settings.ui_service_type,
                    "selector": selector,
                    "ports": [p for p in ports if p["port"] in published],
                },
                opts=self._awaited(spec, parent),
            )
        if ingress_host is not None and routed:
            self._ingress(spec.name, routed, parent)
        if not (stateful or ports):
            return None
        # A StatefulSet's governing Service is headless and lists replicas before they are ready:
        # Kafka controllers and Cassandra seeds must find each other to become ready at all.
        headless = {"cluster_ip": "None", "publish_not_ready_addresses": True} if stateful else {}
        return k8s.core.v1.Service(
            spec.name,
            metadata=self._metadata(spec.name, selector),
            spec={"selector": selector, "ports": ports, **headless},
            opts=self._awaited(spec, parent),
        )

    def _ingress(self, service: str, ports: Sequence[Port], parent: pulumi.Resource) -> None:
        backend = f"{service}-published"
        rules = [
            {
                "host": self._ingress_host(service, port),
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "path_type": "Prefix",
                            "backend": {"service": {"name": backend, "port": {"number": port.container_port}}},
                        }
                    ]
                },
            }
            for port in ports
        ]
        class_name = {"ingress_class_name": self._settings.ingress_class} if self._settings.ingress_class else {}
        k8s.networking.v1.Ingress(
            service,
            metadata=self._metadata(service, {NAME_LABEL: service}),
            spec={**class_name, "rules": rules},
            opts=self._options(parent),
        )

    def _job(self, spec: ServiceSpec, peers: list[str], parent: pulumi.Resource) -> pulumi.Resource:
        if any(not volume.shared for volume in spec.volumes):
            raise ValueError(f"{spec.name}: a one-shot task cannot own persistent volumes")
        return k8s.batch.v1.Job(
            spec.name,
            metadata=self._metadata(spec.name, {NAME_LABEL: spec.name}),
            # No ttlSecondsAfterFinished: Pulumi awaits the Job and keeps it as the record of the run.
            spec={"backoff_limit": JOB_BACKOFF_LIMIT, "template": self._pod_template(spec, peers, parent, "Never")},
            # A Job's template is immutable: a changed task is a new Job, after the old one is gone.
            opts=self._awaited(spec, parent, delete_before_replace=True),
        )

    def _network_policy(self, spec: ServiceSpec, peers: list[str], parent: pulumi.Resource) -> None:
        """Admits the service's own replicas on every port; its peers, and pods labelled as its peers, on the
        ports it offers clients (not replication, gossip or quorum ports); and on the ports it publishes,
        anyone (NodePort) or the ingress controller's namespace (Ingress). `kubectl port-forward` enters
        the pod itself and needs no rule."""
        rules: list[dict[str, Any]] = [{"from": [{"pod_selector": named([spec.name])}]}]
        clients: list[dict[str, Any]] = [
            {"pod_selector": {"match_labels": {f"{PEER_LABEL_PREFIX}{spec.name}": "true"}}}
        ]
        if peers:
            clients.insert(0, {"pod_selector": named(peers)})
        if spec.listens_beyond_ports:
            rules.append({"from": clients})
        elif client_ports := [port for port in spec.ports if not port.replicas_only]:
            rules.append({"from": clients, "ports": tcp(client_ports)})
        published = [port for port in spec.ports if port.host_port is not None]
        if published and self._settings.ui_service_type == "NodePort":
            rules.append({"ports": tcp(published)})
        routed = [port for port in published if port.http]
        if routed and self._settings.ingress_host is not None:
            controller = {"kubernetes.io/metadata.name": self._settings.ingress_namespace}
            rules.append({"from": [{"namespace_selector": {"match_labels": controller}}], "ports": tcp(routed)})
        k8s.networking.v1.NetworkPolicy(
            spec.name,
            metadata=self._metadata(spec.name, {NAME_LABEL: spec.name}),
            spec={
                "pod_selector": {"match_labels": {NAME_LABEL: spec.name}},
                "policy_types": ["Ingress"],
                "ingress": rules,
            },
            opts=self._options(parent),
        )

    def _executor_reach(self, spec: ServiceSpec, parent: pulumi.Resource) -> None:
        """Executors that run the code of `spec` (Spark workers) may reach what it depends on."""
        dependencies = self._dependencies(spec)
        executors = [name for name in dependencies if self._specs[name].runs_client_code]
        reached = [name for name in dependencies if name not in executors and self._specs[name].ports]
        if not (executors and reached):
            return
        for name in executors:
            self._reaches.setdefault(name, set()).update(reached)
        client_ports = {port.container_port: port for name in reached for port in self._specs[name].ports
                        if not port.replicas_only}  # fmt: skip
        k8s.networking.v1.NetworkPolicy(
            f"{spec.name}-executors",
            metadata=self._metadata(f"{spec.name}-executors", {NAME_LABEL: spec.name}),
            spec={
                "pod_selector": named(reached),
                "policy_types": ["Ingress"],
                "ingress": [{"from": [{"pod_selector": named(executors)}], "ports": tcp(client_ports.values())}],
            },
            opts=self._options(parent),
        )

    def _egress_policies(self) -> None:
        """Each service may open connections to its own replicas, the services that admit it (as their peer,
        or as the executor of their code), DNS, and the outside ports it names; nothing else. Declared once
        every service is known: a conversation goes both ways, and the other end may be declared later."""
        for name, spec in self._specs.items():
            reached = (
                {name}
                | self._reaches.get(name, set())
                | {other for other, peers in self._peers_of.items() if name in peers}
                | set(self._peers_of.get(name, []))
            )
            rules: list[dict[str, Any]] = [
                {"to": [{"pod_selector": named(sorted(reached))}]},
                {
                    "to": [
                        {
                            "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                },
            ]
            outside = sorted({*spec.talks_outside, *(KUBERNETES_API_PORTS if spec.launches_containers else ())})
            if outside:
                rules.append(
                    {
                        "to": [{"ip_block": {"cidr": "0.0.0.0/0"}}],
                        "ports": [{"port": p, "protocol": "TCP"} for p in outside],
                    }
                )
            k8s.networking.v1.NetworkPolicy(
                f"{name}-egress",
                metadata=self._metadata(f"{name}-egress", {NAME_LABEL: name}),
                spec={
                    "pod_selector": {"match_labels": {NAME_LABEL: name}},
                    "policy_types": ["Egress"],
                    "egress": rules,
                },
                opts=self._options(self._require_parent()),
            )

    def _pod_template(
        self, spec: ServiceSpec, peers: list[str], parent: pulumi.Resource, restart_policy: str
    ) -> dict[str, Any]:
        labels = {
            PART_OF_LABEL: PART_OF,
            NAME_LABEL: spec.name,
            **{f"{PEER_LABEL_PREFIX}{peer}": "true" for peer in peers},
        }
        volumes: list[dict[str, Any]] = []
        mounts: list[dict[str, Any]] = []
        configuration: dict[str, str] = {}
        if spec.files:
            files = k8s.core.v1.ConfigMap(
                f"{spec.name}-files",
                metadata=self._metadata(f"{spec.name}-files", {NAME_LABEL: spec.name}),
                data={config_map_key(path): content for path, content in sorted(spec.files.items())},
                opts=self._options(parent),
            )
            volumes.append({"name": "files", "config_map": {"name": files.metadata.name}})
            mounts += [
                {"name": "files", "mount_path": path, "sub_path": config_map_key(path), "read_only": True}
                for path in sorted(spec.files)
            ]
            configuration.update(spec.files)
        for index, (mount_path, source) in enumerate(sorted(spec.directories.items())):
            files_below = directory_files(REPOSITORY_ROOT / source)
            items = [{"key": config_map_key(path), "path": path} for path in files_below]
            volumes.append(
                {
                    "name": f"directory-{index}",
                    "config_map": {"name": self._directory(source, files_below), "items": items},
                }
            )
            mounts.append({"name": f"directory-{index}", "mount_path": mount_path, "read_only": True})
            configuration.update({f"{source}/{path}": content for path, content in files_below.items()})
        for volume in spec.volumes:
            if volume.shared:
                volumes.append(
                    {"name": volume.name, "persistent_volume_claim": {"claim_name": self._shared_claim(volume)}}
                )
            mounts.append({"name": volume.name, "mount_path": volume.mount_path})
        for index, path in enumerate(spec.scratch):
            volumes.append({"name": f"scratch-{index}", "empty_dir": {}})
            mounts.append({"name": f"scratch-{index}", "mount_path": path})
        command, args = container_command(spec)
        env = [{"name": key, "value": value} for key, value in sorted(spec.env.items())]
        env += self._secret_env(spec, parent)
        container: dict[str, Any] = {
            "name": spec.name,
            "image": spec.image.reference,
            "command": command,
            "args": args,
            "env": env or None,
            "ports": [{"name": port.name, "container_port": port.container_port} for port in spec.ports] or None,
            "volume_mounts": mounts or None,
            "resources": quantities(spec.resources),
            "security_context": container_security_context(spec.read_only_root),
        }
        if spec.lifecycle is Lifecycle.LONG_RUNNING:
            container.update(probes(spec.health, spec.ports))
        if spec.pre_stop is not None:
            container["lifecycle"] = {"pre_stop": {"exec": {"command": list(spec.pre_stop)}}}
        pod: dict[str, Any] = {
            "containers": [container],
            "volumes": volumes or None,
            "restart_policy": restart_policy,
            "security_context": pod_security_context(spec.runs_as),
            # Service links would inject KAFKA_PORT, SPARK_MASTER_PORT, ...: variables these
            # images read as their own configuration.
            "enable_service_links": False,
            "automount_service_account_token": spec.launches_containers,
            "termination_grace_period_seconds": spec.stop_grace_seconds,
        }
        if spec.replicas > 1:
            pod["affinity"] = spread(spec.name)
        if spec.launches_containers:
            pod["service_account_name"] = self._launcher_account(spec.name, parent)
        metadata: dict[str, Any] = {"labels": labels}
        if configuration:
            metadata["annotations"] = {CONFIG_HASH_ANNOTATION: content_hash(configuration)}
        return {"metadata": metadata, "spec": pod}

    def _secret_env(self, spec: ServiceSpec, parent: pulumi.Resource) -> list[dict[str, Any]]:
        if not spec.secret_env:
            return []
        secret = k8s.core.v1.Secret(
            f"{spec.name}-env",
            metadata=self._metadata(f"{spec.name}-env", {NAME_LABEL: spec.name}),
            type="Opaque",
            string_data={key: pulumi.Output.secret(value) for key, value in spec.secret_env.items()},
            opts=self._options(parent),
        )
        name = secret.metadata.name
        return [
            {"name": key, "value_from": {"secret_key_ref": {"name": name, "key": key}}}
            for key in sorted(spec.secret_env)
        ]

    def _claim_template(self, volume: Volume) -> dict[str, Any]:
        claim: dict[str, Any] = {
            "access_modes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{self._settings.storage_gib}Gi"}},
        }
        if self._settings.storage_class is not None:
            claim["storage_class_name"] = self._settings.storage_class
        return {"metadata": {"name": volume.name}, "spec": claim}

    def _shared_claim(self, volume: Volume) -> pulumi.Output[str]:
        """One ReadWriteMany claim per shared volume, of kubernetes.sharedStorageClass (settings refuse
        a shared volume without one: kind's default class, local-path, offers ReadWriteOnce only)."""
        if volume.name not in self._shared_claims:
            claim = self._claim_template(volume)["spec"]
            self._shared_claims[volume.name] = k8s.core.v1.PersistentVolumeClaim(
                volume.name,
                metadata=self._metadata(volume.name),
                spec={
                    **claim,
                    "access_modes": ["ReadWriteMany"],
                    "storage_class_name": self._settings.shared_storage_class,
                },
                opts=self._options(self._require_parent(), retain_on_delete=self._retain_data),
            )
        return self._shared_claims[volume.name].metadata.name

    def _directory(self, source: str, files: Mapping[str, str]) -> pulumi.Output[str]:
        """A repository directory as one ConfigMap shared by every service that mounts it."""
        if source not in self._directory_maps:
            name = f"directory-{config_map_key(source)}"
            self._directory_maps[source] = k8s.core.v1.ConfigMap(
                name,
                metadata=self._metadata(name),
                data={config_map_key(path): content for path, content in files.items()},
                opts=self._options(self._require_parent()),
            )
        return self._directory_maps[source].metadata.name

    def _launcher_account(self, service: str, parent: pulumi.Resource) -> pulumi.Output[str]:
        """A ServiceAccount allowed to manage pods in this namespace only, for a service that starts them."""
        options = self._options(parent)
        labels = {NAME_LABEL: service}
        account = k8s.core.v1.ServiceAccount(service, metadata=self._metadata(service, labels), opts=options)
        role = k8s.rbac.v1.Role(
            service, metadata=self._metadata(service, labels), rules=list(LAUNCHER_RULES), opts=options
        )
        k8s.rbac.v1.RoleBinding(
            service,
            metadata=self._metadata(service, labels),
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": role.metadata.name},
            subjects=[{"kind": "ServiceAccount", "name": service, "namespace": self._namespace}],
            opts=options,
        )
        return account.metadata.name

    def _require_parent(self) -> pulumi.Resource:
        if self._parent is None:
            raise RuntimeError("KubernetesTarget.prepare() must run before any service is declared")
        return self._parent
