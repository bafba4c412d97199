"""The mesh wire format: signed frames and the checks every received frame must pass.

A frame is::

    b"CARO" · version u16 · length u32 · type u16 · payload (length bytes) · signature (64)

all integers big-endian.  The payload is a msgpack map ``{"sender", "ts", "nonce",
"seq", "body"}``; the Ed25519 signature covers ``version‖length‖type‖payload``.

:func:`encode` builds a frame; :class:`FrameReader` takes frames off a byte
stream, refusing a bad magic, version or oversized length before reading the
rest; :class:`Verifier` checks one connection's frames: the sender is the
peer the TLS handshake authenticated, the signature verifies under its key,
the timestamp is within ±:data:`MAX_SKEW_S`, the nonce is new, the sequence
number grows.  Every refusal is a :class:`ProtocolError` naming what was wrong.

Setting ``CARO_WIRE_TRACE`` to a file name makes a process append every frame
it encodes (the plaintext inside TLS) to that file: to inspect exactly what a
node sends, and how the tests prove no Level-0 data ever leaves one.
"""

import enum
import os
import struct
import time
from collections import OrderedDict

import msgpack

from .errors import CaroError

MAGIC = b"CARO"
VERSION = 1
HEADER = struct.Struct(">4sHIH")
SIGNATURE_SIZE = 64
#: The largest payload accepted (a summary is a few kB; a query answer a few tens of kB).
MAX_PAYLOAD = 1 << 20
#: Accepted difference between a frame's timestamp and the local clock.
MAX_SKEW_S = 300
NONCE_SIZE = 16


class MessageType(enum.IntEnum):
    HELLO = 0x0001
    HELLO_ACK = 0x0002
    CAPABILITIES = 0x0003
    PING = 0x0010
    PONG = 0x0011
    SUMMARY_PUSH = 0x0100
    SUMMARY_ACK = 0x0101
    QUERY = 0x0200
    QUERY_RESPONSE = 0x0201
    KEY_ROTATION = 0x0300
    KEY_ROTATION_ACK = 0x0301
    GOODBYE = 0xFFFF


class ProtocolError(CaroError):
    """A frame was refused; ``reason`` is a short machine-readable word for the audit log."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


def encode(identity, msg_type, body, seq, now=None, nonce=None):
    """One signed frame from ``identity`` carrying ``body`` (msgpack-able)."""
    payload = msgpack.packb({
        "sender": identity.node_id,
        "ts": time.time() if now is None else now,
        "nonce": os.urandom(NONCE_SIZE) if nonce is None else nonce,
        "seq": seq,
        "body": body,
    }, use_bin_type=True)
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError("oversize", f"message of {len(payload)} bytes exceeds the "
                                        f"{MAX_PAYLOAD}-byte frame limit")
    header = HEADER.pack(MAGIC, VERSION, len(payload), int(msg_type))
    frame = header + payload + identity.sign(header[4:] + payload)
    trace = os.environ.get("CARO_WIRE_TRACE")
    if trace:
        with open(trace, "ab") as f:
            f.write(frame)
    return frame


class Frame:
    """A frame read off the wire, not yet verified."""

    __slots__ = ("msg_type", "payload", "signature", "signed", "fields")

    def __init__(self, msg_type, payload, signature, signed, fields):
        self.msg_type = msg_type
        self.payload = payload
        self.signature = signature
        self.signed = signed
        self.fields = fields

    @property
    def sender(self):
        return self.fields["sender"]

    @property
    def body(self):
        return self.fields["body"]


def parse_header(header, max_payload=MAX_PAYLOAD):
    """``(msg_type, length)`` of a 12-byte header, or a ProtocolError."""
    magic, version, length, msg_type = HEADER.unpack(header)
    if magic != MAGIC:
        raise ProtocolError("bad-magic", "not a Caro frame (bad magic)")
    if version != VERSION:
        raise ProtocolError("bad-version", f"unsupported protocol version {version} "
                                           f"(this node speaks {VERSION})")
    if length > max_payload:
        raise ProtocolError("oversize", f"frame of {length} bytes exceeds the "
                                        f"{max_payload}-byte limit")
    try:
        msg_type = MessageType(msg_type)
    except ValueError:
        raise ProtocolError("bad-type", f"unknown message type 0x{msg_type:04x}") from None
    return msg_type, length


def parse_payload(msg_type, header, payload, signature):
    """Decode a frame's payload map and check its field types (not its signature)."""
    try:
        fields = msgpack.unpackb(payload, raw=False, strict_map_key=True)
    except Exception:  # msgpack raises many types on garbage
        raise ProtocolError("bad-payload", "frame payload is not valid msgpack") from None
    if not isinstance(fields, dict):
        raise ProtocolError("bad-payload", "frame payload is not a map")
    expected = {"sender": str, "ts": (int, float), "nonce": bytes, "seq": int}
    for name, kind in expected.items():
        value = fields.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ProtocolError("bad-payload", f"frame field {name!r} is missing or malformed")
    if len(fields["nonce"]) != NONCE_SIZE:
        raise ProtocolError("bad-payload", "frame nonce must be 16 bytes")
    if "body" not in fields:
        raise ProtocolError("bad-payload", "frame has no body")
    return Frame(msg_type, payload, signature, header[4:] + payload, fields)


