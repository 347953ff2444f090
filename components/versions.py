"""Every upstream image and connector version, in one place, with the facts about each image beside it.

The facts (user, tools, Python, directories, entrypoint, honoured environment, health endpoint) are
what the components rely on; each names the file it was read from, and docs/image-facts.md (generated
by `python -m components.versions facts`) lists them. Tests hold every ServiceSpec of every stack
against them.

The Spark that runs the job (driver, executors and master), its Kafka connector and the pyspark the
tests install all derive from SPARK_VERSION. The Python that runs the job, the producer and the tests
is PYTHON_RELEASE: the job's image is built FROM the producer's Python image, with pyspark from PyPI
at SPARK_VERSION, so all of them agree by construction.
"""

from __future__ import annotations

import sys

from components.image_facts import ROOT, BuiltImage, Directory, Fact, ImageFacts, RootEntrypoint, Source, User

SPARK_VERSION = "3.5.8"
SCALA_BINARY_VERSION = "2.12"
JAVA_RELEASE = "17"
PYTHON_RELEASE = "3.11"
PYTHON_PATCH = "3.11.15"
AIRFLOW_VERSION = "3.1.8"

# Jars baked into the streaming-job image at build time (no --packages at run time).
KAFKA_CLIENTS_VERSION = "3.4.1"  # the kafka-clients release spark-sql-kafka-0-10 3.5.x depends on
HADOOP_AWS_VERSION = "3.3.4"  # the Hadoop client pyspark 3.5 bundles (jars/hadoop-client-api-3.3.4.jar)
AWS_SDK_BUNDLE_VERSION = "1.12.262"  # the aws-java-sdk-bundle hadoop-aws 3.3.4 was built against
COMMONS_POOL2_VERSION = "2.11.1"

TMP = Directory(ROOT, 0o1777)


def job_jars() -> tuple[str, ...]:
    """Maven coordinates (group:artifact:version) of every jar on the streaming job's classpath."""
    scala = SCALA_BINARY_VERSION
    return (
        f"org.apache.spark:spark-sql-kafka-0-10_{scala}:{SPARK_VERSION}",
        f"org.apache.spark:spark-token-provider-kafka-0-10_{scala}:{SPARK_VERSION}",
        f"org.apache.kafka:kafka-clients:{KAFKA_CLIENTS_VERSION}",
        f"org.apache.commons:commons-pool2:{COMMONS_POOL2_VERSION}",
        f"org.apache.hadoop:hadoop-aws:{HADOOP_AWS_VERSION}",
        f"com.amazonaws:aws-java-sdk-bundle:{AWS_SDK_BUNDLE_VERSION}",
    )


# --- python:3.11.15-slim-bookworm: base of the producer and streaming-job images ---------------------
_PY = Source("docker-library/python", "c859f2b9", "3.11/slim-bookworm/Dockerfile")
PYTHON = ImageFacts(
    reference=f"python:{PYTHON_PATCH}-slim-bookworm",
    published=Fact(
        "docker.io",
        Source("docker-library/official-images", "a7e62f56", "library/python", "3.11.15-slim-bookworm; 3.11.16 since"),
    ),
    user=Fact(ROOT, Source(_PY.repository, _PY.ref, _PY.path, "no USER line")),
    tools=Fact(
        frozenset({"sh", "bash", "python3", "python", "pip", "find", "useradd", "groupadd"}),
        Source("debuerreotype/docker-debian-artifacts", "0433c8cc", "bookworm/slim/rootfs.manifest", "no curl, wget"),
    ),
    python=Fact("3.11", Source(_PY.repository, _PY.ref, _PY.path, "ENV PYTHON_VERSION 3.11.15")),
    directories={"/tmp": Fact(TMP, Source("debian", "bookworm", "base-files_12.4+deb12u15.deb", "drwxrwxrwt ./tmp/"))},
    entrypoint=Fact((), Source(_PY.repository, _PY.ref, _PY.path, 'no ENTRYPOINT; CMD ["python3"]')),
    environment=Fact(frozenset(), _PY),
    health=Fact("none: a language runtime", _PY),
)

