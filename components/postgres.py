"""PostgreSQL from the official image (components/versions.py: POSTGRES), the one way this project runs it:
Airflow's metadata database and the pipeline database of `ingestion: cdc`."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.service import HealthCheck, Image, Port, Resources, ServiceSpec, Volume

PORT = 5432
DATA_DIR = "/var/lib/postgresql/data"


def ready_command(user: str, database: str, port: int = PORT) -> str:
    """Over TCP: during its first initialisation the image runs a socket-only server that is not ready yet.
    (The port is a parameter so tests run the command against a stand-in.)"""
    return f"pg_isready -h 127.0.0.1 -p {port} -U {user} -d {database}"


def server_spec(
    name: str,
    image: Image,
    *,
    user: str,
    database: str,
    password: pulumi.Input[str],
    cpu: float,
    settings: Sequence[str] = (),
) -> ServiceSpec:
    """A server whose entrypoint creates `user` (a superuser) and `database` on first start; `settings` are
    server options (`-c name=value`). The data lives in a subdirectory: a fresh volume's root may hold
    lost+found, which initdb refuses."""
    return ServiceSpec(
        name=name,
        image=image,
        args=["postgres", *(word for setting in settings for word in ("-c", setting))] if settings else None,
        env={"POSTGRES_USER": user, "POSTGRES_DB": database, "PGDATA": f"{DATA_DIR}/pgdata"},
        secret_env={"POSTGRES_PASSWORD": password},
        ports=[Port("sql", PORT)],
        volumes=[Volume("data", DATA_DIR)],
        health=HealthCheck(ready_command(user, database), interval_seconds=5, cheap=True),
        resources=Resources(memory_mib=256, cpu=cpu),
    )
