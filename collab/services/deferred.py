"""What a caller sends, read only once the use-case knows the caller may act.

A use-case checks the caller's role (and finds the record) before it reads the request's input: a caller
who may not act is refused (403, 404) rather than told that its input is malformed (400), and nothing is
parsed on behalf of someone refused. So a route passes how to read its input, and the use-case reads it
once, at that point.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeAlias, TypeVar

T = TypeVar("T")

Deferred: TypeAlias = Callable[[], Awaitable[T]]
