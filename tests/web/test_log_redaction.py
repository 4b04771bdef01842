"""No token reaches a log line, however a request spells or encodes the parameter that carries it."""

from __future__ import annotations

import logging
import sys

import pytest

from server.logs import RedactSecrets, redact

pytestmark = pytest.mark.unit

TOKEN = "v10JAZHPsSKWYfXvq-EXuurAabfnZBh0IKdJR827zck"


@pytest.mark.parametrize(
    "query",
    [
        f"token={TOKEN}",
        f"TOKEN={TOKEN}",
        f"%74oken={TOKEN}",  # what the server decodes to `token`, and accepts
        f"%2574oken={TOKEN}",  # encoded twice
        f"to%6Ben={TOKEN}",
        f"%54%4F%4B%45%4E={TOKEN}",
        f"token%3D{TOKEN}",  # the `=` encoded: one parameter named `token=<the token>`
        f"token%3d{TOKEN}",
        f"access_token={TOKEN}",
        f"session_token={TOKEN}",
        f"password={TOKEN}",
        f"x=1&token={TOKEN}&y=2",
        f"x=1%26token%3D{TOKEN}",
        f"token=%{TOKEN[:2]}{TOKEN[2:]}",
    ],
)
def test_a_token_under_any_spelling_is_redacted(query: str) -> None:
    for line in (
        f'127.0.0.1:5000 - "GET /api/auth/me?{query} HTTP/1.1" 200',
        f'127.0.0.1:5000 - "WebSocket /ws/0123?{query}" [accepted]',
        f'127.0.0.1:5000 - "GET /ws/0123%3F{query} HTTP/1.1" 404',
    ):
        cleaned = redact(line)
        assert TOKEN not in cleaned and TOKEN[4:20] not in cleaned, cleaned
        assert "[redacted]" in cleaned


def test_what_holds_no_secret_is_left_as_it_was() -> None:
    for line in [
        '127.0.0.1:5000 - "GET /api/records?collection=customers&q=50%25%20off HTTP/1.1" 200',
        '127.0.0.1:5000 - "DELETE /api/admin/lockouts?key=address%3A127.0.0.9 HTTP/1.1" 204',
        "closing connection 7 on record 0123: too many messages",
    ]:
        assert redact(line) == line


def test_a_decoded_line_cannot_forge_another() -> None:
    cleaned = redact(f'"GET /x?q=a%0A2026-01-01%20INFO%20forged&token={TOKEN} HTTP/1.1"')
    assert "\n" not in cleaned and TOKEN not in cleaned


def test_the_filter_redacts_arguments_and_tracebacks() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/api/auth/me?%74oken={TOKEN}", "1.1", 200), None,
    )  # fmt: skip
    assert RedactSecrets().filter(record)
    assert TOKEN not in logging.Formatter().format(record)
    try:
        raise ValueError(f"bad url /ws/x?TOKEN={TOKEN}")
    except ValueError:
        failed = logging.LogRecord("collab", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert RedactSecrets().filter(failed)
    assert TOKEN not in logging.Formatter().format(failed)
