"""The wire format: signed frames, and every way a received frame is refused."""

import io
import os
import socket
import struct

import msgpack
import pytest
from hypothesis import given, settings, strategies as st

from caro_core import wire
from caro_core.identity import load_or_create
from caro_core.wire import MessageType, NonceCache, ProtocolError, Verifier

NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def alice(tmp_path_factory):
    return load_or_create(tmp_path_factory.mktemp("alice"))


@pytest.fixture(scope="module")
def mallory(tmp_path_factory):
    return load_or_create(tmp_path_factory.mktemp("mallory"))


def verifier(identity, clock=lambda: NOW):
    return Verifier(identity.node_id, identity.private_key.public_key(), NonceCache(), clock=clock)


def frame(identity, body=None, seq=1, now=NOW, msg_type=MessageType.PING, nonce=None):
    return wire.encode(identity, msg_type, {"ping_id": 7} if body is None else body, seq, now=now,
                       nonce=nonce)


def refused(check, data, reason):
    with pytest.raises(ProtocolError) as e:
        check(wire.decode(data))
    assert e.value.reason == reason
    return str(e.value)


def test_a_frame_round_trips_and_verifies(alice):
    data = frame(alice, {"ping_id": 7})
    assert data[:4] == b"CARO" and len(data) == 12 + struct.unpack(">I", data[6:10])[0] + 64
    decoded = wire.decode(data)
    assert decoded.msg_type is MessageType.PING and decoded.sender == alice.node_id
    assert verifier(alice).verify(decoded) == {"ping_id": 7}


def test_a_frame_is_read_off_a_stream_in_pieces(alice):
    a, b = socket.socketpair()
    try:
        data = frame(alice, {"x": b"\0" * 100_000}, seq=1) + frame(alice, {"y": 2}, seq=2)
        a.sendall(data)
        a.close()
        reader = wire.FrameReader(b)
        check = verifier(alice)
        assert check.verify(reader.read()) == {"x": b"\0" * 100_000}
        assert check.verify(reader.read()) == {"y": 2}
        with pytest.raises(EOFError):
            reader.read()
    finally:
        b.close()


def test_any_flipped_bit_is_refused(alice):
    data = bytearray(frame(alice))
    for i in range(4, len(data)):  # past the magic, which has its own error
        tampered = bytearray(data)
        tampered[i] ^= 0x01
        with pytest.raises(ProtocolError):
            verifier(alice).verify(wire.decode(bytes(tampered)))


def test_a_frame_signed_by_another_key_is_refused(alice, mallory):
    forged = bytearray(frame(mallory))
    # mallory claims to be alice: same payload with alice's sender, signed by mallory
    payload = msgpack.packb({"sender": alice.node_id, "ts": NOW, "nonce": os.urandom(16), "seq": 1,
                             "body": {}}, use_bin_type=True)
    header = wire.HEADER.pack(wire.MAGIC, wire.VERSION, len(payload), MessageType.PING)
    forged = header + payload + mallory.sign(header[4:] + payload)
    assert refused(verifier(alice).verify, forged, "bad-signature") == "frame signature does not verify"
    assert refused(verifier(alice).verify, frame(mallory), "wrong-sender").startswith(
        "frame claims sender")


def test_clock_skew_is_refused_naming_the_skew(alice):
    late = refused(verifier(alice).verify, frame(alice, now=NOW - 301), "clock-skew")
    assert late.startswith("peer clock is 301 s behind ours (limit ±300 s)")
    early = refused(verifier(alice).verify, frame(alice, now=NOW + 3600), "clock-skew")
    assert "3600 s ahead of ours" in early
    assert verifier(alice).verify(wire.decode(frame(alice, now=NOW + 299))) is not None


def test_a_replayed_nonce_is_refused_even_on_a_new_connection(alice):
    nonces = NonceCache()
    data = frame(alice, nonce=b"n" * 16)
    first = Verifier(alice.node_id, alice.private_key.public_key(), nonces, clock=lambda: NOW)
    first.verify(wire.decode(data))
    second = Verifier(alice.node_id, alice.private_key.public_key(), nonces, clock=lambda: NOW)
    refused(second.verify, data, "replay")


