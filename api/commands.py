"""`fleetpulse api`: serve the query API with uvicorn."""

from __future__ import annotations

import click

from core.settings import get_settings


@click.command("api")
@click.option("--port", type=int, default=None, help="Overrides FLEETPULSE_API_PORT.")
def api(port: int | None) -> None:
    """Serve the query API (OpenAPI docs at /docs, offline; metrics at /metrics)."""
    import uvicorn

    from api.app import create_app

    settings = get_settings()
    if not settings.api_token.get_secret_value():
        click.echo("warning: FLEETPULSE_API_TOKEN is empty, the API answers without authentication", err=True)
    uvicorn.run(create_app(settings), host=settings.bind_host, port=port or settings.api_port, log_level="info")
