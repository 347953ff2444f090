"""Cassandra: N nodes with authentication on, and the events keyspace and table.

The table is generated from the event contract, so the columns the producer writes are the
columns the job stores. The init task is idempotent: it replaces the default `cassandra`
superuser with the pipeline's own role once, then creates keyspace and table IF NOT EXISTS.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import versions
from components.image_facts import User
from components.service import HealthCheck, Lifecycle, Port, Resources, ServiceSpec, Target, Volume, tcp_check
from components.settings import CassandraSettings
from workloads.contract import cassandra_table_ddl

SERVICE = "cassandra"
CQL_PORT = 9042
NODETOOL_HEAP_MIB = 96
HEAP_MIB = 512
NEW_GEN_MIB = 128  # the image's cassandra-env.sh wants both or neither under its default CMS collector
# Beyond -Xmx (cassandra.yaml 4.1 defaults): networking buffers min(128 MiB, heap/16) = 32, the chunk
# cache and buffer pool min(512 MiB, heap/4) = 128, index summaries 5% of heap, and the JVM's own
# metaspace, code cache, GC structures and ~200 thread stacks. Measured (docs/memory.md, Cassandra 3.11
# on a 512 MiB heap under writes and reads): 831 MiB resident anonymous memory, plus page cache.
MEMORY_MIB = 1152
USERNAME = "streamstack"
DATACENTER = "dc1"
SCHEMA_FILE = "/streamstack/schema.cql"
CASSANDRA_USER = User(999, 999)  # the image's cassandra user: the init task needs no root
CONFIG = "/etc/cassandra/cassandra.yaml"

ENABLE_AUTH = (
    f"sed -i -e 's/^authenticator:.*/authenticator: PasswordAuthenticator/'"
    f" -e 's/^authorizer:.*/authorizer: CassandraAuthorizer/' {CONFIG}"
)


def keyspace_cql(keyspace: str, replication_factor: int) -> str:
    return (
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
        f"{{'class': 'NetworkTopologyStrategy', '{DATACENTER}': {replication_factor}}};"
    )


def seed_hosts(target: Target, nodes: int) -> list[str]:
    """Two seeds when there are two or more nodes, so one restart never isolates the ring."""
    return [target.host(SERVICE, i) for i in range(min(nodes, 2))]


def schema_cql(keyspace: str, table: str, replication_factor: int) -> str:
    """The schema file's text: the keyspace, then the events table generated from the contract."""
    return "\n".join([keyspace_cql(keyspace, replication_factor), cassandra_table_ddl(keyspace, table)])


def init_script(contact_point: str, auth_replication: int, port: int = CQL_PORT, schema_file: str = SCHEMA_FILE) -> str:
    """Idempotent bootstrap, run with cqlsh: credentials come only from the environment.

    system_auth is replicated to the nodes before the pipeline's role is created, so the role is
    written to every replica at once: created first, it would live on one node and logins would
    fail at random until a repair. Each run then re-applies that replication (for a grown cluster)
    and locks the default superuser if it is not locked yet (read at CONSISTENCY ALL, so a replica
    that missed the lock cannot hide it), so a run that stopped halfway cannot leave it usable and a
    later run changes nothing. `port` and `schema_file` are parameters so tests can run the script
    against a real node."""
    app_login = f'cqlsh {contact_point} {port} -u "$CASSANDRA_USERNAME" -p "$CASSANDRA_PASSWORD"'
    default_login = f"cqlsh {contact_point} {port} -u cassandra -p cassandra"
    replicate_auth = (
        "ALTER KEYSPACE system_auth WITH replication = "
        f"{{'class': 'NetworkTopologyStrategy', '{DATACENTER}': {auth_replication}}};"
    )
    create_role = (
        "CREATE ROLE IF NOT EXISTS $CASSANDRA_USERNAME WITH PASSWORD = '$CASSANDRA_PASSWORD'"
        " AND LOGIN = true AND SUPERUSER = true;"
    )
    default_role = "CONSISTENCY ALL; SELECT can_login, is_superuser FROM system_auth.roles WHERE role = 'cassandra';"
    lock_default = "ALTER ROLE cassandra WITH PASSWORD = '$RETIRED_PASSWORD' AND LOGIN = false AND SUPERUSER = false;"
    probe = "-e 'SELECT now() FROM system.local' >/dev/null 2>&1"
    return "\n".join(
        [
            "set -eu",
            "ready=false",
            "for attempt in $(seq 1 60); do",
            f"  if {app_login} {probe}; then ready=true; break; fi",
            f'  if {default_login} -e "{replicate_auth} {create_role}" >/dev/null 2>&1; then ready=true; break; fi',
            '  echo "waiting for Cassandra to accept logins (attempt $attempt)"; sleep 5',
            "done",
            'if [ "$ready" != true ]; then echo "Cassandra did not accept a login in 5 minutes" >&2; exit 1; fi',
            f'{app_login} -e "{replicate_auth}"',
            f'default_role=$({app_login} -e "{default_role}")',
            f'case "$default_role" in *True*) {app_login} -e "{lock_default}" ;; esac',
            f"{app_login} -f {schema_file}",
            'echo "keyspace and table are in place"',
        ]
    )


