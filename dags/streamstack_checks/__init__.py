"""Logic of the streamstack DAGs as plain functions: no Airflow import, unit-tested on its own.

The DAG files only gather numbers from Kafka, Cassandra, S3, HDFS and the Spark master and hand
them to these functions, so every decision a DAG makes can be tested without a scheduler.
"""
