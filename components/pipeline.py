"""Wires the components together from the settings: the only place that knows the whole graph."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from components import versions
from components.airflow import Airflow, AirflowArgs, connection
from components.cassandra import Cassandra, CassandraArgs
from components.credentials import Credentials
from components.hdfs import Hdfs, HdfsArgs
from components.kafka import Kafka, KafkaArgs
from components.kafka_connect import KafkaConnect, KafkaConnectArgs, cdc_connector_config
from components.kafka_ui import KafkaUi, KafkaUiArgs
from components.object_store import ObjectStore, ObjectStoreArgs
from components.pipeline_database import PipelineDatabase, PipelineDatabaseArgs
from components.schema_registry import SchemaRegistry, SchemaRegistryArgs
from components.service import Target
from components.settings import CDC_CONNECTOR, PIPELINE_DB_PASSWORD_ENV, Settings
from components.spark import Spark, SparkArgs
from components.workloads import (
    CHECKPOINT_VOLUME,
    CassandraSink,
    Producer,
    ProducerArgs,
    S3Sink,
    StreamingJob,
    StreamingJobArgs,
    streaming_job_image,
)

DEAD_LETTER_RATE_THRESHOLD = 0.01


@dataclass(frozen=True)
class PipelineArgs:
    settings: Settings
    target: Target


class Pipeline(pulumi.ComponentResource):
    """The whole pipeline. `endpoints` are what a person opens; `credentials` are secret outputs."""

    endpoints: dict[str, pulumi.Output[str]]
    credentials: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: PipelineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:Pipeline", name, None, opts)
        settings, target = args.settings, args.target
        child = pulumi.ResourceOptions(parent=self)
        target.prepare(self)
        credentials = Credentials("credentials", settings.secrets, child)

        kafka = Kafka("kafka", KafkaArgs(settings.kafka, target, f"{settings.project}/{settings.stack}"), child)
        endpoints: dict[str, pulumi.Output[str]] = {"kafkaBootstrapServers": kafka.host_bootstrap_servers}

        registry = None
        if settings.schema_registry.enabled:
            registry = SchemaRegistry(
                "schema-registry",
                SchemaRegistryArgs(
                    settings.schema_registry, target, kafka.bootstrap_servers, kafka.internal_replication, (kafka,)
                ),
                child,
            )
            endpoints["schemaRegistryUrl"] = registry.host_url

        cassandra = Cassandra(
            "cassandra",
            CassandraArgs(
                settings.cassandra,
                target,
                credentials.cassandra_password,
                credentials.cassandra_retired_default_password,
            ),
            child,
        )
        endpoints["cassandraContactPoint"] = cassandra.host_contact_point

        object_store = None
        if settings.object_store.enabled:
            object_store = ObjectStore(
                "object-store",
                ObjectStoreArgs(settings.object_store, target, credentials.object_store_password),
                child,
            )
            endpoints["s3Endpoint"] = object_store.host_endpoint
            endpoints["objectStoreConsoleUrl"] = object_store.console_url

        hdfs = None
        if settings.hdfs.enabled:
            hdfs = Hdfs("hdfs", HdfsArgs(settings.hdfs, target, f"streamstack-{settings.stack}"), child)
            endpoints["hdfsNamenodeUiUrl"] = hdfs.ui_url

        checkpoint_on_volume = settings.streaming_job.checkpoint == "volume"
        job_image = streaming_job_image(target, self)
        spark = Spark(
            "spark",
            SparkArgs(
                settings.spark,
                target,
                job_image,
                settings.streaming_job.executor_memory_mib,
                settings.streaming_job.executor_cores,
                (CHECKPOINT_VOLUME,) if checkpoint_on_volume else (),
            ),
            child,
        )
        endpoints["sparkMasterUiUrl"] = spark.ui_url

        database = None
        if settings.ingestion == "cdc":
            database = PipelineDatabase(
                "pipeline-db", PipelineDatabaseArgs(target, credentials.pipeline_db_password), child
            )
        producer = Producer(
            "producer",
            ProducerArgs(
                settings.producer,
                target,
                kafka.bootstrap_servers,
                kafka.topic,
                credentials.pseudonym_key,
                registry.url if registry else None,
                [dependency for dependency in (kafka, registry, database) if dependency is not None],
                database=database.address if database is not None else None,
            ),
            child,
        )

        connect = None
        if settings.kafka_connect.enabled:
            connectors: dict[str, dict[str, pulumi.Input[str]]] = {
                name: dict(config) for name, config in settings.kafka_connect.connectors.items()
            }
            if database is not None:
                connectors[CDC_CONNECTOR] = dict(cdc_connector_config(database.address, settings.kafka.topic))
            connect = KafkaConnect(
                "kafka-connect",
                KafkaConnectArgs(
                    settings=settings.kafka_connect,
                    kafka=settings.kafka,
                    target=target,
                    bootstrap_servers=kafka.bootstrap_servers,
                    internal_replication=kafka.internal_replication,
                    tools_image=producer.built,
                    connectors=connectors,
                    secret_env={
                        **settings.secrets.kafka_connect_env,
                        **({PIPELINE_DB_PASSWORD_ENV: database.address.password} if database is not None else {}),
                    },
                    depends_on=[kafka],
                    sources=[database] if database is not None else [],
                ),
                child,
            )
            endpoints["kafkaConnectUrl"] = connect.host_url
        if settings.kafka_ui.enabled:
            kafka_ui = KafkaUi(
                "kafka-ui",
                KafkaUiArgs(
                    settings.kafka_ui,
                    target,
                    kafka.bootstrap_servers,
                    registry.url if registry else None,
                    tuple(dependency for dependency in (kafka, registry, connect) if dependency is not None),
                    kafka_connect_url=connect.url if connect else None,
                ),
                child,
            )
            endpoints["kafkaUiUrl"] = kafka_ui.url

        stores: list[pulumi.Resource] = [store for store in (object_store, hdfs) if store is not None]
        job = StreamingJob(
            "streaming-job",
            StreamingJobArgs(
                settings=settings.streaming_job,
                target=target,
                image=job_image,
                sinks=settings.sinks,
                master_url=spark.master_url,
                bootstrap_servers=kafka.bootstrap_servers,
                topic=kafka.topic,
                dead_letter_topic=kafka.dead_letter_topic,
                cassandra=CassandraSink(
                    cassandra.contact_points,
                    cassandra.port,
                    cassandra.keyspace,
                    cassandra.table,
                    cassandra.username,
                    cassandra.password,
                )
                if "cassandra" in settings.sinks
                else None,
                s3=S3Sink(object_store.endpoint, object_store.bucket, object_store.access_key, object_store.secret_key)
                if object_store is not None
                else None,
                hdfs_url=hdfs.url if hdfs is not None else None,
                depends_on=[spark, kafka, cassandra, *stores],
            ),
            child,
        )
        endpoints["streamingJobUiUrl"] = job.ui_url

        self.credentials = {
            "cassandraPassword": credentials.cassandra_password,
            "objectStorePassword": credentials.object_store_password,
        }
        if database is not None:
            self.credentials["pipelineDbPassword"] = database.address.password
        if settings.airflow.enabled:
            connections: dict[str, pulumi.Input[str]] = {
                "streamstack_kafka": connection(
                    "kafka", extra={"bootstrap.servers": kafka.bootstrap_servers, "group.id": "streamstack-airflow"}
                ),
                "streamstack_spark": connection(
                    "spark",
                    host=spark.master_host,
                    port=spark.master_port,
                    extra={"master_ui_port": spark.master_ui_port},
                ),
                "streamstack_cassandra": connection(
                    "cassandra",
                    host=cassandra.contact_points,
                    port=cassandra.port,
                    login=cassandra.username,
                    password=cassandra.password,
                    schema=cassandra.keyspace,
                ),
            }
            if object_store is not None:
                connections["streamstack_s3"] = connection(
                    "aws",
                    login=object_store.access_key,
                    password=object_store.secret_key,
                    extra={
                        "endpoint_url": object_store.endpoint,
                        "region_name": "us-east-1",
                        # The object store serves buckets by path, not as virtual hosts.
                        "config_kwargs": {"s3": {"addressing_style": "path"}},
                    },
                )
            if hdfs is not None:
                connections["streamstack_webhdfs"] = connection("webhdfs", host=hdfs.namenode_host, port=hdfs.http_port)
            facts: dict[str, Any] = {
                **target.placement(),
                "events_topic": kafka.topic,
                "dead_letter_topic": kafka.dead_letter_topic,
                "cassandra_keyspace": cassandra.keyspace,
                "cassandra_table": cassandra.table,
                "bucket": object_store.bucket if object_store else None,
                "sinks": list(settings.sinks),
                "producer_image": producer.image,
                "streaming_job_image": job.image,
                "spark_master_url": spark.master_url,
                "hdfs_events_path": hdfs.events_path if hdfs else None,
                "s3_events_prefix": "events/",
                "dead_letter_rate_threshold": DEAD_LETTER_RATE_THRESHOLD,
                "ingestion": settings.ingestion,
                "pipeline_database": database.address.facts() if database is not None else None,
            }
            secret_variables: dict[str, pulumi.Input[str]] = {"streamstack_pseudonym_secret": credentials.pseudonym_key}
            if database is not None:
                secret_variables["streamstack_pipeline_db_secret"] = database.address.password
            airflow = Airflow(
                "airflow",
                AirflowArgs(
                    settings=settings.airflow,
                    target=target,
                    image=target.built_image(versions.AIRFLOW_IMAGE, self),
                    postgres_password=credentials.postgres_password,
                    admin_password=credentials.airflow_admin_password,
                    fernet_key=credentials.airflow_fernet_key,
                    jwt_secret=credentials.airflow_jwt_secret,
                    connections=connections,
                    secret_variables=secret_variables,
                    deployment_facts=pulumi.Output.from_input(facts).apply(lambda v: json.dumps(v, sort_keys=True)),
                    depends_on=(kafka, cassandra, spark, *stores, *([database] if database is not None else [])),
                ),
                child,
            )
            endpoints["airflowUrl"] = airflow.url
            self.credentials["airflowAdminPassword"] = credentials.airflow_admin_password

        endpoints.update(target.access())
        self.endpoints = endpoints
        self.register_outputs({**endpoints})
