"""Spark Structured Streaming job: Kafka events to Cassandra, S3 and HDFS, invalid records to dead letters.

Layers, pure to impure: config (settings), schema and transform (the streaming plan), the sinks
(cassandra_sink, parquet_sink, batch_writer) and main (session, query lifecycle, signals).
"""
