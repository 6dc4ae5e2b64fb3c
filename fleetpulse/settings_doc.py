"""Render the settings as the README's configuration table."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr

from core.settings import Settings


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, SecretStr):
            default = "(secret)" if default.get_secret_value() else ""
        if name == "cache_dir":
            default = "~/.cache/fleetpulse"
        rows.append(f"| `FLEETPULSE_{name.upper()}` | `{default}` | {field.description} |")
    return "\n".join(rows) + "\n"


README = Path(__file__).resolve().parents[1] / "README.md"
_SECTION = re.compile(r"(<!-- settings:start -->\n).*?(<!-- settings:end -->)", re.S)


def write_readme(readme: Path = README) -> None:
    """Replace the table between the README's settings markers with the current one."""
    readme.write_text(_SECTION.sub(lambda m: m[1] + markdown_table() + m[2], readme.read_text()))
