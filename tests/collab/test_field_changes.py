"""Field-level changes with conflicts, on real pycrdt documents: a server doc receives the updates of
clients that edit offline, and the index must name what changed, what lost, and who won."""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
from pycrdt import Doc, Map, Text, merge_updates

from collab.records.field_changes import (
    FieldChange,
    FieldIndex,
    changes_for,
)
from collab.records.item_fields import Owner, resolve_owners
from collab.ycodec.ystructs import ID, AnyValue, ContentAny, ContentDeleted, Item
from collab.ycodec.yupdate import decode_update
from tests.collab.test_yupdate import one_item, var_string, var_uint

pytestmark = pytest.mark.unit

SERVER_CLIENT_ID = 1_000_000


class Client:
    """A peer's document; each local transaction's update waits in ``outbox`` until delivered."""

    def __init__(self, name: str, client_id: int) -> None:
        self.name = name
        self.doc: Doc[Any] = Doc(client_id=client_id)
        self.fields = self.doc.get("fields", type=Map)
        self.outbox: list[bytes] = []
        self._subscription = self.doc.observe(lambda event: self.outbox.append(event.update))

    def edit(self, change: Callable[[Map[Any]], object]) -> bytes:
        """Run ``change`` in one transaction; its update (empty when it changed nothing)."""
        queued = len(self.outbox)
        with self.doc.transaction():
            change(self.fields)
        return self.outbox[-1] if len(self.outbox) > queued else b""

    def sync_from(self, server: Server) -> None:
        self.doc.apply_update(server.doc.get_update(self.doc.get_state()))
        self.outbox.clear()  # what came from the server is not this peer's to send


class Server:
    def __init__(self) -> None:
        self.doc: Doc[Any] = Doc(client_id=SERVER_CLIENT_ID)
        self.fields = self.doc.get("fields", type=Map)
        self.index = FieldIndex()

    def receive(self, update: bytes, author: str | None) -> list[FieldChange]:
        self.doc.apply_update(update)
        return changes_for(self.index, update, self.doc, author)

    def deliver(self, client: Client) -> list[FieldChange]:
        changes = [c for update in client.outbox for c in self.receive(update, client.name)]
        client.outbox.clear()
        return changes

    def values(self) -> dict[str, AnyValue]:
        return {k: str(v) if isinstance(v, Text) else v for k, v in self.fields.items()}


def setter(key: str, value: object) -> Callable[[Map[Any]], None]:
    def change(fields: Map[Any]) -> None:
        fields[key] = value

    return change


def offline_pair(alice_id: int = 1, bob_id: int = 2) -> tuple[Server, Client, Client]:
    """A server whose ``revenue`` is 1000 (by carol), and two clients that synced and went offline."""
    server = Server()
    carol = Client("carol", 3)
    carol.edit(lambda f: f.update({"revenue": 1000, "title": "Q3"}))
    server.deliver(carol)
    alice, bob = Client("alice", alice_id), Client("bob", bob_id)
    alice.sync_from(server)
    bob.sync_from(server)
    return server, alice, bob


def test_a_first_write_is_a_plain_change() -> None:
    server = Server()
    alice = Client("alice", 1)
    alice.edit(lambda f: f.__setitem__("revenue", 5000))
    assert server.deliver(alice) == [FieldChange("revenue", None, 5000.0, "alice", winner_author="alice")]
    assert server.index.values() == {"revenue": 5000.0}  # pycrdt writes every number as a float


