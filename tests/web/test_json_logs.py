"""`--log-format json`: one JSON object a line, each request's lines with its id, and never a secret.

The server runs in this process with `COLLAB_LOG_FORMAT=json` (so its access lines are written); its lines
go to a file through the production JSON handler of server/logs.py (the request filter, the redaction and
the formatter, in the order `log_config` puts them), a file the end-of-run scan for secrets reads too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server import cli
from server.logs import JsonFormatter, RedactSecrets, log_config
from tests.support.app_server import AppServer
from tests.support.live_server import LOG_FILES, SECRETS_SEEN, running
from tests.support.polling import poll_until
from tests.support.yclient import YClient

_CLIENT_LOGGERS = ("httpx", "httpcore", "websockets.client", "hpack")
_MADE_ID = re.compile(r"[0-9a-f]{32}")
GIVEN_ID = "req-42.A_b"


class _ServerLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(_CLIENT_LOGGERS)


@contextlib.contextmanager
def json_log(path: Path) -> Iterator[None]:
    """The root logger's lines, as `collab serve --log-format json` writes them to stderr, into `path`:
    the handler's filters and formatter, and the levels and filters `log_config` gives named loggers."""
    config = log_config(log_format="json")
    filters = {name: spec["()"] for name, spec in config["filters"].items()}
    handler = logging.FileHandler(path)
    handler.addFilter(_ServerLines())
    for name in config["handlers"]["stderr"]["filters"]:
        handler.addFilter(filters[name]())
    handler.setFormatter(JsonFormatter())
    LOG_FILES.append(path)
    saved = []
    for name, spec in config["loggers"].items():
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, list(logger.filters)))
        logger.setLevel(spec["level"])
        for filter_name in spec.get("filters", ()):
            logger.addFilter(filters[filter_name]())
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
        for logger, level, kept in saved:
            logger.setLevel(level)
            logger.filters[:] = kept
        handler.close()


def lines(path: Path) -> list[dict[str, Any]]:
    """Every line of the log, each of which must be one JSON object."""
    parsed = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(isinstance(line, dict) for line in parsed)
    return parsed


async def read_lines(path: Path) -> list[dict[str, Any]]:
    return lines(path)


def json_server(database_url: str, tmp_path: Path) -> AppServer:
    return AppServer(database_url, tmp_path / "server.log", env={"COLLAB_LOG_FORMAT": "json"})


