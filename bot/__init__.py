"""Telegram bot for monitoring and feedback (`fleetpulse bot`): plain HTTP long polling."""