@pytest.mark.parametrize("ids", [(1, 2), (2, 1)], ids=["bob-higher-id", "alice-higher-id"])
@pytest.mark.parametrize("bob_first", [False, True], ids=["alice-first", "bob-first"])
def test_concurrent_writes_report_the_loser_in_both_orders(ids: tuple[int, int], bob_first: bool) -> None:
    server, alice, bob = offline_pair(*ids)
    alice.edit(lambda f: f.__setitem__("revenue", 5000))
    bob.edit(lambda f: f.__setitem__("revenue", 6000))
    first, second = (bob, alice) if bob_first else (alice, bob)
    assert server.deliver(first) == [
        FieldChange(
            "revenue",
            1000.0,
            5000.0 if first is alice else 6000.0,
            first.name,
            overwritten_author="carol",
            winner_author=first.name,
        )
    ]
    (change,) = server.deliver(second)
    winner, loser = (bob, alice) if ids[1] > ids[0] else (alice, bob)  # Yjs: the higher client id wins
    values = {"alice": 5000.0, "bob": 6000.0}
    assert server.fields["revenue"] == values[winner.name] == change.after
    assert change.conflict and change.author == second.name
    assert (change.winner_author, change.lost_author) == (winner.name, loser.name)
    assert change.lost_value == values[loser.name]
    assert change.before == values[first.name] and change.overwritten_author == first.name
    assert server.index.entry("revenue") is not None
    assert server.index.values()["revenue"] == server.fields["revenue"]


@pytest.mark.parametrize("ids", [(1, 2), (2, 1)], ids=["second-wins", "second-loses"])
def test_the_same_value_written_concurrently_is_no_conflict_and_no_entry(ids: tuple[int, int]) -> None:
    server, alice, bob = offline_pair(*ids)
    alice.edit(lambda f: f.__setitem__("revenue", 5000))
    bob.edit(lambda f: f.__setitem__("revenue", 5000))
    (change,) = server.deliver(alice)
    assert not change.conflict and (change.before, change.after) == (1000.0, 5000.0)
    assert server.deliver(bob) == []  # nothing was lost, nothing changed
    assert server.fields["revenue"] == 5000.0


def test_a_merged_update_with_both_writes_is_one_conflict() -> None:
    server, alice, bob = offline_pair()
    both = merge_updates(
        alice.edit(lambda f: f.__setitem__("revenue", 5000)),
        bob.edit(lambda f: f.__setitem__("revenue", 6000)),
    )
    (change,) = server.receive(both, "sync")
    assert change.conflict and (change.before, change.after) == (1000.0, 6000.0)
    assert change.lost_value == 5000.0 and server.fields["revenue"] == 6000.0


def test_a_sequential_overwrite_is_not_a_conflict() -> None:
    server, alice, bob = offline_pair()
    alice.edit(lambda f: f.__setitem__("revenue", 5000))
    server.deliver(alice)
    bob.sync_from(server)  # bob saw alice's value
    bob.edit(lambda f: f.__setitem__("revenue", 7000))
    assert server.deliver(bob) == [
        FieldChange("revenue", 5000.0, 7000.0, "bob", overwritten_author="alice", winner_author="bob")
    ]


def test_writing_on_top_of_a_losing_value_loses_too() -> None:
    server, alice, bob = offline_pair()
    alice.edit(lambda f: f.__setitem__("revenue", 5000))
    alice.edit(lambda f: f.__setitem__("revenue", 5500))  # on top of alice's own, still offline
    bob.edit(lambda f: f.__setitem__("revenue", 6000))
    server.deliver(bob)
    first, second = server.deliver(alice)  # two updates, two reports: both writes lost
    assert first.conflict and first.lost_value == 5000.0 and first.after == 6000.0
    assert second.conflict and second.lost_value == 5500.0 and second.lost_author == "alice"
    assert server.fields["revenue"] == 6000.0 == server.index.values()["revenue"]


def test_deleting_a_key_and_rewriting_it() -> None:
    server, alice, _ = offline_pair()
    alice.edit(lambda f: f.pop("title"))
    assert server.deliver(alice) == [FieldChange("title", "Q3", None, "alice", overwritten_author="carol")]
    assert server.index.entry("title") is None and "title" not in server.index.values()
    alice.edit(lambda f: f.__setitem__("title", "Q4"))
    assert server.deliver(alice) == [FieldChange("title", None, "Q4", "alice", winner_author="alice")]


def test_a_write_concurrent_with_a_delete_brings_the_key_back() -> None:
    server, alice, bob = offline_pair(alice_id=1, bob_id=2)
    alice.edit(lambda f: f.__setitem__("revenue", 5000))
    alice.edit(lambda f: f.pop("revenue"))
    bob.edit(lambda f: f.__setitem__("revenue", 6000))
    server.deliver(alice)
    assert "revenue" not in server.fields
    (change,) = server.deliver(bob)
    assert change.conflict and change.after == 6000.0 == server.fields["revenue"]
    assert change.lost_author == "alice" and change.lost_value is None  # alice's value was already gone


