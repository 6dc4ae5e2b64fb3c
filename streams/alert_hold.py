"""What the device alert sees of a device's failure score: an alerting score is held for a while.

The model alerts on change: its score crosses the threshold on the reading where the evidence arrives
and, once that is known, drops back below it (a persisting fault makes one alert, not one per reading).
On the simulator the score of a failing device stays above the threshold for well under a minute at a
time, so a Prometheus gauge scraped every 15 s often never shows it, and a rule with a `for` never sees it
last. The worker therefore exports, per device, the larger of its newest score and its latest alerting
score of the past `HOLD_MS` of event time: a model alert becomes a page that lasts `HOLD_MS`, and a new
alert within it restarts the hold.
"""

from __future__ import annotations

from typing import Final

from schemas import Score
from schemas.scores import ALERT_THRESHOLD

HOLD_MS: Final = 15 * 60_000  # longer than the alert rule's `for` and a few scrapes, shorter than a failure's lead


class AlertHold:
    def __init__(self, threshold: float = ALERT_THRESHOLD, hold_ms: int = HOLD_MS) -> None:
        self.threshold, self.hold_ms = threshold, hold_ms
        self.held: dict[str, Score] = {}  # device -> its latest alerting score, while held

    def observe(self, device_id: str, score: Score) -> None:
        if score.score >= self.threshold:
            self.held[device_id] = score

    def shown(self, device_id: str, newest: Score) -> Score:
        """The score the device alert sees: the held alert until it expires (by the newest score's event
        time), the newest score when it is larger or nothing is held."""
        held = self.held.get(device_id)
        if held is None:
            return newest
        if newest.ts - held.ts >= self.hold_ms:
            del self.held[device_id]
            return newest
        return held if held.score > newest.score else newest

    def forget(self, device_id: str) -> None:
        self.held.pop(device_id, None)
