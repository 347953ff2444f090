"""The job's progress as a consumer group's offsets: which offsets a progress event commits."""

from types import SimpleNamespace

from confluent_kafka import KafkaError, KafkaException

from workloads.streaming_job.progress import OffsetCommitter, kafka_end_offsets


def positions(items):
    return [(item.topic, item.partition, item.offset) for item in items]


def test_a_kafka_source_end_offset_names_each_partitions_next_offset():
    assert positions(kafka_end_offsets('{"clicks": {"0": 42, "2": 7}, "views": {"1": 0}}')) == [
        ("clicks", 0, 42),
        ("clicks", 2, 7),
        ("views", 1, 0),
    ]


def test_other_sources_and_odd_documents_commit_nothing():
    for end_offset in ('{"logOffset": 3}', "null", None, "not json", '{"t": {"0": -1}}', '{"t": {"x": 1}}', "[1]"):
        assert kafka_end_offsets(end_offset) == [], end_offset


def progress(*end_offsets):
    sources = [SimpleNamespace(endOffset=end_offset) for end_offset in end_offsets]
    return SimpleNamespace(progress=SimpleNamespace(sources=sources))


def test_each_progress_event_commits_every_kafka_sources_end_offsets():
    committed = []
    listener = OffsetCommitter(lambda items: committed.append(positions(items)))
    listener.onQueryProgress(progress('{"clicks": {"0": 5}}', '{"logOffset": 1}', '{"views": {"3": 9}}'))
    listener.onQueryProgress(progress('{"logOffset": 2}'))
    assert committed == [[("clicks", 0, 5), ("views", 3, 9)]]


def test_a_failed_commit_is_logged_and_never_fails_the_query(caplog):
    def refuse(_items):
        raise KafkaException(KafkaError(KafkaError._TRANSPORT))

    OffsetCommitter(refuse).onQueryProgress(progress('{"clicks": {"0": 5}}'))
    assert "could not commit the job's progress to consumer group streamstack-streaming-job" in caplog.text
