"""The local Kafka's cluster id never reads as an option to the storage tool (a CI run once failed on one)."""

from __future__ import annotations

import uuid

import pytest

from fleetpulse.stack import components


def test_a_cluster_id_starting_with_a_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=bytes(16))])  # "-AAA…", then "AAA…"
    monkeypatch.setattr(components.uuid, "uuid4", lambda: next(draws))
    assert components._cluster_id() == "A" * 22


def test_cluster_ids_are_kafka_shaped() -> None:
    ids = {components._cluster_id() for _ in range(500)}
    assert len(ids) == 500 and all(len(i) == 22 and not i.startswith("-") for i in ids)
