"""Stack config variations that several test modules run the program with."""

from typing import Any

ONE_BROKER_CASSANDRA_ONLY: dict[str, Any] = {
    "kafka": {"brokers": 1, "replicationFactor": 1, "minInsyncReplicas": 1},
    "cassandra": {"nodes": 1, "replicationFactor": 1},
    "sinks": ["cassandra"],
    "schemaRegistry": {"enabled": False},
    "kafkaUi": {"enabled": False},
    "hdfs": {"enabled": False},
    "objectStore": {"enabled": False},
    "airflow": {"enabled": False},
}

# On Kubernetes, a checkpoint volume (the only checkpoint store left here) needs a ReadWriteMany class.
ONE_BROKER_CASSANDRA_ONLY_ON_KUBERNETES: dict[str, Any] = {
    **ONE_BROKER_CASSANDRA_ONLY,
    "kubernetes": {"sharedStorageClass": "nfs-client"},
}

# Change data capture: two Connect workers, a declared connector of the user's beside the deployment's own.
CDC: dict[str, Any] = {
    "ingestion": "cdc",
    "kafkaConnect": {
        "enabled": True,
        "workers": 2,
        "hostPort": 18383,
        "connectors": {
            "heartbeat-mirror": {
                "connector.class": "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector",
                "source.cluster.alias": "east",
                "target.cluster.alias": "west",
                "tasks.max": 1,
            }
        },
    },
}