@dataclass(frozen=True)
class CassandraArgs:
    settings: CassandraSettings
    target: Target
    password: pulumi.Input[str]
    retired_default_password: pulumi.Input[str]


class Cassandra(pulumi.ComponentResource):
    """Offers contact points, the port, the keyspace/table and the pipeline role's credentials."""

    contact_points: pulumi.Output[str]
    host_contact_point: pulumi.Output[str]
    port: pulumi.Output[int]
    keyspace: pulumi.Output[str]
    table: pulumi.Output[str]
    username: pulumi.Output[str]
    password: pulumi.Output[str]

    def __init__(self, name: str, args: CassandraArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:Cassandra", name, None, opts)
        settings, target = args.settings, args.target
        image = target.upstream_image(versions.CASSANDRA, self)
        cql_port = Port("cql", CQL_PORT, settings.host_port)
        nodes = target.run(
            ServiceSpec(
                name=SERVICE,
                image=image,
                replicas=settings.nodes,
                entrypoint=["/bin/bash", "-c"],
                args=[f"{ENABLE_AUTH} && exec docker-entrypoint.sh cassandra -f"],
                env={
                    "CASSANDRA_CLUSTER_NAME": "streamstack",
                    "CASSANDRA_SEEDS": ",".join(seed_hosts(target, settings.nodes)),
                    "CASSANDRA_DC": DATACENTER,
                    "CASSANDRA_RACK": "rack1",
                    "CASSANDRA_ENDPOINT_SNITCH": "GossipingPropertyFileSnitch",
                    "CASSANDRA_NUM_TOKENS": "16",
                    "MAX_HEAP_SIZE": f"{HEAP_MIB}M",
                    "HEAP_NEWSIZE": f"{NEW_GEN_MIB}M",
                },
                ports=[cql_port, Port("gossip", 7000, replicas_only=True)],
                volumes=[Volume("data", "/var/lib/cassandra")],
                # Flush memtables and stop serving before SIGTERM, so a restart replays no commit log.
                # nodetool takes its -Xmx from MAX_HEAP_SIZE when set (apache/cassandra bin/nodetool), and
                # this container sets Cassandra's: a small heap of its own keeps it inside the memory limit.
                pre_stop=["sh", "-c", f"MAX_HEAP_SIZE={NODETOOL_HEAP_MIB}m exec nodetool drain"],
                stop_grace_seconds=120,
                health=HealthCheck(
                    tcp_check(CQL_PORT),
                    interval_seconds=10,
                    retries=30,
                    start_period_seconds=60,
                    cheap=True,
                ),
                resources=Resources(memory_mib=MEMORY_MIB, cpu=0.5, jvm_heap_mib=HEAP_MIB),
                # Nodes join the ring one at a time, as Cassandra requires.
                ordered_start=True,
            ),
            self,
        )
        contact_points = [target.host(SERVICE, i) for i in range(settings.nodes)]
        target.run(
            ServiceSpec(
                name="cassandra-init",
                image=image,
                lifecycle=Lifecycle.ONE_SHOT,
                entrypoint=["/bin/bash", "-c"],
                args=[init_script(contact_points[0], min(settings.nodes, 3))],
                env={"CASSANDRA_USERNAME": USERNAME},
                secret_env={"CASSANDRA_PASSWORD": args.password, "RETIRED_PASSWORD": args.retired_default_password},
                files={SCHEMA_FILE: schema_cql(settings.keyspace, settings.table, settings.replication_factor)},
                resources=Resources(memory_mib=256, cpu=0.1),
                depends_on=nodes.resources,
                user=CASSANDRA_USER,
            ),
            self,
        )
        self.contact_points = pulumi.Output.from_input(",".join(contact_points))
        self.host_contact_point = pulumi.Output.from_input(target.published_endpoint(SERVICE, cql_port))
        self.port = pulumi.Output.from_input(CQL_PORT)
        self.keyspace = pulumi.Output.from_input(settings.keyspace)
        self.table = pulumi.Output.from_input(settings.table)
        self.username = pulumi.Output.from_input(USERNAME)
        self.password = pulumi.Output.secret(args.password)
        self.register_outputs(
            {
                "contact_points": self.contact_points,
                "host_contact_point": self.host_contact_point,
                "keyspace": self.keyspace,
                "table": self.table,
                "username": self.username,
                "password": self.password,
            }
        )