# --- apache/kafka:4.1.1 ------------------------------------------------------------------------------
_KAFKA = Source("apache/kafka", "4.1.1", "docker/jvm/Dockerfile")
_KAFKA_WRAPPER = Source(
    "apache/kafka",
    "4.1.1",
    "core/src/main/scala/kafka/docker/KafkaDockerWrapper.scala",
    "KAFKA_X_Y -> x.y; the env-derived lines replace server.properties",
)
KAFKA = ImageFacts(
    reference="apache/kafka:4.1.1",
    published=Fact(
        "docker.io", Source("kafka.apache.org", "4.1", "41/getting-started/docker", "docker pull apache/kafka:4.1.1")
    ),
    user=Fact(
        User(1000, 1000),
        Source(
            _KAFKA.repository,
            _KAFKA.ref,
            _KAFKA.path,
            "adduser -D appuser; USER appuser: busybox gives the first free uid, 1000",
        ),
        confirmed=False,
    ),
    tools=Fact(
        frozenset(
            {
                "sh",
                "bash",
                "java",
                "/etc/kafka/docker/run",
                "/opt/kafka/bin/kafka-topics.sh",
                "/opt/kafka/bin/kafka-broker-api-versions.sh",
            }
        ),
        Source(_KAFKA.repository, _KAFKA.ref, _KAFKA.path, "apk add bash; apk del wget; no curl, no python3"),
    ),
    python=Fact(None, _KAFKA),
    directories={
        "/var/lib/kafka/data": Fact(
            Directory(User(1000, 0), 0o775),
            Source(_KAFKA.repository, _KAFKA.ref, _KAFKA.path, "chown appuser:root; ug+w"),
        ),
        "/opt/kafka": Fact(
            Directory(User(1000, 1000), 0o755), Source(_KAFKA.repository, _KAFKA.ref, _KAFKA.path, "chown appuser")
        ),
        "/opt/kafka/config": Fact(
            Directory(User(1000, 1000), 0o755),
            Source(
                "apache/kafka", "4.1.1", "docker/resources/common-scripts/configure", "path /opt/kafka/config/ writable"
            ),
        ),
        "/tmp": Fact(TMP, Source("alpinelinux/aports", "3.22", "main/alpine-baselayout", "/tmp 1777"), confirmed=False),
    },
    entrypoint=Fact(
        ("/__cacert_entrypoint.sh", "/etc/kafka/docker/run"),
        Source(
            _KAFKA.repository, _KAFKA.ref, _KAFKA.path, 'CMD ["/etc/kafka/docker/run"]; ENTRYPOINT from eclipse-temurin'
        ),
    ),
    environment=Fact(
        frozenset(
            {
                "CLUSTER_ID",
                "KAFKA_HEAP_OPTS",
                "KAFKA_NODE_ID",
                "KAFKA_PROCESS_ROLES",
                "KAFKA_CONTROLLER_QUORUM_VOTERS",
                "KAFKA_LISTENERS",
                "KAFKA_ADVERTISED_LISTENERS",
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "KAFKA_CONTROLLER_LISTENER_NAMES",
                "KAFKA_INTER_BROKER_LISTENER_NAME",
                "KAFKA_LOG_DIRS",
                "KAFKA_AUTO_CREATE_TOPICS_ENABLE",
                "KAFKA_NUM_PARTITIONS",
                "KAFKA_DEFAULT_REPLICATION_FACTOR",
                "KAFKA_MIN_INSYNC_REPLICAS",
                "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
                "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
                "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR",
                "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS",
            }
        ),
        _KAFKA_WRAPPER,
    ),
    health=Fact("none in the image; the broker answers ApiVersions on its listeners", _KAFKA),
    notes=(
        "internal topics default to replication factor 3 (share-group state: min ISR 2): set them for smaller clusters",
        "without KAFKA_LOG_DIRS the data lands in /tmp (log.dir default /tmp/kafka-logs)",
    ),
)

# --- ghcr.io/aiven-open/karapace:5.0.3 ---------------------------------------------------------------
_KARAPACE = Source("Aiven-Open/karapace", "5.0.3", "container/Dockerfile")
_KARAPACE_CONFIG = Source(
    "Aiven-Open/karapace", "5.0.3", "src/karapace/core/config.py", 'env_prefix="karapace_"; replication_factor: int = 1'
)
KARAPACE = ImageFacts(
    reference="ghcr.io/aiven-open/karapace:5.0.3",
    published=Fact(
        "ghcr.io",
        Source(
            "Aiven-Open/karapace", "5.0.3", ".github/workflows/container.yml", "pushes ghcr.io/<repo>:<version> per tag"
        ),
        confirmed=False,
    ),
    user=Fact(
        User(999, 0),
        Source(
            _KARAPACE.repository,
            _KARAPACE.ref,
            _KARAPACE.path,
            "useradd --system --gid 0 karapace: uid from the system range",
        ),
        confirmed=False,
    ),
    tools=Fact(
        frozenset({"sh", "bash", "python3", "curl", "wget"}),
        Source(
            "docker-library/buildpack-deps",
            "f82737e3",
            "debian/bullseye/curl/Dockerfile",
            "base of python:3.10.11-bullseye",
        ),
    ),
    python=Fact(
        "3.10",
        Source(_KARAPACE.repository, _KARAPACE.ref, _KARAPACE.path, "python:3.10.11-bullseye; /venv first on PATH"),
    ),
    directories={
        "/opt/karapace": Fact(
            Directory(User(0, 0), 0o775), Source(_KARAPACE.repository, _KARAPACE.ref, _KARAPACE.path, "chgrp 0; g+rwX")
        ),
        "/tmp": Fact(TMP, Source("debian", "bullseye", "base-files", "/tmp 1777"), confirmed=False),
    },
    entrypoint=Fact(
        (),
        Source(_KARAPACE.repository, _KARAPACE.ref, _KARAPACE.path, "no ENTRYPOINT; compose runs python3 -m karapace"),
    ),
    environment=Fact(
        frozenset(
            {
                "KARAPACE_BOOTSTRAP_URI",
                "KARAPACE_HOST",
                "KARAPACE_PORT",
                "KARAPACE_ADVERTISED_HOSTNAME",
                "KARAPACE_TOPIC_NAME",
                "KARAPACE_GROUP_ID",
                "KARAPACE_CLIENT_ID",
                "KARAPACE_MASTER_ELIGIBILITY",
                "KARAPACE_COMPATIBILITY",
                "KARAPACE_LOG_LEVEL",
                "KARAPACE_REPLICATION_FACTOR",
            }
        ),
        _KARAPACE_CONFIG,
    ),
    health=Fact(
        "GET /_health: 503 when unhealthy, 200 with status.schema_registry_ready once it has read the schemas",
        Source("Aiven-Open/karapace", "5.0.3", "src/karapace/api/routers/health.py"),
    ),
    notes=("the `karapace` console script is broken in 5.0.3: start it with python3 -m karapace",),
)

