"""In-process limiter for wrong tracking-code lookups, per (channel, sender id).

Guessing codes is hopeless (32**8 space) but the limiter also stops a sender from probing for other
people's tickets and keeps the database out of reach of a loop. It lives in one process: with several
bot-service replicas each replica counts on its own, so a sender gets up to N x limit attempts. A
multi-replica deployment should back this with Redis (INCR + EXPIRE on a per-sender key); the interface
below (`blocked_for`, `record_miss`) is what such a backend has to provide.

The web chat's sender ids are issued per session, and anyone may open a new session: so its lookups are also
counted per client address (`client_key`, a keyed hash of it, sent by the action server from the turn's
metadata) in a second limiter with its own, higher limit (bot/api/tickets.py). A new session does not reset it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable

LOOKUP_BLOCKED_MESSAGE = (
    "Terlalu banyak percobaan dengan kode laporan yang tidak sesuai. "
    "Mohon periksa kembali kode laporan Anda dan coba lagi dalam {minutes} menit."
)


class MissLimiter:
    """Sliding window: after `max_misses` misses inside `window_seconds`, the key is blocked until the
    oldest of them leaves the window. Hits do not reset the count (that would let a prober interleave a
    known-good code)."""

    def __init__(
        self,
        max_misses: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.max_misses = max_misses
        self.window_seconds = window_seconds
        self._clock = clock
        self._max_keys = max_keys
        self._misses: OrderedDict[Hashable, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _prune(self, key: Hashable, now: float) -> deque[float] | None:
        misses = self._misses.get(key)
        if misses is None:
            return None
        while misses and misses[0] <= now - self.window_seconds:
            misses.popleft()
        if not misses:
            del self._misses[key]
            return None
        return misses

    def blocked_for(self, key: Hashable) -> float:
        """Seconds until `key` may look up again; 0 when it may now."""
        with self._lock:
            now = self._clock()
            misses = self._prune(key, now)
            if misses is None or len(misses) < self.max_misses:
                return 0.0
            return max(misses[-self.max_misses] + self.window_seconds - now, 0.0)

    def record_miss(self, key: Hashable) -> None:
        with self._lock:
            now = self._clock()
            misses = self._prune(key, now) or deque()
            misses.append(now)
            self._misses[key] = misses
            self._misses.move_to_end(key)
            # Bound memory: forget the least recently missing senders first.
            while len(self._misses) > self._max_keys:
                self._misses.popitem(last=False)