def test_text_edits_map_back_to_their_field() -> None:
    server, alice, bob = offline_pair()
    alice.edit(lambda f: f.__setitem__("notes", Text("hello")))
    assert server.deliver(alice) == [FieldChange("notes", None, "hello", "alice", winner_author="alice")]
    bob.sync_from(server)
    bob.edit(lambda f: f["notes"].__iadd__(" world"))
    assert server.deliver(bob) == [
        FieldChange("notes", "hello", "hello world", "bob", overwritten_author="alice", winner_author="bob")
    ]
    alice.sync_from(server)
    alice.edit(lambda f: f["notes"].__delitem__(slice(0, 6)))  # a deletion only: the delete set
    assert server.deliver(alice) == [
        FieldChange("notes", "hello world", "world", "alice", overwritten_author="bob", winner_author="alice")
    ]
    assert server.index.values()["notes"] == "world"


def test_a_resent_state_reports_only_what_is_new() -> None:
    server, alice, _ = offline_pair()
    alice.edit(lambda f: f.__setitem__("notes", Text("hello")))
    server.deliver(alice)
    alice.edit(lambda f: f["notes"].__iadd__(" world"))
    alice.outbox.clear()
    # The full state holds "hello world" as one merged item, of which only " world" is new.
    assert server.receive(alice.doc.get_update(), "alice") == [
        FieldChange(
            "notes", "hello", "hello world", "alice", overwritten_author="alice", winner_author="alice"
        )
    ]
    assert server.receive(alice.doc.get_update(), "alice") == []


def test_typing_into_a_replaced_text_is_a_lost_edit() -> None:
    server, alice, bob = offline_pair()
    alice.edit(lambda f: f.__setitem__("notes", Text("draft")))
    server.deliver(alice)
    bob.sync_from(server)
    alice.sync_from(server)
    alice.edit(lambda f: f.__setitem__("notes", "final"))  # replaces the Text with a string
    bob.edit(lambda f: f["notes"].insert(0, "my "))  # bob, offline, types into the old Text
    server.deliver(alice)
    (change,) = server.deliver(bob)
    assert change.conflict and change.lost_author == "bob" and change.after == "final"


def test_out_of_order_updates_follow_what_pycrdt_integrates() -> None:
    server = Server()
    alice = Client("alice", 1)
    first = alice.edit(lambda f: f.__setitem__("a", 1))
    second = alice.edit(lambda f: f.__setitem__("b", 2))
    third = alice.edit(lambda f: f.pop("a"))
    assert server.receive(third, "alice") == []  # deletes what is not there yet: kept for later
    # yrs integrates an item past a gap in its client's clocks when it depends on nothing missing.
    assert server.receive(second, "alice") == [FieldChange("b", None, 2.0, "alice", winner_author="alice")]
    assert server.receive(first, "alice") == []  # "a" arrives and its pending deletion applies
    assert server.index.values() == server.values() == {"b": 2.0}
    assert server.receive(first, "alice") == server.receive(server.doc.get_update(), "sync") == []


def test_an_update_missing_its_origin_waits_in_pycrdt_and_in_the_index() -> None:
    server = Server()
    alice = Client("alice", 1)
    updates = [alice.edit(setter("t", v)) for v in (1, 2, 3)]  # each written on the one before
    server.receive(updates[0], "alice")
    assert server.receive(updates[2], "alice") == []  # its origin, the write of 2, is missing
    assert server.fields["t"] == 1.0 and server.index.values() == {"t": 1.0}
    assert server.receive(updates[1], "alice") == [
        FieldChange("t", 1.0, 3.0, "alice", overwritten_author="alice", winner_author="alice")
    ]


