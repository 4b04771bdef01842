"""Every error knows its answer: the HTTP response `web/errors.py` renders from it, and the close frame
`collab.errors.close_frame` makes of it. auth and persistence spell their close codes out (they sit below
collab): here they are checked against collab/close_codes.py."""

from __future__ import annotations

import json

import pytest
from starlette.requests import Request

from auth import errors as auth_errors
from auth.throttle import TooManyAttempts
from collab import close_codes
from collab import errors as collab_errors
from collab.errors import close_frame
from collab.live.admission import UpdateRefused
from persistence import errors as persistence_errors
from web.errors import BadRequest, handle_error
from web.rate_limits import RateLimited, RequestKind
from web.slots import TooManyOpen

pytestmark = pytest.mark.unit

_ROOTS = (auth_errors.AuthError, collab_errors.CollabError, persistence_errors.PersistenceError)


def _classes(root: type[Exception]) -> list[type[Exception]]:
    found, pending = [], [root]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending += kind.__subclasses__()
    return found


@pytest.mark.parametrize("root", _ROOTS, ids=lambda root: root.__module__)
def test_every_error_has_a_status_and_a_close_code_of_the_contract(root: type[Exception]) -> None:
    codes = {value for name, value in vars(close_codes).items() if name.isupper()}
    for kind in _classes(root):
        assert getattr(kind, "close_code", None) in codes, kind
        status = getattr(kind, "status", "missing")
        assert status is None or (isinstance(status, int) and 400 <= status < 600), kind
        assert isinstance(getattr(kind, "error_code", None), str), kind


def test_the_close_codes_spelled_out_below_collab_are_collabs() -> None:
    expected = {
        auth_errors.AuthError: close_codes.INTERNAL_ERROR,
        auth_errors.NotAuthenticated: close_codes.NOT_AUTHENTICATED,
        auth_errors.InvalidCredentials: close_codes.NOT_AUTHENTICATED,
        auth_errors.Forbidden: close_codes.FORBIDDEN,
        auth_errors.UserNotFound: close_codes.NOT_FOUND,
        auth_errors.LastAdmin: close_codes.MALFORMED,
        auth_errors.InvalidInput: close_codes.MALFORMED,
        TooManyAttempts: close_codes.RATE_LIMITED,
        persistence_errors.PersistenceError: close_codes.INTERNAL_ERROR,
        persistence_errors.DatabaseUnavailable: close_codes.TRY_AGAIN_LATER,
    }
    assert {kind: kind.close_code for kind in expected} == expected


@pytest.mark.parametrize(
    ("error", "frame"),
    [
        (auth_errors.NotAuthenticated("unknown session"), (4401, "not authenticated")),
        (auth_errors.SessionEnded("logged out"), (4401, "logged out")),
        (auth_errors.Forbidden("origin not allowed"), (4403, "origin not allowed")),
        (RateLimited(RequestKind.READ, 3), (4429, "too many requests")),
        (TooManyOpen("too many connections", 10), (4429, "too many connections")),
        (collab_errors.RecordNotFound("0" * 32), (4404, "no such record")),
        (collab_errors.RecordDeleted("0" * 32), (4404, "record deleted")),
        (collab_errors.MalformedMessage("truncated varint"), (4400, "malformed message")),
        (collab_errors.RoomBroken("0" * 32), (4400, "malformed message")),
        (UpdateRefused("a gap in client 7's clocks"), (4400, "a gap in client 7's clocks")),
        (collab_errors.MessageTooLarge("a frame of 9 MB"), (4413, "message too large")),
        (collab_errors.TooManyMessages("rate limited"), (4429, "too many messages")),
        (collab_errors.RoomLoadFailed("could not read record x"), (1011, "record could not be loaded")),
        (collab_errors.ConsumerTooSlow("consumer stuck"), (1013, "consumer stuck")),
        (persistence_errors.WriteRefused("a constraint"), (1011, "internal error")),
        (KeyError("secret internals"), (1011, "internal error")),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_close_frame(error: Exception, frame: tuple[int, str]) -> None:
    assert close_frame(error) == frame


def test_a_close_reason_is_cut_to_fit_a_frame_without_splitting_a_character() -> None:
    code, reason = close_frame(UpdateRefused("é" * 100))
    assert code == 4400 and reason == "é" * 60 and len(reason.encode()) == 120


def _request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""})


async def _answer(error: Exception) -> tuple[int, dict[str, object], dict[str, str]]:
    response = await handle_error(_request(), error)
    return response.status_code, json.loads(bytes(response.body)), dict(response.headers)


async def test_http_answers_come_from_the_error_classes() -> None:
    assert (await _answer(collab_errors.RecordNotFound("0" * 32)))[:2] == (
        404,
        {"error": "not_found", "message": "not found"},
    )
    assert (await _answer(BadRequest("the collection parameter is required")))[:2] == (
        400,
        {"error": "bad_request", "message": "the collection parameter is required"},
    )
    status, body, _ = await _answer(collab_errors.SchemaError({"revenue": "expected a number"}))
    assert (status, body["error"], body["fields"]) == (422, "invalid", {"revenue": "expected a number"})
    status, body, headers = await _answer(collab_errors.PreconditionFailed({"name": "Ada"}, '"t1"'))
    assert (status, body["error"], body["fields"], body["etag"]) == (
        412,
        "precondition_failed",
        {"name": "Ada"},
        '"t1"',
    )
    assert headers["etag"] == '"t1"'
    status, body, headers = await _answer(RateLimited(RequestKind.WRITE, 7))
    assert (status, body["error"], headers["retry-after"]) == (429, "too_many_attempts", "7")
    status, body, _ = await _answer(persistence_errors.DatabaseUnavailable("sqlite:///x", "locked"))
    assert (status, body["error"]) == (503, "unavailable")
    assert (await _answer(auth_errors.LastAdmin("no admin left")))[0] == 409


@pytest.mark.parametrize(
    "error",
    [persistence_errors.WriteRefused("a constraint"), collab_errors.CollabError("a bug"), KeyError("x")],
)
async def test_an_error_with_no_answer_of_its_own_goes_on_to_the_500(error: Exception) -> None:
    with pytest.raises(type(error)):
        await handle_error(_request(), error)
