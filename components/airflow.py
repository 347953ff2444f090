"""Airflow 3 with its PostgreSQL metadata database.

One init task migrates the database and creates the admin user (idempotent, the official image's
own mechanism); then the api-server, scheduler and dag-processor start. DAGs are mounted from
the repository's `dags/`. Connections to the pipeline's services are injected as
`AIRFLOW_CONN_*` from the other components' outputs, so no DAG holds an address or a password.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components import postgres, versions
from components.image_facts import User
from components.service import (
    HealthCheck,
    Image,
    Lifecycle,
    Port,
    Resources,
    ServiceSpec,
    Target,
    curl_check,
)
from components.settings import ToggleSettings

POSTGRES = "postgres"
DATABASE = "airflow"
API_SERVER = "airflow-api-server"
API_PORT = 8080
SCHEDULER_HEALTH_PORT = 8974
ADMIN_USER = "admin"
DAGS_DIR = "/opt/airflow/dags"
LOGS_DIR = "/opt/airflow/logs"
TASK_SLOTS = 4  # [core] parallelism: tasks the scheduler's LocalExecutor runs at once
# Measured on Airflow 3.1.8 (docs/memory.md): the scheduler's process tree idles at 290-330 MiB (PSS) with
# four executor slots, and each running task adds about 115 MiB. The dag-processor with one parsing
# process stays near 320 MiB, plus 157 MiB while its `airflow jobs check` health check runs.
SCHEDULER_MEMORY_MIB = 320 + TASK_SLOTS * 128
AIRFLOW_USER = User(50000, 0)  # the image's airflow user; its entrypoint insists on group 0


def init_script(admin_user: str) -> str:
    """Migrate the metadata database and make the admin user's password the configured one.

    Run by the task itself, not through the image's `_AIRFLOW_DB_MIGRATE`/`_AIRFLOW_WWW_USER_CREATE`,
    which end in `|| true` (scripts/docker/entrypoint_prod.sh): any failure here fails the task, and
    with it the deployment. `users create` leaves an existing user alone (FAB prints "already exist
    in the db" and exits 0), so the password is reset after it.
    """
    admin = f"--username {admin_user}"
    return "\n".join(
        [
            "set -euo pipefail",
            "airflow db migrate",
            f"airflow users create {admin} --role Admin --firstname Airflow --lastname Admin"
            ' --email admin@streamstack.invalid --password "$ADMIN_PASSWORD"',
            f'airflow users reset-password {admin} --password "$ADMIN_PASSWORD"',
            'echo "metadata database migrated; admin user in place"',
        ]
    )


def connection(conn_type: str, **fields: Any) -> pulumi.Output[str]:
    """An Airflow connection in the JSON form accepted by AIRFLOW_CONN_* variables."""
    return pulumi.Output.from_input({"conn_type": conn_type, **fields}).apply(
        lambda value: json.dumps(value, sort_keys=True)
    )


@dataclass(frozen=True)
class _Role:
    """One long-running Airflow process: the service runs `airflow <service without airflow->`."""

    service: str
    ports: list[Port]
    health: str
    cheap: bool  # the health command is cheap enough for a liveness probe
    memory_mib: int
    cpu: float
    launches_containers: bool = False


@dataclass(frozen=True)
class AirflowArgs:
    settings: ToggleSettings
    target: Target
    image: Image
    postgres_password: pulumi.Input[str]
    admin_password: pulumi.Input[str]
    fernet_key: pulumi.Input[str]
    jwt_secret: pulumi.Input[str]
    connections: Mapping[str, pulumi.Input[str]]  # connection id -> JSON; secret when it holds a password
    secret_variables: Mapping[str, pulumi.Input[str]]  # Variable name -> value, masked by Airflow
    deployment_facts: pulumi.Input[str]  # JSON for the `streamstack_deployment` Variable
    depends_on: tuple[pulumi.Resource, ...]


class Airflow(pulumi.ComponentResource):
    """Offers the Airflow UI's URL on the host."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: AirflowArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:Airflow", name, None, opts)
        target = args.target
        database = target.run(
            postgres.server_spec(
                POSTGRES,
                target.upstream_image(versions.POSTGRES, self),
                user=DATABASE,
                database=DATABASE,
                password=args.postgres_password,
                cpu=0.1,
            ),
            self,
        )
        sql_alchemy_conn = pulumi.Output.concat(
            "postgresql+psycopg2://",
            DATABASE,
            ":",
            args.postgres_password,
            f"@{target.host(POSTGRES)}:{postgres.PORT}/{DATABASE}",
        )
        env: dict[str, pulumi.Input[str]] = {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # New DAGs start paused by default: the supervisor and the checks must run after `up`.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            # LocalExecutor forks this many task processes inside the scheduler's container (32 by default).
            "AIRFLOW__CORE__PARALLELISM": str(TASK_SLOTS),
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__CORE__DAGS_FOLDER": DAGS_DIR,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{target.host(API_SERVER)}:{API_PORT}/execution/",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(SCHEDULER_HEALTH_PORT),
            "AIRFLOW_VAR_STREAMSTACK_DEPLOYMENT": args.deployment_facts,
        }
        secret_env: dict[str, pulumi.Input[str]] = {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
            "AIRFLOW__CORE__FERNET_KEY": args.fernet_key,
            "AIRFLOW__API_AUTH__JWT_SECRET": args.jwt_secret,
        }
        secret_env.update({f"AIRFLOW_CONN_{conn_id.upper()}": value for conn_id, value in args.connections.items()})
        secret_env.update({f"AIRFLOW_VAR_{name.upper()}": value for name, value in args.secret_variables.items()})
        init = target.run(
            ServiceSpec(
                name="airflow-init",
                image=args.image,
                lifecycle=Lifecycle.ONE_SHOT,
                # The image's entrypoint waits for the database, then execs bash with these arguments.
                args=["bash", "-c", init_script(ADMIN_USER)],
                env=env,
                secret_env={**secret_env, "ADMIN_PASSWORD": args.admin_password},
                resources=Resources(memory_mib=512, cpu=0.5),
                depends_on=database.resources,
                user=AIRFLOW_USER,
            ),
            self,
        )
        ui_port = Port("http", API_PORT, args.settings.host_port, http=True)
        dags = {DAGS_DIR: "dags"}
        roles = [
            _Role(
                API_SERVER,
                [ui_port],
                curl_check(API_PORT, "/api/v2/version"),
                True,
                448,
                0.2,
            ),
            _Role(
                "airflow-scheduler",
                [Port("health", SCHEDULER_HEALTH_PORT)],
                curl_check(SCHEDULER_HEALTH_PORT, "/health"),
                True,
                SCHEDULER_MEMORY_MIB,
                0.25,
                # The scheduler runs tasks (LocalExecutor): it starts producer containers/pods.
                launches_containers=True,
            ),
            # A CLI that starts a Python interpreter and loads Airflow: Docker's health check and
            # readiness run it every 30 s, liveness not at all (there is no port to probe instead).
            _Role(
                "airflow-dag-processor", [], "airflow jobs check --job-type DagProcessorJob --local", False, 512, 0.25
            ),
        ]
        for role in roles:
            target.run(
                ServiceSpec(
                    name=role.service,
                    image=args.image,
                    args=[role.service.removeprefix("airflow-")],
                    env=env,
                    secret_env=secret_env,
                    ports=role.ports,
                    directories=dags,
                    writes=[LOGS_DIR],
                    health=HealthCheck(
                        role.health, interval_seconds=30, timeout_seconds=20, start_period_seconds=60, cheap=role.cheap
                    ),
                    resources=Resources(memory_mib=role.memory_mib, cpu=role.cpu),
                    depends_on=[*init.resources, *args.depends_on],
                    user=AIRFLOW_USER,
                    launches_containers=role.launches_containers,
                ),
                self,
            )
        self.url = pulumi.Output.from_input(f"http://{target.published_endpoint(API_SERVER, ui_port)}")
        self.register_outputs({"url": self.url})
