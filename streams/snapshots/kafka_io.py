"""The Kafka side of model snapshots, with confluent-kafka and no running worker: read the device table's
changelog (compacted: the newest record per key wins) and the fleet-priors topic up to the offsets they
had when the export started, publish imported priors, and restore device states.

Why restoring writes the changelog only when the worker group is empty, and only keys it does not hold:
the worker owns its table. A worker that starts afterwards recovers the table from the changelog, so it
sees the restored devices; anything a worker writes later is newer and wins. A running worker would not
see records appended behind its back (its table is already recovered), so `import --devices` refuses
while the group has members.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from core.kafka.config import confluent_config
from core.kafka.consumer import reader
from core.kafka.producer import KafkaProducer
from core.settings import Settings
from core.topics import create_topics, priors_topic
from streams import priors
from streams.model import federated
from streams.snapshots.archive import SnapshotError

IDLE_TIMEOUT_S = 60.0  # no record and no end-of-partition for this long: the broker is not answering
Position = tuple[int, int]  # (partition, offset)


def changelog_topic(app_id: str) -> str:
    return f"{app_id}-devices-changelog"  # Faust's name for the `devices` table's changelog


def _consumer(settings: Settings) -> Consumer:
    return reader(settings, f"fleetpulse-snapshot-{uuid.uuid4().hex[:8]}", **{"enable.partition.eof": True})


def end_offsets(settings: Settings, topic: str) -> dict[int, int] | None:
    """Each partition's end offset now (where a read stops), or None when the topic does not exist."""
    consumer = _consumer(settings)
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            return None
        return {p: _end_offset(consumer, TopicPartition(topic, p)) for p in metadata.partitions}
    except KafkaException as error:
        raise SnapshotError(f"Kafka at {settings.kafka_bootstrap_servers}: {error}") from None
    finally:
        consumer.close()


def _end_offset(consumer: Consumer, tp: TopicPartition, patience_s: float = 15.0) -> int:
    """The partition's high watermark, waiting out a leader election (a topic created a moment ago)."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            return consumer.get_watermark_offsets(tp, timeout=10)[1]
        except KafkaException as error:
            waitable = error.args[0].retriable() or error.args[0].code() in _LEADERLESS
            if not waitable or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


_LEADERLESS = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError._UNKNOWN_PARTITION)


def read_until(
    settings: Settings, topic: str, ends: dict[int, int]
) -> Iterator[tuple[int, int, bytes | None, bytes | None]]:
    """(partition, offset, key, value) of every record before `ends`, partition by partition in order."""
    remaining = {p: end for p, end in ends.items() if end > 0}
    if not remaining:
        return
    consumer = _consumer(settings)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in remaining])
    last_progress = time.monotonic()
    try:
        while remaining:
            message = consumer.poll(1.0)
            if message is None:
                if time.monotonic() - last_progress > IDLE_TIMEOUT_S:
                    raise SnapshotError(f"reading {topic}: no progress for {IDLE_TIMEOUT_S:.0f}s")
                continue
            last_progress = time.monotonic()
            partition, offset = message.partition(), message.offset()
            if message.error() is not None:
                if message.error().code() != KafkaError._PARTITION_EOF:
                    raise SnapshotError(f"reading {topic}: {message.error()}")
                if partition in remaining and offset >= remaining[partition]:
                    del remaining[partition]  # compaction may have removed the records before the end
                continue
            if partition not in remaining:
                continue
            if offset >= remaining[partition]:  # written after the read started: not part of it
                del remaining[partition]
                continue
            yield partition, offset, message.key(), message.value()
            if offset >= remaining[partition] - 1:
                del remaining[partition]
    finally:
        consumer.close()


def newest_positions(records: Iterable[tuple[int, int, bytes | None, bytes | None]]) -> dict[bytes, Position]:
    """Where each key's newest record is (a tombstone included): compaction's rule, without the values."""
    return {key: (partition, offset) for partition, offset, key, _ in records if key is not None}


def select_newest(
    records: Iterable[tuple[int, int, bytes | None, bytes | None]], newest: dict[bytes, Position]
) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of each key's newest record, once; deleted keys (tombstones) left out."""
    for partition, offset, key, value in records:
        if key is not None and value is not None and newest.get(key) == (partition, offset):
            yield key, value


