"""The one typed settings object. Every field is read from an env var named FLEETPULSE_<FIELD>.

The README's configuration table is generated from this class (`fleetpulse settings --markdown`)
and a test fails when the two disagree, so a new field here is documented by construction.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    bind_host: str = Field(
        "127.0.0.1",
        description="Address the project's HTTP and metrics servers listen on (0.0.0.0 in containers).",
    )

    # --- Stream worker ---
    worker_app_id: str = Field("fleetpulse-worker", description="Faust app id: consumer group and changelog prefix.")
    worker_web_port: int = Field(6066, description="Faust web port (device status views).")
    worker_metrics_port: int = Field(9101, description="Prometheus metrics port of the worker.")
    worker_store: str = Field("memory://", description="Faust table store: memory:// or rocksdb://.")

    # --- Simulated fleet ---
    simulator_devices: int = Field(20, ge=1, le=100_000, description="Number of simulated devices.")
    simulator_cadence_seconds: float = Field(5.0, gt=0, description="Event-time seconds between readings.")
    simulator_seed: int = Field(42, description="Same seed, same stream.")
    simulator_speedup: float = Field(1.0, gt=0, description="Event-time seconds per wall second (1 = real time).")
    simulator_metrics_port: int = Field(9102, description="Prometheus metrics port of the simulator.")

    # --- DynamoDB and Kafka Connect ---
    dynamodb_endpoint: str = Field(
        "http://127.0.0.1:8000", description="DynamoDB endpoint; empty uses AWS's regional endpoint."
    )
    aws_region: str = Field("us-east-1", description="AWS region for DynamoDB.")
    aws_access_key_id: str = Field(
        "fleetpulse", description="Access key; DynamoDB Local wants letters and digits only."
    )
    aws_secret_access_key: SecretStr = Field(SecretStr("fleetpulse"), description="Secret key.")
    table_readings: str = Field("fleetpulse_readings", description="DynamoDB table for readings.")
    table_scores: str = Field("fleetpulse_scores", description="DynamoDB table for failure scores.")
    connect_url: str = Field("http://127.0.0.1:8083", description="Kafka Connect REST URL.")

    # --- Local stack (fleetpulse stack up) ---
    stack_dir: Path = Field(Path(".stack"), description="Pids, logs and data of the local stack.")
    cache_dir: Path = Field(Path.home() / ".cache" / "fleetpulse", description="Downloaded jars (outside git).")
    kafka_port: int = Field(9092, description="Local Kafka listener port.")
    kafka_controller_port: int = Field(9093, description="Local KRaft controller port.")
    connect_port: int = Field(8083, description="Local Kafka Connect REST port.")
    dynamodb_port: int = Field(8000, description="Local DynamoDB port.")
    prometheus_port: int = Field(9090, description="Local Prometheus port.")
    prometheus_url: str = Field("http://127.0.0.1:9090", description="Prometheus URL for queries.")

    def secret_fields(self) -> set[str]:
        return {name for name, f in type(self).model_fields.items() if f.annotation is SecretStr}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