def test_index_from_state_attributes_by_item_id() -> None:
    server, alice, _ = offline_pair()
    alice.edit(lambda f: f.update({"notes": Text("hi"), "revenue": 2000}))
    server.deliver(alice)
    names = {1: "alice", 3: "carol"}
    index = FieldIndex.from_state(server.doc.get_update(), server.doc, lambda i: names.get(i.client))
    assert index.values() == server.values() == {"revenue": 2000.0, "title": "Q3", "notes": "hi"}
    entry = index.entry("title")
    assert entry is not None and entry.author == "carol" and entry.id == ID(3, 1)
    alice.edit(lambda f: f["notes"].__iadd__("!"))
    update = alice.outbox.pop()
    server.doc.apply_update(update)
    assert changes_for(index, update, server.doc, "alice") == [
        FieldChange("notes", "hi", "hi!", "alice", overwritten_author="alice", winner_author="alice")
    ]


def random_edit(rng: random.Random, client: Client) -> None:
    key = rng.choice(["revenue", "title", "notes"])
    current = client.fields.get(key)
    r = rng.random()
    if isinstance(current, Text) and r < 0.5:
        text = str(current)
        cut = len(text[: rng.randint(0, len(text))].encode())  # pycrdt indexes text by UTF-8 bytes
        if r < 0.35 or not text:
            client.edit(lambda f: f[key].insert(cut, rng.choice(["a", "é", "word "])))
        else:
            client.edit(lambda f: f[key].__delitem__(slice(0, cut)))
    elif r < 0.7:
        value = rng.choice([rng.randrange(100), "x", None, True, {"a": [1, "b"]}])
        client.edit(lambda f: f.__setitem__(key, value))
    elif r < 0.85:
        client.edit(lambda f: f.pop(key, None))
    else:
        client.edit(lambda f: f.__setitem__(key, Text(rng.choice(["", "hi"]))))


@pytest.mark.parametrize("seed", range(40))
def test_random_offline_edits_keep_the_index_equal_to_the_document(seed: int) -> None:
    """Clients edit offline and their updates reach the server in any order (out-of-order ones wait in
    pycrdt as pending): after every delivery the index holds exactly the document's values, which checks
    the winner rule against yrs, and a loser is only ever reported as a conflict."""
    rng = random.Random(seed)
    server = Server()
    clients = [Client(f"user{i}", rng.randrange(1, 2**31)) for i in range(3)]
    conflicts = 0
    for _ in range(60):
        client = rng.choice(clients)
        r = rng.random()
        if r < 0.55:
            random_edit(rng, client)
        elif r < 0.9 and client.outbox:
            update = client.outbox.pop(rng.randrange(len(client.outbox)) if rng.random() < 0.2 else 0)
            for change in server.receive(update, client.name):
                conflicts += change.conflict
                assert change.conflict or change.before != change.after
                assert change.after == server.index.values().get(change.field)
            assert server.index.values() == server.values()
        elif not client.outbox:
            client.sync_from(server)
    for client in clients:
        server.deliver(client)
    assert server.index.values() == server.values()
    rebuilt = FieldIndex.from_state(server.doc.get_update(), server.doc)
    assert rebuilt.values() == server.values()


def test_random_scenarios_find_conflicts() -> None:
    total = 0
    for seed in range(40):
        rng = random.Random(seed)
        server, alice, bob = offline_pair(rng.randrange(1, 99), rng.randrange(100, 199))
        for _ in range(10):
            random_edit(rng, rng.choice([alice, bob]))
        total += sum(c.conflict for c in server.deliver(alice) + server.deliver(bob))
    assert total > 10


