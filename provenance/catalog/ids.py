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
        self._ms = -1
        self._prefix = ""

    def __call__(self) -> str:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(4096).hex(), 0
        h = self._pool[self._at : self._at + 32]
        self._at += 32
        ms = time.time_ns() // 1_000_000
        if ms != self._ms:  # a scan gives out many ids in the same millisecond
            t = f"{ms & 0xFFFF_FFFF_FFFF:012x}"
            self._ms, self._prefix = ms, f"{t[:8]}-{t[8:12]}-7"
        # the version (7) and variant (10xx) bits, set on the hex digits
        return f"{self._prefix}{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


#: the variant's hex digit (10xx) for a random one
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