# --- ghcr.io/kafbat/kafka-ui:v1.4.2 ------------------------------------------------------------------
_KAFKA_UI = Source("kafbat/kafka-ui", "v1.4.2", "api/Dockerfile")
KAFKA_UI = ImageFacts(
    reference="ghcr.io/kafbat/kafka-ui:v1.4.2",
    published=Fact(
        "ghcr.io",
        Source(
            "kafbat/kafka-ui", "v1.4.2", ".github/workflows/docker_publish.yml", "registry: docker.io, ghcr.io, ecr"
        ),
        confirmed=False,
    ),
    user=Fact(
        User(100, 101),
        Source(
            _KAFKA_UI.repository, _KAFKA_UI.ref, _KAFKA_UI.path, "adduser -S kafkaui: first free system ids on alpine"
        ),
        confirmed=False,
    ),
    tools=Fact(
        frozenset({"sh", "wget", "java"}),
        Source(
            "zulu-openjdk/zulu-openjdk",
            "96ef9859",
            "alpine/21.0.8-21.44-jre-headless/Dockerfile",
            "busybox wget; no curl",
        ),
    ),
    python=Fact(None, _KAFKA_UI),
    directories={
        "/tmp": Fact(TMP, Source("alpinelinux/aports", "3.20", "main/alpine-baselayout", "/tmp 1777"), confirmed=False)
    },
    entrypoint=Fact(
        ("sh", "-c", "java --add-opens java.rmi/javax.rmi.ssl=ALL-UNNAMED $JAVA_OPTS -jar api.jar"),
        Source(_KAFKA_UI.repository, _KAFKA_UI.ref, _KAFKA_UI.path, "shell-form CMD"),
    ),
    environment=Fact(
        frozenset(
            {
                "KAFKA_CLUSTERS_0_NAME",
                "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS",
                "KAFKA_CLUSTERS_0_SCHEMAREGISTRY",
                "KAFKA_CLUSTERS_0_KAFKACONNECT_0_NAME",
                "KAFKA_CLUSTERS_0_KAFKACONNECT_0_ADDRESS",
                "DYNAMIC_CONFIG_ENABLED",
                "JAVA_OPTS",
            }
        ),
        Source("kafbat/kafka-ui", "v1.4.2", "api/src/main/java/io/kafbat/ui/config/ClustersProperties.java"),
    ),
    health=Fact("GET /actuator/health on 8080", Source("kafbat/kafka-ui", "v1.4.2", "README.md")),
)

# --- apache/hadoop:3.4.1 (HDFS) ----------------------------------------------------------------------
_HADOOP_PR = Source(
    "apache/hadoop",
    "PR #7135",
    "HADOOP-19322",
    "the 3.4.1 image: /opt/hadoop/share/hadoop/common/hadoop-common-3.4.1.jar",
)
_HADOOP_RUNNER = Source(
    "apache/hadoop", "02cf9518", "Dockerfile", "a hadoop-runner Dockerfile; the 3.4.1 image's runner was not read"
)
HADOOP = ImageFacts(
    reference="apache/hadoop:3.4.1",
    published=Fact("docker.io", _HADOOP_PR, confirmed=False),
    user=Fact(User(1000, 100), _HADOOP_RUNNER, confirmed=False),
    tools=Fact(
        frozenset({"sh", "bash", "java", "/opt/hadoop/bin/hdfs", "sudo"}),
        Source("apache/hadoop", "2a89d85e", "scripts/starter.sh", "#!/usr/bin/env bash; sudo chmod o+rwx /data"),
        confirmed=False,
    ),
    python=Fact(
        None,
        Source("apache/hadoop", "527b43b6", "scripts/envtoconf.py", "needs a python; its version was not read"),
        confirmed=False,
    ),
    directories={
        "/data": Fact(
            Directory(ROOT, 0o755),
            Source(
                "apache/hadoop",
                "2a89d85e",
                "scripts/starter.sh",
                "starter.sh makes /data world-writable with sudo: the image does not",
            ),
            confirmed=False,
        ),
        "/tmp": Fact(TMP, _HADOOP_RUNNER, confirmed=False),
    },
    entrypoint=Fact(("/usr/local/bin/dumb-init", "--", "/opt/starter.sh"), _HADOOP_RUNNER, confirmed=False),
    environment=Fact(
        frozenset({"HDFS_NAMENODE_OPTS", "HDFS_DATANODE_OPTS", "HADOOP_CLIENT_OPTS"}),
        Source(
            "apache/hadoop",
            "3.x",
            "hadoop-common-project/hadoop-common/src/main/bin/hadoop-functions.sh",
            "hadoop_subcommand_opts: <PROGRAM>_<COMMAND>_OPTS",
        ),
        confirmed=False,
    ),
    health=Fact("NameNode web UI on 9870; `hdfs dfsadmin -safemode get`", _HADOOP_PR, confirmed=False),
    notes=(
        "the Dockerfiles behind 3.4.1 (branch docker-hadoop-3.4 and its runner) could not be read: facts come from "
        "older runner Dockerfiles and the release PR; the deployment does not depend on /data's mode (Docker chowns "
        "a fresh volume in a one-shot task; Kubernetes sets fsGroup)",
    ),
)