def plain(value: Any) -> Any:
    if isinstance(value, Text):
        return str(value)
    if hasattr(value, "to_py"):
        return plain(value.to_py())
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def test_resolve_owners_follows_chains_in_any_order_and_ignores_cycles() -> None:
    def item(
        clock: int, origin: ID | None = None, parent: str | ID | None = None, key: str | None = None
    ) -> Item:
        return Item(ID(7, clock), 1, origin, None, parent, key, ContentAny((clock,)))

    entry = item(0, parent="fields", key="revenue")
    text_type = item(1, parent="fields", key="notes")
    typed = [item(2, parent=ID(7, 1)), item(3, origin=ID(7, 2))]
    other_root = item(4, parent="other", key="x")
    cycle = [item(5, origin=ID(7, 6)), item(6, origin=ID(7, 5))]
    overwrite = item(7, origin=ID(7, 0))
    items = [overwrite, typed[1], *cycle, other_root, typed[0], text_type, entry]
    owners = resolve_owners(items, "fields", lambda _: None)
    by_clock = {items[n].id.clock: owner for n, owner in owners}
    assert by_clock == {
        0: Owner("revenue", None),
        7: Owner("revenue", None),
        1: Owner("notes", None),
        2: Owner("notes", ID(7, 1)),
        3: Owner("notes", ID(7, 1)),
    }
    order = [items[n].id.clock for n, _ in owners]
    assert order.index(0) < order.index(7) and order.index(1) < order.index(2) < order.index(3)
    known = resolve_owners(
        [typed[1]], "fields", lambda i: Owner("notes", ID(7, 1)) if i == ID(7, 2) else None
    )
    assert known == [(0, Owner("notes", ID(7, 1)))]


# -- runs: a map item of length L is L entries, each written on the one before -----------------------------

HOSTILE_CLIENT = 123_456


def deleted_entry(client: int, length: int, delete_set: bool = False, key: str = "name") -> bytes:
    """A 21-36 byte update: one entry of root map ``fields`` whose content is deleted and declares
    ``length`` clocks (what Yjs writes for a key's overwritten entries, stretched), optionally with the
    delete set naming it, as Yjs would send it."""
    body = var_uint(1) + var_string("fields") + var_string(key) + var_uint(length)
    update = one_item(0x21, body, client=client)  # ContentDeleted, no origins, a parent_sub
    if delete_set:
        update = update[:-1] + var_uint(1) + var_uint(client) + var_uint(1) + var_uint(0) + var_uint(length)
    return update


