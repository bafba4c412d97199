"""The mesh service: the listener, outgoing connections, introductions and live sessions.

Every connection is TLS 1.3 (:mod:`caro_core.tls`) carrying signed frames
(:mod:`caro_core.wire`); the server speaks first.

* **Session** (both sides present certificates the other trusts): the
  server sends ``Hello``, the client answers ``Hello``, the server confirms
  with ``HelloAck``.  Each side checks that the node id in the ``Hello`` is the
  key of the certificate the handshake verified and asks the trust backends
  (:func:`caro_core.trust.decide`); an untrusted node gets ``Goodbye`` (FR-205).
* **Introduction** (the client has no certificate the server trusts yet, or
  does not know the server's): the client connects without a certificate
  and checks the server's key against the node id it expects; the server sends
  a ``Hello`` with a random challenge; the client answers with its certificate
  and the challenge in a frame signed by its key, which proves it holds that
  key.  The server then pins the certificate when a backend trusts the node
  (static peers), holds it as *pending* (TOFU) or refuses it, says which in
  ``HelloAck`` and closes.  The client reconnects as a session.

A session's frames are checked by a :class:`caro_core.wire.Verifier`; a bad
frame is audited and closes that connection only.  Plugins answer message
types by adding to :attr:`Mesh.handlers`.
"""

import dataclasses
import logging
import os
import socket
import ssl
import threading
import time

from . import peers, tls, wire
from .acceptor import accept_loop
from .rotation import successor
from .trust import decide
from .wire import MessageType, ProtocolError

log = logging.getLogger("caro.mesh")

PROTOCOL_VERSION = wire.VERSION
HANDSHAKE_TIMEOUT_S = 10
CHALLENGE_SIZE = 32


class Session:
    """One live, authenticated connection to a trusted peer."""

    def __init__(self, mesh, sock, reader, peer, trust, verifier, initiator, seq):
        self.mesh = mesh
        self.sock = sock
        self.reader = reader
        self.peer = peer
        self.trust = trust
        self.verifier = verifier
        self.initiator = initiator  # node id of the side that dialled
        self.seq = seq  # the last sequence number we sent (the handshake used some)
        self.send_lock = threading.Lock()
        self.released = False  # the descriptor is closed
        self.last_received = self.last_sent = time.monotonic()
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"caro-mesh-{peer.fingerprint}",
                                       daemon=True)

    @property
    def node_id(self):
        return self.peer.node_id

    def send(self, msg_type, body):
        with self.send_lock:
            if self.released:
                raise ConnectionAbortedError("session closed")
            self.seq += 1
            self.sock.sendall(wire.encode(self.mesh.identity, msg_type, body, self.seq))
            self.last_sent = time.monotonic()

    def run(self):
        reason = "connection closed"
        try:
            while not self.closed.is_set():
                frame = self.reader.read()
                body = self.verifier.verify(frame)
                self.last_received = time.monotonic()
                if frame.msg_type is MessageType.GOODBYE:
                    reason = f"peer said goodbye: {str(body.get('reason', ''))[:200]}" \
                        if isinstance(body, dict) else "peer said goodbye"
                    break
                self.mesh.dispatch(self, frame.msg_type, body)
        except ProtocolError as e:
            reason = f"protocol violation: {e}"
            self.mesh.audit_violation(self.peer.node_id, e)
        except (EOFError, OSError, ssl.SSLError) as e:
            reason = f"connection lost: {e}" if not self.closed.is_set() else reason
        finally:
            self.close(reason, say_goodbye=False)
            self._release()

    def close(self, reason, say_goodbye=True):
        """End the session from any thread.  Only the session's own reader thread (or this
        call, when that thread never ran) closes the descriptor: closing it under a thread
        still inside the TLS layer would let OpenSSL write to whatever file reuses the
        number next."""
        if self.closed.is_set():
            return
        if say_goodbye:
            try:
                self.send(MessageType.GOODBYE, {"reason": reason})
            except (OSError, ssl.SSLError):
                pass
        self.closed.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread, which releases
        except OSError:
            pass
        if self.thread.ident is None:
            self._release()
        self.mesh.session_closed(self, reason)

    def _release(self):
        with self.send_lock:  # never under a sender
            if not self.released:
                self.released = True
                self.sock.close()


