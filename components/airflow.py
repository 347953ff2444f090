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

from components import versions
from components.service import HealthCheck, Lifecycle, Port, Resources, ServiceSpec, Target, Volume
from components.settings import ToggleSettings

POSTGRES = "postgres"
POSTGRES_PORT = 5432
DATABASE = "airflow"
API_SERVER = "airflow-api-server"
API_PORT = 8080
SCHEDULER_HEALTH_PORT = 8974
ADMIN_USER = "admin"
DAGS_DIR = "/opt/airflow/dags"
AIRFLOW_USER = "50000:0"


def connection(conn_type: str, **fields: Any) -> pulumi.Output[str]:
    """An Airflow connection in the JSON form accepted by AIRFLOW_CONN_* variables."""
    return pulumi.Output.from_input({"conn_type": conn_type, **fields}).apply(
        lambda value: json.dumps(value, sort_keys=True)
    )


@dataclass(frozen=True)
class AirflowArgs:
    settings: ToggleSettings
    target: Target
    image: pulumi.Input[str]
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
            ServiceSpec(
                name=POSTGRES,
                image=target.upstream_image(versions.POSTGRES_IMAGE, self),
                env={"POSTGRES_USER": DATABASE, "POSTGRES_DB": DATABASE, "PGDATA": "/var/lib/postgresql/data/pgdata"},
                secret_env={"POSTGRES_PASSWORD": args.postgres_password},
                ports=[Port("sql", POSTGRES_PORT)],
                volumes=[Volume("data", "/var/lib/postgresql/data")],
                health=HealthCheck(f"pg_isready -U {DATABASE} -d {DATABASE}", interval_seconds=5),
                resources=Resources(memory_mib=256, cpu=0.25),
            ),
            self,
        )
        sql_alchemy_conn = pulumi.Output.concat(
            "postgresql+psycopg2://",
            DATABASE,
            ":",
            args.postgres_password,
            f"@{target.host(POSTGRES)}:{POSTGRES_PORT}/{DATABASE}",
        )
        env: dict[str, pulumi.Input[str]] = {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
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
                args=["version"],
                env={
                    **env,
                    "_AIRFLOW_DB_MIGRATE": "true",
                    "_AIRFLOW_WWW_USER_CREATE": "true",
                    "_AIRFLOW_WWW_USER_USERNAME": ADMIN_USER,
                },
                secret_env={**secret_env, "_AIRFLOW_WWW_USER_PASSWORD": args.admin_password},
                resources=Resources(memory_mib=512, cpu=0.5),
                depends_on=database.resources,
                user=AIRFLOW_USER,
            ),
            self,
        )
        ui_port = Port("http", API_PORT, args.settings.host_port, http=True)
        dags = {DAGS_DIR: "dags"}
        roles = [
            (
                API_SERVER,
                ["api-server"],
                [ui_port],
                f"curl --fail --silent http://localhost:{API_PORT}/api/v2/version",
                640,
                False,
            ),
            (
                "airflow-scheduler",
                ["scheduler"],
                [Port("health", SCHEDULER_HEALTH_PORT)],
                f"curl --fail --silent http://localhost:{SCHEDULER_HEALTH_PORT}/health",
                512,
                True,
            ),
            (
                "airflow-dag-processor",
                ["dag-processor"],
                [],
                'airflow jobs check --job-type DagProcessorJob --hostname "$(hostname)"',
                384,
                False,
            ),
        ]
        for service, command, ports, health, memory_mib, runs_tasks in roles:
            target.run(
                ServiceSpec(
                    name=service,
                    image=args.image,
                    args=command,
                    env=env,
                    secret_env=secret_env,
                    ports=ports,
                    directories=dags,
                    health=HealthCheck(health, interval_seconds=30, timeout_seconds=20, start_period_seconds=60),
                    resources=Resources(memory_mib=memory_mib, cpu=0.5),
                    depends_on=[*init.resources, *args.depends_on],
                    user=AIRFLOW_USER,
                    # The scheduler runs tasks (LocalExecutor): it starts producer containers/pods.
                    launches_containers=runs_tasks,
                ),
                self,
            )
        self.url = pulumi.Output.from_input(f"http://{target.published_endpoint(API_SERVER, ui_port)}")
        self.register_outputs({"url": self.url})
