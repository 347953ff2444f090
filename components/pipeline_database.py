"""The pipeline database of `ingestion: cdc`: PostgreSQL with logical replication, the users table and
its publication. Not Airflow's metadata database: the pipeline's data and Airflow's state have different
owners, sizes and lifetimes.

The producer (and the ingestion DAG's batches) insert events as rows of `users`; Debezium's connector
reads the publication through a replication slot and streams each insert to the events topic.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import postgres, versions
from components.service import Lifecycle, Resources, ServiceSpec, Target
from workloads.contract import postgres_table_ddl

SERVICE = "pipeline-db"
PORT = postgres.PORT
DATABASE = "pipeline"
USER = "pipeline"  # the image makes POSTGRES_USER a superuser: it may replicate and own the publication
TABLE = "users"
PUBLICATION = "streamstack_users"
INIT_SQL = "/streamstack/pipeline-db-init.sql"
# Debezium's connector holds one replication slot and one WAL sender; the rest is headroom for a re-created
# connector whose old slot is not yet dropped.
REPLICATION_SETTINGS = ("wal_level=logical", "max_replication_slots=4", "max_wal_senders=4")


def init_sql(table: str = TABLE, publication: str = PUBLICATION) -> str:
    """Idempotent: the table from the event contract, and a publication of its inserts only (the pipeline's
    events are inserts; an update or delete of a row is not a new event)."""
    return "\n".join(
        [
            postgres_table_ddl(table),
            "DO $$ BEGIN",
            f"  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = '{publication}') THEN",
            f"    CREATE PUBLICATION {publication} FOR TABLE {table} WITH (publish = 'insert');",
            "  END IF;",
            "END $$;",
        ]
    )


@dataclass(frozen=True)
class DatabaseAddress:
    """The users table and how to log in to its database: where the producer writes (ingestion: cdc) and what
    the CDC connector reads, through `publication`."""

    host: str
    port: int
    database: str
    user: str
    table: str
    publication: str
    password: pulumi.Input[str]

    def facts(self) -> dict[str, str | int]:
        """What the DAGs are told (the password travels apart, as a secret)."""
        return {"host": self.host, "port": self.port, "database": self.database, "user": self.user, "table": self.table}


@dataclass(frozen=True)
class PipelineDatabaseArgs:
    target: Target
    password: pulumi.Input[str]


class PipelineDatabase(pulumi.ComponentResource):
    """Offers its `address`: where to write users and what Debezium reads."""

    address: DatabaseAddress

    def __init__(self, name: str, args: PipelineDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:PipelineDatabase", name, None, opts)
        target = args.target
        image = target.upstream_image(versions.POSTGRES, self)
        server = target.run(
            postgres.server_spec(
                SERVICE,
                image,
                user=USER,
                database=DATABASE,
                password=args.password,
                cpu=0.2,
                settings=REPLICATION_SETTINGS,
            ),
            self,
        )
        target.run(
            ServiceSpec(
                name=f"{SERVICE}-init",
                image=image,
                lifecycle=Lifecycle.ONE_SHOT,
                entrypoint=["psql"],
                args=[
                    *("--host", target.host(SERVICE), "--port", str(PORT), "--username", USER, "--dbname", DATABASE),
                    *("--no-psqlrc", "--set", "ON_ERROR_STOP=1", "--file", INIT_SQL),
                ],
                secret_env={"PGPASSWORD": args.password},
                read_only_root=True,
                files={INIT_SQL: init_sql()},
                resources=Resources(memory_mib=64, cpu=0.1),
                depends_on=server.resources,
            ),
            self,
        )
        self.address = DatabaseAddress(
            host=target.host(SERVICE),
            port=PORT,
            database=DATABASE,
            user=USER,
            table=TABLE,
            publication=PUBLICATION,
            password=pulumi.Output.secret(args.password),
        )
        self.register_outputs({"host": self.address.host, "table": TABLE, "publication": PUBLICATION})