def device_states(settings: Settings) -> tuple[Iterator[tuple[bytes, bytes]], dict[int, int]]:
    """The newest state of every device in the changelog, streamed in two passes (positions, then values) so
    memory holds one position per device, not every model; and the offsets the snapshot reflects."""
    topic = changelog_topic(settings.worker_app_id)
    ends = end_offsets(settings, topic)
    if ends is None:
        raise SnapshotError(f"topic {topic} does not exist: has a worker with app id {settings.worker_app_id} run?")
    newest = newest_positions(read_until(settings, topic, ends))
    return select_newest(read_until(settings, topic, ends), newest), ends


def published_priors(settings: Settings) -> tuple[list[federated.Prior], dict[int, int]]:
    """The fleet prior per type the workers use now (every worker's fresh entry, merged)."""
    topic = priors_topic(settings.worker_app_id)
    ends = end_offsets(settings, topic) or {}
    entries: dict[bytes, bytes] = {}
    for _, _, key, value in read_until(settings, topic, ends):
        if key is None:
            continue
        if value is None:
            entries.pop(key, None)
        else:
            entries[key] = value
    return priors.merged(entries, priors.MAX_AGE_MS), ends


def existing_devices(settings: Settings) -> set[bytes]:
    """Device ids whose newest changelog record is a state (not a tombstone)."""
    topic = changelog_topic(settings.worker_app_id)
    alive: dict[bytes, bool] = {}
    for _, _, key, value in read_until(settings, topic, end_offsets(settings, topic) or {}):
        if key is not None:
            alive[key] = value is not None
    return {key for key, present in alive.items() if present}


def worker_members(settings: Settings) -> int:
    """Members of the worker's consumer group (Faust's group id is its app id); 0 when none is running."""
    admin = AdminClient(confluent_config(settings, log_level=0))
    future = admin.describe_consumer_groups([settings.worker_app_id], request_timeout=10)[settings.worker_app_id]
    try:
        return len(future.result().members)
    except KafkaException as error:
        if error.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND:
            return 0
        raise SnapshotError(f"describing consumer group {settings.worker_app_id}: {error}") from None


def ensure_compacted_topic(settings: Settings, topic: str, partitions: int) -> None:
    """Create `topic` compacted like Faust declares it, or check an existing one's partition count."""
    ends = end_offsets(settings, topic)
    if ends is not None:
        if len(ends) != partitions:
            raise SnapshotError(f"topic {topic} has {len(ends)} partitions, expected {partitions}")
        return
    try:
        create_topics(
            settings.model_copy(update={"topic_partitions": partitions}), [topic], {"cleanup.policy": "compact"}
        )
    except KafkaException as error:
        raise SnapshotError(f"creating {topic}: {error}") from None


class Writer:
    """An idempotent producer that counts what Kafka did not acknowledge."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.topic = topic
        self.producer = KafkaProducer(settings, on_delivery=self._delivered, log_level=0)
        self.failed: list[str] = []

    def _delivered(self, error: KafkaError | None, _message: object) -> None:
        if error is not None:
            self.failed.append(str(error))

    def write(self, key: bytes, partition: int, value: bytes) -> None:
        self.producer.produce(self.topic, key, value, partition=partition)

    def close(self) -> None:
        if self.producer.flush(60) or self.failed:
            raise SnapshotError(f"{self.topic}: {len(self.failed)} records not acknowledged: {self.failed[:3]}")


def publish_priors(settings: Settings, fleet_priors: list[federated.Prior], snapshot_id: str) -> list[str]:
    """Publish the snapshot's priors as one more contributor (key `type|snapshot:<id>`): the workers merge it
    with their own by device count, and like any worker's entry it stops counting after 24 h, by when the
    new fleet publishes priors of its own (from devices that started warm from this one)."""
    topic = priors_topic(settings.worker_app_id)
    ensure_compacted_topic(settings, topic, 1)  # what the worker declares: one partition, compacted
    writer = Writer(settings, topic)
    records = priors.publish(fleet_priors, f"snapshot:{snapshot_id}")
    for key, value in records:
        writer.write(key, 0, value)
    writer.close()
    return [key.decode() for key, _ in records]
