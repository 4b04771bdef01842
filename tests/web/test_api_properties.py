"""Property-based run of the whole HTTP API from its OpenAPI document (schemathesis): no input gives a 500.

Every operation gets generated inputs, as an admin, against a real server (the app under uvicorn in this
process) on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from bench.servers import throwaway_postgres
from tests.support.app_server import AppServer
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, SECRETS_SEEN, TLS
from web.openapi import DOCUMENT

POSTGRES_ADMIN_URL = os.environ.get(
    "COLLAB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

# Logging out would end the session every later case runs with, and the event stream never ends (a
# request that reads a whole body would wait forever): both are tested on their own elsewhere.
schema = (
    schemathesis.openapi.from_dict(DOCUMENT)
    .exclude(method="POST", path="/api/auth/logout")
    .exclude(method="GET", path="/api/events")
)


class Served:
    def __init__(self, base_url: str, token: str, record: str, http: httpx.Client) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}", "Origin": base_url}
        self.record = record
        self.http = http  # one client for the checks between cases (a new one per call costs 20-30 ms)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("schemathesis")
    with contextlib.ExitStack() as cleanup:
        if request.param == "sqlite":
            url = f"sqlite:///{folder / 'collab.db'}"
        else:
            url = cleanup.enter_context(throwaway_postgres(POSTGRES_ADMIN_URL))
        yield from _serve(folder, url)


def _serve(folder: Path, url: str) -> Iterator[Served]:
    env = {
        # Generated logins must not lock the run out...
        "COLLAB_LOGIN_FAILURES_PER_ADDRESS": "100000",
        "COLLAB_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS": "100000",
        "COLLAB_LOGIN_FAILURES_PER_ACCOUNT": "100000",
    }
    for kind in ("READS", "WRITES", "SEARCHES", "EXPORTS", "IMPORTS"):
        env[f"COLLAB_HTTP_{kind}_PER_SECOND"] = "0"  # ...nor may request budgets: a budget off is a rate of 0
    with (
        AppServer(url, folder / "server.log", env).serving() as server,
        httpx.Client(base_url=server.base_url, verify=TLS) as http,
    ):
        login = {"tenant": "default", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        token = http.post("/api/auth/login", json=login).json()["token"]
        SECRETS_SEEN.add(token)
        served = Served(server.base_url, token, "", http)
        created = http.post("/api/records", json={"collection": "customers"}, headers=served.headers)
        served.record = created.json()["id"]
        yield served


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_server_error(case: schemathesis.Case, served: Served) -> None:
    if "record_id" in (case.path_parameters or {}) and case.path_parameters and secrets.randbelow(2):
        case.path_parameters["record_id"] = served.record  # half the time, a record that exists
    response = case.call(base_url=served.base_url, headers=served.headers)
    # The run only means something while the cases are authenticated.
    assert served.http.get("/api/auth/me", headers=served.headers).status_code == 200
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )
