"""Accepting connections on a listening socket, each served on its own thread, at most N at once.

Shared by the mesh listener and the daemon's control socket.  The listening
socket needs a timeout so that ``stopping`` is noticed; a connection beyond
the limit is closed at once, so the ones being served are never starved.
"""

import socket
import threading


def accept_loop(sock, stopping, slots, serve, thread_name):
    """Accept until ``stopping`` is set; run ``serve(conn, address)`` on a new daemon thread
    for each connection ``slots`` (a BoundedSemaphore) has room for.  ``serve`` must
    release its slot when it is done."""
    while not stopping.is_set():
        try:
            conn, address = sock.accept()
        except socket.timeout:
            continue
        except OSError:
            if stopping.is_set():
                return
            continue
        if not slots.acquire(blocking=False):
            conn.close()  # at capacity
            continue
        threading.Thread(target=serve, args=(conn, address), daemon=True, name=thread_name).start()