def decode(data, max_payload=MAX_PAYLOAD):
    """Decode one complete frame held in ``data`` (bytes); trailing bytes are an error."""
    if len(data) < HEADER.size:
        raise ProtocolError("truncated", "frame shorter than its header")
    header = data[:HEADER.size]
    msg_type, length = parse_header(header, max_payload)
    if len(data) != HEADER.size + length + SIGNATURE_SIZE:
        raise ProtocolError("truncated", "frame length does not match its header")
    payload = data[HEADER.size:HEADER.size + length]
    return parse_payload(msg_type, header, payload, data[HEADER.size + length:])


class FrameReader:
    """Read frames from a blocking socket-like object with ``recv``."""

    def __init__(self, sock, max_payload=MAX_PAYLOAD):
        self.sock = sock
        self.max_payload = max_payload

    def _exactly(self, n):
        chunks, need = [], n
        while need:
            chunk = self.sock.recv(min(need, 65536))
            if not chunk:
                if need == n and not chunks:
                    raise EOFError("connection closed")
                raise ProtocolError("truncated", "connection closed in the middle of a frame")
            chunks.append(chunk)
            need -= len(chunk)
        return b"".join(chunks)

    def read(self):
        """The next frame; EOFError at a clean end of stream."""
        header = self._exactly(HEADER.size)
        msg_type, length = parse_header(header, self.max_payload)
        rest = self._exactly(length + SIGNATURE_SIZE)
        return parse_payload(msg_type, header, rest[:length], rest[length:])


class NonceCache:
    """Nonces seen within the replay window (shared by all connections of a node)."""

    def __init__(self, window_s=2 * MAX_SKEW_S, limit=200_000):
        self.window_s = window_s
        self.limit = limit
        self._seen = OrderedDict()

    def add(self, sender, nonce, now):
        """Record ``nonce``; False when it was already seen (a replay)."""
        while self._seen and (len(self._seen) >= self.limit
                              or next(iter(self._seen.values())) < now - self.window_s):
            self._seen.popitem(last=False)
        key = (sender, nonce)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


class Verifier:
    """Checks the frames of one connection from the peer with ``public_key`` (``node_id``)."""

    def __init__(self, node_id, public_key, nonces, clock=time.time):
        self.node_id = node_id
        self.public_key = public_key
        self.nonces = nonces
        self.clock = clock
        self.last_seq = -1

    def verify(self, frame):
        """Return the frame's body, or raise ProtocolError."""
        from cryptography.exceptions import InvalidSignature

        if frame.sender != self.node_id:
            raise ProtocolError("wrong-sender", f"frame claims sender {frame.sender[:40]!r}, but "
                                                f"the connection belongs to {self.node_id}")
        try:
            self.public_key.verify(frame.signature, frame.signed)
        except InvalidSignature:
            raise ProtocolError("bad-signature", "frame signature does not verify") from None
        now = self.clock()
        skew = frame.fields["ts"] - now
        if abs(skew) > MAX_SKEW_S:
            direction = "ahead of" if skew > 0 else "behind"
            raise ProtocolError("clock-skew", f"peer clock is {abs(skew):.0f} s {direction} ours "
                                              f"(limit ±{MAX_SKEW_S} s); fix the clocks (NTP)")
        if frame.fields["seq"] <= self.last_seq:
            raise ProtocolError("bad-sequence", f"sequence number {frame.fields['seq']} does "
                                                f"not follow {self.last_seq}")
        if not self.nonces.add(frame.sender, frame.fields["nonce"], now):
            raise ProtocolError("replay", "frame nonce was already used (replay)")
        self.last_seq = frame.fields["seq"]
        return frame.body
