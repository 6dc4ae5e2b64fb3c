"""The model snapshot format and its import rules, without servers (an in-memory object store)."""

from __future__ import annotations

import gzip
import hashlib
import random

import msgspec
import pytest

from core.partitioning import partition_for
from schemas import Reading
from streams.model import envelope, federated
from streams.model.detector import MODEL_VERSION, DeviceModel
from streams.model.service import ModelService
from streams.snapshots.archive import (
    LATEST,
    MANIFEST,
    DeviceRecord,
    Manifest,
    SnapshotError,
    check_compatible,
    device_records,
    export_snapshot,
    open_snapshot,
    read_priors,
    restore_devices,
)
from streams.snapshots.kafka_io import newest_positions, select_newest
from streams.state import DeviceState, decode_state, encode_state
from tests.streams.model.test_device_model import healthy

NOW_MS = 1_795_000_000_000


class MemoryStore:
    """A fake object store: a dict, missing keys raise like S3Store does."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        self.objects[key] = data

    def get(self, key: str) -> bytes:
        if key not in self.objects:
            raise SnapshotError(f"no object {key}")
        return self.objects[key]


def _model(device_type: str, readings: int, seed: int) -> DeviceModel:
    rng = random.Random(seed)
    model = DeviceModel(device_type)
    for k in range(readings):
        model.update(k * 5_000, healthy(rng))
    return model


def _state(device_type: str, readings: int, seed: int) -> bytes:
    model = _model(device_type, readings, seed)
    return encode_state(
        DeviceState(
            device_type=device_type, readings=readings, last_seen=readings * 5_000, model_state=envelope.dump(model)
        )
    )


@pytest.fixture(scope="module")
def states() -> list[tuple[bytes, bytes]]:
    """Seven devices of two types with learned models, plus states that must be left out."""
    good = [(f"pc-{i}".encode(), _state("pc", 70, i)) for i in range(5)]
    good += [(f"pi-{i}".encode(), _state("raspberry_pi", 70, 10 + i)) for i in range(2)]
    no_model = (b"baseline-0", encode_state(DeviceState(device_type="pc", readings=3)))
    corrupt_model = (b"broken-0", encode_state(DeviceState(device_type="pc", model_state=b"\x93garbage")))
    return [*good, no_model, corrupt_model, (b"not-a-state", b"\xc1")]


def _export(store: MemoryStore, states: list[tuple[bytes, bytes]], **kwargs: object) -> Manifest:
    defaults: dict[str, object] = {
        "app_id": "src",
        "source_offsets": {"src-devices-changelog": {0: 42}},
        "chunk_devices": 2,
        "now_ms": NOW_MS,
    }
    return export_snapshot(store, "fleet/snaps", states, [], **(defaults | kwargs))  # type: ignore[arg-type]


def test_export_writes_chunks_priors_and_a_manifest_that_accounts_for_every_state(states: list) -> None:
    store = MemoryStore()
    manifest = _export(store, states)
    folder = f"fleet/snaps/{manifest.snapshot_id}"
    assert store.objects["fleet/snaps/LATEST"] == manifest.snapshot_id.encode()
    assert manifest.devices == 7 and manifest.devices_by_type == {"pc": 5, "raspberry_pi": 2}
    assert manifest.skipped == {"no_model": 1, "corrupt_model": 1, "corrupt_state": 1}
    # chunks of at most 2 devices, one type each: pc 2+2+1, raspberry_pi 2
    assert sorted((o.device_type, o.devices) for o in manifest.objects) == [
        ("pc", 1),
        ("pc", 2),
        ("pc", 2),
        ("raspberry_pi", 2),
    ]
    assert manifest.source_offsets == {"src-devices-changelog": {0: 42}}
    assert manifest.model_version == MODEL_VERSION and manifest.river_version == envelope.RIVER_VERSION
    assert manifest.feature_schemas == {t: DeviceModel(t).schema_hash for t in ("pc", "raspberry_pi")}
    # no published prior: one per type aggregated from the snapshot's own models
    assert [(p.device_type, p.devices, p.source) for p in manifest.priors] == [
        ("pc", 5, "devices"),
        ("raspberry_pi", 2, "devices"),
    ]
    stored = msgspec.json.decode(store.objects[f"{folder}/{MANIFEST}"], type=Manifest)
    assert stored == manifest
    records = list(device_records(store, folder, manifest, problems := []))
    assert problems == []
    by_id = {r.device_id: r for r in records}
    assert sorted(by_id) == [f"pc-{i}" for i in range(5)] + ["pi-0", "pi-1"]
    restored = envelope.load(by_id["pc-3"].model)
    assert restored is not None and restored.seen == 70 and not restored.warming_up
    assert by_id["pc-3"].last_seen == 70 * 5_000 and by_id["pc-3"].readings == 70


def test_a_published_prior_is_kept_and_none_is_aggregated_for_its_type(states: list) -> None:
    published = federated.aggregate([_model("pc", 80, 99)])
    manifest = export_snapshot(MemoryStore(), "p", states, [published], app_id="src", source_offsets={}, now_ms=NOW_MS)
    assert [(p.device_type, p.devices, p.source) for p in manifest.priors] == [
        ("pc", 1, "topic"),
        ("raspberry_pi", 2, "devices"),
    ]


def test_import_resolves_latest_and_reads_back_usable_priors(states: list) -> None:
    store = MemoryStore()
    first = _export(store, states[:2])
    second = _export(store, states, now_ms=NOW_MS + 1_000)
    folder, manifest = open_snapshot(store, "fleet/snaps")
    assert manifest.snapshot_id == second.snapshot_id != first.snapshot_id
    assert open_snapshot(store, f"fleet/snaps/{first.snapshot_id}")[1] == first  # a folder works too
    check_compatible(manifest, devices=True)
    priors = {p.device_type: p for p in read_priors(store, folder, manifest)}
    started = federated.from_prior(priors["pc"])
    assert started.warmup < DeviceModel("pc").warmup  # a device starting from it is warm


def test_a_mismatched_version_or_feature_schema_is_refused_with_the_reason(states: list) -> None:
    store = MemoryStore()
    manifest = _export(store, states)
    older = msgspec.structs.replace(manifest, model_version=MODEL_VERSION - 1)
    with pytest.raises(SnapshotError, match="model_version"):
        check_compatible(older, devices=False)
    other_schema = msgspec.structs.replace(manifest, feature_schemas={"pc": "0123456789abcdef"})
    with pytest.raises(SnapshotError, match="feature schema of 'pc'"):
        check_compatible(other_schema, devices=False)
    other_river = msgspec.structs.replace(manifest, river_version="0.0.1")
    check_compatible(other_river, devices=False)  # priors do not depend on River's internals
    with pytest.raises(SnapshotError, match=r"river 0\.0\.1"):
        check_compatible(other_river, devices=True)


def test_a_corrupt_chunk_is_reported_and_the_others_still_read(states: list) -> None:
    store = MemoryStore()
    manifest = _export(store, states)
    folder = f"fleet/snaps/{manifest.snapshot_id}"
    bad, missing = manifest.objects[0], manifest.objects[1]
    store.objects[f"{folder}/{bad.key}"] = b"not gzip at all"
    del store.objects[f"{folder}/{missing.key}"]
    problems: list[str] = []
    records = list(device_records(store, folder, manifest, problems))
    assert len(records) == manifest.devices - bad.devices - missing.devices
    assert len(problems) == 2 and bad.key in problems[0] and "corrupt" in problems[0]
    assert missing.key in problems[1]


def test_a_chunk_with_a_matching_checksum_but_bad_content_is_reported_not_raised(states: list) -> None:
    """The manifest itself can be wrong (a hand edit, a bug): decoding errors are reports, not crashes."""
    store = MemoryStore()
    manifest = _export(store, states, chunk_devices=100)
    folder = f"fleet/snaps/{manifest.snapshot_id}"
    garbage = gzip.compress(b"\x01\x02")
    info = msgspec.structs.replace(manifest.objects[0], sha256=hashlib.sha256(garbage).hexdigest(), size=len(garbage))
    store.objects[f"{folder}/{info.key}"] = garbage
    tampered = msgspec.structs.replace(manifest, objects=[info, *manifest.objects[1:]])
    problems: list[str] = []
    assert len(list(device_records(store, folder, tampered, problems))) == manifest.devices - info.devices
    assert problems and info.key in problems[0]


def test_a_corrupt_manifest_or_priors_object_or_an_empty_prefix_is_a_clear_error(states: list) -> None:
    store = MemoryStore()
    with pytest.raises(SnapshotError, match="no snapshot at 'nothing/here'"):
        open_snapshot(store, "nothing/here")
    manifest = _export(store, states)
    folder = f"fleet/snaps/{manifest.snapshot_id}"
    store.objects[f"{folder}/priors.msgpack"] += b"x"
    with pytest.raises(SnapshotError, match=r"corrupt object .*priors\.msgpack"):
        read_priors(store, folder, manifest)
    store.objects[f"{folder}/{MANIFEST}"] = b"{not json"
    with pytest.raises(SnapshotError, match="corrupt manifest"):
        open_snapshot(store, "fleet/snaps")
    store.objects[f"fleet/snaps/{LATEST}"] = b"20000101T000000.000Z"
    with pytest.raises(SnapshotError, match="no object"):
        open_snapshot(store, "fleet/snaps")


def test_restore_writes_only_absent_devices_on_their_murmur2_partition() -> None:
    model = envelope.dump(_model("pc", 70, 1))
    records = [DeviceRecord(f"pc-{i}", "pc", model, 1_000, 350_000, 5_000.0, 70) for i in range(4)]
    written: dict[bytes, tuple[int, bytes]] = {}
    outcome = restore_devices(
        records, lambda key: key == b"pc-2", lambda k, p, v: written.__setitem__(k, (p, v)), partitions=6
    )
    assert outcome == {"restored": 3, "skipped_existing": 1}
    assert b"pc-2" not in written
    partition, value = written[b"pc-1"]
    assert partition == partition_for(b"pc-1", 6)
    state = decode_state(value)
    assert (state.device_type, state.partition, state.last_offset, state.readings) == ("pc", partition, -1, 0)
    assert (state.first_seen, state.last_seen, state.cadence_ms) == (1_000, 350_000, 5_000.0)
    assert state.model_state == model  # the worker's ModelService.open loads it as the device's model


def test_newest_record_per_key_wins_and_tombstones_delete() -> None:
    log = [
        (0, 0, b"a", b"a1"),
        (0, 1, b"b", b"b1"),
        (1, 0, b"c", b"c1"),
        (0, 2, b"a", b"a2"),
        (0, 3, b"b", None),  # tombstone: b is gone
        (1, 1, None, b"keyless"),
    ]
    newest = newest_positions(log)
    assert newest == {b"a": (0, 2), b"b": (0, 3), b"c": (1, 0)}
    assert list(select_newest(log, newest)) == [(b"c", b"c1"), (b"a", b"a2")]


def test_a_model_with_pending_readings_is_exported_as_the_one_envelope_they_restore_to() -> None:
    rng, model = random.Random(5), DeviceModel("pc")
    stored, pending = b"", []
    for k in range(40):
        reading = Reading(device_id="pc-9", device_type="pc", ts=k * 5_000, seq=k, **healthy(rng))  # type: ignore[arg-type]
        ModelService.assess(model, reading)
        if k == 29:
            stored = envelope.dump(model)
        elif k > 29:
            pending.append(ModelService.input_of(reading))
    state = DeviceState(device_type="pc", readings=40, model_state=stored, model_pending=pending)
    store = MemoryStore()
    _export(store, [(b"pc-9", encode_state(state))])
    records = list(device_records(store, *open_snapshot(store, "fleet/snaps"), problems := []))
    assert not problems and [r.device_id for r in records] == ["pc-9"]
    assert records[0].model == envelope.dump(model) != stored
