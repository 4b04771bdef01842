"""Sort keys of exact decimals: fixed-width digit strings whose byte order is the numeric order.

Lists sort and filter decimal fields by this key (`record_values.decimal_key`): a double cannot hold 18
significant digits, and a NUMERIC's comparisons are not leakproof under row-level security. Any text in the
canonical form of a decimal (collab/records/decimals.py) gets a key, whatever its field: persistence knows
no field types, and a key on a text field's value is never read.
"""

from __future__ import annotations

import re

MAX_DIGITS = 18  # significant digits of a decimal
MAX_SCALE = 6  # digits after the point
INTEGER_DIGITS = MAX_DIGITS
_CANONICAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]{1,6})?")


def decimal_key(text: str) -> str | None:
    """The key of a canonical decimal string of any scale (`0.5` and `0.50` get the same one); None when
    `text` is no such string.

    Non-negative numbers: `1`, then the integer part and the fraction zero-padded to fixed widths;
    negative ones: `0`, then the nines' complement of the same digits, so a larger magnitude sorts lower."""
    if len(text) > INTEGER_DIGITS + MAX_SCALE + 2 or not _CANONICAL.fullmatch(text):
        return None
    negative = text.startswith("-")
    whole, _, fraction = text.lstrip("-").partition(".")
    if len(whole) > INTEGER_DIGITS or len(whole.lstrip("0")) + len(fraction.rstrip("0")) > MAX_DIGITS:
        return None
    digits = whole.zfill(INTEGER_DIGITS) + fraction.ljust(MAX_SCALE, "0")
    if negative and digits.strip("0"):
        return "0" + digits.translate(_NINES)
    return "1" + digits


_NINES = str.maketrans("0123456789", "9876543210")
