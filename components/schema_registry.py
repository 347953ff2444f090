"""Karapace, an open-source schema registry with the Confluent-compatible API."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import versions
from components.service import HealthCheck, Port, Resources, ServiceSpec, Target
from components.settings import ToggleSettings

SERVICE = "schema-registry"
PORT = 8081
TOPIC = "_schemas"


def ready_check(port: int) -> str:
    """Healthy once the registry has read its schemas topic: Karapace's /_health answers 200 before
    that, with `status.schema_registry_ready` false (its image has Python, so no curl+jq needed)."""
    return (
        'python3 -c "import json, urllib.request; '
        f"status = json.load(urllib.request.urlopen('http://localhost:{port}/_health', timeout=4))['status']; "
        "raise SystemExit(0 if status['schema_registry_ready'] else 1)\""
    )


@dataclass(frozen=True)
class SchemaRegistryArgs:
    settings: ToggleSettings
    target: Target
    bootstrap_servers: pulumi.Input[str]
    topic_replication: int  # the cluster's replication for internal topics (Kafka.internal_replication)
    depends_on: tuple[pulumi.Resource, ...]


class SchemaRegistry(pulumi.ComponentResource):
    """Offers the registry URL inside the network and on the host."""

    url: pulumi.Output[str]
    host_url: pulumi.Output[str]

    def __init__(self, name: str, args: SchemaRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:SchemaRegistry", name, None, opts)
        target = args.target
        port = Port("http", PORT, args.settings.host_port, http=True)
        target.run(
            ServiceSpec(
                name=SERVICE,
                image=target.upstream_image(versions.KARAPACE, self),
                entrypoint=["python3", "-m", "karapace"],
                env={
                    "KARAPACE_BOOTSTRAP_URI": args.bootstrap_servers,
                    "KARAPACE_HOST": "0.0.0.0",
                    "KARAPACE_PORT": str(PORT),
                    "KARAPACE_ADVERTISED_HOSTNAME": target.host(SERVICE),
                    "KARAPACE_TOPIC_NAME": TOPIC,
                    # Karapace creates its topic with replication factor 1 unless told: with the brokers'
                    # min.insync.replicas above 1, every schema write would then fail.
                    "KARAPACE_REPLICATION_FACTOR": str(args.topic_replication),
                    "KARAPACE_GROUP_ID": "schema-registry",
                    "KARAPACE_CLIENT_ID": "schema-registry",
                    "KARAPACE_MASTER_ELIGIBILITY": "true",
                    "KARAPACE_COMPATIBILITY": "BACKWARD",
                    "KARAPACE_LOG_LEVEL": "WARNING",
                },
                ports=[port],
                health=HealthCheck(ready_check(PORT)),
                resources=Resources(memory_mib=256, cpu=0.1),
                depends_on=args.depends_on,
            ),
            self,
        )
        self.url = pulumi.Output.from_input(f"http://{target.host(SERVICE)}:{PORT}")
        self.host_url = pulumi.Output.from_input(f"http://{target.published_endpoint(SERVICE, port)}")
        self.register_outputs({"url": self.url, "host_url": self.host_url})
