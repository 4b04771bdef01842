"""`/metrics`: absent unless configured, only for its token, and its figures move with the traffic."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.app_server import AppServer
from tests.support.live_server import SECRETS_SEEN, running
from tests.support.polling import poll_until
from tests.support.sse import FeedClient
from tests.support.yclient import YClient
from tests.web.conftest import InProcess

TOKEN = "metrics-token-for-tests-0123456789"
SECRETS_SEEN.add(TOKEN)


def _figures(text: str) -> dict[str, float]:
    """Each sample by name and labels, e.g. `collab_http_requests_total{method=GET,route=/healthz,...}`."""
    figures: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{key}={value}" for key, value in sorted(sample.labels.items()))
            figures[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return figures


async def _scrape(http: httpx.AsyncClient) -> dict[str, float]:
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return _figures(response.text)


async def test_metrics_do_not_exist_without_a_token_setting(
    serve_in_process: Callable[..., AbstractAsyncContextManager[InProcess]],
) -> None:
    async with serve_in_process() as server, server.client() as http:
        assert (await http.get("/metrics")).status_code == 404
        assert (await http.get("/metrics", headers={"Authorization": "Bearer x"})).status_code == 404


async def test_metrics_answer_only_their_token(
    serve_in_process: Callable[..., AbstractAsyncContextManager[InProcess]],
) -> None:
    async with serve_in_process(metrics_token=TOKEN) as server, server.client() as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
        assert wrong.status_code == 401
        # A login session's token is not the metrics token.
        session = await server.login()
        assert (await http.get("/metrics", headers={"Authorization": f"Bearer {session}"})).status_code == 401
        assert (await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 200


async def test_figures_move_with_http_and_live_edits(database_url: str, tmp_path: Path) -> None:
    server = AppServer(database_url, tmp_path / "server.log", env={"COLLAB_METRICS_TOKEN": TOKEN})
    async with running(server):
        token = await server.login()
        record = await server.create_record(token, {"name": "Metered"})
        async with server.client() as http:
            before = await _scrape(http)
            assert (
                await http.get(f"/api/records/{record}", headers={"Authorization": f"Bearer {token}"})
            ).status_code == 200
            await server.create_record(token, {"name": "Published"})  # a feed event, pushed once stored
            url = f"{server.ws_url}/{record}"
            ann, bob = await YClient(url, token).connect(), await YClient(url, token).connect()
            stranger = await YClient(url, "not-a-session").connect(wait_synced=False)
            await stranger.wait(stranger.closed.wait(), "the stranger refused")  # before it joins a room
            assert stranger.close_code == 4401
            during = await _scrape(http)
            ann.fields["revenue"] = 5000
            await bob.wait_until(lambda: bob.fields.get("revenue") == 5000, "bob sees ann's edit")
            await ann.wait_saved()
            after = await _scrape(http)
            await ann.close()
            await bob.close()
            # Two feed streams resuming: one from an id still kept, one from an id no server gave out.
            async with FeedClient(server.base_url, token, "customers", last_event_id=0) as resumed:
                assert (await resumed.next()).type == "record.created"
            async with FeedClient(server.base_url, token, "customers", last_event_id=10**9) as reset:
                assert (await reset.next()).type == "reset"
            left = await poll_until(
                lambda: _scrape(http),
                lambda figures: figures["collab_connections"] == before["collab_connections"],
                "both connections gone",
            )

    def moved(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    # The record route by its template: never the record's id in a label.
    record_route = "collab_http_requests_total{method=GET,route=/api/records/{record_id},status=200}"
    assert moved(record_route) >= 1
    assert not any(record in name for name in after)
    assert moved("collab_updates_in_total") >= 1
    assert moved("collab_updates_in_bytes_total") > 0
    assert moved("collab_updates_out_total") >= 1
    assert moved("collab_updates_out_bytes_total") > 0
    assert moved("collab_commit_batch_size_count") >= 1
    assert moved("collab_commit_seconds_count") >= 1
    assert moved("collab_saved_seconds_count") >= 1
    assert moved("collab_feed_publish_lag_seconds_count") >= 1
    assert moved("collab_http_requests_total{method=POST,route=/api/records,status=201}") == 1
    assert after["collab_logins_total{outcome=ok}"] >= 1
    assert during["collab_rooms_loaded"] >= before["collab_rooms_loaded"] + 1
    assert during["collab_connections"] == before["collab_connections"] + 2
    closed_by_client = "collab_connection_closes_total{code=client}"
    assert left.get(closed_by_client, 0.0) - before.get(closed_by_client, 0.0) == 2
    not_authenticated = "collab_connection_closes_total{code=4401}"
    assert after.get(not_authenticated, 0.0) - before.get(not_authenticated, 0.0) == 1
    assert after["collab_event_loop_lag_seconds_count"] >= 0
    assert left.get("collab_feed_resumes_total{outcome=resumed}", 0.0) == 1
    assert left.get("collab_feed_resumes_total{outcome=reset}", 0.0) == 1
