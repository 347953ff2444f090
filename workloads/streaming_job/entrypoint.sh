#!/bin/sh
# Driver memory must be known before the driver JVM starts, so it is passed to spark-submit here;
# everything else (and --help) is handled by the job itself from its arguments and environment.
set -eu
exec spark-submit \
  --driver-memory "${DRIVER_MEMORY:-1g}" \
  /opt/streamstack/workloads/streaming_job/main.py "$@"