# --- cassandra:4.1.11-bookworm -----------------------------------------------------------------------
_CASSANDRA = Source("docker-library/cassandra", "f304ac2a", "4.1/Dockerfile")
_CASSANDRA_ENTRYPOINT = Source("docker-library/cassandra", "f304ac2a", "4.1/docker-entrypoint.sh")
CASSANDRA = ImageFacts(
    reference="cassandra:4.1.11-bookworm",
    published=Fact(
        "docker.io",
        Source(
            "docker-library/official-images",
            "0b1710a1",
            "library/cassandra",
            "Tags: 4.1.11, 4.1.11-bookworm; 4.1.12 since",
        ),
    ),
    user=Fact(ROOT, Source(_CASSANDRA.repository, _CASSANDRA.ref, _CASSANDRA.path, "no USER line")),
    root_entrypoint=Fact(
        RootEntrypoint(
            "docker-entrypoint.sh",
            User(999, 999),
            ("/var/lib/cassandra", "/var/log/cassandra", "/etc/cassandra"),
        ),
        Source(
            _CASSANDRA_ENTRYPOINT.repository,
            _CASSANDRA_ENTRYPOINT.ref,
            _CASSANDRA_ENTRYPOINT.path,
            "chown, then exec gosu cassandra",
        ),
    ),
    tools=Fact(
        frozenset({"sh", "bash", "python3", "cqlsh", "nodetool", "docker-entrypoint.sh", "sed", "java"}),
        Source(_CASSANDRA.repository, _CASSANDRA.ref, _CASSANDRA.path, "python3 for cqlsh; wget purged; no curl"),
    ),
    python=Fact(
        "3.11",
        Source(_CASSANDRA.repository, _CASSANDRA.ref, _CASSANDRA.path, "FROM debian:bookworm-slim; apt python3 3.11.2"),
    ),
    directories={
        "/var/lib/cassandra": Fact(
            Directory(User(999, 999), 0o1777),
            Source(_CASSANDRA.repository, _CASSANDRA.ref, _CASSANDRA.path, "chmod 1777"),
        ),
        "/etc/cassandra": Fact(
            Directory(User(999, 999), 0o1777),
            Source(_CASSANDRA.repository, _CASSANDRA.ref, _CASSANDRA.path, "chmod 1777; a+rwX"),
        ),
        "/var/log/cassandra": Fact(
            Directory(User(999, 999), 0o1777),
            Source(_CASSANDRA.repository, _CASSANDRA.ref, _CASSANDRA.path, "chown -R cassandra; chmod 1777"),
        ),
        "/tmp": Fact(TMP, Source("debian", "bookworm", "base-files_12.4+deb12u15.deb", "drwxrwxrwt ./tmp/")),
    },
    entrypoint=Fact(
        ("docker-entrypoint.sh", "cassandra", "-f"),
        Source(
            _CASSANDRA.repository,
            _CASSANDRA.ref,
            _CASSANDRA.path,
            'ENTRYPOINT ["docker-entrypoint.sh"]; CMD ["cassandra", "-f"]',
        ),
    ),
    environment=Fact(
        frozenset(
            {
                "CASSANDRA_CLUSTER_NAME",
                "CASSANDRA_SEEDS",
                "CASSANDRA_DC",
                "CASSANDRA_RACK",
                "CASSANDRA_ENDPOINT_SNITCH",
                "CASSANDRA_NUM_TOKENS",
                "MAX_HEAP_SIZE",
                "HEAP_NEWSIZE",
            }
        ),
        Source(
            _CASSANDRA_ENTRYPOINT.repository,
            _CASSANDRA_ENTRYPOINT.ref,
            _CASSANDRA_ENTRYPOINT.path,
            "MAX_HEAP_SIZE/HEAP_NEWSIZE: conf/cassandra-env.sh, set both under CMS",
        ),
    ),
    health=Fact("CQL on 9042 (rpc_address 0.0.0.0)", _CASSANDRA_ENTRYPOINT),
    notes=(
        "the default superuser logs in at QUORUM, other roles at LOCAL_QUORUM; system_auth starts with RF 1",
        "off heap beyond -Xmx: networking buffers min(128 MiB, heap/16), chunk cache min(512 MiB, heap/4) when used",
    ),
)

