"""Model snapshots on real servers: a real worker learns a small fleet on the shared Kafka, `fleetpulse model
export` writes it to a real S3-compatible server (moto in server mode, its own process on a free port),
and `fleetpulse model import` seeds fresh deployments (new app ids) whose real workers then start warm."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import msgspec
import pytest
import requests
from confluent_kafka import Producer

from core.kafka.config import confluent_producer_config
from core.partitioning import partition_for
from core.settings import Settings
from core.topics import create_topics, priors_topic
from schemas import Reading, Score, encode
from streams.model import envelope
from streams.model.detector import COLD_WARMUP, PRIOR_WARMUP
from streams.snapshots.archive import DeviceRecord, Manifest
from streams.snapshots.kafka_io import (
    changelog_topic,
    device_states,
    end_offsets,
    existing_devices,
    read_until,
    worker_members,
)
from streams.state import decode_state
from tests.conftest import isolated_settings
from tests.harness import (
    ROOT,
    consume,
    free_port,
    settings_env,
    start_worker,
    wait_for,
    wait_worker_ready,
)

pytestmark = pytest.mark.integration

BUCKET = "fleetpulse-snapshots"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # moto accepts any
DEVICES = {"snap-pc-0": "pc", "snap-pc-1": "pc", "snap-srv-0": "server", "snap-srv-1": "server"}
ROUNDS = 80  # past the cold warm-up (60), so the exported models are warm
CADENCE_MS = 5_000
T0 = 1_795_000_020_000


def _reading(device_id: str, device_type: str, round_: int, rng: random.Random) -> tuple[bytes, bytes]:
    load = 40 + rng.gauss(0, 5)
    reading = Reading(
        device_id=device_id,
        device_type=device_type,
        ts=T0 + round_ * CADENCE_MS,
        seq=round_,
        temperature_c=45 + 0.2 * (load - 40) + rng.gauss(0, 0.5),
        load_pct=min(100.0, max(0.0, load)),
    )
    return device_id.encode(), encode(reading)


def _produce(settings: Settings, devices: dict[str, str], rounds: range, seed: int) -> None:
    """Keyed by device with murmur2, like the project's producers: a restored device's state must sit on the
    partition its readings arrive on (tests.harness.produce_raw uses librdkafka's default, CRC32)."""
    rng = random.Random(seed)
    producer = Producer(confluent_producer_config(settings, log_level=0))
    for round_ in rounds:  # round-major, like a fleet
        for device_id, device_type in devices.items():
            producer.produce(settings.topic_readings, *reversed(_reading(device_id, device_type, round_, rng)))
    assert producer.flush(30) == 0


def _scores(settings: Settings, expected: int) -> dict[str, list[Score]]:
    by_device: dict[str, list[Score]] = {}
    for message in consume(settings, settings.topic_scores, expected=expected, timeout=120):
        score = msgspec.json.decode(message.value(), type=Score)
        by_device.setdefault(score.device_id, []).append(score)
    return by_device


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings_env(settings), **AWS_ENV}
    return subprocess.run(
        [sys.executable, "-m", "fleetpulse", "model", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _prior_devices(settings: Settings) -> dict[str, float]:
    """The worker's `fleetpulse_worker_model_prior_devices` gauge, by device type."""
    try:
        text = requests.get(f"http://127.0.0.1:{settings.worker_metrics_port}/metrics", timeout=2).text
    except requests.RequestException:
        return {}
    pattern = r'^fleetpulse_worker_model_prior_devices\{device_type="([^"]+)"\} ([0-9.e+]+)$'
    return {m[1]: float(m[2]) for m in re.finditer(pattern, text, re.MULTILINE)}


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    """moto's S3 as a real server process on a free port, with one bucket."""
    port = free_port()
    log = (ROOT / ".pytest_cache" / f"moto-{port}.log").resolve()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return requests.get(endpoint, timeout=1).status_code < 500
        except requests.RequestException:
            return False

    try:
        wait_for(up, 30, "moto_server")
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_keys())
        client.create_bucket(Bucket=BUCKET)
        client.endpoint = endpoint  # type: ignore[attr-defined]
        yield client
    finally:
        process.terminate()
        process.wait(10)


def _keys() -> dict[str, str]:
    return {
        "aws_access_key_id": AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    }


def _settings(stack: Settings, s3: Any) -> Settings:
    settings = isolated_settings(stack, s3_endpoint_url=s3.endpoint, worker_prior_seconds=2.0)
    create_topics(settings)
    return settings


@pytest.fixture(scope="module")
def source(stack: Settings, s3: Any) -> Iterator[tuple[Settings, dict[str, list[Score]]]]:
    """A real worker learned 4 devices, 80 readings each, and published priors; then it stopped."""
    settings = _settings(stack, s3)
    worker = start_worker(settings)
    try:
        wait_worker_ready(settings, worker)
        _produce(settings, DEVICES, range(ROUNDS), seed=1)
        scores = _scores(settings, len(DEVICES) * ROUNDS)
        wait_for(lambda: _prior_devices(settings) == {"pc": 2.0, "server": 2.0}, 60, "the worker's priors")
    finally:
        worker.stop()
    yield settings, scores


@pytest.fixture(scope="module")
def exported(source: tuple[Settings, Any], s3: Any) -> tuple[Manifest, str]:
    settings, _ = source
    out = _ok(_cli(settings, "export", "--to", f"s3://{BUCKET}/fleet", "--chunk-devices", "1"))
    snapshot_id = s3.get_object(Bucket=BUCKET, Key="fleet/LATEST")["Body"].read().decode()
    assert snapshot_id in out
    raw = s3.get_object(Bucket=BUCKET, Key=f"fleet/{snapshot_id}/manifest.json")["Body"].read()
    return msgspec.json.decode(raw, type=Manifest), f"fleet/{snapshot_id}"


def test_export_writes_every_device_model_the_priors_and_a_manifest(
    source: tuple[Settings, dict[str, list[Score]]], exported: tuple[Manifest, str], s3: Any
) -> None:
    settings, scores = source
    manifest, folder = exported
    # the source devices started cold: this is what a warm start is compared with below
    assert {d: sum(s.warming_up for s in scores[d]) for d in DEVICES} == dict.fromkeys(DEVICES, COLD_WARMUP)
    assert manifest.source_app_id == settings.worker_app_id
    assert manifest.devices == 4 and manifest.devices_by_type == {"pc": 2, "server": 2}
    assert [(p.device_type, p.devices, p.source) for p in manifest.priors] == [
        ("pc", 2, "topic"),
        ("server", 2, "topic"),
    ]
    changelog_ends = manifest.source_offsets[changelog_topic(settings.worker_app_id)]
    assert sum(changelog_ends.values()) > 0 and len(changelog_ends) == settings.topic_partitions
    assert sum(manifest.source_offsets[priors_topic(settings.worker_app_id)].values()) >= 2
    assert len(manifest.objects) == 4  # --chunk-devices 1
    seen = {}
    for info in manifest.objects:
        body = s3.get_object(Bucket=BUCKET, Key=f"{folder}/{info.key}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == info.sha256
        for record in msgspec.msgpack.decode(gzip.decompress(body), type=list[DeviceRecord]):
            model = envelope.load(record.model)
            assert model is not None and record.device_type == info.device_type == DEVICES[record.device_id]
            seen[record.device_id] = (model.seen, record.readings)
    assert seen == dict.fromkeys(DEVICES, (ROUNDS, ROUNDS))


def test_imported_priors_start_a_new_fleets_devices_warm_under_a_running_worker(
    stack: Settings, s3: Any, exported: tuple[Manifest, str]
) -> None:
    settings = _settings(stack, s3)
    worker = start_worker(settings)
    try:
        wait_worker_ready(settings, worker)
        out = _ok(_cli(settings, "import", "--from", f"s3://{BUCKET}/fleet"))
        assert "priors    2 published" in out
        keys = {m.key() for m in consume(settings, priors_topic(settings.worker_app_id), expected=2)}
        snapshot_id = exported[0].snapshot_id
        assert keys == {f"pc|snapshot:{snapshot_id}".encode(), f"server|snapshot:{snapshot_id}".encode()}
        # the running worker picks the snapshot's prior up on its next prior tick (its own table is empty)
        wait_for(lambda: _prior_devices(settings) == {"pc": 2.0, "server": 2.0}, 60, "the imported priors")
        fresh = {"new-pc-0": "pc", "new-srv-0": "server"}
        _produce(settings, fresh, range(30), seed=2)
        scores = _scores(settings, 60)
    finally:
        worker.stop()
    assert {d: sum(s.warming_up for s in scores[d]) for d in fresh} == dict.fromkeys(fresh, PRIOR_WARMUP)


@pytest.fixture(scope="module")
def restored(stack: Settings, s3: Any, exported: tuple[Manifest, str]) -> tuple[Settings, str]:
    settings = _settings(stack, s3)
    out = _ok(_cli(settings, "import", "--from", f"s3://{BUCKET}/fleet", "--devices"))
    assert "restored 4, kept newer state of 0" in out
    return settings, out


def test_restored_devices_resume_their_own_models_and_newer_state_is_never_overwritten(
    restored: tuple[Settings, str],
) -> None:
    settings, _ = restored
    assert existing_devices(settings) == {d.encode() for d in DEVICES}
    worker = start_worker(settings)
    try:
        wait_worker_ready(settings, worker)
        _produce(settings, {"snap-pc-0": "pc"}, range(ROUNDS, ROUNDS + 20), seed=3)
        scores = _scores(settings, 20)["snap-pc-0"]
        refused = _cli(settings, "import", "--from", f"s3://{BUCKET}/fleet", "--devices")
    finally:
        worker.stop()
    assert not any(s.warming_up for s in scores)  # its learned baseline came along: no warm-up again
    assert refused.returncode == 1 and "are running" in refused.stderr and "Traceback" not in refused.stderr
    states = {k.decode(): decode_state(v) for k, v in device_states(settings)[0]}
    model = envelope.load(states["snap-pc-0"].model_state)
    assert model is not None and model.seen == ROUNDS + 20 and states["snap-pc-0"].readings == 20
    # the workers are gone now: a second restore keeps every device's newer (or equal) state
    wait_for(lambda: worker_members(settings) == 0, 60, "the worker group to empty")
    again = _ok(_cli(settings, "import", "--from", f"s3://{BUCKET}/fleet", "--devices", "--no-priors"))
    assert "restored 0, kept newer state of 4" in again
    states = {k.decode(): decode_state(v) for k, v in device_states(settings)[0]}
    assert states["snap-pc-0"].readings == 20  # still the worker's state, not the snapshot's
    topic = changelog_topic(settings.worker_app_id)
    log = read_until(settings, topic, end_offsets(settings, topic) or {})
    partitions = {partition for partition, _, key, _ in log if key == b"snap-pc-0"}
    assert partitions == {partition_for(b"snap-pc-0", settings.topic_partitions)}  # restore and worker agree


def test_a_missing_bucket_snapshot_or_source_is_a_clear_error(
    stack: Settings, s3: Any, source: tuple[Settings, Any]
) -> None:
    settings, _ = source
    for args in (("export", "--to", "s3://no-such-bucket/x"), ("import", "--from", "s3://no-such-bucket/x")):
        result = _cli(settings, *args)
        assert result.returncode == 1, result.stdout
        assert "bucket 'no-such-bucket' does not exist" in result.stderr and "Traceback" not in result.stderr
    result = _cli(settings, "import", "--from", f"s3://{BUCKET}/nothing-here")
    assert result.returncode == 1 and "no snapshot at 'nothing-here'" in result.stderr
    never_ran = _settings(stack, s3)
    result = _cli(never_ran, "export", "--to", f"s3://{BUCKET}/empty")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{changelog_topic(never_ran.worker_app_id)} does not exist" in result.stderr


def _copy(s3: Any, folder: str, to: str) -> None:
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{folder}/")["Contents"]:
        s3.copy_object(
            Bucket=BUCKET, Key=to + item["Key"][len(folder) :], CopySource={"Bucket": BUCKET, "Key": item["Key"]}
        )


def test_a_corrupt_chunk_is_reported_and_the_rest_restored(
    stack: Settings, s3: Any, exported: tuple[Manifest, str]
) -> None:
    manifest, folder = exported
    _copy(s3, folder, "corrupt/snap")
    bad = manifest.objects[0]
    s3.put_object(Bucket=BUCKET, Key=f"corrupt/snap/{bad.key}", Body=b"\x1f\x8b garbage")
    settings = _settings(stack, s3)
    result = _cli(settings, "import", "--from", f"s3://{BUCKET}/corrupt/snap", "--devices")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"corrupt object 'corrupt/snap/{bad.key}'" in result.stderr
    assert "restored 3, kept newer state of 0" in result.stdout
    assert len(existing_devices(settings)) == 3


def test_a_snapshot_of_another_model_version_is_refused_and_nothing_is_written(
    stack: Settings, s3: Any, exported: tuple[Manifest, str]
) -> None:
    manifest, folder = exported
    _copy(s3, folder, "mismatch/snap")
    other = msgspec.structs.replace(manifest, model_version=manifest.model_version + 1)
    s3.put_object(Bucket=BUCKET, Key="mismatch/snap/manifest.json", Body=msgspec.json.encode(other))
    settings = _settings(stack, s3)
    result = _cli(settings, "import", "--from", f"s3://{BUCKET}/mismatch/snap", "--devices")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "incompatible" in result.stderr and f"model_version {manifest.model_version + 1}" in result.stderr
    assert existing_devices(settings) == set()
    assert end_offsets(settings, priors_topic(settings.worker_app_id)) is None  # no prior published either
