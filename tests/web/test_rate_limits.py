"""Per-user request budgets: 429 with Retry-After once a kind is spent, budgets apart per kind, refilled
by the clock (a `FakeClock`, moved by the test: nothing sleeps)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest
from starlette.requests import HTTPConnection

from collab.clock import FakeClock
from tests.web.conftest import InProcess
from web.abuse_limits import AbuseLimits
from web.rate_limits import Budget, RateLimited, RateLimiter, RequestKind, kind_of


def connection(method: str | None, path: str, query: str = "") -> HTTPConnection:
    scope = {"type": "http" if method else "websocket", "path": path, "query_string": query.encode()}
    scope["headers"] = [(b"host", b"testserver")]
    if method:
        scope["method"] = method
    return HTTPConnection(scope)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("method", "path", "query", "kind"),
    [
        ("GET", "/api/records/abc", "", RequestKind.READ),
        ("HEAD", "/api/records", "collection=customers", RequestKind.READ),
        (None, "/ws/abc", "token=x", RequestKind.READ),  # a WebSocket connect
        ("GET", "/api/records", "collection=customers&q=ada", RequestKind.SEARCH),
        ("GET", "/api/records", "collection=customers&q=", RequestKind.READ),
        ("PATCH", "/api/records/abc", "", RequestKind.WRITE),
        ("POST", "/api/records", "q=ada", RequestKind.WRITE),
        ("DELETE", "/api/admin/lockouts", "", RequestKind.WRITE),
        ("GET", "/api/collections/customers/export", "", RequestKind.EXPORT),
        ("POST", "/api/collections/customers/imports", "", RequestKind.IMPORT),
    ],
)
def test_requests_are_sorted_into_kinds(method: str | None, path: str, query: str, kind: RequestKind) -> None:
    assert kind_of(connection(method, path, query)) is kind


@pytest.mark.unit
def test_a_bucket_refills_with_the_clock_and_users_do_not_share_one() -> None:
    clock = FakeClock()
    limiter = RateLimiter({kind: Budget(0.5, 2) for kind in RequestKind}, clock)
    limiter.charge("ann", RequestKind.READ)
    limiter.charge("ann", RequestKind.READ)
    with pytest.raises(RateLimited) as refused:
        limiter.charge("ann", RequestKind.READ)
    assert refused.value.retry_after_seconds == 2 and refused.value.kind is RequestKind.READ
    limiter.charge("bob", RequestKind.READ)  # another user, another bucket
    limiter.charge("ann", RequestKind.WRITE)  # another kind, another bucket
    clock.advance(1.9)
    with pytest.raises(RateLimited) as refused:
        limiter.charge("ann", RequestKind.READ)
    assert refused.value.retry_after_seconds == 1
    clock.advance(0.1)
    limiter.charge("ann", RequestKind.READ)
    clock.advance(3600)
    limiter.charge("ann", RequestKind.READ)
    limiter.charge("ann", RequestKind.READ)  # refilled to the burst, never beyond it
    with pytest.raises(RateLimited):
        limiter.charge("ann", RequestKind.READ)


@pytest.mark.unit
def test_a_rate_of_zero_switches_a_budget_off() -> None:
    limiter = RateLimiter({kind: Budget(0, 0) for kind in RequestKind}, FakeClock())
    for _ in range(1000):
        limiter.charge("ann", RequestKind.SEARCH)


async def test_each_kind_of_request_has_its_own_budget_over_http(
    serve_in_process: Callable[..., AbstractAsyncContextManager[InProcess]],
) -> None:
    budgets = {
        "http_reads_per_second": 1.0,
        "http_read_burst": 3,
        "http_writes_per_second": 0.5,
        "http_write_burst": 2,
        "http_searches_per_second": 0.1,
        "http_search_burst": 1,
    }
    async with serve_in_process(**budgets) as served:
        token = await served.login()  # logging in is throttled by failures, not by this budget
        other = await served.add_user(token, "ann@example.com", "viewer")
        clock = FakeClock()
        served.app.state.abuse_limits = AbuseLimits.from_settings(served.settings, clock)  # full buckets
        async with served.client(token) as http:
            assert [(await http.get("/api/auth/me")).status_code for _ in range(3)] == [200] * 3
            refused = await http.get("/api/auth/me")
            assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
            assert "reads" in refused.json()["message"]

            search = {"collection": "customers", "q": "ada"}
            assert (await http.get("/api/records", params=search)).status_code == 200
            refused = await http.get("/api/records", params=search)
            assert refused.status_code == 429 and refused.headers["retry-after"] == "10"

            new = {"collection": "customers", "fields": {"name": "Ada"}}
            assert [(await http.post("/api/records", json=new)).status_code for _ in range(3)] == [
                201,
                201,
                429,
            ]

            clock.advance(1)
            assert (await http.get("/api/auth/me")).status_code == 200
            assert (await http.get("/api/auth/me")).status_code == 429
        # Another user's budget is untouched.
        async with served.client(other) as http:
            assert (await http.get("/api/auth/me")).status_code == 200