# --- quay.io/debezium/connect:3.6.0.Final (Kafka Connect 4.3.0 with Debezium's connectors) ------------
# Debezium stopped publishing to Docker Hub with 3.0.1.Final (CHANGELOG.md: "Stop publishing of container
# images into Docker Hub [DBZ-8327]"): quay.io is its registry. 3.6.0.Final is the newest release whose image
# definition could be read; its tags are rebuilt by later release jobs, hence the digest pin (make pin-digests).
_CONNECT_REPO, _CONNECT_TAG = "debezium/container-images", "v3.6.0.Final"
_CONNECT = Source(_CONNECT_REPO, _CONNECT_TAG, "connect-base/3.6/Dockerfile")
_CONNECT_KAFKA = Source(_CONNECT_REPO, _CONNECT_TAG, "kafka/3.6/Dockerfile")
_CONNECT_ENTRYPOINT = Source(_CONNECT_REPO, _CONNECT_TAG, "connect-base/3.6/docker-entrypoint.sh")
_CONNECT_HOME = Directory(User(1001, 1001), 0o777)
KAFKA_CONNECT = ImageFacts(
    reference="quay.io/debezium/connect:3.6.0.Final",
    published=Fact(
        "quay.io",
        Source(_CONNECT_REPO, _CONNECT_TAG, "build-debezium-multiplatform.sh", "DEBEZIUM_DOCKER_REGISTRY_PRIMARY_NAME"),
    ),
    user=Fact(
        User(1001, 1001),
        Source(
            _CONNECT_KAFKA.repository, _CONNECT_TAG, _CONNECT_KAFKA.path, "useradd -u 1001 -g kafka(1001); USER kafka"
        ),
    ),
    tools=Fact(
        frozenset({"sh", "bash", "curl", "java", "/docker-entrypoint.sh"}),
        Source(
            _CONNECT_KAFKA.repository,
            _CONNECT_TAG,
            _CONNECT_KAFKA.path,
            "fedora-minimal:41 + java-21-openjdk; curl used in RUN without installing it; no wget, no python3",
        ),
        confirmed=False,
    ),
    python=Fact(None, _CONNECT_KAFKA),
    directories={
        path: Fact(_CONNECT_HOME, Source(_CONNECT_KAFKA.repository, _CONNECT_TAG, _CONNECT_KAFKA.path, why))
        for path, why in {
            "/kafka": "chown -R kafka; chmod -R g+w,o+w $KAFKA_HOME",
            "/kafka/config": "VOLUME; the entrypoint rewrites connect-distributed.properties at every start",
            "/kafka/logs": "VOLUME; log4j's connect-service.log",
            "/kafka/data": "VOLUME; unused in distributed mode (state lives in Kafka topics)",
        }.items()
    }
    | {"/tmp": Fact(TMP, Source("fedora", "41", "filesystem package", "/tmp 1777"), confirmed=False)},
    entrypoint=Fact(
        ("/docker-entrypoint.sh", "start"),
        Source(_CONNECT.repository, _CONNECT_TAG, _CONNECT.path, 'ENTRYPOINT ["/docker-entrypoint.sh"]; CMD ["start"]'),
    ),
    environment=Fact(
        frozenset(
            {
                "BOOTSTRAP_SERVERS",
                "GROUP_ID",
                "CONFIG_STORAGE_TOPIC",
                "OFFSET_STORAGE_TOPIC",
                "STATUS_STORAGE_TOPIC",
                "ADVERTISED_HOST_NAME",
                "OFFSET_FLUSH_INTERVAL_MS",
                "HEAP_OPTS",
                # Every other CONNECT_X_Y becomes the worker property x.y (values echoed to the log: no secrets).
                "CONNECT_*",
            }
        ),
        _CONNECT_ENTRYPOINT,
    ),
    health=Fact(
        "GET /health on 8083: 200 once the worker's herder runs, 503 while it starts (Kafka 3.9+, KIP-1017)",
        Source(
            "apache/kafka",
            "3.9.0",
            "connect/runtime/src/main/java/org/apache/kafka/connect/runtime/rest/resources/RootResource.java",
        ),
    ),
    notes=(
        "the short names (GROUP_ID, CONFIG_STORAGE_TOPIC...) overwrite their CONNECT_* forms: set the short ones",
        "REST_PORT and REST_HOST_NAME are dead since Kafka 3.0; the REST API listens on every interface on 8083",
        "a secret named in ${env:NAME} must not start with CONNECT_, or the entrypoint writes and logs it",
        "the worker creates missing internal topics with its own settings; the deployment creates them first",
        "config.providers=env with org.apache.kafka.common.config.provider.EnvVarConfigProvider (Kafka 3.5+,"
        " KIP-887) resolves ${env:NAME}, in validate too: run on Connect 4.3 by tests/integration/test_cdc_*.py",
        "right after PUT /connectors/NAME/config, GET .../status answers 404 for a moment (measured on Connect 4.3)",
        "an updated connector is restarted after its PUT answers; GET .../status shows the old RUNNING until the"
        " restart's UNASSIGNED arrives (seen on Connect 4.3 by tests/integration/test_cdc_pipeline.py)",
    ),
)

# --- postgres:16.13-bookworm (Airflow's metadata database) --------------------------------------------
_POSTGRES = Source("docker-library/postgres", "31041e40", "16/bookworm/Dockerfile")
_POSTGRES_ENTRYPOINT = Source("docker-library/postgres", "31041e40", "16/bookworm/docker-entrypoint.sh")
POSTGRES = ImageFacts(
    reference="postgres:16.13-bookworm",
    published=Fact(
        "docker.io",
        Source("docker-library/official-images", "a7e62f56", "library/postgres", "Tags: 16.13-bookworm; 16.15 since"),
    ),
    user=Fact(ROOT, Source(_POSTGRES.repository, _POSTGRES.ref, _POSTGRES.path, "no USER line")),
    root_entrypoint=Fact(
        RootEntrypoint("docker-entrypoint.sh", User(999, 999), ("/var/lib/postgresql/data", "/var/run/postgresql")),
        Source(
            _POSTGRES_ENTRYPOINT.repository,
            _POSTGRES_ENTRYPOINT.ref,
            _POSTGRES_ENTRYPOINT.path,
            "chown as root, exec gosu postgres",
        ),
    ),
    tools=Fact(
        frozenset({"sh", "bash", "pg_isready", "psql", "docker-entrypoint.sh"}),
        Source(_POSTGRES.repository, _POSTGRES.ref, _POSTGRES.path, "PATH has /usr/lib/postgresql/16/bin; wget purged"),
    ),
    python=Fact(None, _POSTGRES),
    directories={
        "/var/lib/postgresql": Fact(
            Directory(User(999, 999), 0o1777),
            Source(_POSTGRES.repository, _POSTGRES.ref, _POSTGRES.path, "--mode 1777"),
        ),
        "/var/lib/postgresql/data": Fact(
            Directory(User(999, 999), 0o1777),
            Source(_POSTGRES.repository, _POSTGRES.ref, _POSTGRES.path, "PGDATA, 0700 at run time"),
        ),
        "/var/run/postgresql": Fact(
            Directory(User(999, 999), 0o3777),
            Source(_POSTGRES.repository, _POSTGRES.ref, _POSTGRES.path, "install --owner postgres --mode 3777"),
        ),
        "/tmp": Fact(TMP, Source("debian", "bookworm", "base-files_12.4+deb12u15.deb", "drwxrwxrwt ./tmp/")),
    },
    entrypoint=Fact(
        ("docker-entrypoint.sh", "postgres"),
        Source(
            _POSTGRES.repository, _POSTGRES.ref, _POSTGRES.path, 'ENTRYPOINT ["docker-entrypoint.sh"]; CMD ["postgres"]'
        ),
    ),
    environment=Fact(
        frozenset({"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD", "PGDATA", "PGPASSWORD"}),
        Source(
            _POSTGRES_ENTRYPOINT.repository,
            _POSTGRES_ENTRYPOINT.ref,
            _POSTGRES_ENTRYPOINT.path,
            "POSTGRES_* and PGDATA; PGPASSWORD is libpq's own, read by psql (PostgreSQL docs: libpq-envars)",
        ),
    ),
    health=Fact("pg_isready", _POSTGRES),
)

