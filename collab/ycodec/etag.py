"""Entity tags of record content, and `If-Match` against them.

A Yjs document's content is fixed by two things: which items it has integrated (its state vector; each
client's items are contiguous from clock 0) and which of them are deleted (its delete set). Deleting
creates no item, so the state vector alone misses deletions; the tag hashes both. Both are put in a
canonical form first (clients sorted, deleted ranges sorted and coalesced), because yrs may encode the same
state in another order or with ranges split differently once a room is evicted and loaded again, and a tag
that changed without a change of content would fail every `If-Match` that follows.
"""

from __future__ import annotations

import hashlib

from pycrdt import Doc

from collab.ycodec.yupdate import decode_state_vector, decode_update

_TAG_HEX_CHARS = 32  # 128 bits of SHA-256: no accidental collision between two states of one record


def etag_of(doc: Doc) -> str:
    """A strong ETag (quoted) that changes with every change of the document's content, deletions too."""
    state_vector = doc.get_state()
    # An update against the document's own state vector carries no structs, only the whole delete set.
    delete_set = decode_update(doc.get_update(state_vector)).delete_set
    digest = hashlib.sha256()
    for client, clock in sorted(decode_state_vector(state_vector).items()):
        digest.update(f"s{client}:{clock};".encode())
    for client in sorted(delete_set.clients):
        for clock, length in _coalesced(delete_set.clients[client]):
            digest.update(f"d{client}:{clock}+{length};".encode())
    return f'"{digest.hexdigest()[:_TAG_HEX_CHARS]}"'


def _coalesced(ranges: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for clock, length in sorted(ranges):
        if merged and clock <= merged[-1][0] + merged[-1][1]:
            start, previous = merged[-1]
            merged[-1] = (start, max(previous, clock + length - start))
        elif length > 0:
            merged.append((clock, length))
    return merged


def if_match_holds(header: str, current: str) -> bool:
    """Whether an `If-Match` header value admits the current tag (RFC 9110 13.1.1).

    `*` matches any current representation. Comparison is strong: a weak tag (`W/"…"`) never matches.
    """
    if header.strip() == "*":
        return True
    return any(candidate.strip() == current for candidate in _split_tags(header))


def _split_tags(header: str) -> list[str]:
    # Tags are quoted and may not contain quotes, so a comma outside quotes separates them.
    tags: list[str] = []
    current: list[str] = []
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            tags.append("".join(current))
            current = []
        else:
            current.append(char)
    tags.append("".join(current))
    return [tag for tag in tags if tag.strip()]
