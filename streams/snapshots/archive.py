"""Model snapshots: a fleet's failure models (per-device envelopes and per-type fleet priors) as objects in
an object store, to seed a new deployment or keep a restorable copy. Framework-free: the store is anything
with `put`/`get` (S3 in production, `streams.snapshots.store`), the device states and priors come in
as plain iterables (read from Kafka by `streams.snapshots.kafka_io`).

Layout under `<prefix>/<snapshot id>/`:

    devices/<type>/part-NNNNN.msgpack.gz   gzip'd msgpack list of DeviceRecord, at most `chunk_devices` each
    priors.msgpack                         msgpack list of federated.Prior, one per device type
    manifest.json                          written last: versions, counts, source offsets, each object's sha256

and `<prefix>/LATEST` names the newest complete snapshot. A folder without a manifest is an interrupted
export and is never imported. Memory stays bounded by chunking: one open chunk per device type.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Protocol

import msgspec

from core.partitioning import partition_for
from streams.model import envelope, federated, service
from streams.model.detector import MODEL_VERSION, DeviceModel
from streams.state import DeviceState, decode_state, encode_state

SNAPSHOT_FORMAT = 1
MANIFEST = "manifest.json"
LATEST = "LATEST"
PRIORS_OBJECT = "priors.msgpack"
DEFAULT_CHUNK_DEVICES = 2000  # ~5 KB per envelope: ~10 MB per open chunk before gzip
PRIOR_SAMPLE_PER_TYPE = 200  # models aggregated per type when the fleet published no prior (as the worker)
_SAFE_TYPE = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # a device type becomes part of an object key


class SnapshotError(Exception):
    """A snapshot cannot be written, found, trusted or used: the message says which and why."""


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...  # raises SnapshotError when missing


class DeviceRecord(msgspec.Struct, array_like=True, frozen=True):
    device_id: str
    device_type: str
    model: bytes  # the device's envelope (streams.model.envelope), verbatim
    first_seen: int = -1  # liveness timing, so a restored device is judged from when it was last heard
    last_seen: int = -1
    cadence_ms: float = 0.0
    readings: int = 0


class ObjectInfo(msgspec.Struct, frozen=True):
    key: str  # relative to the snapshot's folder
    sha256: str
    size: int
    devices: int = 0
    device_type: str = ""


class PriorInfo(msgspec.Struct, frozen=True):
    device_type: str
    devices: int  # devices behind the prior
    source: str  # "topic": the fleet's published prior; "devices": aggregated from this snapshot's models


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    snapshot_format: int
    snapshot_id: str
    created_at: str
    created_at_ms: int
    source_app_id: str
    source_offsets: dict[str, dict[int, int]]  # topic -> partition -> end offset read up to (exclusive)
    river_version: str
    envelope_format: int
    model_version: int
    feature_schemas: dict[str, str]  # device type -> feature-schema hash of its models and prior
    devices: int
    devices_by_type: dict[str, int]
    skipped: dict[str, int]  # reason -> device states or priors not exported
    objects: list[ObjectInfo]
    priors: list[PriorInfo]
    priors_object: ObjectInfo | None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_schema(device_type: str | None, sensors: Iterable[str] | None = None) -> str:
    """The feature-schema hash this code gives a device type's model (what a snapshot must match)."""
    return _schema(device_type, tuple(sensors) if sensors is not None else None)


@functools.lru_cache(maxsize=64)  # called per device on export: building a model each time would dominate
def _schema(device_type: str | None, sensors: tuple[str, ...] | None) -> str:
    return DeviceModel(device_type, sensors).schema_hash


def compatibility(header: envelope.Envelope | federated.Prior) -> str | None:
    """None if this code can use the model or prior, else the first field that differs."""
    if isinstance(header, envelope.Envelope):
        if header.format != envelope.ENVELOPE_FORMAT:
            return "envelope_format"
        if header.river_version != envelope.RIVER_VERSION:
            return "river_version"
    if header.model_version != MODEL_VERSION:
        return "model_version"
    if header.schema_hash != expected_schema(header.device_type, header.sensors):
        return "feature_schema"
    return None


# --- export ----------------------------------------------------------------------------------------


class _Chunks:
    """One open chunk per device type; a full chunk is uploaded and forgotten (bounded memory)."""

    def __init__(self, store: ObjectStore, folder: str, size: int) -> None:
        self.store, self.folder, self.size = store, folder, size
        self.open: dict[str, list[DeviceRecord]] = {}
        self.parts: Counter[str] = Counter()
        self.objects: list[ObjectInfo] = []

    def add(self, record: DeviceRecord) -> None:
        chunk = self.open.setdefault(record.device_type, [])
        chunk.append(record)
        if len(chunk) >= self.size:
            self.flush(record.device_type)

    def flush(self, device_type: str) -> None:
        chunk = self.open.pop(device_type, [])
        if not chunk:
            return
        data = gzip.compress(msgspec.msgpack.encode(chunk), compresslevel=6)
        key = f"devices/{device_type}/part-{self.parts[device_type]:05d}.msgpack.gz"
        self.parts[device_type] += 1
        self.store.put(f"{self.folder}/{key}", data)
        self.objects.append(ObjectInfo(key, _sha256(data), len(data), len(chunk), device_type))

    def close(self) -> list[ObjectInfo]:
        for device_type in list(self.open):
            self.flush(device_type)
        return self.objects