class Mesh:
    """The node's mesh endpoint.  :meth:`start` binds and starts the threads."""

    def __init__(self, node, listen, ping_interval_s=30.0, max_connections=64,
                 max_payload=wire.MAX_PAYLOAD, dial_interval_s=1.0, max_backoff_s=60.0):
        self.node = node
        self.identity = node.identity
        self.listen = listen
        self.ping_interval_s = ping_interval_s
        self.max_connections = max_connections
        self.max_payload = max_payload
        self.dial_interval_s = dial_interval_s
        #: the wait between attempts to reach one address doubles from 1 s up to this
        self.max_backoff_s = max_backoff_s
        self.nonces = wire.NonceCache()
        self.handlers = {MessageType.PING: self._on_ping, MessageType.PONG: lambda s, b: None,
                         MessageType.KEY_ROTATION: self._on_key_rotation,
                         MessageType.KEY_ROTATION_ACK: self._on_key_rotation_ack}
        self.rotation_acks = threading.Semaphore(0)
        self.sessions = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.trust_changed = threading.Event()
        #: called (no arguments) when a session opens or the daemon is poked (:meth:`poke`)
        self.listeners = []
        self.backoff = {}  # address -> (next attempt, delay)
        self.slots = threading.BoundedSemaphore(max_connections)
        self.threads = []
        self.listener = None
        self.bound = None
        self._build_contexts()

    # -- contexts and trust --------------------------------------------------------------

    def _identity_files(self):
        from .ca import tls_certificate_path

        return tls_certificate_path(self.identity), self.identity.key_path

    def anchors(self):
        extra = [pem for batch in self.node.pm.hook.caro_trust_anchors(node=self.node)
                 for pem in batch]
        return peers.anchors(self.node.store) + extra

    def _build_contexts(self):
        anchors = self.anchors()
        self.server_ctx = tls.server_context(self._identity_files(), anchors)
        self.client_ctx = tls.client_context(self._identity_files(), anchors)

    def reload_trust(self):
        """Rebuild the TLS contexts and drop sessions whose peer is no longer trusted."""
        self._build_contexts()
        for session in list(self.sessions.values()):
            level = decide(self.node, session.peer)
            if not level.connects:
                session.close("trust revoked")
            else:
                session.trust = level

    def pin(self, peer, certificate_pem):
        """Record ``peer``'s certificate and trust it in the live contexts at once."""
        known = peers.get(self.node.store, peer.node_id)
        if known is not None:
            known.certificate = certificate_pem
            known.pending = False
            if peer.address and not known.address:
                known.address = peer.address
            peer = known
        else:
            peer.certificate = certificate_pem
            peer.pending = False
        peers.save(self.node.store, peer)
        for ctx in (self.server_ctx, self.client_ctx):
            tls.add_anchor(ctx, certificate_pem)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self):
        host, port = peers.parse_address(self.listen)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(64)
        self.listener.settimeout(0.5)
        self.bound = self.listener.getsockname()[:2]
        for target, name in ((self._accept_loop, "accept"), (self._dial_loop, "dial"),
                             (self._keepalive_loop, "keepalive")):
            t = threading.Thread(target=target, name=f"caro-mesh-{name}", daemon=True)
            t.start()
            self.threads.append(t)
        return self.bound

    def stop(self):
        self.stopping.set()
        for session in list(self.sessions.values()):
            session.close("node shutting down")
        if self.listener is not None:
            self.listener.close()
        for t in self.threads:
            t.join(timeout=5)

    @property
    def listen_address(self):
        host, port = self.bound
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    # -- audit helpers ------------------------------------------------------------------

    def audit(self, event_type, peer, details, success=True):
        try:
            self.node.audit.append(event_type, peer=peer, details=details, success=success)
        except Exception:
            log.exception("cannot write the audit log")

    def audit_violation(self, peer, error):
        log.warning("protocol violation from %s: %s", peer, error)
        self.audit("ProtocolViolation", peer, f"{error.reason}: {error}", success=False)

    # -- sessions -------------------------------------------------------------------------

    def connected(self):
        return {node_id: s for node_id, s in self.sessions.items() if not s.closed.is_set()}

    def _register(self, session):
        """Keep one session per peer.  When both dialled each other at once, the connection
        the lower node id dialled wins on both sides; a peer dialling again replaces its
        older connection (which may be half-open after a crash)."""
        loser = None
        with self.lock:
            other = self.sessions.get(session.node_id)
            if other is not None and not other.closed.is_set():
                keep_new = (session.initiator == other.initiator
                            or session.initiator == min(self.identity.node_id, session.node_id))
                loser = other if keep_new else session
            if loser is not session:
                self.sessions[session.node_id] = session
        if loser is not None:  # closing takes the lock (session_closed): never under it
            loser.close("duplicate connection")
            if loser is session:
                return False
        peers.touch(self.node.store, session.node_id, session.peer.remote_address)
        self._publish()
        self._tell_listeners()
        self.audit("PeerConnected", session.node_id,
                   f"{session.peer.remote_address} trust {session.trust.label} "
                   f"({'outgoing' if session.initiator == self.identity.node_id else 'incoming'})")
        session.thread.start()
        return True

    def session_closed(self, session, reason):
        with self.lock:
            if self.sessions.get(session.node_id) is session:
                del self.sessions[session.node_id]
            else:
                return  # a duplicate that never counted
        self._publish()
        self.audit("PeerDisconnected", session.node_id, reason)

    def poke(self):
        """Something changed outside the daemon (SIGHUP: trust, a new summary): act on it."""
        self.trust_changed.set()
        self._tell_listeners()

    def _tell_listeners(self):
        for listener in self.listeners:
            listener()

    def _publish(self):
        """Tell other processes (``caro peers list``, the dashboard) who is connected."""
        if self.node.runtime is not None:
            self.node.runtime.publish(mesh_connected=sorted(self.connected()))

    def dispatch(self, session, msg_type, body):
        handler = self.handlers.get(msg_type)
        if handler is None:
            log.info("no handler for %s from %s", msg_type.name, session.peer.fingerprint)
            return
        try:
            handler(session, body)
        except ProtocolError:
            raise
        except Exception:
            log.exception("handler for %s failed", msg_type.name)

    def _on_ping(self, session, body):
        ping_id = body.get("ping_id") if isinstance(body, dict) else None
        session.send(MessageType.PONG, {"ping_id": ping_id, "remote_ts": body.get("ts"),
                                        "local_ts": time.time()})

    # -- key rotation (caro_core.rotation) ------------------------------------------------

    def _on_key_rotation(self, session, body):
        from .rotation import RotationError, accept

        endorsement = body.get("endorsement") if isinstance(body, dict) else None
        if not isinstance(endorsement, dict) or endorsement.get("old_node_id") != session.node_id:
            raise ProtocolError("bad-rotation", "a key rotation for another node than the sender")
        try:
            new = accept(self.node, endorsement, "announced in session")
        except RotationError as e:
            self.audit("KeyRotated", session.node_id, f"refused: {e}", success=False)
            session.send(MessageType.KEY_ROTATION_ACK, {"status": "refused", "reason": str(e)})
            return
        for ctx in (self.server_ctx, self.client_ctx):
            tls.add_anchor(ctx, new.certificate)
        session.send(MessageType.KEY_ROTATION_ACK, {"status": "re-pinned",
                                                    "new_node_id": new.node_id})

    def _on_key_rotation_ack(self, session, body):
        status = str(body.get("status")) if isinstance(body, dict) else "?"
        self.audit("KeyRotated", session.node_id, f"peer {status} the new key"
                   + (f": {str(body.get('reason'))[:200]}" if status != "re-pinned" else ""),
                   success=status == "re-pinned")
        self.rotation_acks.release()

    def switch_identity_if_rotated(self, ack_timeout_s=5.0):
        """After ``caro identity rotate``: announce the new key to every connected peer with
        the old one, wait briefly for their acknowledgements, then switch to the new key
        (sessions close; the dial loop reconnects with the new certificate)."""
        from .identity import load
        from .rotation import current_endorsement

        endorsement = current_endorsement(self.node.home)
        if endorsement is None or endorsement["old_node_id"] != self.identity.node_id:
            return False
        sessions = list(self.connected().values())
        for session in sessions:
            try:
                session.send(MessageType.KEY_ROTATION, {"endorsement": endorsement})
            except (OSError, ssl.SSLError):
                pass
        deadline = time.monotonic() + ack_timeout_s
        for _ in sessions:
            if not self.rotation_acks.acquire(timeout=max(0.0, deadline - time.monotonic())):
                break
        for session in sessions:
            session.close("key rotated")
        new = load(self.node.home)
        self.node.__dict__["identity"] = new  # Node.identity is a cached property
        self.identity = new
        self.backoff.clear()
        log.info("switched to the rotated key %s", new.fingerprint)
        return True

    def _keepalive_loop(self):
        while not self.stopping.wait(min(5.0, self.ping_interval_s)):
            now = time.monotonic()
            for session in list(self.connected().values()):
                try:
                    if now - session.last_received > 3 * self.ping_interval_s:
                        session.close("peer silent (no keep-alive)")
                    elif now - session.last_sent >= self.ping_interval_s:
                        session.send(MessageType.PING, {"ping_id": int(now * 1000),
                                                        "ts": time.time()})
                except (OSError, ssl.SSLError):
                    session.close("connection lost", say_goodbye=False)

    # -- hello ---------------------------------------------------------------------------

    def hello_body(self, **extra):
        from . import __version__

        return {"identity": {"node_id": self.identity.node_id,
                             "fingerprint": self.identity.fingerprint,
                             "capabilities": {"protocol_version": PROTOCOL_VERSION,
                                              "caro_version": __version__}},
                "versions": [PROTOCOL_VERSION], **extra}

    def _verifier(self, node_id):
        from .identity import public_key_from_node_id

        return wire.Verifier(node_id, public_key_from_node_id(node_id), self.nonces)

    def _read_verified(self, reader, verifier, *expected):
        frame = reader.read()
        body = verifier.verify(frame)
        if frame.msg_type is MessageType.GOODBYE:
            reason = body.get("reason") if isinstance(body, dict) else None
            raise ConnectionRefusedError(f"peer refused: {str(reason)[:200]}")
        if frame.msg_type not in expected or not isinstance(body, dict):
            raise ProtocolError("unexpected", f"expected {'/'.join(t.name for t in expected)}, "
                                              f"got {frame.msg_type.name}")
        return body

    def _check_hello(self, body, node_id):
        ident = body.get("identity")
        if not isinstance(ident, dict) or ident.get("node_id") != node_id:
            raise ProtocolError("wrong-identity", "Hello names a node id other than the key of "
                                                  "its certificate")
        if PROTOCOL_VERSION not in (body.get("versions") or []):
            raise ProtocolError("bad-version", "no common protocol version")

    # -- server side ---------------------------------------------------------------------

    def _accept_loop(self):
        accept_loop(self.listener, self.stopping, self.slots, self._serve, "caro-mesh-handshake")

    def _serve(self, conn, address):
        remote = address[0]
        try:
            conn.settimeout(HANDSHAKE_TIMEOUT_S)
            try:
                sslsock = self.server_ctx.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError) as e:
                log.info("TLS handshake from %s failed: %s", remote, e)
                conn.close()
                return
            der = tls.peer_certificate(sslsock)
            try:
                if der is None:
                    self._serve_introduction(sslsock, remote)
                else:
                    session = self._serve_session(sslsock, der, remote)
                    if session is not None:
                        sslsock = None  # the session owns it now
                        session.closed.wait()
            except ProtocolError as e:
                self.audit_violation(remote, e)
            except (ConnectionRefusedError, EOFError, OSError, ssl.SSLError) as e:
                log.info("connection from %s ended during the handshake: %s", remote, e)
            finally:
                if sslsock is not None:
                    sslsock.close()
        finally:
            self.slots.release()

    def _serve_session(self, sslsock, der, remote):
        node_id = tls.node_id_of_certificate(der)
        if node_id is None:
            raise ProtocolError("bad-certificate", "peer certificate holds no Ed25519 key")
        reader = wire.FrameReader(sslsock, self.max_payload)
        verifier = self._verifier(node_id)
        seq = 0

        def send(msg_type, body):
            nonlocal seq
            seq += 1
            sslsock.sendall(wire.encode(self.identity, msg_type, body, seq))

        send(MessageType.HELLO, self.hello_body())
        body = self._read_verified(reader, verifier, MessageType.HELLO)
        self._check_hello(body, node_id)
        known = peers.get(self.node.store, node_id)
        peer = known or peers.peer_from_node_id(node_id, source="ca")
        peer.remote_address = remote
        peer.certificate = peer.certificate or tls.der_to_pem(der)
        level = decide(self.node, peer)
        if not level.connects:
            send(MessageType.GOODBYE, {"reason": "not trusted"})
            self.audit("PeerRefused", node_id, f"{remote}: not trusted", success=False)
            return None
        if known is None:  # a certificate the organisation CA issued: remember the peer
            peers.save(self.node.store, peer)
        send(MessageType.HELLO_ACK, {"status": "ok"})
        sslsock.settimeout(None)
        session = Session(self, sslsock, reader, peer, level, verifier, initiator=node_id, seq=seq)
        return session if self._register(session) else None

    def _serve_introduction(self, sslsock, remote):
        reader = wire.FrameReader(sslsock, self.max_payload)
        challenge = os.urandom(CHALLENGE_SIZE)
        sslsock.sendall(wire.encode(self.identity, MessageType.HELLO,
                                    self.hello_body(intro=True, challenge=challenge), 1))
        frame = reader.read()
        if frame.msg_type is not MessageType.HELLO:
            raise ProtocolError("unexpected", f"expected HELLO, got {frame.msg_type.name}")
        from .identity import public_key_from_node_id
        from .errors import IdentityError

        try:
            verifier = wire.Verifier(frame.sender, public_key_from_node_id(frame.sender),
                                     self.nonces)
        except IdentityError:
            raise ProtocolError("wrong-identity", "introduction from a malformed node id") from None
        body = verifier.verify(frame)
        if not isinstance(body, dict) or body.get("challenge") != challenge:
            raise ProtocolError("bad-challenge", "introduction does not answer our challenge")
        self._check_hello(body, frame.sender)
        if frame.sender == self.identity.node_id:
            raise ProtocolError("wrong-identity", "introduction from this node's own key")
        pem = body.get("certificate")
        if not isinstance(pem, str) or tls.node_id_of_certificate(pem) != frame.sender:
            raise ProtocolError("bad-certificate", "introduced certificate is not the sender's key")
        node_id = frame.sender
        rotation = body.get("rotation")
        if isinstance(rotation, dict) and rotation.get("new_node_id") == node_id \
                and peers.get(self.node.store, node_id) is None:
            from .rotation import RotationError, accept

            try:
                accept(self.node, rotation, "presented in an introduction")
            except RotationError as e:
                self.audit("KeyRotated", node_id, f"refused: {e}", success=False)
        static = any(p.node_id == node_id for p in peers.read_static(self.node.home))
        peer = peers.get(self.node.store, node_id) or peers.peer_from_node_id(
            node_id, source="static" if static else "tofu")
        peer.remote_address = remote
        peer.certificate = pem
        level = decide(self.node, peer)
        known = peers.get(self.node.store, node_id)
        if level.connects:
            self.pin(peer, pem)
            status = "pinned"
            self.audit("PeerIntroduced", node_id, f"{remote}: certificate pinned "
                                                  f"(trust {level.label})")
        elif known is not None and known.pending:
            status = "pending"
            self.audit("PeerIntroduced", node_id, f"{remote}: awaiting a trust decision "
                                                  f"(caro peers pending)", success=False)
        else:
            status = "refused"
            self.audit("PeerRefused", node_id, f"{remote}: not trusted", success=False)
        sslsock.sendall(wire.encode(self.identity, MessageType.HELLO_ACK, {"status": status}, 2))

    # -- client side ---------------------------------------------------------------------

    def _dial_loop(self):
        while not self.stopping.wait(self.dial_interval_s):
            if self.trust_changed.is_set():
                self.trust_changed.clear()
                try:
                    self.switch_identity_if_rotated()
                    self.reload_trust()
                except Exception:
                    log.exception("reloading trust failed")
            try:
                targets = self.targets()
            except Exception:
                log.exception("discovery failed")
                continue
            now = time.monotonic()
            for address in targets:
                key = str(address)
                if address.node_id in self.sessions or address.node_id == self.identity.node_id:
                    continue
                next_at, _ = self.backoff.get(key, (0, 0))
                if now >= next_at:
                    self.attempt(address)

    def targets(self):
        """Addresses worth dialling: discovery proposals and known trusted peers."""
        methods = self.node.config["discovery"]["methods"] if "discovery" in self.node.config \
            else ["static"]
        found = [a for batch in self.node.pm.hook.caro_discovery_peers(node=self.node,
                                                                         methods=methods)
                 for a in batch]
        known = peers.all_peers(self.node.store)
        for peer in known:
            if peer.address and peer.trust.connects and not peer.pending:
                host, port = peers.parse_address(peer.address)
                found.append(peers.PeerAddress(host, port, peer.node_id, peer.source))
        # a proposal without a node id (a subnet scan) at a known peer's address is that peer,
        # so a live session with it is not dialled again
        by_address = {p.address: p.node_id for p in known if p.address}
        unique = {}
        for a in found:
            if a.node_id is None and str(a) in by_address:
                a = dataclasses.replace(a, node_id=by_address[str(a)])
            renamed = a.node_id and successor(self.node.store, a.node_id)
            if renamed:  # configured with a key it has rotated away from
                a = dataclasses.replace(a, node_id=renamed)
            unique.setdefault((a.host, a.port), a)
        return list(unique.values())

    def attempt(self, address):
        """One attempt to reach ``address``; schedules the next one with backoff on failure."""
        key = str(address)
        try:
            ok = self.connect(address) is not None
        except Exception as e:
            log.info("connecting to %s failed: %s", key, e)
            ok = False
        _, delay = self.backoff.get(key, (0, 0))
        delay = 0 if ok else min(self.max_backoff_s, max(1.0, delay * 2))
        self.backoff[key] = (time.monotonic() + delay, delay)
        return ok

    def connect(self, address):
        """Open a session to ``address`` (introducing ourselves first when needed)."""
        expected = address.node_id
        known = peers.get(self.node.store, expected) if expected else None
        if known is None or not known.certificate or known.pending:
            status = self.introduce(address)
            if status != "pinned":
                return None
        try:
            return self._open_session(address)
        except ssl.SSLError as e:
            # the server no longer knows our certificate (it was reset, or we rotated), or it
            # presents another certificate over its key (an organisation CA issued it)
            stale = "alert" in str(e) or isinstance(e, ssl.SSLCertVerificationError)
            if not stale or self.introduce(address) != "pinned":
                raise
            return self._open_session(address)

    def _open_session(self, address):
        sock = socket.create_connection((address.host, address.port), timeout=HANDSHAKE_TIMEOUT_S)
        try:
            sslsock = self.client_ctx.wrap_socket(sock)
        except BaseException:
            sock.close()
            raise
        try:
            node_id = tls.peer_node_id(sslsock)
            if address.node_id and node_id != address.node_id:
                raise ProtocolError("wrong-identity", f"{address} presents node {node_id}, not "
                                                      f"the expected {address.node_id}")
            reader = wire.FrameReader(sslsock, self.max_payload)
            verifier = self._verifier(node_id)
            body = self._read_verified(reader, verifier, MessageType.HELLO)
            self._check_hello(body, node_id)
            known = peers.get(self.node.store, node_id)
            peer = known or peers.peer_from_node_id(node_id, source="ca",
                                                    address=str(address))
            peer.remote_address = address.host
            level = decide(self.node, peer)
            if not level.connects:
                sslsock.sendall(wire.encode(self.identity, MessageType.GOODBYE,
                                            {"reason": "not trusted"}, 1))
                self.audit("PeerRefused", node_id, f"{address}: not trusted", success=False)
                sslsock.close()
                return None
            if known is None:
                peer.certificate = tls.der_to_pem(tls.peer_certificate(sslsock))
                peers.save(self.node.store, peer)
            sslsock.sendall(wire.encode(self.identity, MessageType.HELLO, self.hello_body(), 1))
            self._read_verified(reader, verifier, MessageType.HELLO_ACK)
            sslsock.settimeout(None)
            session = Session(self, sslsock, reader, peer, level, verifier,
                              initiator=self.identity.node_id, seq=1)
            if not self._register(session):
                return None
            return session
        except ProtocolError as e:
            self.audit_violation(str(address), e)
            sslsock.close()
            raise
        except BaseException:
            sslsock.close()
            raise

    def introduce(self, address):
        """Introduce ourselves to ``address``; return the server's verdict."""
        sock = socket.create_connection((address.host, address.port), timeout=HANDSHAKE_TIMEOUT_S)
        sslsock = tls.introduction_context().wrap_socket(sock)
        try:
            der = tls.peer_certificate(sslsock)
            node_id = tls.node_id_of_certificate(der) if der else None
            if node_id == self.identity.node_id:
                raise ProtocolError("wrong-identity", f"{address} is this node itself")
            if node_id is None or (address.node_id and node_id != address.node_id):
                error = ProtocolError("wrong-identity", f"{address} presents node {node_id}, not "
                                                        f"the expected {address.node_id}")
                self.audit_violation(str(address), error)
                raise error
            reader = wire.FrameReader(sslsock, self.max_payload)
            verifier = self._verifier(node_id)
            body = self._read_verified(reader, verifier, MessageType.HELLO)
            self._check_hello(body, node_id)
            challenge = body.get("challenge")
            if not isinstance(challenge, bytes):
                raise ProtocolError("bad-challenge", "server sent no introduction challenge")
            from .ca import tls_certificate_path

            from .rotation import current_endorsement

            pem = tls_certificate_path(self.identity).read_text()
            extra = {"certificate": pem, "challenge": challenge}
            endorsement = current_endorsement(self.node.home)
            if endorsement is not None and endorsement["new_node_id"] == self.identity.node_id:
                extra["rotation"] = endorsement  # a peer that missed the announcement
            sslsock.sendall(wire.encode(self.identity, MessageType.HELLO,
                                        self.hello_body(**extra), 1))
            status = self._read_verified(reader, verifier, MessageType.HELLO_ACK).get("status")
        finally:
            sslsock.close()
        peer = peers.get(self.node.store, node_id) or peers.peer_from_node_id(
            node_id, address=str(address),
            source="static" if address.method == "static" else "discovery")
        peer.address = peer.address or str(address)  # where we reached it (kept when pinned)
        peer.remote_address = address.host
        peer.certificate = tls.der_to_pem(der)
        if not decide(self.node, peer).connects:
            return "untrusted"
        self.pin(peer, tls.der_to_pem(der))
        return status
