"""The worker's output producers: an output or changelog record Kafka never acknowledges fails the flush (the
outputs' producer reports failures only, so this is what its callback is left for)."""

from __future__ import annotations

import asyncio

import pytest

from core.settings import Settings
from streams.outputs import OutputError, Outputs

NOWHERE = Settings(kafka_bootstrap_servers="127.0.0.1:1")  # nothing listens: every record times out


@pytest.mark.parametrize("changelog", [False, True], ids=["output", "changelog"])
def test_an_unacknowledged_record_fails_the_flush(changelog: bool) -> None:
    outputs = Outputs(NOWHERE, **{"message.timeout.ms": 200, "log_level": 0})
    if changelog:
        outputs.produce_changelog("a-changelog", 0, b"device", b"state")
    else:
        outputs.produce("scores", [(b"device", b"score")])
    with pytest.raises(OutputError, match="Message timed out"):
        asyncio.run(outputs.flush(timeout=10))
    assert outputs.delivered == {}
