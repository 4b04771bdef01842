"""History's use-cases without HTTP: reading a page of it, and putting a value back as an edit."""

from __future__ import annotations

import pytest

from auth.errors import Forbidden
from collab.errors import ChangeNotFound, InvalidArgument
from collab.services.history import HistoryQuery
from collab.services.records import NewRecord
from tests.collab.services.conftest import Stack, given


async def test_a_value_before_a_change_is_put_back(stack: Stack) -> None:
    records, history = stack.services.records, stack.services.history
    created = await records.create(stack.admin, given(NewRecord("customers", {"name": "Ada"})))
    record_id = created["id"]
    tag = (await records.get(stack.admin, record_id)).etag
    await records.patch(stack.admin, record_id, tag, given({"name": "Grace"}))
    page = await history.page(stack.admin, record_id, HistoryQuery(field="name", limit=1))
    [change] = page["changes"]
    assert (change["before"], change["after"], page["next_before"]) == ("Ada", "Grace", change["id"])
    viewer = await stack.user("vi@example.com", "viewer")
    with pytest.raises(Forbidden):
        await history.put_back(viewer, record_id, str(change["id"]))
    with pytest.raises(ChangeNotFound):
        await history.put_back(stack.admin, record_id, "not-a-number")
    record = await history.put_back(stack.admin, record_id, str(change["id"]))
    assert record["fields"] == {"name": "Ada"}


async def test_a_user_filter_must_be_a_user_id(stack: Stack) -> None:
    with pytest.raises(InvalidArgument):
        await stack.services.history.page(stack.admin, "0" * 32, HistoryQuery(user_id="someone"))