async def test_a_request_is_logged_with_its_id_user_tenant_route_status_and_duration(
    database_url: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "json.log"
    with json_log(log_path):
        async with running(json_server(database_url, tmp_path)) as server:
            token = await server.login()
            record = await server.create_record(token, {"name": "Logged"})
            async with server.client(token) as http:
                me = await http.get("/api/auth/me", headers={"X-Request-ID": GIVEN_ID})
                read = await http.get(f"/api/records/{record}", headers={"X-Request-ID": "read-1"})
                missing = await http.get("/api/no-such-route", headers={"X-Request-ID": "lost-1"})
    assert me.status_code == 200 and read.status_code == 200 and missing.status_code == 404
    assert me.headers["x-request-id"] == GIVEN_ID
    assert read.headers["x-request-id"] == "read-1"
    user = me.json()["user"]["id"]

    logged = lines(log_path)
    (access,) = [line for line in logged if line.get("event") == "http" and line["request_id"] == GIVEN_ID]
    assert access["route"] == "/api/auth/me" and access["method"] == "GET" and access["status"] == 200
    assert access["user"] == user and access["tenant"] and access["tenant"] != user
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    assert access["level"] == "INFO" and access["logger"] == "collab.access" and access["time"]
    # The route is the template, never the record's id; an unknown path is `unmatched`, by nobody.
    (by_id,) = [line for line in logged if line.get("request_id") == "read-1"]
    assert by_id["route"] == "/api/records/{record_id}" and record not in json.dumps(by_id)
    (lost,) = [line for line in logged if line.get("request_id") == "lost-1"]
    assert lost["route"] == "unmatched" and lost["status"] == 404 and "user" not in lost
    assert len({line["request_id"] for line in logged if line.get("event") == "http"}) == len(
        [line for line in logged if line.get("event") == "http"]
    )


@pytest.mark.parametrize("given", [None, "", "x" * 129, "has space", "a/b", "ok;drop", "é"], ids=repr)
async def test_an_absent_or_insane_request_id_is_replaced_by_a_made_one(
    database_url: str, tmp_path: Path, given: str | None
) -> None:
    log_path = tmp_path / "json.log"
    headers = {} if given is None else {"X-Request-ID": given.encode()}
    with json_log(log_path):
        async with running(json_server(database_url, tmp_path)) as server, server.client() as http:
            first = await http.get("/healthz", headers=headers)
            second = await http.get("/healthz", headers=headers)
    made = first.headers["x-request-id"]
    assert _MADE_ID.fullmatch(made) and made != second.headers["x-request-id"]
    (access,) = [line for line in lines(log_path) if line.get("request_id") == made]
    assert access["event"] == "http" and access["route"] == "/healthz" and access["status"] == 200


async def test_a_websocket_logs_its_open_and_its_close_with_the_close_code(
    database_url: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "json.log"
    with json_log(log_path):
        async with running(json_server(database_url, tmp_path)) as server:
            token = await server.login()
            record = await server.create_record(token, {"name": "Live"})
            url = f"{server.ws_url}/{record}"
            polite = await YClient(url, token).connect(additional_headers={"X-Request-ID": "ws-polite"})
            await polite.close()
            rude = await YClient(url, token).connect(additional_headers={"X-Request-ID": "ws-rude"})
            await rude.send("a text frame")  # not part of the protocol: the server closes it
            await rude.wait(rude.closed.wait(), "the server closes the rude client")
            stranger = await YClient(url, "not-a-session").connect(
                wait_synced=False, additional_headers={"X-Request-ID": "ws-stranger"}
            )
            await stranger.wait(stranger.closed.wait(), "the stranger refused")
            logged = await poll_until(
                lambda: read_lines(log_path),
                lambda got: sum(line.get("event") == "ws.close" for line in got) == 2,
                "both connections' close lines",
            )

    def of(request_id: str, event: str) -> dict[str, Any]:
        (line,) = [x for x in logged if x.get("request_id") == request_id and x.get("event") == event]
        return line

    opened, closed = of("ws-polite", "ws.open"), of("ws-polite", "ws.close")
    polite_lines = [line for line in logged if line.get("request_id") == "ws-polite"]
    assert polite_lines == [opened, closed], "one line as it joins (not uvicorn's and websockets' too)"
    assert opened["record"] == closed["record"] == record and opened["user"] and opened["tenant"]
    assert opened["connection"] == closed["connection"]
    assert closed["closed_by"] == "client" and closed["code"] == 1000  # the client closed first, with 1000
    rude_closed = of("ws-rude", "ws.close")
    assert rude_closed["closed_by"] == "server" and rude_closed["code"] == rude.close_code == 4400
    assert stranger.close_code == 4401 and of("ws-stranger", "ws.refused")["code"] == 4401
    assert not [line for line in logged if line.get("request_id") == "ws-stranger" and "user" in line]


async def test_no_secret_reaches_any_json_field(database_url: str, tmp_path: Path) -> None:
    log_path = tmp_path / "json.log"
    with json_log(log_path):
        async with running(json_server(database_url, tmp_path)) as server:
            token = await server.login()
            SECRETS_SEEN.add(token)
            async with server.client() as http:
                await http.get(f"/api/auth/me?token={token}")
                await http.get(f"/api/auth/me?%74oken={token}&x=1")
                await http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
                await http.get(f"/api/records/{token}", headers={"Authorization": f"Bearer {token}"})
            client = await YClient(f"{server.ws_url}/nope", token).connect(wait_synced=False)
            await client.wait(client.closed.wait(), "the unknown record refused")
    text = log_path.read_text()
    assert lines(log_path) and "/api/auth/me" in text
    assert token not in text and token[4:20] not in text


def test_every_field_and_the_traceback_are_redacted() -> None:
    secret = "v10JAZHPsSKWYfXvq-EXuurAabfnZBh0IKdJR827zck"
    try:
        raise ValueError(f"bad url /ws/x?TOKEN={secret}")
    except ValueError:
        failed = logging.LogRecord(
            "collab", logging.ERROR, __file__, 1, "GET %s", (f"/x?token={secret}",), sys.exc_info()
        )
    failed.route = f"/api/x?password={secret}"
    failed.user = f"Bearer {secret}"
    assert RedactSecrets().filter(failed)
    line = json.loads(JsonFormatter().format(failed))
    assert secret not in json.dumps(line)
    assert "[redacted]" in line["message"] and "[redacted]" in line["route"]
    assert "[redacted]" in line["user"] and "ValueError" in line["exception"]


def test_the_flag_and_the_variable_choose_the_format(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen: list[str] = []
    monkeypatch.setattr(cli, "serve", lambda settings: chosen.append(settings.log_format) or 0)
    monkeypatch.delenv("COLLAB_LOG_FORMAT", raising=False)
    assert cli.main(["serve"]) == 0
    assert cli.main(["serve", "--log-format", "json"]) == 0
    monkeypatch.setenv("COLLAB_LOG_FORMAT", "json")
    assert cli.main(["serve"]) == 0
    assert chosen == ["text", "json", "json"]
    config = log_config(log_format="json")
    assert config["formatters"]["json"]["()"] is JsonFormatter
    assert config["handlers"]["stderr"]["formatter"] == "json"
    assert log_config()["handlers"]["stderr"]["formatter"] == "plain"
    with pytest.raises(ValueError, match="log format"):
        log_config(log_format="xml")
