"""Commands → replies. Pure functions of (command, arguments, API): easy to read and to test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.api_client import ApiProblem, QueryApi

HELP = """FleetPulse bot
/status <device> - latest score, top reasons, liveness
/fleet - fleet summary
/silent - devices without readings for a while
/ack <alert> - acknowledge an alert (alert id: <device>@<ts>)
/feedback <alert> right|wrong - was the alert right? (the model learns from it)"""


def _status(api: QueryApi, args: list[str], _user: str) -> str:
    if len(args) != 1:
        return "usage: /status <device>"
    s = api.status(args[0])
    lines = [
        f"{s['device_id']}: {s['state'].upper()} score {s['score']:.2f}, {s['liveness']}",
        f"alert {s['alert_id']}{' (acked)' if s.get('acked') else ''}",
    ]
    lines += [f"- {r['sensor']} = {r['value']} ({r['detail']})" for r in s.get("reasons", [])]
    return "\n".join(lines)


def _fleet(api: QueryApi, _args: list[str], _user: str) -> str:
    s = api.summary()
    states = ", ".join(f"{k} {v}" for k, v in s["by_state"].items())
    liveness = ", ".join(f"{k} {v}" for k, v in s["by_liveness"].items())
    minutes = s["silent_seconds"] / 60
    return (
        f"{s['devices']} devices: {states}\nreporting: {liveness}\n"
        f"silent > {minutes:g} min: {s['silent_share'] * 100:.1f}%"
    )


def _silent(api: QueryApi, _args: list[str], _user: str) -> str:
    rows = api.silent()["items"]
    if not rows:
        return "no silent devices"
    return "\n".join(f"{r['device_id']}: {r['liveness']} since {r['ts']}" for r in rows[:50])


def _ack(api: QueryApi, args: list[str], user: str) -> str:
    if len(args) != 1:
        return "usage: /ack <device>@<ts>"
    api.ack(args[0], user)
    return f"acknowledged {args[0]}"


def _feedback(api: QueryApi, args: list[str], user: str) -> str:
    if len(args) != 2 or args[1] not in ("right", "wrong"):
        return "usage: /feedback <device>@<ts> right|wrong"
    api.feedback(args[0], args[1], user)
    return f"thanks: {args[0]} marked {args[1]}"


COMMANDS: dict[str, Callable[[QueryApi, list[str], str], str]] = {
    "status": _status,
    "fleet": _fleet,
    "silent": _silent,
    "ack": _ack,
    "feedback": _feedback,
}


def reply(api: QueryApi, text: str, user: str) -> str:
    """The answer to one message; a bad command or an API problem is an answer too, never an exception."""
    words = text.strip().split()
    if not words or not words[0].startswith("/"):
        return HELP
    command = words[0][1:].split("@", 1)[0].lower()  # /status@FleetPulseBot in group chats
    handler = COMMANDS.get(command)
    if handler is None:
        return HELP
    try:
        return handler(api, words[1:], user)
    except ApiProblem as problem:
        return f"sorry: {problem}"
    except (KeyError, TypeError, ValueError) as error:  # an API answer we did not expect
        return f"sorry: unexpected answer from the API ({type(error).__name__})"


def user_name(message: dict[str, Any]) -> str:
    sender = message.get("from") or {}
    return str(sender.get("username") or sender.get("id") or "unknown")
