"""Ids for new assets."""

from __future__ import annotations

import os
import time


class AssetIds:
    """Ids for new assets: time-ordered UUIDs (RFC 9562 version 7: the millisecond, then 74
    random bits from the OS, drawn 4 KiB at a time).

    The catalog's unique index on ids then grows at its end, as the path index does for a
    walk in path order: random (version 4) ids put every new row on a random page of it,
    and on a catalog of a million files each batch wrote a few MB of such pages. One
    system call per id would cost more than the rest of the id.
    """

    def __init__(self) -> None:
        self._pool = ""
        self._at = 0

    def __call__(self) -> str:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(4096).hex(), 0
        h = self._pool[self._at : self._at + 32]
        self._at += 32
        t = f"{time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF:012x}"
        # the version (7) and variant (10xx) bits, set on the hex digits
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{t[:8]}-{t[8:12]}-7{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"