# --- chrislusf/seaweedfs:4.44 (the S3-compatible object store) ----------------------------------------
_SEAWEED = Source("seaweedfs/seaweedfs", "4.44", "docker/Dockerfile.go_build")
_SEAWEED_MINI = Source("seaweedfs/seaweedfs", "4.44", "weed/command/mini.go")
SEAWEEDFS = ImageFacts(
    reference="chrislusf/seaweedfs:4.44",
    published=Fact(
        "docker.io",
        Source(
            "seaweedfs/seaweedfs",
            "4.44",
            ".github/workflows/container_release_unified.yml",
            "crane copy to chrislusf/seaweedfs:<tag>",
        ),
        confirmed=False,
    ),
    user=Fact(ROOT, Source(_SEAWEED.repository, _SEAWEED.ref, _SEAWEED.path, "no USER line")),
    root_entrypoint=Fact(
        RootEntrypoint("/entrypoint.sh", User(1000, 1000), ("/data",)),
        Source(
            "seaweedfs/seaweedfs",
            "4.44",
            "docker/entrypoint.sh",
            "as root: chown /data, exec su-exec seaweed; else skips both",
        ),
    ),
    tools=Fact(
        frozenset({"sh", "curl", "wget", "/entrypoint.sh", "weed"}),
        Source(_SEAWEED.repository, _SEAWEED.ref, _SEAWEED.path, "apk add fuse curl su-exec; alpine busybox"),
    ),
    python=Fact(None, _SEAWEED),
    directories={
        "/data": Fact(
            Directory(User(1000, 1000), 0o755),
            Source(_SEAWEED.repository, _SEAWEED.ref, _SEAWEED.path, "chown -R seaweed:seaweed /data"),
        ),
        "/tmp": Fact(TMP, Source("alpinelinux/aports", "edge", "main/alpine-baselayout", "/tmp 1777"), confirmed=False),
    },
    entrypoint=Fact(
        ("/entrypoint.sh", "mini", "-dir=/data"),
        Source(
            _SEAWEED.repository,
            _SEAWEED.ref,
            _SEAWEED.path,
            'ENTRYPOINT ["/entrypoint.sh"]; CMD ["mini", "-dir=/data"]',
        ),
    ),
    environment=Fact(
        frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "WEED_ADMIN_USER", "WEED_ADMIN_PASSWORD"}),
        Source(
            "seaweedfs/seaweedfs",
            "4.44",
            "weed/s3api/auth_credentials.go",
            "one static admin identity from AWS_*; admin UI from WEED_ADMIN_*",
        ),
    ),
    health=Fact(
        "GET /healthz on the S3 port 8333 (no auth); a bucket's filer entry GET /buckets/<name>?metadata=true on 8888",
        Source("seaweedfs/seaweedfs", "4.44", "weed/s3api/s3api_server.go"),
    ),
    notes=(
        "`weed mini -bucket=<name>` creates the bucket at start if missing, and only logs a failure",
        "without AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, S3 authentication is off",
        "without WEED_ADMIN_PASSWORD, the admin UI is open to anyone",
        "the filer port 8888 serves every object without authentication: never publish it",
    ),
)

