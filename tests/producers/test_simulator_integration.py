"""The simulator on the real local Kafka: every record validates, each injected failure mode shows its
signature and its ground-truth label on the events topic, the same seed reproduces the same stream,
and a stopped or killed simulator loses nothing Kafka acknowledged."""

from __future__ import annotations

import re
import signal
from collections import defaultdict

import pytest
import requests

from core.settings import Settings
from core.topics import create_topics
from schemas import FailureLabel, decode_event, decode_reading
from tests.conftest import isolated_settings
from tests.harness import RealProcess, consume, free_port, wait_for
from tests.producers.signatures import check_signature

pytestmark = pytest.mark.integration

START = 1_795_000_000_000
INJECT = {  # device index % 4: 0 pc, 1 raspberry_pi, 2 server, 3 phone
    "sim-pc-00000": "fan_failure",
    "sim-raspberrypi-00001": "undervoltage",
    "sim-server-00002": "overload",
    "sim-phone-00003": "stuck_sensor",
    "sim-pc-00004": "silent_death",
    "sim-raspberrypi-00005": "thermal_paste",
    "sim-server-00006": "flapping_connectivity",
}


def _simulator(settings: Settings, *args: str, name: str) -> RealProcess:
    return RealProcess(settings, "simulate", "--start-ms", str(START), *args, log_name=f"{name}-{free_port()}")


def _acknowledged(process: RealProcess) -> dict[str, int]:
    line = re.search(r"acknowledged \d+ \((.*)\), failed 0, unacknowledged 0", process.log(400))
    assert line, process.log()
    return {topic: int(n) for topic, n in (pair.split("=") for pair in line.group(1).split(", "))}


@pytest.fixture(scope="module")
def injected_run(stack: Settings) -> tuple[Settings, list, list]:
    """8 devices, 3 event-hours in ~6 s of wall time; 7 modes injected through the control API."""
    api_port = free_port()
    settings = isolated_settings(stack, simulator_api_port=api_port, simulator_failure_rate_per_hour=0.0)
    create_topics(settings)
    rounds = 12 * 60 * 3
    run = _simulator(settings, "--devices", "8", "--rounds", str(rounds), "--speedup", "1800", name="sim-inject")
    run.start()
    api = f"http://127.0.0.1:{api_port}"

    def api_up() -> bool:
        try:
            return requests.get(f"{api}/devices", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(api_up, 20, "the control API")
    for device_id, mode in INJECT.items():
        response = requests.post(f"{api}/devices/{device_id}/inject", json={"mode": mode}, timeout=5)
        assert response.status_code == 200, response.text
        assert response.json()["mode"] == mode and response.json()["phase"] in ("degrading", "critical")
    assert requests.post(f"{api}/devices/nope/inject", json={"mode": "fan_failure"}, timeout=5).status_code == 404
    bad_mode = requests.post(f"{api}/devices/sim-pc-00000/inject", json={"mode": "gremlins"}, timeout=5)
    assert bad_mode.status_code == 400 and "mode must be one of" in bad_mode.json()["error"]
    assert "openapi" in requests.get(f"{api}/openapi.json", timeout=5).json()
    assert run.process is not None and run.process.wait(120) == 0, run.log()
    acked = _acknowledged(run)
    readings = consume(settings, settings.topic_readings, acked[settings.topic_readings])
    events = consume(settings, settings.topic_events, acked[settings.topic_events])
    return settings, readings, events


def test_every_produced_record_validates_and_is_keyed_by_device(injected_run: tuple) -> None:
    _, readings, events = injected_run
    for message in readings:
        assert decode_reading(message.value()).device_id == message.key().decode()
    for message in events:
        assert decode_event(message.value()).device_id == message.key().decode()


def test_each_injected_mode_has_its_signature_and_label_on_kafka(injected_run: tuple) -> None:
    _, readings, events = injected_run
    labels = {e.device_id: e for e in map(lambda m: decode_event(m.value()), events) if isinstance(e, FailureLabel)}
    assert set(labels) == set(INJECT), labels
    by_device = defaultdict(list)
    for message in readings:
        reading = decode_reading(message.value())
        by_device[reading.device_id].append(reading)
    for device_id, mode in INJECT.items():
        label = labels[device_id]
        assert label.injected and label.mode == mode
        check_signature(mode, sorted(by_device[device_id], key=lambda r: r.ts), label)
    assert len(by_device["sim-phone-00007"]) == 12 * 60 * 3  # the healthy one never missed a round


def test_same_seed_and_start_reproduce_the_same_stream(stack: Settings) -> None:
    streams = []
    for _ in range(2):
        settings = isolated_settings(stack, simulator_failure_rate_per_hour=20.0)
        create_topics(settings)
        run = _simulator(settings, "--devices", "12", "--rounds", "120", "--speedup", "0", "--api-port", "0", name="s")
        run.start()
        assert run.process is not None and run.process.wait(60) == 0, run.log()
        acked = _acknowledged(run)
        messages = consume(settings, settings.topic_readings, acked[settings.topic_readings])
        events = consume(settings, settings.topic_events, acked[settings.topic_events])
        streams.append(sorted((m.key(), m.value()) for m in messages + events))
    assert streams[0] == streams[1]
    assert any(b'"failure_label"' in value for _, value in streams[0])  # failures happened and were labelled


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_a_killed_simulator_loses_nothing_it_acknowledged(stack: Settings, sig: signal.Signals) -> None:
    settings = isolated_settings(stack)
    create_topics(settings)
    run = _simulator(settings, "--devices", "500", "--speedup", "600", "--api-port", "0", name=f"sim-{sig.name}")
    run.start()
    pattern = re.compile(r"acknowledged readings=(\d+)")
    wait_for(lambda: len(pattern.findall(run.log(400))) >= 4, 60, "a few acknowledged rounds")
    run.stop(sig)
    if sig == signal.SIGTERM:
        assert run.process is not None and run.process.returncode == 0, run.log()
        promised = _acknowledged(run)[settings.topic_readings]  # flushed: everything sent was acknowledged
    else:
        promised = int(pattern.findall(run.log(400))[-1])  # the last count it reported before dying
    messages = consume(settings, settings.topic_readings, promised, timeout=60)
    seqs: dict[bytes, list[int]] = defaultdict(list)
    for message in messages:
        seqs[message.key()].append(decode_reading(message.value()).seq)
    for key, values in seqs.items():  # idempotence: no duplicates, no gaps, per device
        assert sorted(values) == list(range(len(values))), key
    if sig == signal.SIGTERM:
        assert len(messages) == promised