def export_snapshot(
    store: ObjectStore,
    prefix: str,
    states: Iterable[tuple[bytes, bytes]],
    topic_priors: Iterable[federated.Prior],
    *,
    app_id: str,
    source_offsets: dict[str, dict[int, int]],
    chunk_devices: int = DEFAULT_CHUNK_DEVICES,
    now_ms: int | None = None,
) -> Manifest:
    """Write a snapshot of `states` (device_id, encoded DeviceState; the newest per device, once each) and
    the fleet's priors; per type without a usable published prior, one is aggregated from a sample of the
    snapshot's own models. Returns the manifest (already written, and named by LATEST)."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    created = datetime.fromtimestamp(now / 1000, UTC)
    snapshot_id = f"{created:%Y%m%dT%H%M%S}.{now % 1000:03d}Z"
    folder = f"{prefix.strip('/')}/{snapshot_id}".lstrip("/")
    skipped: Counter[str] = Counter()
    priors: dict[str, tuple[federated.Prior, str]] = {}
    for prior in topic_priors:
        if not prior.device_type or compatibility(prior) is not None:
            skipped["prior_incompatible"] += 1
        else:
            priors[prior.device_type] = (prior, "topic")
    chunks = _Chunks(store, folder, chunk_devices)
    by_type: Counter[str] = Counter()
    schemas: dict[str, str] = {}
    samples: dict[str, list[DeviceModel]] = {}
    for key, value in states:
        record, why = _record(key, value)
        if record is None:
            skipped[why] += 1
            continue
        chunks.add(record)
        by_type[record.device_type] += 1
        if record.device_type not in schemas:
            schemas[record.device_type] = msgspec.msgpack.decode(record.model, type=envelope.Envelope).schema_hash
        sample = samples.setdefault(record.device_type, [])
        if record.device_type not in priors and len(sample) < PRIOR_SAMPLE_PER_TYPE:
            model = envelope.load(record.model)
            if model is not None:
                sample.append(model)
    for device_type, models in samples.items():
        if device_type not in priors and models:
            priors[device_type] = (federated.aggregate(models), "devices")
    for prior, _ in priors.values():
        schemas.setdefault(prior.device_type or "", prior.schema_hash)
    objects = chunks.close()
    priors_object = None
    if priors:
        data = msgspec.msgpack.encode([prior for prior, _ in priors.values()])
        store.put(f"{folder}/{PRIORS_OBJECT}", data)
        priors_object = ObjectInfo(PRIORS_OBJECT, _sha256(data), len(data))
    manifest = Manifest(
        snapshot_format=SNAPSHOT_FORMAT,
        snapshot_id=snapshot_id,
        created_at=created.isoformat(),
        created_at_ms=now,
        source_app_id=app_id,
        source_offsets=source_offsets,
        river_version=envelope.RIVER_VERSION,
        envelope_format=envelope.ENVELOPE_FORMAT,
        model_version=MODEL_VERSION,
        feature_schemas=schemas,
        devices=sum(by_type.values()),
        devices_by_type=dict(by_type),
        skipped=dict(skipped),
        objects=objects,
        priors=[PriorInfo(t, p.devices, source) for t, (p, source) in sorted(priors.items())],
        priors_object=priors_object,
    )
    store.put(f"{folder}/{MANIFEST}", msgspec.json.format(msgspec.json.encode(manifest)))
    store.put(f"{prefix.strip('/')}/{LATEST}".lstrip("/"), snapshot_id.encode())  # only once complete
    return manifest


def _record(key: bytes, value: bytes) -> tuple[DeviceRecord | None, str]:
    """The snapshot record of one device state, or None and why it is left out."""
    try:
        state = decode_state(value)
        device_id = key.decode()
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None, "corrupt_state"
    if not state.model_state:
        return None, "no_model"  # e.g. scored by the baseline, or not yet scored
    if not _SAFE_TYPE.fullmatch(state.device_type):
        return None, "bad_device_type"
    try:
        header = msgspec.msgpack.decode(state.model_state, type=envelope.Envelope)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, "corrupt_model"
    if compatibility(header) is not None:
        return None, "incompatible_model"  # this code could not load it either: the worker restarts it cold
    model = state.model_state
    if state.model_pending:  # the envelope plus the readings it learned since (streams/scoring.py): one envelope
        restored = service.load(model, state.model_pending)
        if restored is None:
            return None, "corrupt_model"
        model = envelope.dump(restored)
    return (
        DeviceRecord(
            device_id,
            state.device_type,
            model,
            state.first_seen,
            state.last_seen,
            state.cadence_ms,
            state.readings,
        ),
        "",
    )


# --- import ----------------------------------------------------------------------------------------


def open_snapshot(store: ObjectStore, location: str) -> tuple[str, Manifest]:
    """The snapshot folder and manifest at `location`: a snapshot's folder, or a prefix whose LATEST names one."""
    location = location.strip("/")
    try:
        raw = store.get(f"{location}/{MANIFEST}".lstrip("/"))
        folder = location
    except SnapshotError:
        try:
            latest = store.get(f"{location}/{LATEST}".lstrip("/")).decode().strip()
        except SnapshotError:
            raise SnapshotError(f"no snapshot at '{location}': neither {MANIFEST} nor {LATEST} there") from None
        folder = f"{location}/{latest}".lstrip("/")
        raw = store.get(f"{folder}/{MANIFEST}")
    try:
        return folder, msgspec.json.decode(raw, type=Manifest)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise SnapshotError(f"corrupt manifest '{folder}/{MANIFEST}': {error}") from None


