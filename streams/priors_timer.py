"""The fleet-prior timer: aggregate the models held here per device type, publish them to the compacted priors
topic, merge every worker's entries and warm-start new devices from the result (streams/priors.py)."""

from __future__ import annotations

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from core.kafka.consumer import reader
from core.topics import priors_topic
from streams import metrics, priors
from streams.app import app, settings
from streams.device_store import states
from streams.pipeline import batch_lock, outputs, processor, settled
from streams.scoring import ModelScorer

PRIORS_TOPIC = priors_topic(settings.worker_app_id)
PRIOR_MODELS_PER_TYPE = 200  # bounds the event-loop time of one aggregation
_prior_entries: dict[bytes, bytes] = {}
_prior_reader: Consumer | None = None


@app.timer(interval=settings.worker_prior_seconds)
async def publish_priors() -> None:
    scorer = processor.scorer
    if not isinstance(scorer, ModelScorer) or not settled():
        return
    reader = await _reader()
    async with batch_lock:
        models = priors.local_models((value for _, value in states()), PRIOR_MODELS_PER_TYPE)
    own = scorer.service.aggregate(models) if models else []
    records = priors.publish(own, str(app.conf.canonical_url))
    # Queued only: the next batch's flush delivers them. Flushing here, outside the batch lock, would serve
    # delivery callbacks in a second thread while a batch reads `outputs.delivered`.
    outputs.produce(PRIORS_TOPIC, records)
    _prior_entries.update(records)  # our own entries count even before they are read back
    while (message := reader.poll(0)) is not None:  # non-blocking: what has been fetched so far
        if message.error() is None and message.key() is not None:
            if message.value() is None:
                _prior_entries.pop(message.key(), None)
            else:
                _prior_entries[message.key()] = message.value()
    for prior in priors.merged(_prior_entries, priors.MAX_AGE_MS):
        scorer.service.set_prior(prior)
        metrics.prior_devices.labels(prior.device_type or "").set(prior.devices)


async def _reader() -> Consumer:
    """The priors topic (declared on first use) read from its start by a consumer that commits nothing."""
    global _prior_reader
    if _prior_reader is None:
        topic = app.topic(PRIORS_TOPIC, partitions=1, compacting=True, deleting=False)
        await topic.maybe_declare()
        _prior_reader = reader(settings, f"{settings.worker_app_id}-priors")
        _prior_reader.assign([TopicPartition(PRIORS_TOPIC, 0, OFFSET_BEGINNING)])
    return _prior_reader
