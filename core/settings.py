"""The one typed settings object. Every field is read from an env var named FLEETPULSE_<FIELD>.

The README's configuration table is generated from this class (`fleetpulse settings --markdown`)
and a test fails when the two disagree, so a new field here is documented by construction.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(Exception):
    """A configuration mistake a user can fix: which setting, and what is wrong with it. The CLI prints it
    as one line and exits 2 (no traceback)."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting, self.problem = setting, problem


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLEETPULSE_", extra="ignore")

    # --- Kafka (local by default; a managed cluster needs the security fields) ---
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="SASL_SSL for a managed cluster such as Confluent Cloud."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "PLAIN", description="SASL mechanism when the protocol is SASL_*."
    )
    kafka_sasl_username: str = Field("", description="SASL user (the API key on Confluent Cloud).")
    kafka_sasl_password: SecretStr = Field(
        SecretStr(""), description="SASL password (the API secret on Confluent Cloud)."
    )
    kafka_ssl_ca_location: str = Field("", description="CA bundle path; empty uses the system store.")
    topic_partitions: int = Field(6, ge=1, description="Partitions for the topics the project creates.")
    topic_replication_factor: int = Field(1, ge=1, description="Replication factor for project topics.")

    # --- Topic names (versioned: a breaking schema change gets a new topic) ---
    topic_readings: str = Field("fleetpulse.readings.v1", description="Sensor readings topic.")
    topic_scores: str = Field("fleetpulse.scores.v1", description="Failure scores topic.")
    topic_dead_letters: str = Field("fleetpulse.dead-letters.v1", description="Rejected input, with reasons.")
    topic_events: str = Field("fleetpulse.device-events.v1", description="Device lifecycle and label events.")
    topic_stats: str = Field(
        "fleetpulse.window-stats.v1", description="Per device and sensor stats of each closed event-time window."
    )

    bind_host: str = Field(
        "127.0.0.1",
        description="Address the project's HTTP and metrics servers listen on (0.0.0.0 in containers).",
    )

    # --- Event-time admission (schemas/admission.py): ingestion and the worker alike ---
    event_time_max_ahead_seconds: float = Field(
        300.0,
        ge=0,
        description="A reading more than this ahead of its Kafka record's timestamp (at phone ingestion: the "
        "server's clock) is dead-lettered `future_time`: a device clock or unit bug must not move event time. "
        "0 = no bound.",
    )
    event_time_max_age_seconds: float = Field(
        7 * 86400.0,
        ge=0,
        description="A reading older than this behind its Kafka record's timestamp (the server's clock at "
        "ingestion) is dead-lettered `too_old` (a replayed backlog is judged by its records' own times). "
        "0 = no bound.",
    )

    # --- Stream worker ---
    worker_app_id: str = Field("fleetpulse-worker", description="Faust app id: consumer group and changelog prefix.")
    worker_web_port: int = Field(6066, description="Faust web port (device status views).")
    worker_metrics_port: int = Field(9101, description="Prometheus metrics port of the worker.")
    worker_store: str = Field("memory://", description="Faust table store: memory:// or rocksdb://.")
    worker_standby_replicas: int = Field(0, ge=0, description="Standby replicas of the worker's tables.")
    worker_session_timeout_seconds: float = Field(
        30.0, gt=3, description="Kafka consumer session timeout: how soon a killed worker's partitions move."
    )
    worker_batch_size: int = Field(4000, ge=1, description="Messages the worker takes per batch, at most.")
    worker_batch_kbytes: int = Field(
        8192,
        ge=1,
        description="KiB of messages the worker takes per batch, at most (past the first message): bounds a batch "
        "of envelopes (8 MiB: ~50k readings, about a second of processing).",
    )
    worker_batch_seconds: float = Field(0.05, gt=0, description="Longest wait to fill a batch, seconds.")
    worker_lateness_seconds: float = Field(
        10.0, ge=0, description="Allowed event-time lateness before a window closes; later readings count as late."
    )
    worker_liveness_sweep_seconds: float = Field(2.0, gt=0, description="Wall seconds between liveness sweeps.")
    worker_stall_seconds: float = Field(
        20.0,
        gt=0,
        description="Seconds a readings partition may wait with no progress before the worker reads it directly "
        "(Faust sometimes stops delivering a partition after a rebalance).",
    )
    worker_late_factor: float = Field(3.0, gt=1, description="A device is late after this many learned cadences.")
    worker_silent_seconds: float = Field(600.0, gt=0, description="Event-time seconds without a reading: silent.")
    worker_dead_seconds: float = Field(3600.0, gt=0, description="Event-time seconds without a reading: dead.")
    worker_event_clock_rate: float = Field(
        1.0, gt=0, description="Event seconds per wall second of the idle liveness clock (the simulator's speedup)."
    )
    worker_device_metrics: Literal["all", "top"] = Field(
        "top", description="Per-device metrics: every device, or fleet aggregates plus the top-K at risk."
    )
    worker_device_metrics_top_k: int = Field(20, ge=0, description="Devices exposed per-device when 'top'.")
    worker_scorer: Literal["model", "baseline"] = Field(
        "model", description="What scores readings: the per-device River failure model, or the limits baseline."
    )
    worker_prior_seconds: float = Field(
        300.0, gt=0, description="Wall seconds between publishing this worker's per-type model priors."
    )
    worker_model_cache_devices: int = Field(
        20_000,
        ge=0,
        description="Device states and models kept decoded between batches (~17 KB each; saves decoding them per "
        "batch). 0 disables; below the devices per worker it helps less, as round-robin traffic evicts before reuse.",
    )
    worker_model_checkpoint_readings: int = Field(
        16,
        ge=1,
        description="A model kept decoded stores its envelope (~8 KB, ~11 us to encode) once this many readings are "
        "pending; until then its device state carries those readings (~70 B each) and a restore replays them. "
        "1: every batch.",
    )

    # --- Simulated fleet ---
    simulator_devices: int = Field(20, ge=1, le=100_000, description="Number of simulated devices.")
    simulator_cadence_seconds: float = Field(5.0, gt=0, description="Event-time seconds between readings.")
    simulator_seed: int = Field(42, description="Same seed, same stream.")
    simulator_speedup: float = Field(1.0, gt=0, description="Event-time seconds per wall second (1 = real time).")
    simulator_metrics_port: int = Field(9102, description="Prometheus metrics port of the simulator.")
    simulator_failure_rate_per_hour: float = Field(
        0.02, ge=0, le=60, description="Chance per healthy simulated device per event-hour that a failure begins."
    )
    simulator_api_port: int = Field(9110, ge=0, description="Simulator control API port (0 = no API).")
    simulator_scripted_failures: str = Field(
        "",
        description="Failures that begin at fixed event times, comma separated `device_id:mode@minutes` "
        "(minutes after the first round), e.g. `sim-pc-00000:fan_failure@10`; empty = only random ones.",
    )
    simulator_batch_size: int = Field(
        1,
        ge=1,
        le=1000,
        description="Readings per Kafka message (1 = one object per message; more = batch envelope arrays).",
    )

    # --- Host agent and phone ingestion ---
    agent_device_id: str = Field("", description="Device id the host agent reports as; empty = host-<hostname>.")
    agent_interval_seconds: float = Field(5.0, gt=0, description="Seconds between the host agent's readings.")
    agent_metrics_port: int = Field(9103, description="Prometheus metrics port of the host agent.")
    ingest_port: int = Field(9111, description="Phone ingestion (Sensor Logger HTTP push) port.")
    ingest_metrics_port: int = Field(9104, description="Prometheus metrics port of phone ingestion.")
    ingest_tokens_file: str = Field(
        "",
        description="JSON file {device: bearer token, 16+ characters} of phones allowed to push; device = the "
        "app's deviceId or the phone-<deviceId> FleetPulse shows, either works; gateway:<name> = a gateway "
        "(POST /gateway/readings, any devices). Empty = none.",
    )
    ingest_max_body_bytes: int = Field(1_048_576, gt=0, description="Largest accepted push body, bytes.")
    ingest_rate_per_minute: int = Field(120, gt=0, description="Pushes accepted per phone per minute.")
    ingest_linger_ms: float = Field(
        20.0,
        ge=0,
        le=1000,
        description="How long a pushed reading may wait for others of its partition, to share one batch "
        "envelope message (0 = one message per reading). Phones are answered after Kafka's ack either way.",
    )
    ingest_envelope_max_readings: int = Field(
        100, ge=1, le=1000, description="Most readings in one coalesced envelope message (1 = no envelopes)."
    )

    # --- DynamoDB and Kafka Connect ---
    dynamodb_endpoint: str = Field(
        "http://127.0.0.1:8000", description="DynamoDB endpoint; empty uses AWS's regional endpoint."
    )
    aws_region: str = Field("us-east-1", description="AWS region for DynamoDB.")
    aws_access_key_id: str = Field(
        "fleetpulse", description="Access key; the local server accepts any letters-and-digits pair."
    )
    aws_secret_access_key: SecretStr = Field(SecretStr("fleetpulse"), description="Secret key.")
    table_readings: str = Field("fleetpulse_readings", description="DynamoDB table for readings.")
    table_scores: str = Field("fleetpulse_scores", description="DynamoDB table for failure scores.")
    connect_url: str = Field("http://127.0.0.1:8083", description="Kafka Connect REST URL.")
    table_events: str = Field("fleetpulse_device_events", description="DynamoDB table for device events.")
    table_device_status: str = Field(
        "fleetpulse_device_status", description="DynamoDB table: one row per device, its latest score."
    )
    table_alert_acks: str = Field("fleetpulse_alert_acks", description="DynamoDB table of acknowledged alerts.")
    readings_ttl_days: float = Field(
        7.0, ge=0, description="Raw readings expire from DynamoDB after this many days (TTL); 0 keeps them."
    )
    topic_connect_dead_letters: str = Field(
        "fleetpulse.connect-dead-letters.v1", description="Records the DynamoDB sinks could not write."
    )

    # --- Storage policy: what the sinks keep in DynamoDB (README, "Storage policy and cost") ---
    storage_policy: Literal["aggregated", "everything"] = Field(
        "aggregated",
        description="aggregated: 1-min window rows, scores and status rows when they matter (raw readings per "
        "storage_raw_readings); everything: every reading, score and status row, as produced.",
    )
    storage_raw_readings: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Raw readings in DynamoDB (with TTL) under the aggregated policy; auto = on while "
        "storage_fleet_devices <= storage_raw_max_devices.",
    )
    storage_fleet_devices: int = Field(100, ge=1, description="Devices the deployment is sized for.")
    storage_raw_max_devices: int = Field(
        500, ge=0, description="Largest fleet for which 'auto' keeps raw readings (720 writes per device-hour)."
    )
    storage_score_delta: float = Field(
        0.1,
        gt=0,
        le=1,
        description="A score is stored when it moved at least this much from the stored one (at or above the floor).",
    )
    storage_score_floor: float = Field(
        0.5, ge=0, le=1, description="Below this score (the API's warning level) only band changes and heartbeats."
    )
    storage_heartbeat_seconds: float = Field(
        300.0, gt=0, description="Event-time seconds after which a device's score is stored even if unchanged."
    )
    topic_scores_store: str = Field(
        "fleetpulse.scores-store.v1", description="Scores the aggregated policy stores (the score sinks read it)."
    )
    topic_windows_store: str = Field(
        "fleetpulse.windows-store.v1", description="One row per device and closed 1-min window, all sensors."
    )
    table_windows: str = Field("fleetpulse_windows", description="DynamoDB table of 1-min window rows.")
    windows_ttl_days: float = Field(
        30.0, ge=0, description="Window rows expire from DynamoDB after this many days (TTL); 0 keeps them."
    )

    # --- Model snapshots (S3; credentials from the standard AWS chain: AWS_ACCESS_KEY_ID, AWS_PROFILE, IRSA) ---
    s3_endpoint_url: str = Field(
        "", description="S3 endpoint for model snapshots (MinIO, moto); empty uses AWS's regional endpoint."
    )
    s3_region: str = Field("us-east-1", description="AWS region of the model snapshot bucket.")
    model_snapshot_uri: str = Field(
        "", description="Default s3://bucket/prefix of `fleetpulse model export/import`; empty = give --to/--from."
    )

    # --- Query API and Telegram bot ---
    api_port: int = Field(8088, description="Port of the query API (`fleetpulse api`).")
    api_token: SecretStr = Field(
        SecretStr(""), description="API key (X-API-Key) or bearer token the query API requires; empty disables auth."
    )
    api_url: str = Field("http://127.0.0.1:8088", description="Query API URL the bot calls.")
    telegram_bot_token: SecretStr = Field(SecretStr(""), description="Telegram bot token (from @BotFather).")
    telegram_api_url: str = Field("https://api.telegram.org", description="Telegram Bot API base URL.")
    telegram_chat_ids: str = Field("", description="Comma-separated chat ids the bot answers; empty answers all.")

    # --- Local stack (fleetpulse stack up) ---
    stack_dir: Path = Field(Path(".stack"), description="Pids, logs and data of the local stack.")
    cache_dir: Path = Field(Path.home() / ".cache" / "fleetpulse", description="Downloaded jars (outside git).")
    kafka_port: int = Field(9092, description="Local Kafka listener port.")
    kafka_controller_port: int = Field(9093, description="Local KRaft controller port.")
    connect_port: int = Field(8083, description="Local Kafka Connect REST port.")
    connect_metrics_port: int = Field(9404, description="Local Kafka Connect Prometheus (JMX exporter) port.")
    dynamodb_port: int = Field(8000, description="Local DynamoDB port.")
    prometheus_port: int = Field(9090, description="Local Prometheus port.")
    prometheus_url: str = Field("http://127.0.0.1:9090", description="Prometheus URL for queries.")
    alertmanager_port: int = Field(9094, description="Local Alertmanager port (9093 is Kafka's controller).")

    # --- Alerting (Alertmanager and Grafana send to Telegram via telegram_bot_token, and to e-mail) ---
    alert_telegram_chat_id: int = Field(0, description="Telegram chat that receives alerts; 0 disables.")
    alert_email_to: str = Field("", description="Alert e-mail recipients, comma-separated; empty disables.")
    alert_smtp_smarthost: str = Field("127.0.0.1:25", description="SMTP server (host:port) for alert e-mails.")
    alert_smtp_from: str = Field("fleetpulse@localhost", description="Sender address of alert e-mails.")
    grafana_url: str = Field("http://127.0.0.1:3000", description="Grafana URL used in alert drilldown links.")

    def stores_raw_readings(self) -> bool:
        """Whether the readings sink runs: always when keeping everything, else per storage_raw_readings."""
        if self.storage_policy == "everything" or self.storage_raw_readings == "on":
            return True
        return self.storage_raw_readings == "auto" and self.storage_fleet_devices <= self.storage_raw_max_devices

    @classmethod
    def secret_fields(cls) -> set[str]:
        return {name for name, f in cls.model_fields.items() if f.annotation is SecretStr}


def settings_problems(error: ValidationError) -> list[str]:
    """One line per bad setting: its variable, what is wrong, and the value given (never a secret's)."""
    secret = Settings.secret_fields()
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        given = "" if field in secret or "input" not in problem else f" (got {problem['input']!r})"
        lines.append(f"FLEETPULSE_{field.upper()}: {problem['msg']}{given}")
    return lines


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
