"""The "why" an editor may give with an HTTP edit or a put-back: plain text, trimmed, at most 500 characters.

It travels on the write's `Origin` to each change row the write makes, and history shows it as text.
"""

from __future__ import annotations

from typing import Any

from collab.errors import SchemaError

MAX_COMMENT_CHARS = 500


def comment_of(raw: Any) -> str | None:
    """The comment as stored: None when absent or blank; `SchemaError` (422) when not text, or too long."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise SchemaError({"comment": "a comment is text"})
    comment = raw.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise SchemaError({"comment": f"at most {MAX_COMMENT_CHARS} characters"})
    # Neither database stores a NUL or a lone surrogate in text: refused here, not by the writer later.
    if "\x00" in comment or not _encodes(comment):
        raise SchemaError({"comment": "a comment is plain text"})
    return comment or None


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


async def no_comment() -> None:
    """The `Deferred` comment of a caller that gives none."""
    return None
