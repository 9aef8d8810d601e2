"""Refusals in the audit trail, without letting one user fill it.

Per user (uid) and action, the first refusal is an event of its own (``refused``, with its
reason); the refusals that follow within ``INTERVAL`` seconds are counted, and their count is
one event (``refusals counted``: how many, the first and the last) when the interval ends, or
when the process stops. The next refusal after that opens a new interval with an event of
its own. A user looping a refused command costs the trail at most two events per action an
interval, and no refusal goes unrecorded: each is an event, or in a count.

The writing is the caller's (``write``): this module only decides what is written, and when.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from provenance.access.identity import Actor

#: The event of a refusal recorded on its own.
REFUSED = "refused"
#: The event that counts the refusals of one action to one user within an interval.
COUNTED = "refusals counted"
#: Seconds after a recorded refusal within which the next ones are counted, not recorded.
INTERVAL = 60.0

#: Writes one audit event: who, the action, when, the reason, the details (``after``).
Write = Callable[[Actor, str, datetime, str, dict[str, Any]], None]


@dataclass
class _Interval:
    """The refusals of one action to one user since the one recorded on its own."""

    actor: Actor
    verb: str
    uid: int
    opened: float
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    timer: threading.Timer | None = None


class RefusalLog:
    """Records refusals, one event per user and action an interval, and counts the rest."""

    def __init__(
        self,
        write: Write,
        interval: float = INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.write = write
        self.interval = interval
        self.monotonic = monotonic
        self._open: dict[tuple[int, str], _Interval] = {}
        self._lock = threading.Lock()

    def refused(
        self, actor: Actor, uid: int, verb: str, now: datetime, reason: str, after: dict[str, Any]
    ) -> bool:
        """Record one refusal of ``verb`` to user ``uid``, or count it; True when it was
        written as an event of its own."""
        key = (uid, verb)
        ended: _Interval | None = None
        with self._lock:
            current = self._open.get(key)
            if current is not None and self.monotonic() - current.opened >= self.interval:
                ended, current = self._close(key), None
            if current is None:
                self._open[key] = _Interval(actor, verb, uid, self.monotonic())
            else:
                current.count += 1
                current.first = current.first or now
                current.last = now
                if current.timer is None:  # the count is written when the interval ends
                    left = max(0.0, current.opened + self.interval - self.monotonic())
                    current.timer = threading.Timer(left, self._expire, (key, current))
                    current.timer.daemon = True
                    current.timer.start()
        if ended is not None:
            self._write_count(ended)
        if current is None:
            self.write(actor, REFUSED, now, reason, after)
            return True
        return False

    def close(self) -> None:
        """Write the counts of the intervals still open (the process stops)."""
        with self._lock:
            ended = [self._close(key) for key in list(self._open)]
        for interval in ended:
            if interval.timer is not None:
                interval.timer.join()
            self._write_count(interval)

    def _close(self, key: tuple[int, str]) -> _Interval:
        interval = self._open.pop(key)
        if interval.timer is not None:
            interval.timer.cancel()
        return interval

    def _expire(self, key: tuple[int, str], interval: _Interval) -> None:
        with self._lock:
            if self._open.get(key) is not interval:
                return  # closed meanwhile (by a refusal after its end, or close): counted there
            del self._open[key]
        self._write_count(interval)

    def _write_count(self, interval: _Interval) -> None:
        if not interval.count or interval.first is None or interval.last is None:
            return
        self.write(
            interval.actor,
            COUNTED,
            interval.last,
            f"{interval.count} more refusals of {interval.verb} to {interval.actor.user} "
            f"from {interval.first.isoformat()} to {interval.last.isoformat()}, counted, "
            "not recorded one by one",
            {
                "verb": interval.verb,
                "uid": interval.uid,
                "count": interval.count,
                "from": interval.first.isoformat(),
                "to": interval.last.isoformat(),
            },
        )


__all__ = ["COUNTED", "INTERVAL", "REFUSED", "RefusalLog", "Write"]
