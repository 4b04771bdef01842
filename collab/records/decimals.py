"""Exact decimals (money): canonical strings everywhere, never a float.

A `decimal` field has a `scale` (0..6 digits after the point). Its value in the document, in every JSON
answer, in the feed and in history is a string in canonical form: an optional `-`, the integer digits with
no leading zero (but `0`), then the point and exactly `scale` digits (none for scale 0); never `-0`, never an
exponent, at most `MAX_DIGITS` significant digits. A double holds ~15.9 significant digits and JSON parsers
read numbers as doubles, so a string is the only way such a value crosses JSON exactly.

Lists sort and filter decimals by `sort_key`: a fixed-width text whose byte order is the numeric order
(persistence/record_values.py stores it; both databases compare it as bytes), so comparisons stay exact.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from persistence.decimal_keys import decimal_key

MAX_SCALE = 6
DEFAULT_SCALE = 2
MAX_DIGITS = 18
# Input accepted over HTTP (and from CSV): plain digits with an optional sign and point; no exponent.
_INPUT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_INTEGER_DIGITS = MAX_DIGITS  # a sort key has room for every integer part a value may have
_NINES = str.maketrans("0123456789", "9876543210")


class DecimalProblem(ValueError):
    """Why a value is no decimal of the field; the message is meant for the person who sent it."""


def canonical(value: Any, scale: int) -> str:
    """The canonical string of `value` (a string or an integer) at `scale`; `DecimalProblem` says why not.

    More digits after the point than the scale is refused, never rounded: rounding money silently is worse
    than asking again. A float is refused too: it may already have lost the digits that were meant."""
    if isinstance(value, bool):
        raise DecimalProblem('expected a decimal as a string, such as "12.50"')
    if isinstance(value, float):
        raise DecimalProblem('send decimals as strings ("12.50"): a JSON number may lose digits')
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _INPUT.fullmatch(text) or len(text) > 64:
            raise DecimalProblem('expected a decimal such as "12.50" (digits, one point, no exponent)')
        number = Decimal(text)
        decimals = len(text.partition(".")[2].rstrip("0"))
        if decimals > scale:
            raise DecimalProblem(f"at most {scale} digits after the point")
    else:
        raise DecimalProblem('expected a decimal as a string, such as "12.50"')
    try:
        quantized = number.quantize(Decimal(1).scaleb(-scale))
    except InvalidOperation:
        raise DecimalProblem(f"at most {MAX_DIGITS} significant digits") from None
    digits = len(quantized.as_tuple().digits)
    if digits > MAX_DIGITS:
        raise DecimalProblem(f"at most {MAX_DIGITS} significant digits")
    if quantized.is_zero():
        quantized = abs(quantized)  # never "-0.00"
    return f"{quantized:f}"


def is_canonical(value: Any, scale: int) -> bool:
    """Is `value` exactly the canonical string of a decimal at `scale` (what a document must hold)?"""
    if not isinstance(value, str):
        return False
    try:
        return canonical(value, scale) == value
    except DecimalProblem:
        return False


def sort_key(text: str) -> str | None:
    """The list's sort key of a canonical decimal string of any scale (persistence/decimal_keys.py)."""
    return decimal_key(text)


def bound_key(bound: Decimal, upper: bool) -> str:
    """The sort key a filter bound compares with: `>= bound` is `>= bound_key(bound, False)`, `<= bound`
    is `<= bound_key(bound, True)`, exactly (values have at most `MAX_SCALE` decimals, so a bound with more
    rounds inward; one beyond every value's range is clamped to the widest key)."""
    step = Decimal(1).scaleb(-MAX_SCALE)
    limit = Decimal(10) ** _INTEGER_DIGITS - step
    clamped = max(-limit, min(limit, bound))
    rounded = clamped.quantize(step, rounding=ROUND_FLOOR if upper else ROUND_CEILING)
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    digits = whole.zfill(_INTEGER_DIGITS) + fraction.ljust(MAX_SCALE, "0")
    if rounded < 0:
        return "0" + digits.translate(_NINES)
    return "1" + digits


def key_decimal(key: str) -> Decimal:
    """The number a sort key stands for (a cursor carries it back)."""
    digits = key[1:]
    if key.startswith("0"):
        digits = digits.translate(_NINES)
    number = Decimal(f"{digits[:_INTEGER_DIGITS]}.{digits[_INTEGER_DIGITS:]}")
    return -number if key.startswith("0") else number
