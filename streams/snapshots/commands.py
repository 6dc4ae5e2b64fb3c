"""`fleetpulse model export|import`: failure-model snapshots between Kafka and S3 (no running worker needed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from core.settings import Settings, get_settings
from core.topics import priors_topic
from streams.snapshots import archive, kafka_io
from streams.snapshots.archive import SnapshotError

if TYPE_CHECKING:
    from streams.snapshots.store import S3Store


def _store(settings: Settings, uri: str | None, option: str) -> tuple[S3Store, str, str]:
    uri = uri or settings.model_snapshot_uri
    if not uri:
        raise SnapshotError(
            f"no snapshot location: give {option} s3://bucket/prefix or set FLEETPULSE_MODEL_SNAPSHOT_URI"
        )
    from streams.snapshots.store import S3Store, parse_uri  # boto3: only when a snapshot command runs

    bucket, prefix = parse_uri(uri)
    store = S3Store(settings, bucket)
    store.check_bucket()
    return store, bucket, prefix


@click.group("model")
def model() -> None:
    """Failure-model snapshots: export a fleet's models to S3, seed a deployment from one."""


@model.command("export")
@click.option("--to", "uri", help="s3://bucket/prefix (default FLEETPULSE_MODEL_SNAPSHOT_URI).")
@click.option("--chunk-devices", default=archive.DEFAULT_CHUNK_DEVICES, show_default=True, type=click.IntRange(1))
@click.option("--priors-only", is_flag=True, help="Only the fleet priors, not every device's model.")
def export(uri: str | None, chunk_devices: int, priors_only: bool) -> None:
    """Snapshot the worker's device models (its table's changelog) and fleet priors from Kafka into S3."""
    settings = get_settings()
    try:
        store, bucket, prefix = _store(settings, uri, "--to")
        fleet_priors, priors_ends = kafka_io.published_priors(settings)
        offsets = {priors_topic(settings.worker_app_id): priors_ends}
        states: Iterable[tuple[bytes, bytes]] = []
        if not priors_only:
            states, changelog_ends = kafka_io.device_states(settings)
            offsets[kafka_io.changelog_topic(settings.worker_app_id)] = changelog_ends
        manifest = archive.export_snapshot(
            store,
            prefix,
            states,
            fleet_priors,
            app_id=settings.worker_app_id,
            source_offsets=offsets,
            chunk_devices=chunk_devices,
        )
    except SnapshotError as error:
        raise click.ClickException(str(error)) from error
    where = "/".join(part for part in (f"s3://{bucket}", prefix, manifest.snapshot_id) if part)
    by_type = ", ".join(f"{t} {n}" for t, n in sorted(manifest.devices_by_type.items())) or "none"
    click.echo(f"snapshot {manifest.snapshot_id} → {where}")
    click.echo(f"devices   {manifest.devices} ({by_type}) in {len(manifest.objects)} objects")
    click.echo(
        "priors    "
        + (", ".join(f"{p.device_type} ({p.devices} devices, {p.source})" for p in manifest.priors) or "none")
    )
    if manifest.skipped:
        click.echo("skipped   " + ", ".join(f"{reason} {n}" for reason, n in sorted(manifest.skipped.items())))


@model.command("import")
@click.option("--from", "uri", help="s3://bucket/prefix of a snapshot, or of exports (its LATEST is used).")
@click.option("--priors/--no-priors", default=True, show_default=True, help="Publish the fleet priors.")
@click.option(
    "--devices/--no-devices",
    default=False,
    show_default=True,
    help="Also restore per-device models of devices the table does not hold (the workers must be stopped).",
)
def import_(uri: str | None, priors: bool, devices: bool) -> None:
    """Seed this deployment (FLEETPULSE_WORKER_APP_ID) from a snapshot: new devices start from its fleet
    priors; with --devices, devices absent from the table resume their own models."""
    settings = get_settings()
    problems: list[str] = []
    try:
        store, _, prefix = _store(settings, uri, "--from")
        folder, manifest = archive.open_snapshot(store, prefix)
        archive.check_compatible(manifest, devices)
        click.echo(f"snapshot {manifest.snapshot_id} ({manifest.devices} devices from {manifest.source_app_id})")
        if priors:
            keys = kafka_io.publish_priors(settings, archive.read_priors(store, folder, manifest), manifest.snapshot_id)
            click.echo(f"priors    {len(keys)} published to {priors_topic(settings.worker_app_id)}")
        if devices:
            outcome = _restore(settings, store, folder, manifest, problems)
            click.echo(f"devices   restored {outcome['restored']}, kept newer state of {outcome['skipped_existing']}")
    except SnapshotError as error:
        raise click.ClickException(str(error)) from error
    if problems:
        raise click.ClickException(f"{len(problems)} object(s) could not be used:\n  " + "\n  ".join(problems))


def _restore(
    settings: Settings, store: S3Store, folder: str, manifest: archive.Manifest, problems: list[str]
) -> Counter[str]:
    members = kafka_io.worker_members(settings)
    if members:
        raise SnapshotError(
            f"{members} worker(s) of {settings.worker_app_id} are running: the worker owns its table, so stop "
            "them before restoring devices (priors can be imported while they run: --no-devices)"
        )
    topic = kafka_io.changelog_topic(settings.worker_app_id)
    kafka_io.ensure_compacted_topic(settings, topic, settings.topic_partitions)
    present = kafka_io.existing_devices(settings)
    writer = kafka_io.Writer(settings, topic)
    records = archive.device_records(store, folder, manifest, problems)
    outcome = archive.restore_devices(records, present.__contains__, writer.write, settings.topic_partitions)
    writer.close()
    if kafka_io.worker_members(settings):
        problems.append("a worker started during the restore: devices it recovered before the writes start cold")
    return outcome
