"""Identifiers: UUIDv7 (RFC 9562), so that new ids sort by time.

A store's indexes on record ids and streams then grow at their tail instead of touching a
random page for every new record. Python 3.11 has no uuid.uuid7, hence this function.
"""

from __future__ import annotations

import os
import threading
import time

# A batch asks for two ids a record; one os.urandom call per id was half of their cost.
# Random bytes come from the OS a few KiB at a time instead, and a forked child starts
# with none (it must not hand out its parent's ids).
_RANDOM_CHUNK = 4096
_random = bytearray()
_random_lock = threading.Lock()


def _forget_random() -> None:
    _random.clear()


os.register_at_fork(after_in_child=_forget_random)


def _random_hex() -> str:
    """20 hex digits (80 bits) of OS randomness."""
    with _random_lock:
        if len(_random) < 10:
            _random.extend(os.urandom(_RANDOM_CHUNK))
        chunk = _random[-10:]
        del _random[-10:]
    return chunk.hex()


def new_id() -> str:
    milliseconds = f"{time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF:012x}"  # 48 bits
    bits = _random_hex()
    variant = "89ab"[int(bits[3], 16) & 0b11]  # RFC 9562 variant 0b10, then 2 random bits
    # unix_ts_ms (48) - version 7 (4) + rand_a (12) - variant (2) + rand_b (62)
    return f"{milliseconds[:8]}-{milliseconds[8:]}-7{bits[:3]}-{variant}{bits[4:7]}-{bits[7:19]}"
