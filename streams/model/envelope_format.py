"""The envelope's msgspec struct, kept out of the compiled modules (streams/model/native.py): msgspec validates
against a struct's annotations, and mypyc reduces a compiled class's annotations to plain classes
(`str | None` becomes `type`, `list[str]` becomes `list`), which would refuse every envelope or accept
malformed ones."""

from __future__ import annotations

import msgspec


class Envelope(msgspec.Struct, frozen=True, array_like=True):
    format: int
    model_version: int
    river_version: str
    schema_hash: str
    device_type: str | None
    sensors: list[str]
    state: msgspec.Raw
