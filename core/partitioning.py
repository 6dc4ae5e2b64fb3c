"""Kafka's default key partitioning (Java client, Faust/aiokafka, librdkafka `murmur2_random`) in Python.

The batch envelope puts several devices' readings in one message, so the producer must know which
partition each device belongs to: the one a single-reading message keyed by its device_id would land in.
The hash is aiokafka's port of the Java client's `Utils.murmur2` (the very function Faust routes with),
checked against Kafka's own `UtilsTest` vectors in the tests.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2 as _murmur2_unsigned


def murmur2(key: bytes) -> int:
    """Java's `Utils.murmur2(byte[])`: a signed 32-bit int, as Kafka's tests state it."""
    h = _murmur2_unsigned(key)
    return h - (1 << 32) if h >= 1 << 31 else h


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a non-null key: `toPositive(murmur2) % n`."""
    return (_murmur2_unsigned(key) & 0x7FFFFFFF) % partitions


class Partitioner:
    """partition_for with a per-key cache: a fleet's device ids repeat every round, the hash is pure Python."""

    def __init__(self, partitions: int) -> None:
        if partitions < 1:
            raise ValueError(f"a topic has at least one partition, not {partitions}")
        self.partitions = partitions
        self._cache: dict[bytes, int] = {}

    def __call__(self, key: bytes) -> int:
        partition = self._cache.get(key)
        if partition is None:
            partition = self._cache[key] = partition_for(key, self.partitions)
        return partition
