"""Identifiers: UUIDv7 (RFC 9562), so that new ids sort by time.

A store's indexes on record ids and streams then grow at their tail instead of touching a
random page for every new record. Python 3.11 has no uuid.uuid7, hence this function.
"""

from __future__ import annotations

import os
import time


def new_id() -> str:
    milliseconds = time.time_ns() // 1_000_000
    random_bits = int.from_bytes(os.urandom(10), "big")  # 80 bits, 74 of them used
    value = (milliseconds & (2**48 - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (random_bits >> 68 & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # RFC 9562 variant
    value |= random_bits & (2**62 - 1)  # rand_b, 62 bits
    text = f"{value:032x}"  # what str(uuid.UUID(int=value)) gives, at a third of the cost
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
