"""The S3-compatible object store: SeaweedFS in its all-in-one `weed mini` mode.

One container serves the S3 API (path-style, the only style Spark's s3a and the DAGs use), creates
the pipeline's bucket at start when it is missing, and serves an admin console whose login is the
same access key and secret. Why not MinIO: its images are no longer served (README, "Object store").
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import versions
from components.image_facts import User
from components.service import HealthCheck, Port, Resources, ServiceSpec, Target, Volume
from components.settings import ObjectStoreSettings

SERVICE = "object-store"
API_PORT = 8333
CONSOLE_PORT = 23646
FILER_PORT = 8888  # in the container only: it serves every object without authentication
ACCESS_KEY = "streamstack"
DATA_DIR = "/data"
SEAWEED_USER = User(1000, 1000)  # the image's seaweed user, who owns /data in the image
# Not measured here (no image can be pulled): one process runs master, volume server, filer, S3
# gateway and admin UI, and upstream documents no figure; its filer alone idles at 80-90 MB
# (seaweedfs#9035). 512 MiB leaves room for the S3 gateway's upload buffers.
MEMORY_MIB = 512


def server_args(bucket: str) -> list[str]:
    """`weed mini` with the bucket created at start, and the gateways the pipeline does not use off."""
    return [
        "mini",
        f"-dir={DATA_DIR}",
        f"-bucket={bucket}",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # The master reports anonymous cluster statistics to seaweedfs.com unless told not to.
        "-master.telemetry=false",
    ]


def ready_check(bucket: str, api_port: int = API_PORT, filer_port: int = FILER_PORT) -> str:
    """Ready when the S3 API answers and the bucket exists: `weed mini` creates it just after its
    listeners start, and only logs a failure, so the bucket's filer entry is checked too. (The ports
    are parameters so tests can run the command against a stand-in.)"""
    return (
        f"curl -fsS -o /dev/null http://127.0.0.1:{api_port}/healthz"
        f" && curl -fsS -o /dev/null 'http://127.0.0.1:{filer_port}/buckets/{bucket}?metadata=true'"
    )


@dataclass(frozen=True)
class ObjectStoreArgs:
    settings: ObjectStoreSettings
    target: Target
    secret_key: pulumi.Input[str]


class ObjectStore(pulumi.ComponentResource):
    """Offers the S3 endpoint (in-network and on the host), the console, the bucket and its credentials."""

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
        target.run(
            ServiceSpec(
                name=SERVICE,
                image=target.upstream_image(versions.SEAWEEDFS, self),
                args=server_args(settings.bucket),
                # The one S3 identity (an admin: it may create buckets) and the console's login.
                env={"AWS_ACCESS_KEY_ID": ACCESS_KEY, "WEED_ADMIN_USER": ACCESS_KEY},
                secret_env={"AWS_SECRET_ACCESS_KEY": args.secret_key, "WEED_ADMIN_PASSWORD": args.secret_key},
                ports=[api_port, console_port],
                volumes=[Volume("data", DATA_DIR)],
                writes=["/tmp"],  # the filer's and S3 gateway's local sockets
                health=HealthCheck(ready_check(settings.bucket), start_period_seconds=10),
                resources=Resources(memory_mib=MEMORY_MIB, cpu=0.1),
                user=SEAWEED_USER,
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
