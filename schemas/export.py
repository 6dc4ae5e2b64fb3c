"""Write the JSON Schema of every topic to schemas/json/, generated from the msgspec structs."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from schemas.dead_letters import DeadLetter
from schemas.readings import Reading
from schemas.scores import Score

JSON_DIR = Path(__file__).parent / "json"

TOPIC_SCHEMAS: dict[str, type[msgspec.Struct]] = {
    "readings.v1": Reading,
    "scores.v1": Score,
    "dead-letters.v1": DeadLetter,
}


def render(struct: type[msgspec.Struct]) -> str:
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
