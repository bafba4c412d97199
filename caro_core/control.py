"""The local control channel: ``caro`` commands asking the running daemon to act for them.

The daemon serves a Unix socket at ``$CARO_HOME/control.sock``: created with mode 0600 inside the
0700 home, and every connection's peer credentials (``SO_PEERCRED``) must name the daemon's own
user, so only that user's processes get in.  One JSON request per connection — at most
:data:`MAX_REQUEST` bytes, complete within :data:`IO_TIMEOUT_S` — then one JSON response of at
most :data:`MAX_RESPONSE` bytes, then the connection closes.  At most :data:`MAX_CLIENTS`
requests are served at once; more are turned away.

A request is ``{"op": NAME, …}``; the answer is ``{"ok": true, "result": …}`` or ``{"ok":
false, "error": "one line", "exit_code": n}``.  Operations are the handlers the starting
plugin passes (the mesh queries plugin serves ``query``).
"""

import json
import logging
import os
import socket
import struct
import threading
from pathlib import Path

from .acceptor import accept_loop
from .errors import CaroError

log = logging.getLogger("caro.control")

SOCKET_FILE = "control.sock"
MAX_REQUEST = 64 * 1024
MAX_RESPONSE = 8 * 1024 * 1024
IO_TIMEOUT_S = 5.0
MAX_CLIENTS = 8


class ControlError(CaroError):
    """The daemon refused or failed a control request (its one-line reason)."""


class NotRunning(ControlError):
    """No daemon serves the control channel of this home."""


def _read_all(sock, limit):
    chunks, size = [], 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise ControlError(f"message larger than {limit} bytes")
        chunks.append(chunk)


class ControlServer:
    """Serves one home's control socket on a thread; ``handlers`` map an op to a function of
    the request (a dict) returning a JSON value or raising CaroError."""

    def __init__(self, home, handlers):
        self.path = Path(home) / SOCKET_FILE
        self.handlers = handlers
        self.slots = threading.BoundedSemaphore(MAX_CLIENTS)
        self.stopping = threading.Event()
        self.sock = None
        self.thread = threading.Thread(target=self._accept_loop, name="caro-control", daemon=True)

    def start(self):
        # the daemon holds the home's lock: a socket file left here is a dead daemon's
        self.path.unlink(missing_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            self.sock.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.thread.start()

    def stop(self):
        self.stopping.set()
        if self.sock is not None:
            self.sock.close()
            self.thread.join(timeout=5)
            self.path.unlink(missing_ok=True)

    def _accept_loop(self):
        accept_loop(self.sock, self.stopping, self.slots, self._serve, "caro-control-request")

    def _serve(self, conn, _address):
        try:
            with conn:
                if not _same_user(conn):
                    return
                conn.settimeout(IO_TIMEOUT_S)
                try:
                    reply = {"ok": True, "result": self._handle(_read_all(conn, MAX_REQUEST))}
                except socket.timeout:
                    return  # a client that does not finish its request in time is dropped
                except CaroError as e:
                    reply = {"ok": False, "error": str(e), "exit_code": e.exit_code}
                except Exception as e:
                    log.exception("control request failed")
                    reply = {"ok": False, "error": f"internal error in the daemon: "
                                                   f"{type(e).__name__} (see caro.log)"}
                data = json.dumps(reply, default=str).encode("utf-8")
                if len(data) > MAX_RESPONSE:
                    data = json.dumps({"ok": False, "error": "the answer is too large"}).encode()
                conn.sendall(data)
        except OSError as e:
            log.info("control connection ended early: %s", e)
        finally:
            self.slots.release()

    def _handle(self, data):
        try:
            request = json.loads(data)
        except ValueError:
            raise ControlError("the request is not JSON") from None
        handler = self.handlers.get(request.get("op")) if isinstance(request, dict) else None
        if handler is None:
            raise ControlError(f"unknown control operation (known: {', '.join(self.handlers)})")
        return handler(request)


def _same_user(conn):
    """Whether the connecting process runs as this process's user (always true where the
    platform cannot say: the socket's mode already keeps other users out)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", creds)
    return uid == os.geteuid()


def request(home, op, wait_s, **fields):
    """Send one request to the daemon of ``home`` and return its result.

    :param wait_s: how long to wait for the whole answer.
    :raises NotRunning: nobody serves the channel.
    :raises ControlError: the daemon's one-line error, or a broken answer.
    """
    path = Path(home) / SOCKET_FILE
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(wait_s)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunning(f"no daemon serves {path}") from None
        sock.sendall(json.dumps({"op": op, **fields}).encode("utf-8"))
        sock.shutdown(socket.SHUT_WR)
        data = _read_all(sock, MAX_RESPONSE)
    except socket.timeout:
        raise ControlError(f"the daemon did not answer within {wait_s:g} s") from None
    except OSError as e:
        raise ControlError(f"the daemon's control channel failed: {e}") from None
    finally:
        sock.close()
    try:
        reply = json.loads(data)
    except ValueError:
        raise ControlError("the daemon's answer is not JSON (is it an older version?)") from None
    if not isinstance(reply, dict) or not reply.get("ok"):
        error = ControlError(str(reply.get("error") if isinstance(reply, dict) else reply)[:500])
        code = reply.get("exit_code") if isinstance(reply, dict) else None
        if isinstance(code, int) and 0 < code < 126:
            error.exit_code = code  # the daemon's error exits as the same error would here
        raise error
    return reply.get("result")
