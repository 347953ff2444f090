"""HDFS: a NameNode formatted exactly once, automatically, and N DataNodes.

The NameNode's start command formats only when its metadata directory has no VERSION file, and
`-nonInteractive` makes the format itself refuse to touch an existing directory: a restart, an
upgrade or a second `pulumi up` can never wipe data.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import versions
from components.image_facts import User
from components.service import HealthCheck, Lifecycle, Port, Resources, ServiceSpec, Target, Volume, tcp_check
from components.settings import HdfsSettings

NAMENODE = "hdfs-namenode"
DATANODE = "hdfs-datanode"
RPC_PORT = 8020
NAMENODE_UI_PORT = 9870
DATANODE_PORT = 9866
DATANODE_UI_PORT = 9864
NAME_DIR = "/data/dfs/name"
DATA_DIR = "/data/dfs/data"
CONFIG_DIR = "/opt/hadoop/etc/hadoop"
NAMENODE_HEAP_MIB = 256
DATANODE_HEAP_MIB = 192
CLIENT_OPTS = "-Xmx96m"
PIPELINE_ROOT = "/streamstack"
PIPELINE_USER = "spark"  # the user the streaming job's image runs as
HDFS = "/opt/hadoop/bin/hdfs"  # by absolute path: the image's PATH was not read (components/versions.py)
HADOOP_USER = User(1000, 1000)


def site_xml(properties: dict[str, str]) -> str:
    body = "\n".join(
        f"  <property><name>{name}</name><value>{value}</value></property>"
        for name, value in sorted(properties.items())
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{body}\n</configuration>\n'


def hdfs_site(replication: int, name_dir: str = NAME_DIR, data_dir: str = DATA_DIR) -> dict[str, str]:
    """hdfs-site.xml's properties; the directories are parameters so tests can run them on a real NameNode."""
    return {
        "dfs.namenode.name.dir": f"file://{name_dir}",
        "dfs.datanode.data.dir": f"file://{data_dir}",
        "dfs.replication": str(replication),
        "dfs.namenode.rpc-bind-host": "0.0.0.0",
        "dfs.namenode.http-address": f"0.0.0.0:{NAMENODE_UI_PORT}",
        "dfs.namenode.datanode.registration.ip-hostname-check": "false",
    }


def format_once_command(cluster_id: str, name_dir: str = NAME_DIR, hdfs: str = HDFS) -> str:
    """The NameNode's start command; `name_dir` must be hdfs-site's dfs.namenode.name.dir, and `hdfs`
    the Hadoop command (a parameter so tests run the script against a real NameNode)."""
    return (
        f"if [ ! -f {name_dir}/current/VERSION ]; then"
        f" echo 'formatting new NameNode metadata in {name_dir}';"
        f" {hdfs} namenode -format -nonInteractive -clusterId {cluster_id} || exit 1;"
        f" fi; exec {hdfs} namenode"
    )


@dataclass(frozen=True)
class HdfsArgs:
    settings: HdfsSettings
    target: Target
    cluster_id: str


class Hdfs(pulumi.ComponentResource):
    """Offers the filesystem URL, the pipeline's root directory and the NameNode UI."""

    url: pulumi.Output[str]
    events_path: pulumi.Output[str]
    namenode_host: pulumi.Output[str]
    http_port: pulumi.Output[int]
    ui_url: pulumi.Output[str]

    def __init__(self, name: str, args: HdfsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:Hdfs", name, None, opts)
        settings, target = args.settings, args.target
        image = target.upstream_image(versions.HADOOP, self)
        url = f"hdfs://{target.host(NAMENODE, 0)}:{RPC_PORT}"
        files = {
            f"{CONFIG_DIR}/core-site.xml": site_xml({"fs.defaultFS": url}),
            f"{CONFIG_DIR}/hdfs-site.xml": site_xml(hdfs_site(min(settings.datanodes, 3))),
        }
        ui_port = Port("ui", NAMENODE_UI_PORT, settings.ui_host_port, http=True)
        namenode = target.run(
            ServiceSpec(
                name=NAMENODE,
                image=image,
                entrypoint=["/bin/bash", "-c"],
                args=[format_once_command(args.cluster_id)],
                env={"HDFS_NAMENODE_OPTS": f"-Xmx{NAMENODE_HEAP_MIB}m", "HADOOP_CLIENT_OPTS": CLIENT_OPTS},
                ports=[Port("rpc", RPC_PORT), ui_port],
                volumes=[Volume("data", "/data")],
                files=files,
                # Ready once out of safe mode; alive (liveness) while its RPC port answers, so a long
                # safe mode is waited out rather than restarted.
                health=HealthCheck(
                    f"{HDFS} dfsadmin -safemode get | grep -q OFF", interval_seconds=15, timeout_seconds=10
                ),
                resources=Resources(memory_mib=640, cpu=0.1, jvm_heap_mib=NAMENODE_HEAP_MIB),
                user=HADOOP_USER,
            ),
            self,
        )
        datanodes = target.run(
            ServiceSpec(
                name=DATANODE,
                image=image,
                replicas=settings.datanodes,
                entrypoint=[HDFS],
                args=["datanode"],
                env={"HDFS_DATANODE_OPTS": f"-Xmx{DATANODE_HEAP_MIB}m"},
                ports=[Port("data", DATANODE_PORT), Port("ui", DATANODE_UI_PORT)],
                volumes=[Volume("data", "/data")],
                files=files,
                health=HealthCheck(tcp_check(DATANODE_PORT), cheap=True),
                resources=Resources(memory_mib=384, cpu=0.1, jvm_heap_mib=DATANODE_HEAP_MIB),
                depends_on=namenode.resources,
                user=HADOOP_USER,
            ),
            self,
        )
        target.run(
            ServiceSpec(
                name="hdfs-init",
                image=image,
                lifecycle=Lifecycle.ONE_SHOT,
                entrypoint=["/bin/bash", "-c"],
                args=[
                    f"set -eu; {HDFS} dfs -mkdir -p {PIPELINE_ROOT}"
                    f" && {HDFS} dfs -chown {PIPELINE_USER} {PIPELINE_ROOT} && {HDFS} dfs -ls /"
                ],
                env={"HADOOP_CLIENT_OPTS": CLIENT_OPTS},
                files=files,
                resources=Resources(memory_mib=256, cpu=0.1, jvm_heap_mib=96),
                depends_on=datanodes.resources,
                user=HADOOP_USER,
            ),
            self,
        )
        self.url = pulumi.Output.from_input(url)
        self.events_path = pulumi.Output.from_input(f"{url}{PIPELINE_ROOT}/events")
        self.namenode_host = pulumi.Output.from_input(target.host(NAMENODE, 0))
        self.http_port = pulumi.Output.from_input(NAMENODE_UI_PORT)
        self.ui_url = pulumi.Output.from_input(f"http://{target.published_endpoint(NAMENODE, ui_port)}")
        self.register_outputs({"url": self.url, "events_path": self.events_path, "ui_url": self.ui_url})
