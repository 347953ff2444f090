"""Spark standalone: one master and N workers, sized from config.

Master and workers run the streaming job's image: it holds the one Spark of the stack (pyspark at
components.versions.SPARK_VERSION), and executors need the job's code and Python besides.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.service import HealthCheck, Image, Port, Resources, ServiceSpec, Target, Volume, python_http_check
from components.settings import SparkSettings
from components.versions import SPARK_USER, SPARK_WORK_DIR

MASTER = "spark-master"
WORKER = "spark-worker"
MASTER_PORT = 7077
MASTER_UI_PORT = 8080
WORKER_UI_PORT = 8081
# Sizes from parts measured with pyspark 3.5.8 (docs/memory.md): a daemon JVM is its heap plus ~110 MiB;
# an executor JVM its memory setting plus 170-280 MiB; a Python worker running the job's UDF ~60 MiB.
DAEMON_HEAP_MIB = 192  # SPARK_DAEMON_MEMORY: the launcher's -Xmx for Master and Worker
DAEMON_OFF_HEAP_MIB = 128
MASTER_MEMORY_MIB = DAEMON_HEAP_MIB + DAEMON_OFF_HEAP_MIB
EXECUTOR_OFF_HEAP_MIB = 288
PYTHON_WORKER_MIB = 128  # one PySpark worker per executor core: the UDF, then the Cassandra sink's driver
SPARK_CLASS = "spark-class"


@dataclass(frozen=True)
class SparkArgs:
    settings: SparkSettings
    target: Target
    image: Image  # the streaming job's image: executors run the job's code on the same Spark
    executor_memory_mib: int
    executor_cores: int
    shared_volumes: tuple[Volume, ...] = ()  # e.g. the job's checkpoint volume, seen by executors


def executors_per_worker(settings: SparkSettings, executor_memory_mib: int, executor_cores: int) -> int:
    """How many of the job's executors one worker can host: bound by its memory and by its cores."""
    return max(1, min(settings.worker_memory_mib // executor_memory_mib, settings.worker_cores // executor_cores))


def worker_memory_mib(settings: SparkSettings, executor_memory_mib: int, executor_cores: int) -> int:
    """A worker container holds its daemon, then per executor it can host: the executor's heap, its
    off-heap overhead and one Python worker per core. Swap is off, so all of it must fit."""
    executors = executors_per_worker(settings, executor_memory_mib, executor_cores)
    per_executor = executor_memory_mib + EXECUTOR_OFF_HEAP_MIB + executor_cores * PYTHON_WORKER_MIB
    return DAEMON_HEAP_MIB + DAEMON_OFF_HEAP_MIB + executors * per_executor


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
        master_host = target.host(MASTER, 0)
        master_url = f"spark://{master_host}:{MASTER_PORT}"
        ui_port = Port("ui", MASTER_UI_PORT, settings.ui_host_port, http=True)
        daemon_env = {"SPARK_DAEMON_MEMORY": f"{DAEMON_HEAP_MIB}m"}
        master = target.run(
            ServiceSpec(
                name=MASTER,
                image=args.image,
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
                env=daemon_env,
                ports=[Port("rpc", MASTER_PORT), ui_port],
                health=HealthCheck(python_http_check(MASTER_UI_PORT), start_period_seconds=20),
                resources=Resources(memory_mib=MASTER_MEMORY_MIB, cpu=0.1, jvm_heap_mib=DAEMON_HEAP_MIB),
                user=SPARK_USER,
            ),
            self,
        )
        target.run(
            ServiceSpec(
                name=WORKER,
                image=args.image,
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
                    # Executors' scratch space; its default, $SPARK_HOME/work, is not the spark user's.
                    "--work-dir",
                    SPARK_WORK_DIR,
                ],
                env=daemon_env,
                ports=[Port("ui", WORKER_UI_PORT)],
                # The worker's RPC and its executors' block managers listen on ports picked at start.
                listens_beyond_ports=True,
                volumes=list(args.shared_volumes),
                writes=[SPARK_WORK_DIR, "/tmp"],
                health=HealthCheck(python_http_check(WORKER_UI_PORT), start_period_seconds=20),
                resources=Resources(
                    memory_mib=worker_memory_mib(settings, args.executor_memory_mib, args.executor_cores),
                    cpu=float(settings.worker_cores),
                    jvm_heap_mib=DAEMON_HEAP_MIB
                    + executors_per_worker(settings, args.executor_memory_mib, args.executor_cores)
                    * args.executor_memory_mib,
                ),
                depends_on=master.resources,
                user=SPARK_USER,
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
