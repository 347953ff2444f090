"""Every upstream image and connector version, in one place.

The streaming-job image, its Kafka connector and the pyspark the tests install are all derived
from SPARK_VERSION and SCALA_BINARY_VERSION here, so they agree by construction: the Makefile
reads `python -m components.versions pyspark` to install pyspark, the job image gets these as
build arguments, and a unit test checks that the installed pyspark is this one.
"""

from __future__ import annotations

import sys

SPARK_VERSION = "3.5.8"
SCALA_BINARY_VERSION = "2.12"
JAVA_RELEASE = "17"
PYTHON_RELEASE = "3.11"

KAFKA_IMAGE = "apache/kafka:4.1.1"
KARAPACE_IMAGE = "ghcr.io/aiven-open/karapace:5.0.3"
KAFKA_UI_IMAGE = "ghcr.io/kafbat/kafka-ui:v1.4.2"
HADOOP_IMAGE = "apache/hadoop:3.4.1"
SPARK_IMAGE = f"apache/spark:{SPARK_VERSION}-scala{SCALA_BINARY_VERSION}-java{JAVA_RELEASE}-python3-ubuntu"
CASSANDRA_IMAGE = "cassandra:4.1.10"
MINIO_IMAGE = "minio/minio:RELEASE.2025-09-07T16-13-09Z"
MINIO_CLIENT_IMAGE = "minio/mc:RELEASE.2025-08-13T08-35-41Z"
POSTGRES_IMAGE = "postgres:16.10-bookworm"
AIRFLOW_VERSION = "3.1.3"
AIRFLOW_IMAGE = f"apache/airflow:{AIRFLOW_VERSION}-python{PYTHON_RELEASE}"
PRODUCER_BASE_IMAGE = f"python:{PYTHON_RELEASE}.14-slim-bookworm"

# Jars baked into the streaming-job image at build time (no --packages at run time).
# Each entry: Maven coordinates and the SHA-256 of the jar, checked by the Dockerfile.
KAFKA_CLIENTS_VERSION = "3.4.1"  # the kafka-clients release spark-sql-kafka-0-10 3.5.x depends on
HADOOP_AWS_VERSION = "3.3.4"  # matches the Hadoop client bundled with Spark 3.5
AWS_SDK_BUNDLE_VERSION = "1.12.262"  # the aws-java-sdk-bundle hadoop-aws 3.3.4 was built against
COMMONS_POOL2_VERSION = "2.11.1"


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


def upstream_images() -> dict[str, str]:
    """Every upstream image reference, by the constant's name (used by tests to check pinning)."""
    return {name: value for name, value in globals().items() if name.endswith("_IMAGE")}


if __name__ == "__main__":
    # `python -m components.versions pyspark` prints the pip requirement for the tests' pyspark.
    queries = {"pyspark": f"pyspark=={SPARK_VERSION}", "spark": SPARK_VERSION, "airflow": AIRFLOW_VERSION}
    if len(sys.argv) != 2 or sys.argv[1] not in queries:
        sys.exit(f"usage: python -m components.versions {{{'|'.join(queries)}}}")
    print(queries[sys.argv[1]])