def python_calls(work: Callable[[], object]) -> int:
    """How many Python functions ``work`` called: a measure of its work that no machine load disturbs."""
    calls = 0

    def count(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        work()
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.timeout(60)  # the per-element index took ~5 s per million declared clocks
@pytest.mark.parametrize("delete_set", [False, True], ids=["bare", "with-delete-set"])
@pytest.mark.parametrize("length", [10**7, 2**31])
def test_a_huge_deleted_entry_costs_what_a_tiny_one_costs(length: int, delete_set: bool) -> None:
    def index(n: int) -> tuple[int, Doc[Any], FieldIndex]:
        update = deleted_entry(HOSTILE_CLIENT, n, delete_set)
        doc: Doc[Any] = Doc(client_id=SERVER_CLIENT_ID)
        doc.apply_update(update)
        live = FieldIndex()

        def work() -> None:
            assert changes_for(live, update, doc, "mallory") == []  # nothing visible changed
            assert FieldIndex.from_state(doc.get_update(), doc).values() == {}

        return python_calls(work), doc, live

    tiny_calls, _, _ = index(2)
    huge_calls, doc, live = index(length)
    assert len(deleted_entry(HOSTILE_CLIENT, length, delete_set)) <= 36
    assert doc.get_state() == var_uint(1) + var_uint(HOSTILE_CLIENT) + var_uint(length)  # yrs took it
    assert huge_calls <= tiny_calls + 40, (tiny_calls, huge_calls)  # longer var-ints: a few more reads
    # The run stays usable: an entry of another client written on its middle element competes with the
    # element after it, and wins with the higher client id (the path is cut inside the run).
    middle = ID(HOSTILE_CLIENT, length // 2)
    for client, value in [(HOSTILE_CLIENT - 1, "lower"), (HOSTILE_CLIENT + 1, "higher")]:
        content = var_uint(1) + bytes([119]) + var_string(value)  # ContentAny holding one string
        update = one_item(0x88, var_uint(middle.client) + var_uint(middle.clock) + content, client=client)
        doc.apply_update(update)
        (change,) = changes_for(live, update, doc, value)
        assert change.conflict and change.lost_author == ("lower" if value == "lower" else "mallory")
        assert live.values() == dict(doc.get("fields", type=Map).items())
    assert live.values() == {"name": "higher"}
    assert FieldIndex.from_state(doc.get_update(), doc).values() == {"name": "higher"}


def test_a_delete_set_repeating_one_range_costs_what_the_range_costs() -> None:
    server = Server()
    alice = Client("alice", 7)
    alice.edit(lambda f: f.update({f"key{n}": n for n in range(400)}))  # 400 item ranges, one per key
    server.deliver(alice)

    def delete_everything(copies: int) -> tuple[int, int, list[FieldChange]]:
        pairs = (var_uint(0) + var_uint(400)) * copies  # everything alice wrote, listed ``copies`` times
        update = var_uint(0) + var_uint(1) + var_uint(7) + var_uint(copies) + pairs
        doc: Doc[Any] = Doc(client_id=SERVER_CLIENT_ID)
        doc.apply_update(server.doc.get_update())
        doc.apply_update(update)
        index = FieldIndex.from_state(server.doc.get_update(), doc)
        changes: list[FieldChange] = []
        calls = python_calls(lambda: changes.extend(changes_for(index, update, doc, "mallory")))
        return calls, len(update), changes

    once_calls, _, once = delete_everything(1)
    many_calls, size, many = delete_everything(5000)
    assert many == once and len(once) == 400 and all(c.after is None for c in once)
    # Decoding reads every pair; the index itself works once per item range, not once per listed range.
    assert many_calls <= once_calls + 3 * size, (once_calls, many_calls, size)


def test_pycrdt_sends_a_key_set_many_times_as_one_run() -> None:
    alice = Client("alice", 5)
    for value in range(100):
        alice.edit(setter("k", value))
    overwritten, live = decode_update(alice.doc.get_update()).structs
    assert isinstance(overwritten, Item) and overwritten.content == ContentDeleted(99)
    assert isinstance(live, Item) and live.origin == ID(5, 98)
    server = Server()
    assert server.receive(alice.doc.get_update(), "alice") == [
        FieldChange("k", None, 99.0, "alice", winner_author="alice")
    ]


@pytest.mark.parametrize("alice_id, bob_id", [(1, 2), (3, 2)], ids=["bob-higher", "bob-lower"])
def test_writes_on_the_middle_of_a_run_compete_with_the_next_element(alice_id: int, bob_id: int) -> None:
    server = Server()
    alice, bob, carol = Client("alice", alice_id), Client("bob", bob_id), Client("carol", 9)
    for value in (1, 2):
        alice.edit(setter("k", value))
    server.deliver(alice)
    bob.sync_from(server)  # bob saw alice's 2
    for value in (3, 4):
        alice.edit(setter("k", value))
    carol.doc.apply_update(alice.doc.get_update())  # carol saw alice's 4, from alice herself
    carol.outbox.clear()
    alice.edit(setter("k", 5))
    alice.outbox.clear()
    # alice's 3 and 4 arrive as one deleted run (bob and carol wrote on its elements), then her 5.
    assert server.receive(alice.doc.get_update(server.doc.get_state()), "alice") == [
        FieldChange("k", 2.0, 5.0, "alice", overwritten_author="alice", winner_author="alice")
    ]
    bob.edit(setter("k", 6))
    (change,) = server.deliver(bob)
    bob_wins = bob_id > alice_id  # bob's write competes with alice's 3, the element after his origin
    assert change.conflict and change.after == server.fields["k"] == (6.0 if bob_wins else 5.0)
    assert (change.lost_value, change.lost_author) == ((5.0, "alice") if bob_wins else (6.0, "bob"))
    # carol's write competes with alice's 5 while the run is whole; once bob cut the path after alice's 2,
    # the entry carol wrote on is off the path and she loses whatever her id.
    carol.edit(setter("k", 8))
    (change,) = server.deliver(carol)
    assert change.conflict and change.after == server.fields["k"] == (6.0 if bob_wins else 8.0)
    assert server.index.values() == server.values()
    alice.sync_from(server)
    alice.edit(setter("k", 7))  # on top of whatever won: sequential
    assert server.deliver(alice) == [
        FieldChange(
            "k",
            change.after,
            7.0,
            "alice",
            overwritten_author="bob" if bob_wins else "carol",
            winner_author="alice",
        )
    ]
    assert FieldIndex.from_state(server.doc.get_update(), server.doc).values() == {"k": 7.0}
