"""Write the JSON Schema of every topic to schemas/json/, generated from the msgspec structs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from schemas.dead_letters import DeadLetter
from schemas.events import DeviceEvent
from schemas.readings import Reading
from schemas.scores import Score
from schemas.window_stats import WindowStats

JSON_DIR = Path(__file__).parent / "json"

# A topic's schema is a struct, or a tagged union of structs (device events).
TOPIC_SCHEMAS: dict[str, Any] = {
    "readings.v1": Reading,
    "scores.v1": Score,
    "dead-letters.v1": DeadLetter,
    "device-events.v1": DeviceEvent,
    "window-stats.v1": WindowStats,
}


def render(struct: Any) -> str:
    schema = msgspec.json.schema(struct)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def export(directory: Path = JSON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, struct in TOPIC_SCHEMAS.items():
        path = directory / f"{name}.json"
        path.write_text(render(struct))
        written.append(path)
    return written
