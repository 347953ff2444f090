"""kafbat kafka-ui: browse topics, consumer groups and (when present) registered schemas and connectors."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import versions
from components.service import HealthCheck, Port, Resources, ServiceSpec, Target, wget_check
from components.settings import ToggleSettings

SERVICE = "kafka-ui"
PORT = 8080
HEAP_MIB = 192


@dataclass(frozen=True)
class KafkaUiArgs:
    settings: ToggleSettings
    target: Target
    bootstrap_servers: pulumi.Input[str]
    schema_registry_url: pulumi.Input[str] | None
    depends_on: tuple[pulumi.Resource, ...]
    kafka_connect_url: pulumi.Input[str] | None = None


class KafkaUi(pulumi.ComponentResource):
    """Offers the UI's URL on the host."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: KafkaUiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:KafkaUi", name, None, opts)
        target = args.target
        port = Port("http", PORT, args.settings.host_port, http=True)
        env: dict[str, pulumi.Input[str]] = {
            "KAFKA_CLUSTERS_0_NAME": "streamstack",
            "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS": args.bootstrap_servers,
            "DYNAMIC_CONFIG_ENABLED": "false",
            "JAVA_OPTS": f"-Xms{HEAP_MIB}m -Xmx{HEAP_MIB}m",
        }
        if args.schema_registry_url is not None:
            env["KAFKA_CLUSTERS_0_SCHEMAREGISTRY"] = args.schema_registry_url
        if args.kafka_connect_url is not None:
            env["KAFKA_CLUSTERS_0_KAFKACONNECT_0_NAME"] = "streamstack-connect"
            env["KAFKA_CLUSTERS_0_KAFKACONNECT_0_ADDRESS"] = args.kafka_connect_url
        target.run(
            ServiceSpec(
                name=SERVICE,
                image=target.upstream_image(versions.KAFKA_UI, self),
                env=env,
                ports=[port],
                health=HealthCheck(wget_check(PORT, "/actuator/health"), cheap=True),
                resources=Resources(memory_mib=448, cpu=0.1, jvm_heap_mib=HEAP_MIB),
                depends_on=args.depends_on,
            ),
            self,
        )
        self.url = pulumi.Output.from_input(f"http://{target.published_endpoint(SERVICE, port)}")
        self.register_outputs({"url": self.url})
