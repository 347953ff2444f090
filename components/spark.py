"""Spark standalone: one master and N workers, sized from config."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import versions
from components.service import HealthCheck, Port, Resources, ServiceSpec, Target, Volume, python_http_check
from components.settings import SparkSettings

MASTER = "spark-master"
WORKER = "spark-worker"
MASTER_PORT = 7077
MASTER_UI_PORT = 8080
WORKER_UI_PORT = 8081
DAEMON_HEAP_MIB = 192
MASTER_MEMORY_MIB = 384
WORKER_OVERHEAD_MIB = 384  # the worker daemon's heap plus JVM overhead of its executors
SPARK_CLASS = "/opt/spark/bin/spark-class"


@dataclass(frozen=True)
class SparkArgs:
    settings: SparkSettings
    target: Target
    worker_image: pulumi.Input[str]  # executors run the job's code: its image, on the same Spark
    shared_volumes: tuple[Volume, ...] = ()  # e.g. the job's checkpoint volume, seen by executors


class Spark(pulumi.ComponentResource):
    """Offers the master URL to submit to and the master UI address."""

    master_url: pulumi.Output[str]
    master_host: pulumi.Output[str]
    master_port: pulumi.Output[int]
    master_ui_port: pulumi.Output[int]
    ui_url: pulumi.Output[str]

    def __init__(self, name: str, args: SparkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:Spark", name, None, opts)
        settings, target = args.settings, args.target
        image = target.upstream_image(versions.SPARK_IMAGE, self)
        master_host = target.host(MASTER, 0)
        master_url = f"spark://{master_host}:{MASTER_PORT}"
        ui_port = Port("ui", MASTER_UI_PORT, settings.ui_host_port, http=True)
        master = target.run(
            ServiceSpec(
                name=MASTER,
                image=image,
                entrypoint=[SPARK_CLASS],
                args=[
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    master_host,
                    "--port",
                    str(MASTER_PORT),
                    "--webui-port",
                    str(MASTER_UI_PORT),
                ],
                env={"SPARK_DAEMON_MEMORY": f"{DAEMON_HEAP_MIB}m", "SPARK_NO_DAEMONIZE": "true"},
                ports=[Port("rpc", MASTER_PORT), ui_port],
                health=HealthCheck(python_http_check(MASTER_UI_PORT), start_period_seconds=20),
                resources=Resources(memory_mib=MASTER_MEMORY_MIB, cpu=0.25, jvm_heap_mib=DAEMON_HEAP_MIB),
                user="185",
            ),
            self,
        )
        target.run(
            ServiceSpec(
                name=WORKER,
                image=args.worker_image,
                replicas=settings.workers,
                entrypoint=[SPARK_CLASS],
                args=[
                    "org.apache.spark.deploy.worker.Worker",
                    master_url,
                    "--cores",
                    str(settings.worker_cores),
                    "--memory",
                    f"{settings.worker_memory_mib}m",
                    "--webui-port",
                    str(WORKER_UI_PORT),
                ],
                env={"SPARK_DAEMON_MEMORY": f"{DAEMON_HEAP_MIB}m", "SPARK_NO_DAEMONIZE": "true"},
                ports=[Port("ui", WORKER_UI_PORT)],
                volumes=list(args.shared_volumes),
                health=HealthCheck(python_http_check(WORKER_UI_PORT), start_period_seconds=20),
                resources=Resources(
                    memory_mib=settings.worker_memory_mib + WORKER_OVERHEAD_MIB,
                    cpu=float(settings.worker_cores),
                    jvm_heap_mib=DAEMON_HEAP_MIB + settings.worker_memory_mib,
                ),
                depends_on=master.resources,
                user="185",
                runs_client_code=True,
            ),
            self,
        )
        self.master_url = pulumi.Output.from_input(master_url)
        self.master_host = pulumi.Output.from_input(master_host)
        self.master_port = pulumi.Output.from_input(MASTER_PORT)
        self.master_ui_port = pulumi.Output.from_input(MASTER_UI_PORT)
        self.ui_url = pulumi.Output.from_input(f"http://{target.published_endpoint(MASTER, ui_port)}")
        self.register_outputs({"master_url": self.master_url, "ui_url": self.ui_url})