# --- apache/airflow:3.1.8-python3.11 -----------------------------------------------------------------
_AIRFLOW = Source(
    "apache/airflow", "0060b1a4", "Dockerfile", "main; its user, directory and entrypoint lines match a 3.1.5 copy"
)
_AIRFLOW_CONFIG = Source("apache/airflow-core", "3.1.3", "src/airflow/config_templates/config.yml", "PyPI sdist")
AIRFLOW = ImageFacts(
    reference=f"apache/airflow:{AIRFLOW_VERSION}-python{PYTHON_RELEASE}",
    published=Fact(
        "docker.io",
        Source(
            "airflow.apache.org", "stable", "docs/docker-stack/index.html", "every release for every supported Python"
        ),
        confirmed=False,
    ),
    user=Fact(
        User(50000, 0),
        Source(_AIRFLOW.repository, _AIRFLOW.ref, _AIRFLOW.path, 'AIRFLOW_UID="50000"; --gid "0"; USER ${AIRFLOW_UID}'),
    ),
    tools=Fact(
        frozenset({"sh", "bash", "curl", "wget", "python3", "python", "airflow", "/entrypoint"}),
        Source(_AIRFLOW.repository, _AIRFLOW.ref, _AIRFLOW.path, "RUNTIME_APT_DEPS curl, wget"),
    ),
    python=Fact(
        "3.11",
        Source(
            _AIRFLOW.repository, _AIRFLOW.ref, _AIRFLOW.path, "python built into /usr/python from the tag's version"
        ),
    ),
    directories={
        "/opt/airflow": Fact(
            Directory(User(50000, 0), 0o775),
            Source(_AIRFLOW.repository, _AIRFLOW.ref, _AIRFLOW.path, "chown airflow:0; g+rw"),
        ),
        "/opt/airflow/logs": Fact(
            Directory(User(50000, 0), 0o775), Source(_AIRFLOW.repository, _AIRFLOW.ref, _AIRFLOW.path, "mkdir logs")
        ),
        "/tmp": Fact(TMP, Source("debian", "bookworm", "base-files_12.4+deb12u15.deb", "drwxrwxrwt ./tmp/")),
    },
    entrypoint=Fact(
        ("/usr/bin/dumb-init", "--", "/entrypoint"),
        Source(
            "apache/airflow",
            "424b6e9c",
            "scripts/docker/entrypoint_prod.sh",
            "`airflow db migrate || true`: the entrypoint swallows migration and user-creation errors",
        ),
    ),
    environment=Fact(
        frozenset(
            {
                "AIRFLOW__CORE__EXECUTOR",
                "AIRFLOW__CORE__AUTH_MANAGER",
                "AIRFLOW__CORE__LOAD_EXAMPLES",
                "AIRFLOW__CORE__DAGS_FOLDER",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION",
                "AIRFLOW__CORE__PARALLELISM",
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
                "AIRFLOW__CORE__FERNET_KEY",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                "AIRFLOW__API_AUTH__JWT_SECRET",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT",
                "AIRFLOW_CONN_*",
                "AIRFLOW_VAR_*",
                "CONNECTION_CHECK_MAX_COUNT",
            }
        ),
        _AIRFLOW_CONFIG,
    ),
    health=Fact(
        "api-server GET /api/v2/version on 8080; scheduler GET /health on 8974 when enabled",
        Source("apache/airflow-core", "3.1.3", "src/airflow/utils/scheduler_health.py"),
    ),
    notes=(
        "3.1.3's image leaked kernel memory under exec health checks (fixed in 3.1.4): hence 3.1.8",
        "[core] dags_are_paused_at_creation defaults to True",
    ),
)


# --- images built from this repository -----------------------------------------------------------------
def _ours(dockerfile: str, note: str) -> Source:
    return Source("streamstack", "HEAD", dockerfile, note)


_JOB_DOCKERFILE = "workloads/streaming_job/Dockerfile"
SPARK_USER = User(185, 185)
SPARK_WORK_DIR = "/var/lib/spark/work"  # the standalone worker's scratch space (default $SPARK_HOME/work)
CHECKPOINT_DIR = "/checkpoints"

STREAMING_JOB = BuiltImage(
    name="streaming-job",
    dockerfile=_JOB_DOCKERFILE,
    build_args={
        "BASE_IMAGE": PYTHON.reference,
        "JAVA_RELEASE": JAVA_RELEASE,
        "SPARK_VERSION": SPARK_VERSION,
        "PYTHON_RELEASE": PYTHON_RELEASE,
        "JOB_JARS": " ".join(job_jars()),
    },
    facts=PYTHON.derive(
        "streamstack/streaming-job",
        _ours(_JOB_DOCKERFILE, "Debian's JRE, pyspark from PyPI, the job; USER 185"),
        user=SPARK_USER,
        tools={"java", "spark-class", "spark-submit", "/opt/streamstack/entrypoint.sh"},
        directories={
            CHECKPOINT_DIR: Directory(SPARK_USER, 0o775),
            "/var/lib/spark": Directory(SPARK_USER, 0o755),
            SPARK_WORK_DIR: Directory(SPARK_USER, 0o755),
        },
        entrypoint=("/opt/streamstack/entrypoint.sh",),
        environment={
            "SPARK_DAEMON_MEMORY",  # spark-launcher's SparkClassCommandBuilder: -Xmx of Master and Worker
            # workloads/streaming_job/config.py (docs/interfaces.md)
            "KAFKA_BOOTSTRAP_SERVERS",
            "EVENTS_TOPIC",
            "DEAD_LETTER_TOPIC",
            "SPARK_MASTER_URL",
            "SPARK_DRIVER_HOST",
            "SPARK_DRIVER_PORT",
            "SPARK_BLOCK_MANAGER_PORT",
            "SINKS",
            "CASSANDRA_HOSTS",
            "CASSANDRA_PORT",
            "CASSANDRA_KEYSPACE",
            "CASSANDRA_TABLE",
            "CASSANDRA_USERNAME",
            "CASSANDRA_PASSWORD",
            "S3_ENDPOINT",
            "S3_BUCKET",
            "S3_ACCESS_KEY",
            "S3_SECRET_KEY",
            "HDFS_URL",
            "CHECKPOINT_LOCATION",
            "TRIGGER_INTERVAL",
            "MAX_OFFSETS_PER_TRIGGER",
            "SHUFFLE_PARTITIONS",
            "EXECUTOR_MEMORY",
            "EXECUTOR_CORES",
            "DRIVER_MEMORY",
            "HEALTH_FILE",
        },
        health="the job touches HEALTH_FILE while its query is active; master and worker serve their web UI",
    ),
)

