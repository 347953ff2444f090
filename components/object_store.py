"""MinIO as the S3-compatible object store, with the pipeline's bucket created on deployment."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import versions
from components.service import HealthCheck, Lifecycle, Port, Resources, ServiceSpec, Target, Volume
from components.settings import ObjectStoreSettings

SERVICE = "minio"
API_PORT = 9000
CONSOLE_PORT = 9001
ACCESS_KEY = "streamstack"


@dataclass(frozen=True)
class ObjectStoreArgs:
    settings: ObjectStoreSettings
    target: Target
    secret_key: pulumi.Input[str]


class ObjectStore(pulumi.ComponentResource):
    """Offers the S3 endpoint (in-network and on the host), the bucket and its credentials."""

    endpoint: pulumi.Output[str]
    host_endpoint: pulumi.Output[str]
    console_url: pulumi.Output[str]
    bucket: pulumi.Output[str]
    access_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]

    def __init__(self, name: str, args: ObjectStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:ObjectStore", name, None, opts)
        settings, target = args.settings, args.target
        api_port = Port("api", API_PORT, settings.api_host_port, http=True)
        console_port = Port("console", CONSOLE_PORT, settings.console_host_port, http=True)
        endpoint = f"http://{target.host(SERVICE)}:{API_PORT}"
        credentials = {"MINIO_ROOT_USER": ACCESS_KEY}
        server = target.run(
            ServiceSpec(
                name=SERVICE,
                image=target.upstream_image(versions.MINIO_IMAGE, self),
                args=["server", "/data", "--console-address", f":{CONSOLE_PORT}"],
                env=credentials,
                secret_env={"MINIO_ROOT_PASSWORD": args.secret_key},
                ports=[api_port, console_port],
                volumes=[Volume("data", "/data")],
                health=HealthCheck("mc ready local", start_period_seconds=10),
                resources=Resources(memory_mib=256, cpu=0.25),
            ),
            self,
        )
        target.run(
            ServiceSpec(
                name="minio-init",
                image=target.upstream_image(versions.MINIO_CLIENT_IMAGE, self),
                lifecycle=Lifecycle.ONE_SHOT,
                entrypoint=["/bin/sh", "-c"],
                args=[
                    f'set -eu; mc alias set store {endpoint} "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"'
                    f" && mc mb --ignore-existing store/{settings.bucket}"
                ],
                env=credentials,
                secret_env={"MINIO_ROOT_PASSWORD": args.secret_key},
                resources=Resources(memory_mib=128, cpu=0.25),
                depends_on=server.resources,
            ),
            self,
        )
        self.endpoint = pulumi.Output.from_input(endpoint)
        self.host_endpoint = pulumi.Output.from_input(f"http://{target.published_endpoint(SERVICE, api_port)}")
        self.console_url = pulumi.Output.from_input(f"http://{target.published_endpoint(SERVICE, console_port)}")
        self.bucket = pulumi.Output.from_input(settings.bucket)
        self.access_key = pulumi.Output.from_input(ACCESS_KEY)
        self.secret_key = pulumi.Output.secret(args.secret_key)
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "host_endpoint": self.host_endpoint,
                "console_url": self.console_url,
                "bucket": self.bucket,
            }
        )
