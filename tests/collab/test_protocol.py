import pytest

from collab.errors import MalformedMessage
from collab.ycodec import protocol

pytestmark = pytest.mark.unit


def test_sync_messages_round_trip() -> None:
    assert protocol.decode_message(protocol.sync_step1(b"\x01\x02")) == protocol.SyncStep1(b"\x01\x02")
    assert protocol.decode_message(protocol.sync_step2(b"\x00\x00")) == protocol.SyncUpdate(b"\x00\x00", True)
    assert protocol.decode_message(protocol.sync_update(b"\x05")) == protocol.SyncUpdate(b"\x05", False)
    assert protocol.decode_message(bytes([protocol.QUERY_AWARENESS])) == protocol.QueryAwareness()


def test_var_uint_round_trips_large_values() -> None:
    for value in (0, 1, 127, 128, 300, 2**32, 2**53 - 1):
        assert protocol.Reader(protocol.write_var_uint(value)).var_uint() == value


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x00",  # sync without a step
        b"\x00\x07\x00",  # unknown sync step
        b"\x00\x02\x05\x01",  # update says 5 bytes, has 1
        b"\x00\x02\x01\x00\x00",  # trailing bytes
        b"\x80\x80\x80\x80\x80\x80\x80\x80\x80",  # var-int that never ends
        b"\x01",  # awareness without payload
    ],
)
def test_malformed_frames_raise(frame: bytes) -> None:
    with pytest.raises(MalformedMessage):
        protocol.decode_message(frame)


def test_unknown_message_types_are_ignored_not_fatal() -> None:
    assert protocol.decode_message(bytes([protocol.SAVED, 0])) == protocol.Ignored(protocol.SAVED)
    assert protocol.decode_message(bytes([protocol.AUTH, 0])) == protocol.Ignored(protocol.AUTH)


def test_awareness_round_trip_and_errors() -> None:
    entries = [
        protocol.AwarenessEntry(7, 3, {"user": {"name": "Ann"}, "cursor": None}),
        protocol.AwarenessEntry(9, 4, None),
    ]
    assert protocol.decode_awareness(protocol.encode_awareness(entries)) == entries
    not_json = protocol.write_var_uint(1) + protocol.write_var_uint(7) + protocol.write_var_uint(1)
    with pytest.raises(MalformedMessage):
        protocol.decode_awareness(not_json + protocol.write_var_string("{nope"))
    with pytest.raises(MalformedMessage):
        protocol.decode_awareness(not_json + protocol.write_var_string("[1]"))


def test_saved_message_carries_a_state_vector() -> None:
    vector = protocol.write_var_uint(1) + protocol.write_var_uint(42) + protocol.write_var_uint(9)
    frame = protocol.saved(vector)
    assert frame[0] == protocol.SAVED
    reader = protocol.Reader(frame[1:])
    assert protocol.decode_state_vector(reader.var_bytes()) == {42: 9}
