"""Karapace, an open-source schema registry with the Confluent-compatible API."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import versions
from components.service import HealthCheck, Port, Resources, ServiceSpec, Target, python_http_check
from components.settings import ToggleSettings

SERVICE = "schema-registry"
PORT = 8081


@dataclass(frozen=True)
class SchemaRegistryArgs:
    settings: ToggleSettings
    target: Target
    bootstrap_servers: pulumi.Input[str]
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
                image=target.upstream_image(versions.KARAPACE_IMAGE, self),
                entrypoint=["python3", "-m", "karapace"],
                env={
                    "KARAPACE_BOOTSTRAP_URI": args.bootstrap_servers,
                    "KARAPACE_HOST": "0.0.0.0",
                    "KARAPACE_PORT": str(PORT),
                    "KARAPACE_ADVERTISED_HOSTNAME": target.host(SERVICE),
                    "KARAPACE_TOPIC_NAME": "_schemas",
                    "KARAPACE_GROUP_ID": "schema-registry",
                    "KARAPACE_CLIENT_ID": "schema-registry",
                    "KARAPACE_MASTER_ELIGIBILITY": "true",
                    "KARAPACE_COMPATIBILITY": "BACKWARD",
                    "KARAPACE_LOG_LEVEL": "WARNING",
                },
                ports=[port],
                health=HealthCheck(python_http_check(PORT, "/_health")),
                resources=Resources(memory_mib=256, cpu=0.25),
                depends_on=args.depends_on,
            ),
            self,
        )
        self.url = pulumi.Output.from_input(f"http://{target.host(SERVICE)}:{PORT}")
        self.host_url = pulumi.Output.from_input(f"http://{target.published_endpoint(SERVICE, port)}")
        self.register_outputs({"url": self.url, "host_url": self.host_url})
