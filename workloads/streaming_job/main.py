"""Entry point: `python -m workloads.streaming_job` or `spark-submit workloads/streaming_job/main.py`.

The query restarts itself from its checkpoint after a failure (a sink that is down fails the
batch; the restarted query replays it once the sink answers again), with a capped backoff. SIGTERM
stops the query; a batch it interrupts was never committed and is replayed by the next start.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pyspark.errors import StreamingQueryException
from pyspark.sql.streaming import StreamingQuery

from workloads.health import touch_heartbeat
from workloads.streaming_job.batch_writer import BatchWriter, batch_writer_from_config
from workloads.streaming_job.config import ConfigError, describe, parse_config
from workloads.streaming_job.progress import OffsetCommitter, kafka_group_commit
from workloads.streaming_job.session import build_session, read_kafka, start_query

log = logging.getLogger("streamstack.streaming_job")

_POLL_INTERVAL_S = 2
_MAX_BACKOFF_S = 60


def wait_while_active(query: StreamingQuery, health_file: Path | None, stop_requested: Callable[[], bool]) -> None:
    """Block until the query ends, touching the health file; stop it when asked to."""
    while query.isActive:
        if stop_requested():
            query.stop()
            return
        if health_file is not None:
            touch_heartbeat(health_file)
        try:
            query.awaitTermination(_POLL_INTERVAL_S)
        except StreamingQueryException:
            return


def run_with_restarts(
    start: Callable[[], StreamingQuery],
    writer: BatchWriter,
    health_file: Path | None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Run the query until SIGTERM or a clean stop; restart it from the checkpoint whenever it fails."""
    # The handler only raises a flag: calling into the JVM from a signal handler would re-enter py4j's socket.
    stop_signals: list[int] = []
    previous_handler = signal.signal(signal.SIGTERM, lambda signum, _frame: stop_signals.append(signum))
    failures = 0
    try:
        while True:
            query = start()
            progress_before = writer.last_report
            wait_while_active(query, health_file, lambda: bool(stop_signals))
            error = query.exception()
            if error is None or stop_signals:
                log.info("query stopped")
                return
            failures = 1 if writer.last_report is not progress_before else failures + 1
            delay = min(_MAX_BACKOFF_S, 2**failures)
            log.error("query failed (%d in a row); restarting from the checkpoint in %ds: %s", failures, delay, error)
            sleep(delay)
            if stop_signals:
                return
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = parse_config(sys.argv[1:] if argv is None else argv, os.environ)
    except ConfigError as error:
        log.error("invalid configuration: %s", error)
        return 2
    log.info("effective configuration:\n%s", describe(config))
    spark = build_session(config)
    spark.streams.addListener(OffsetCommitter(kafka_group_commit(config.kafka_bootstrap_servers)))
    writer = batch_writer_from_config(config)
    run_with_restarts(lambda: start_query(read_kafka(spark, config), config, writer), writer, config.health_file)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
