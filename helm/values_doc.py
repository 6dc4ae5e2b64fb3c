"""The values table of helm/fleetpulse/README.md, generated from values.yaml's `# --` comments.

`python helm/values_doc.py` rewrites the table between the markers; tests/deploy fails when it is stale
or when a value has no `# --` description.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parent / "fleetpulse"
README = CHART / "README.md"
START, END = "<!-- values:start -->", "<!-- values:end -->"
_KEY = re.compile(r"^(\s*)([A-Za-z][\w.-]*):(.*)$")


def rows() -> list[tuple[str, str, str]]:
    """(dotted key, default as JSON, description) for every key that carries a `# --` comment."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    out, stack, pending = [], [], ""
    for line in (CHART / "values.yaml").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending = stripped[4:].strip()
            continue
        if stripped.startswith("#") or not stripped:
            continue
        match = _KEY.match(line)
        if not match:
            continue
        depth = len(match.group(1)) // 2
        stack = [*stack[:depth], match.group(2)]
        if pending:
            default = values
            for part in stack:
                default = default[part]
            out.append((".".join(stack), json.dumps(default), pending))
            pending = ""
    return out


def undocumented() -> list[str]:
    """Leaf keys (and empty maps/lists) of values.yaml with no `# --` on them or a parent."""
    documented = {key for key, _, _ in rows()}
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    missing = []

    def walk(node: object, path: list[str]) -> None:
        key = ".".join(path)
        if key in documented:
            return
        if isinstance(node, dict) and node:
            for child, value in node.items():
                walk(value, [*path, child])
        else:
            missing.append(key)

    walk(values, [])
    return missing


def table() -> str:
    lines = ["| key | default | description |", "|---|---|---|"]
    lines += [f"| `{key}` | `{default}` | {text} |" for key, default, text in rows()]
    return "\n".join(lines)


def render(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
    print(f"wrote {README} ({len(rows())} values)")
