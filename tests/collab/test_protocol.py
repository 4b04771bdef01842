import random

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


def _read_update(frame: bytes) -> protocol.Message:
    """A sync update decoded field by field with `Reader`, as `decode_message` does past its short cut."""
    reader = protocol.Reader(frame)
    reader.var_uint()
    step = reader.var_uint()
    if step not in (protocol.SYNC_STEP2, protocol.SYNC_UPDATE):
        raise MalformedMessage("not an update")
    message = protocol.SyncUpdate(reader.var_bytes(), step2=step == protocol.SYNC_STEP2)
    reader.finish()
    return message


def test_short_updates_decode_as_the_reader_decodes_them() -> None:
    """Updates with a one-byte length skip the `Reader`: same message, same refusals."""
    rng = random.Random(5)
    for _ in range(2000):
        payload = rng.randbytes(rng.randrange(0, 140))
        frame = (protocol.sync_update if rng.random() < 0.5 else protocol.sync_step2)(payload)
        frame = frame[: rng.randrange(len(frame) + 1)] if rng.random() < 0.3 else frame
        frame = frame + rng.randbytes(rng.randrange(1, 4)) if rng.random() < 0.2 else frame
        if not frame.startswith(bytes([protocol.SYNC])) or frame[1:2] == bytes([protocol.SYNC_STEP1]):
            continue  # cut to nothing, then tailed by another message type (or a step 1)
        try:
            expected: protocol.Message | type[MalformedMessage] = _read_update(frame)
        except MalformedMessage:
            expected = MalformedMessage
        if expected is MalformedMessage:
            with pytest.raises(MalformedMessage):
                protocol.decode_message(frame)
        else:
            assert protocol.decode_message(frame) == expected