def test_sequence_numbers_must_grow(alice):
    check = verifier(alice)
    check.verify(wire.decode(frame(alice, seq=5)))
    assert "sequence number 5 does not follow 5" in refused(check.verify, frame(alice, seq=5),
                                                           "bad-sequence")
    refused(check.verify, frame(alice, seq=4), "bad-sequence")
    check.verify(wire.decode(frame(alice, seq=6)))


def test_the_nonce_cache_forgets_outside_the_window_and_is_bounded():
    cache = NonceCache(window_s=10, limit=3)
    assert cache.add("a", b"1", 100) and not cache.add("a", b"1", 105)
    assert cache.add("a", b"1", 111)  # forgotten after the window
    for n in range(10):
        cache.add("a", bytes([n]), 111)
    assert len(cache._seen) <= 3


def test_an_oversized_length_is_refused_before_reading_the_payload(alice):
    header = wire.HEADER.pack(wire.MAGIC, wire.VERSION, wire.MAX_PAYLOAD + 1, MessageType.PING)
    reader = wire.FrameReader(io.BytesIO(header))
    reader.sock.recv = reader.sock.read
    with pytest.raises(ProtocolError) as e:
        reader.read()
    assert e.value.reason == "oversize"
    with pytest.raises(ProtocolError, match="exceeds the"):
        wire.encode(alice, MessageType.PING, {"x": b"\0" * wire.MAX_PAYLOAD}, 1)


@pytest.mark.parametrize("data, reason", [
    (b"", "truncated"),
    (b"HTTP/1.1 200 OK\r\n\r\n", "bad-magic"),
    (wire.HEADER.pack(b"CARO", 2, 0, 1), "bad-version"),
    (wire.HEADER.pack(b"CARO", 1, 0, 0x4242), "bad-type"),
    (wire.HEADER.pack(b"CARO", 1, 3, 1) + b"\xc1\xc1\xc1" + b"\0" * 64, "bad-payload"),
    (wire.HEADER.pack(b"CARO", 1, 1, 1) + b"\x01" + b"\0" * 64, "bad-payload"),
    (wire.HEADER.pack(b"CARO", 1, 5, 1) + b"\0" * 10, "truncated"),
])
def test_garbage_is_a_protocol_error(data, reason):
    with pytest.raises(ProtocolError) as e:
        wire.decode(data)
    assert e.value.reason == reason


def test_malformed_fields_are_refused(alice):
    for fields in ({"sender": 1, "ts": NOW, "nonce": b"n" * 16, "seq": 1, "body": {}},
                   {"sender": "x", "ts": "now", "nonce": b"n" * 16, "seq": 1, "body": {}},
                   {"sender": "x", "ts": NOW, "nonce": b"short", "seq": 1, "body": {}},
                   {"sender": "x", "ts": NOW, "nonce": b"n" * 16, "seq": True, "body": {}},
                   {"sender": "x", "ts": NOW, "nonce": b"n" * 16, "seq": 1}):
        payload = msgpack.packb(fields, use_bin_type=True)
        data = wire.HEADER.pack(b"CARO", 1, len(payload), 1) + payload + b"\0" * 64
        with pytest.raises(ProtocolError) as e:
            wire.decode(data)
        assert e.value.reason == "bad-payload"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_the_decoder_only_ever_raises_protocol_errors_on_random_bytes(data):
    try:
        wire.decode(data)
    except ProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 0xFFFF))
def test_the_decoder_only_ever_raises_protocol_errors_behind_a_valid_header(body, msg_type):
    data = wire.HEADER.pack(b"CARO", 1, len(body), msg_type) + body + b"\0" * 64
    try:
        wire.decode(data)
    except ProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200), st.integers(0, 255))
def test_a_mutated_valid_frame_never_verifies_and_never_crashes(alice, position, value):
    data = bytearray(frame(alice, seq=3))
    position %= len(data)
    if data[position] == value:
        return
    data[position] = value
    with pytest.raises(ProtocolError):
        verifier(alice).verify(wire.decode(bytes(data)))
