"""murmur2 partitioning equals Kafka's Java client (its own test vectors) and librdkafka's murmur2_random."""

from __future__ import annotations

import pytest

from core.partitioning import Partitioner, murmur2, partition_for

# org.apache.kafka.common.utils.UtilsTest#testMurmur2
KAFKA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("key", "expected"), KAFKA_VECTORS.items())
def test_murmur2_matches_the_java_client(key: bytes, expected: int) -> None:
    assert murmur2(key) == expected


def test_partition_is_the_positive_hash_modulo_the_count() -> None:
    # toPositive(-790332482) = 1357151166; 1357151166 % 50 = 16
    assert partition_for(b"foobar", 50) == 16
    assert partition_for(b"abc", 7) == 479470107 % 7


def test_the_cached_partitioner_agrees_and_spreads_a_fleet() -> None:
    partitioner = Partitioner(6)
    keys = [f"sim-pc-{i:05d}".encode() for i in range(600)]
    assert [partitioner(k) for k in keys] == [partition_for(k, 6) for k in keys]
    assert set(partitioner(k) for k in keys) == set(range(6))
    with pytest.raises(ValueError):
        Partitioner(0)
