"""Property: the history index over runs (one entry per map item, however long) reports exactly what the
per-element index of before reported, on random offline edits, syncs and deliveries. Hundreds of cases,
so it stays out of `pytest -m unit`; the hand-made scenarios are in tests/collab/test_field_changes.py."""

from __future__ import annotations

import os
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collab.records.field_changes import FieldEntry, FieldIndex, _element_value, _Key, _Touch, changes_for
from collab.ycodec.ystructs import ID, ContentDeleted, ContentType, Item
from collab.ycodec.yupdate import decode_update
from tests.collab.test_field_changes import Client, Server, setter


class PerElementIndex(FieldIndex):
    """The reference: the index as it was before runs, writing every element of a map item on its own to a
    winner path of single IDs. Its work follows declared lengths, so it only serves small honest runs."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: dict[str, list[ID]] = {}

    def _write(
        self, touched: dict[str, _Touch], key: str, item: Item, first: int, stop: int, author: str | None
    ) -> None:
        nested = isinstance(item.content, ContentType)
        deleted = isinstance(item.content, ContentDeleted)
        for j in range(first, stop):
            eid = ID(item.id.client, item.id.clock + j)
            origin = item.origin if j == 0 else ID(eid.client, eid.clock - 1)
            entry = FieldEntry(eid, author, _element_value(item, j), nested, deleted)
            self._write_element(touched, key, entry, origin)

    def _write_element(
        self, touched: dict[str, _Touch], key: str, new: FieldEntry, origin: ID | None
    ) -> None:
        k = self._keys.setdefault(key, _Key())
        path = self.paths.setdefault(key, [])
        touch = touched.setdefault(key, _Touch(self.entry(key)))
        at = -1 if origin is None else path.index(origin) if origin in path else None
        if at is not None and at == len(path) - 1:
            pass  # sequential
        elif at is not None and new.id.client > path[at + 1].client:
            touch.conflict = True
            if k.live is not None:
                touch.lost = (None if k.live.deleted else k.live.value, k.live.author)
            del path[at + 1 :]
        else:
            touch.conflict = True
            touch.lost = (new.value, new.author)
            return
        path.append(new.id)
        k.live = new


# A step: (what, which client, a number). Writes and deliveries come most often; "sync-to-past" brings a
# client to an older state of the server, so that its next write lands on the middle of a run.
STEPS = ["set"] * 4 + ["each"] * 2 + ["sync-to-past"] * 2 + ["reversed", "diff", "full", "sync", "pop"]
STEPS_PER_CASE = 30


@settings(
    max_examples=int(os.environ.get("COLLAB_PROPERTY_EXAMPLES", "200")),
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    client_ids=st.lists(st.integers(1, 30), min_size=2, max_size=3, unique=True),
    rng=st.randoms(use_true_random=False),  # steps drawn evenly: hypothesis' own draws favour client 0
)
def test_history_of_runs_equals_the_per_element_history(client_ids: list[int], rng: random.Random) -> None:
    """Clients set one key, sync and deliver their writes one by one, in reverse, as a diff or as their full
    state (where overwritten entries come as deleted runs, whose middle elements others wrote on): the run
    index reports exactly what the per-element one does, and both hold pycrdt's value."""
    server = Server()
    reference = PerElementIndex()
    clients = [Client(f"user{n}", client_id) for n, client_id in enumerate(client_ids)]
    written = 0
    past = [b"\x00\x00"]  # the server's states, oldest first

    def receive(update: bytes, author: str) -> None:
        server.doc.apply_update(update)
        past.append(server.doc.get_update())
        changes = changes_for(server.index, update, server.doc, author)
        assert changes == changes_for(reference, update, server.doc, author)
        assert server.index.values() == reference.values() == server.values()
        assert server.index.entry("k") == reference.entry("k")

    for _ in range(STEPS_PER_CASE):
        kind, client = rng.choice(STEPS), rng.choice(clients)
        if kind == "set":
            for _ in range(rng.randint(1, 5)):  # several writes in a row: a run
                written += 1
                client.edit(setter("k", written))
        elif kind == "pop":
            client.edit(lambda f: f.pop("k", None))
        elif kind == "sync":
            client.sync_from(server)
        elif kind == "sync-to-past":  # so that it writes on an entry in the middle of a run
            queued = len(client.outbox)
            client.doc.apply_update(past[max(-len(past), -rng.randint(2, 4))])  # a few updates back
            del client.outbox[queued:]
        elif kind in ("each", "reversed"):
            for update in client.outbox if kind == "each" else client.outbox[::-1]:
                receive(update, client.name)
            client.outbox.clear()
        else:
            since = server.doc.get_state() if kind == "diff" else None
            receive(client.doc.get_update(since), client.name)
            client.outbox.clear()
    for client in clients:
        receive(client.doc.get_update(), client.name)  # already there: nothing is reported twice
    state = server.doc.get_update()
    rebuilt, rebuilt_reference = FieldIndex.from_state(state, server.doc), PerElementIndex()
    rebuilt_reference._ingest(decode_update(state), server.doc, lambda _: None, deleter=None)
    assert rebuilt.values() == rebuilt_reference.values() == server.values()
    assert rebuilt.entry("k") == rebuilt_reference.entry("k")
