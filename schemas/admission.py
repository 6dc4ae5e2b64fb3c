"""Event-time admission: one policy for every entry point (phone ingestion, the worker, anything that
reads the readings topic).

A reading's event time is the device's claim; the only clocks the system trusts are its own: the Kafka
record's timestamp (the producer's clock when it sent, or the broker's with LogAppendTime) and, at
ingestion, the server's clock. A reading more than `max_ahead_ms` ahead of that reference, or more than
`max_age_ms` behind it, is rejected with its own reason; everything downstream (windows, liveness
clocks, the sink's TTL) may then assume event times near the time they were sent. Comparing with the
record's timestamp rather than the consumer's clock keeps a replayed backlog admissible: its records
are as old as its readings.
"""

from __future__ import annotations

from typing import NamedTuple

from schemas.validation import InvalidRecord

FUTURE_TIME = "future_time"  # dead-letter reasons, stable labels of fleetpulse_*_dead_letters_total
TOO_OLD = "too_old"
# Sensor Logger times are nanoseconds since the epoch: from 2001-09-09 (1e18 ns) to 2286 (1e19 ns) they
# have 19 digits, while seconds, milliseconds and microseconds of any date since 1970 have at most 16.
MIN_PLAUSIBLE_NS = 10**18
MAX_PLAUSIBLE_NS = 10**19 - 1


class TimeBounds(NamedTuple):
    max_ahead_ms: int = 300_000  # 0: no bound
    max_age_ms: int = 7 * 86_400_000  # 0: no bound

    @classmethod
    def from_seconds(cls, max_ahead_s: float, max_age_s: float) -> TimeBounds:
        return cls(int(max_ahead_s * 1000), int(max_age_s * 1000))


def check_event_time(ts_ms: int, reference_ms: int, bounds: TimeBounds) -> None:
    """Raise InvalidRecord(future_time | too_old) when `ts_ms` is outside the bounds around the reference."""
    if bounds.max_ahead_ms and ts_ms > reference_ms + bounds.max_ahead_ms:
        raise InvalidRecord(
            FUTURE_TIME,
            f"event time {ts_ms} ms is {(ts_ms - reference_ms) / 1000:.0f} s ahead of the record's time "
            f"{reference_ms} ms (at most {bounds.max_ahead_ms / 1000:.0f} s allowed)",
        )
    if bounds.max_age_ms and ts_ms < reference_ms - bounds.max_age_ms:
        raise InvalidRecord(
            TOO_OLD,
            f"event time {ts_ms} ms is {(reference_ms - ts_ms) / 1000:.0f} s older than the record's time "
            f"{reference_ms} ms (at most {bounds.max_age_ms / 1000:.0f} s allowed)",
        )


def check_nanoseconds(time_ns: int) -> None:
    """Raise InvalidRecord(not_nanoseconds) for a Sensor Logger time that cannot be nanoseconds."""
    if not MIN_PLAUSIBLE_NS <= time_ns <= MAX_PLAUSIBLE_NS:
        raise InvalidRecord(
            "not_nanoseconds",
            f"sample time {time_ns} is not nanoseconds since the Unix epoch ({_unit_guess(time_ns)}); "
            f"expected 19 digits, e.g. {1_795_000_000 * 10**9}",
        )


def _unit_guess(value: int) -> str:
    digits = len(str(abs(value)))
    if 9 <= digits <= 10:
        return "looks like seconds"
    if 12 <= digits <= 13:
        return "looks like milliseconds"
    if 15 <= digits <= 16:
        return "looks like microseconds"
    return f"{digits} digits"
