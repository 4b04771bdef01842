"""Snapshots are for the people who take and restore them: viewers get 403 unless the server allows it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest

from tests.web.conftest import InProcess


@pytest.mark.parametrize("viewers_read", [False, True], ids=["default", "viewers_read_snapshots"])
async def test_viewers_read_snapshots_only_when_allowed(
    serve_in_process: Callable[..., AbstractAsyncContextManager[InProcess]], viewers_read: bool
) -> None:
    async with serve_in_process(**({"viewers_read_snapshots": True} if viewers_read else {})) as served:
        admin = await served.login()
        viewer = await served.add_user(admin, "vi@example.com", "viewer")
        editor = await served.add_user(admin, "ed@example.com", "editor")
        async with served.client(admin) as http:
            record = (await http.post("/api/records", json={"collection": "customers"})).json()["id"]
            snapshot = (await http.post(f"/api/records/{record}/snapshots")).json()["id"]
        reads = [
            f"/api/records/{record}/snapshots",
            f"/api/records/{record}/snapshots/{snapshot}",
            f"/api/records/{record}/snapshots/{snapshot}/compare",
        ]
        async with served.client(viewer) as http:
            assert [(await http.get(path)).status_code for path in reads] == [
                200 if viewers_read else 403
            ] * 3
            assert (await http.post(f"/api/records/{record}/snapshots")).status_code == 403
        async with served.client(editor) as http:
            assert [(await http.get(path)).status_code for path in reads] == [200] * 3
