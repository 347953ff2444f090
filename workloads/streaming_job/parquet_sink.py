"""Parquet sink for S3 (s3a) and HDFS whose micro-batch writes can be replayed without duplicates.

A plain append would add a second copy of a batch that Spark replays after a failure. Instead a
batch is written to `_staging/batch-<id>`, its files are listed in `_manifests/batch-<id>` and then
moved to their partition directories as `batch-<id>-<name>`. A replay first deletes whatever the
manifest of the earlier attempt names, so the files of a batch id exist at most once. Directories
starting with `_` are hidden from Spark and pyarrow readers of the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, SparkSession


def _join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *(part.strip("/") for part in parts if part)])


def _jvm_path(spark: SparkSession, base: str, *parts: str) -> Any:
    """A Hadoop Path, so the same code moves files on s3a:// and hdfs:// (and file:// in unit tests)."""
    return spark._jvm.org.apache.hadoop.fs.Path(_join(base, *parts))


@dataclass(frozen=True)
class ParquetSink:
    """Writes a DataFrame under `base_path`, optionally partitioned by one column."""

    name: str
    base_path: str
    partition_column: str | None = None

    def _file_system(self, spark: SparkSession) -> Any:
        base = _jvm_path(spark, self.base_path)
        return base.getFileSystem(spark._jsc.hadoopConfiguration())

    def _manifest(self, spark: SparkSession, batch_id: int) -> Any:
        return _jvm_path(spark, self.base_path, "_manifests", f"batch-{batch_id}")

    def _undo_earlier_attempt(self, spark: SparkSession, fs: Any, batch_id: int) -> None:
        manifest = self._manifest(spark, batch_id)
        if not fs.exists(manifest):
            return
        for line in spark.read.text(manifest.toString()).collect():
            fs.delete(_jvm_path(spark, line.value), False)
        fs.delete(manifest, False)

    def _staged_files(self, fs: Any, staging: Any) -> list[tuple[Any, str]]:
        """(file, path relative to the staging directory) of every Parquet file written there."""
        staged = []
        prefix = fs.makeQualified(staging).toString().rstrip("/") + "/"
        files = fs.listFiles(staging, True)
        while files.hasNext():
            path = files.next().getPath()
            if path.getName().endswith(".parquet"):
                staged.append((path, path.toString().removeprefix(prefix)))
        return staged

    def write(self, frame: DataFrame, batch_id: int) -> None:
        """Write `frame` as the output of micro-batch `batch_id`, replacing any earlier attempt of it."""
        spark = frame.sparkSession
        fs = self._file_system(spark)
        self._undo_earlier_attempt(spark, fs, batch_id)
        staging = _jvm_path(spark, self.base_path, "_staging", f"batch-{batch_id}")
        writer = frame.write.mode("overwrite")
        if self.partition_column:
            writer = writer.partitionBy(self.partition_column)
        writer.parquet(staging.toString())
        moves = []
        for source, relative in self._staged_files(fs, staging):
            directory, _, file_name = relative.rpartition("/")
            moves.append((source, _jvm_path(spark, self.base_path, directory, f"batch-{batch_id}-{file_name}")))
        manifest = fs.create(self._manifest(spark, batch_id), True)
        try:
            manifest.writeBytes("".join(f"{fs.makeQualified(target).toString()}\n" for _, target in moves))
        finally:
            manifest.close()
        for source, target in moves:
            fs.delete(target, False)
            fs.mkdirs(target.getParent())
            if not fs.rename(source, target):
                raise OSError(f"{self.name}: could not move {source.toString()} to {target.toString()}")
        fs.delete(staging, True)
        # Spark only ever replays the latest batch, so the previous batch's manifest is no longer needed.
        fs.delete(self._manifest(spark, batch_id - 1), False)
