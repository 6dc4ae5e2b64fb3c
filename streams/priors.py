"""Fleet priors across workers, framework-free: each worker aggregates the device models it holds into one
prior per device type, publishes them keyed `device_type|worker` (a compacted topic keeps the newest per
key), reads every worker's entries back, merges them per type and warm-starts new devices from the result.

Keyed per worker, not per type, so workers never overwrite each other's contribution; entries older than
`max_age_ms` (a worker that left) stop counting.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import msgspec

from streams.model import federated, service
from streams.model.detector import DeviceModel
from streams.state import decode_state

MAX_AGE_MS = 24 * 3600 * 1000  # entries older than this are from a worker that left: they no longer count


class Entry(msgspec.Struct, array_like=True):
    at_ms: int
    prior: federated.Prior


def local_models(states: Iterable[bytes], per_type: int) -> list[DeviceModel]:
    """Up to `per_type` device models per type from encoded DeviceStates (bounded: it runs on the event loop)."""
    taken: dict[str, int] = {}
    models = []
    for raw in states:
        state = decode_state(raw)
        if not state.model_state or taken.get(state.device_type, 0) >= per_type:
            continue
        model = service.load(state.model_state, state.model_pending)
        if model is not None:
            taken[state.device_type] = taken.get(state.device_type, 0) + 1
            models.append(model)
    return models


def publish(priors: Iterable[federated.Prior], worker: str, now_ms: int | None = None) -> list[tuple[bytes, bytes]]:
    at = now_ms if now_ms is not None else int(time.time() * 1000)
    return [
        (f"{p.device_type}|{worker}".encode(), msgspec.msgpack.encode(Entry(at, p))) for p in priors if p.device_type
    ]


def merged(entries: Mapping[bytes, bytes], max_age_ms: int, now_ms: int | None = None) -> list[federated.Prior]:
    """One prior per (type, model version, feature schema) from every fresh, decodable entry."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    groups: dict[tuple[str | None, int, str], list[federated.Prior]] = {}
    for value in entries.values():
        try:
            entry = msgspec.msgpack.decode(value, type=Entry)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue  # a foreign or older record on the topic: not ours to trust
        if now - entry.at_ms <= max_age_ms and entry.prior.devices > 0:
            p = entry.prior
            groups.setdefault((p.device_type, p.model_version, p.schema_hash), []).append(p)
    return [federated.merge_priors(group) for group in groups.values()]