_PRODUCER_DOCKERFILE = "workloads/producer/Dockerfile"
PRODUCER = BuiltImage(
    name="producer",
    dockerfile=_PRODUCER_DOCKERFILE,
    build_args={"BASE_IMAGE": PYTHON.reference},
    facts=PYTHON.derive(
        "streamstack/producer",
        _ours(_PRODUCER_DOCKERFILE, "USER 10001"),
        user=User(10001, 10001),
        entrypoint=("python", "-m", "workloads.producer"),
        # workloads/producer/cli.py (docs/interfaces.md)
        environment={
            "KAFKA_BOOTSTRAP_SERVERS",
            "EVENTS_TOPIC",
            "EVENTS_PER_SECOND",
            "PRODUCER_SOURCE",
            "RANDOMUSER_URL",
            "PSEUDONYM_KEY",
            "SCHEMA_REGISTRY_URL",
            "HEALTH_FILE",
            "PRODUCER_SINK",
            "PIPELINE_DB_HOST",
            "PIPELINE_DB_PORT",
            "PIPELINE_DB_NAME",
            "PIPELINE_DB_USER",
            "PIPELINE_DB_PASSWORD",
            "PIPELINE_DB_TABLE",
            # workloads/connect/apply.py
            "CONNECT_URL",
            "CONNECTORS",
        },
        health="the producer touches HEALTH_FILE while deliveries progress",
    ),
)

_AIRFLOW_DOCKERFILE = "workloads/airflow/Dockerfile"
AIRFLOW_IMAGE = BuiltImage(
    name="airflow",
    dockerfile=_AIRFLOW_DOCKERFILE,
    build_args={"AIRFLOW_IMAGE": AIRFLOW.reference},
    facts=AIRFLOW.derive(
        "streamstack/airflow", _ours(_AIRFLOW_DOCKERFILE, "the DAGs' providers, installed at build time")
    ),
)

# --- what the targets rely on of the Pulumi providers (requirements.txt pins the SDKs) ---------------------
_TF_DOCKER = "kreuzwerker/terraform-provider-docker"
_CONTAINER_FUNCS = "internal/provider/resource_docker_container_funcs.go"
_K8S_AWAIT = "provider/pkg/await"
PROVIDER_FACTS: dict[str, Fact[str]] = {
    "pulumi-docker Container, attach=True": Fact(
        "waits for the container to stop and records exitCode, but never fails on a non-zero one",
        Source(
            _TF_DOCKER, "v4.5.0", _CONTAINER_FUNCS, "pulumi-docker 5.2.0 wraps a later release; unchanged since 3.0"
        ),
        confirmed=False,
    ),
    "pulumi-docker Container, wait=True": Fact(
        "polls the health status until healthy or wait_timeout; fails at once without a health check",
        Source(_TF_DOCKER, "v4.5.0", _CONTAINER_FUNCS),
        confirmed=False,
    ),
    "pulumi-docker Container, image": Fact(
        "a changed image replaces the container (ForceNew, delete before replace)",
        Source(_TF_DOCKER, "v4.5.0", "internal/provider/resource_docker_container.go"),
        confirmed=False,
    ),
    "pulumi-docker Image, skip_push=True": Fact(
        "repoDigest is the built image's id, so it changes with every rebuild; imageName never does",
        Source("pulumi/pulumi-docker", "237b7899", "provider/image.go", "the SDK 5.2.0's image.py is identical"),
    ),
    "pulumi-kubernetes Job": Fact(
        "awaited until Complete; fails at once on BackoffLimitExceeded or DeadlineExceeded",
        Source("pulumi/pulumi-kubernetes", "94977969d", f"{_K8S_AWAIT}/checker/job/check.go", "4.32+; SDK 4.34.2"),
        confirmed=False,
    ),
    "pulumi-kubernetes Service": Fact(
        "awaited until no endpoint is not-ready after a 10 s settle; headless Services are not awaited",
        Source("pulumi/pulumi-kubernetes", "94977969d", f"{_K8S_AWAIT}/service.go"),
        confirmed=False,
    ),
    "pulumi-kubernetes timeouts": Fact(
        "10 minutes per create or update unless customTimeouts say otherwise",
        Source("pulumi/pulumi-kubernetes", "94977969d", f"{_K8S_AWAIT}/await.go"),
        confirmed=False,
    ),
    "kind's default storage class": Fact(
        "local-path hostPath volumes, created mode 0777 (fsGroup is not applied); ReadWriteOnce only",
        Source("kubernetes-sigs/kind", "v0.32.0", "pkg/build/nodeimage/const_storage.go", "local-path v0.0.34"),
    ),
}

UPSTREAM: dict[str, ImageFacts] = {
    image.reference: image
    for image in (PYTHON, KAFKA, KARAPACE, KAFKA_UI, KAFKA_CONNECT, HADOOP, CASSANDRA, POSTGRES, SEAWEEDFS, AIRFLOW)
}
BUILT: dict[str, BuiltImage] = {image.name: image for image in (STREAMING_JOB, PRODUCER, AIRFLOW_IMAGE)}


def facts_table() -> str:
    """docs/image-facts.md: every image's facts with their sources, unconfirmed ones marked."""
    from components.image_facts import render_facts

    return render_facts(UPSTREAM.values(), BUILT.values(), PROVIDER_FACTS)


if __name__ == "__main__":
    # `python -m components.versions pyspark` prints the pip requirement for the tests' pyspark.
    queries = {
        "pyspark": lambda: f"pyspark=={SPARK_VERSION}",
        "spark": lambda: SPARK_VERSION,
        "airflow": lambda: AIRFLOW_VERSION,
        "facts": facts_table,
    }
    if len(sys.argv) != 2 or sys.argv[1] not in queries:
        sys.exit(f"usage: python -m components.versions {{{'|'.join(queries)}}}")
    print(queries[sys.argv[1]]())
