"""Render the settings as the README's configuration table."""

from __future__ import annotations

from pydantic import SecretStr

from fleetpulse.settings import Settings


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
