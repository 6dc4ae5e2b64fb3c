"""`fleetpulse bot`: the Telegram bot."""

from __future__ import annotations

import click

from core.settings import get_settings


@click.command("bot")
@click.option("--poll-seconds", default=25, show_default=True, help="getUpdates long-polling timeout.")
def bot(poll_seconds: int) -> None:
    """Answer /status, /fleet, /silent, /ack, /feedback in Telegram, through the query API."""
    from bot.api_client import QueryApi
    from bot.runner import Bot
    from bot.telegram import TelegramClient

    settings = get_settings()
    token = settings.telegram_bot_token.get_secret_value()
    if not token:
        raise click.ClickException("set FLEETPULSE_TELEGRAM_BOT_TOKEN (from @BotFather)")
    chats = {int(c) for c in settings.telegram_chat_ids.split(",") if c.strip()}
    api = QueryApi(settings.api_url, settings.api_token.get_secret_value())
    click.echo(f"bot polling {settings.telegram_api_url} (answers {sorted(chats) or 'every chat'})")
    Bot(TelegramClient(settings.telegram_api_url, token), api, chats).run(poll_seconds)