def check_compatible(manifest: Manifest, devices: bool) -> None:
    """Refuse a snapshot this code cannot use, naming every mismatch (priors need the model version and
    feature schemas; per-device models also the envelope format and River version)."""
    problems = []
    if manifest.snapshot_format != SNAPSHOT_FORMAT:
        problems.append(f"snapshot format {manifest.snapshot_format} (this code reads {SNAPSHOT_FORMAT})")
    if manifest.model_version != MODEL_VERSION:
        problems.append(f"model_version {manifest.model_version} (this code: {MODEL_VERSION})")
    for device_type, schema in sorted(manifest.feature_schemas.items()):
        if schema != (want := expected_schema(device_type)):
            problems.append(f"feature schema of '{device_type}' {schema} (this code: {want})")
    if devices and manifest.envelope_format != envelope.ENVELOPE_FORMAT:
        problems.append(f"envelope format {manifest.envelope_format} (this code: {envelope.ENVELOPE_FORMAT})")
    if devices and manifest.river_version != envelope.RIVER_VERSION:
        problems.append(f"river {manifest.river_version} (this code: {envelope.RIVER_VERSION})")
    if problems:
        raise SnapshotError(f"snapshot {manifest.snapshot_id} is incompatible: " + "; ".join(problems))


def _verified(store: ObjectStore, folder: str, info: ObjectInfo) -> bytes:
    data = store.get(f"{folder}/{info.key}")
    if len(data) != info.size or _sha256(data) != info.sha256:
        raise SnapshotError(f"corrupt object '{folder}/{info.key}': size or sha256 differs from the manifest")
    return data


def read_priors(store: ObjectStore, folder: str, manifest: Manifest) -> list[federated.Prior]:
    if manifest.priors_object is None:
        return []
    data = _verified(store, folder, manifest.priors_object)
    try:
        priors = msgspec.msgpack.decode(data, type=list[federated.Prior])
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise SnapshotError(f"corrupt object '{folder}/{PRIORS_OBJECT}': {error}") from None
    for prior in priors:
        if (field := compatibility(prior)) is not None:
            raise SnapshotError(f"prior of '{prior.device_type}' in {manifest.snapshot_id} is incompatible: {field}")
    return priors


def device_records(store: ObjectStore, folder: str, manifest: Manifest, problems: list[str]) -> Iterator[DeviceRecord]:
    """Every device record, chunk by chunk; a corrupt or missing chunk is reported in `problems` and skipped."""
    for info in manifest.objects:
        try:
            chunk = msgspec.msgpack.decode(gzip.decompress(_verified(store, folder, info)), type=list[DeviceRecord])
        except SnapshotError as error:
            problems.append(str(error))
            continue
        except (OSError, EOFError, msgspec.DecodeError, msgspec.ValidationError) as error:
            problems.append(f"corrupt object '{folder}/{info.key}': {error}")
            continue
        yield from chunk


def restored_state(record: DeviceRecord, partitions: int) -> tuple[int, bytes]:
    """The device-table value that starts `record`'s device from its snapshot model on its partition of a
    table with `partitions` partitions (murmur2 of the device id, like the readings)."""
    partition = partition_for(record.device_id.encode(), partitions)
    state = DeviceState(
        device_type=record.device_type,
        partition=partition,
        first_seen=record.first_seen,
        last_seen=record.last_seen,
        cadence_ms=record.cadence_ms,
        model_state=record.model,
    )
    return partition, encode_state(state)


def restore_devices(
    records: Iterable[DeviceRecord],
    present: Callable[[bytes], bool],
    write: Callable[[bytes, int, bytes], None],
    partitions: int,
) -> Counter[str]:
    """Write the state of every snapshot device the table does not hold; never touch one it does."""
    outcome: Counter[str] = Counter()
    for record in records:
        key = record.device_id.encode()
        if present(key):
            outcome["skipped_existing"] += 1
            continue
        partition, value = restored_state(record, partitions)
        write(key, partition, value)
        outcome["restored"] += 1
    return outcome
