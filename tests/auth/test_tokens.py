"""Session tokens (auth/tokens.py): unguessable, URL-safe, and stored only as a digest."""

from __future__ import annotations

import hashlib
import re

import pytest

from auth.tokens import hash_token, new_token

pytestmark = pytest.mark.unit


def test_tokens_are_long_url_safe_and_never_repeat() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", token) for token in tokens)  # 32 random bytes


def test_only_a_sha256_is_stored() -> None:
    token = new_token()
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest() != token
    assert hash_token(token) == hash_token(token)
