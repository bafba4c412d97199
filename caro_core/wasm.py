"""The sandbox for Layer-3 skill modules: WebAssembly run by wasmtime (ADR-004).

A skill's module is checked when the skill loads and run on each hook call,
following the ABI of ``docs/skills_wasm.md``:

* the module exports ``memory`` and ``caro_alloc(len) -> ptr``, and one
  function ``(ptr, len) -> i64`` per hook it implements: JSON in, and
  ``ptr << 32 | len`` of its JSON answer out (0 for no answer);
* it may import only the functions of the ``caro`` host module listed in
  :data:`HOST_FUNCTIONS`.  There is no WASI: a module reaches a file, an
  environment variable or an internal endpoint only through ``caro.read_file``,
  ``caro.write_file``, ``caro.env_get`` and ``caro.request``, and only where the
  skill's granted capabilities allow it.  Nothing runs processes, and a module
  importing anything else (a WASI socket, say) is refused at load.

Every call runs in a fresh instance with its own fuel, memory limit and bound
on output size, so calls cannot leak state or memory into one another.  A
module that traps, runs out of fuel, exceeds its memory or answers nonsense is
reported in one line (and in the audit log); the call yields no answer and the
host carries on.  After :data:`FAULT_LIMIT` faults in a row the module is
switched off until the node is loaded again.  A module that imports
nothing but ``log`` is a pure function of its input (fresh instance, nothing
else to read or change), so its answers are remembered for repeated input: a
history repeats itself, and a guardrail then costs a dictionary lookup.

Loading reads the module's import and export sections directly, without
wasmtime: importing wasmtime costs ~30 ms, paid only on the first call.
"""

import atexit
import collections
import functools
import json
import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import CaroError

#: The only module a skill may import from.
HOST_MODULE = "caro"
#: The host functions, by name: what each offers (see docs/skills_wasm.md).
HOST_FUNCTIONS = {
    "log": "(ptr, len) -> (): write a line to Caro's log",
    "read_file": "(ptr, len) -> i64: a file under a granted filesystem_read prefix",
    "write_file": "(ptr, len, data, data_len) -> i32: a file under a filesystem_write prefix",
    "env_get": "(ptr, len) -> i64: an environment variable named in env_read",
    "request": "(ptr, len, data, data_len) -> i64: one exchange with a granted network endpoint",
}
#: What the host functions answer instead of a buffer (or, for ``write_file``, 0).
DENIED, FAILED, TOO_LARGE = -1, -2, -3   # -2: missing, unreadable or unreachable
#: Seconds ``caro.request`` may take, connecting included.
REQUEST_TIMEOUT = 5.0
#: Consecutive faults after which a module is switched off.
FAULT_LIMIT = 3
#: How many answers a pure module keeps (by export and input), most recent kept.
REMEMBERED = 1024
#: Longest line ``caro.log`` writes.
LOG_LINE_MAX = 1024

_PAGE = 65536
_LOG = logging.getLogger("caro.skills")
_UNKNOWN = object()


class ModuleRejected(CaroError):
    """A skill's WASM module cannot be loaded: unreadable, malformed, or importing what Caro lacks."""


@dataclass(frozen=True)
class Limits:
    """What one call may use."""

    fuel: int = 20_000_000        # units of fuel, about one per wasm instruction
    memory: int = 16 << 20        # bytes of linear memory
    output: int = 256 << 10       # bytes of JSON answer
    io: int = 1 << 20             # bytes a file read or write, or a response, may have

    @classmethod
    def for_manifest(cls, executable):
        """The ``fuel`` and ``memory_mb`` an ``[executable]`` table asks for, within the ceilings."""
        default = cls()
        memory_mb = min(executable.get("memory_mb", default.memory >> 20), MAX_MEMORY_MB)
        return cls(fuel=min(executable.get("fuel", default.fuel), MAX_FUEL), memory=memory_mb << 20)


#: The most a manifest may ask for: about a second of work, 256 MiB.
MAX_FUEL = 1_000_000_000
MAX_MEMORY_MB = 256


@dataclass(frozen=True)
class Grants:
    """What a module may reach: the capabilities its manifest asks for that the user granted."""

    filesystem_read: tuple = ()   # path prefixes, ``~`` allowed
    filesystem_write: tuple = ()  # path prefixes, ``~`` allowed
    env_read: tuple = ()          # variable names; ``NAME_*`` grants a prefix
    network: tuple = ()           # ``host:port``; ``*.domain:port`` grants a domain's hosts

    @classmethod
    def for_skill(cls, skill):
        """The grants of a :class:`caro_core.skills.Skill` (``terminal_exec`` is the plugin's)."""
        return cls(*(tuple(skill.capability(name) or ())
                     for name in ("filesystem_read", "filesystem_write", "env_read", "network")))

    @staticmethod
    def allows_path(path, prefixes):
        """True when the real absolute ``path`` lies under one of ``prefixes`` (links resolved)."""
        path = os.path.expanduser(path)
        if not os.path.isabs(path):
            return False
        real = os.path.realpath(path)
        for prefix in prefixes:
            root = os.path.realpath(os.path.expanduser(prefix))
            if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
                return True
        return False

    def allows_env(self, name):
        """True when ``name`` is granted by name or by a ``PREFIX*`` pattern."""
        return any(name == grant or grant.endswith("*") and name.startswith(grant[:-1])
                   for grant in self.env_read)

    def allows_endpoint(self, host, port):
        """True when ``host:port`` is granted exactly, or ``*.domain:port`` covers ``host``."""
        host = host.lower()
        for grant in self.network:
            granted_host, _, granted_port = grant.lower().rpartition(":")
            if granted_port != str(port):
                continue
            granted_host = granted_host.strip("[]")
            if host == granted_host or (granted_host.startswith("*.")
                                        and host.endswith(granted_host[1:])):
                return True
        return False


class _Fault(Exception):
    """A module misbehaved during a call; the message completes "skill 'x': hook …"."""


def check_module(data, where, hooks):
    """Check a module's imports and exports without compiling it; raise :class:`ModuleRejected`.

    :param data: the module's bytes.
    :param where: the module's file, named in errors.
    :param hooks: the export names the manifest declares.
    :returns: the names of the host functions the module imports.
    """
    if data[:8] != b"\0asm\x01\0\0\0":
        raise ModuleRejected(f"{where}: not a WebAssembly module (binary format version 1)")
    try:
        imports, exports = _sections(data)
    except (IndexError, ValueError, UnicodeDecodeError):
        raise ModuleRejected(f"{where}: malformed WebAssembly module") from None
    offered = ", ".join(f"{HOST_MODULE}.{name}" for name in HOST_FUNCTIONS)
    for module, name, kind in imports:
        if module != HOST_MODULE or name not in HOST_FUNCTIONS or kind != 0:
            raise ModuleRejected(f"{where}: imports '{module}.{name}', which Caro "
                                 f"does not provide (a skill module may import only {offered})")
    required = {"memory": 2, "caro_alloc": 0, **{hook: 0 for hook in hooks}}
    for name, kind in required.items():
        if exports.get(name) != kind:
            what = "memory" if kind == 2 else "function"
            raise ModuleRejected(f"{where}: does not export the {what} '{name}'")
    return {name for _, name, _ in imports}


def _sections(data):
    """The ``(module, name, kind)`` imports and ``{name: kind}`` exports of a module."""
    imports, exports, pos = [], {}, 8
    while pos < len(data):
        section, pos = data[pos], pos + 1
        size, pos = _uleb(data, pos)
        end = pos + size
        if end > len(data):
            raise ValueError("section runs past the end")
        if section == 2:
            count, p = _uleb(data, pos)
            for _ in range(count):
                module, p = _name(data, p)
                name, p = _name(data, p)
                kind = data[p]
                imports.append((module, name, kind))
                if kind != 0:   # only functions are offered: stop at the first other import
                    break
                _, p = _uleb(data, p + 1)
        elif section == 7:
            count, p = _uleb(data, pos)
            for _ in range(count):
                name, p = _name(data, p)
                exports[name] = data[p]
                _, p = _uleb(data, p + 1)
        pos = end
    return imports, exports


def _uleb(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        result |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 35:
            raise ValueError("LEB128 too long")


def _name(data, pos):
    length, pos = _uleb(data, pos)
    return data[pos:pos + length].decode("utf-8"), pos + length


@functools.cache
def _engine():
    import wasmtime

    config = wasmtime.Config()
    config.consume_fuel = True
    engine = wasmtime.Engine(config)
    # release it while the bindings still exist: at interpreter teardown they may be gone
    atexit.register(engine.close)
    return engine


class SkillModule:
    """One skill's WASM module: checked at construction, compiled on the first call.

    :param skill_id: the skill's id, used in every report.
    :param path: the ``.wasm`` file.
    :param hooks: the exports the manifest declares.
    :param grants: the skill's :class:`Grants`.
    :param audit: an :class:`caro_core.audit.AuditLog` (or None) for capability use and faults.
    :param limits: the per-call :class:`Limits`.
    """

    def __init__(self, skill_id, path, hooks, grants=Grants(), audit=None, limits=Limits()):
        try:
            self.data = Path(path).read_bytes()
        except OSError as e:
            raise ModuleRejected(f"{path}: cannot read the module: {e.strerror or e}") from None
        imported = check_module(self.data, path, hooks)
        #: a module that reads nothing from the host answers the same input the same way
        self.pure = imported <= {"log"}
        self._remembered = collections.OrderedDict()
        self._lock = threading.Lock()
        self.skill_id, self.grants, self.audit, self.limits = skill_id, grants, audit, limits
        self.faults = 0
        self.disabled = False
        self._pre = None

    def call(self, export, payload, decode=None):
        """Call ``export`` with ``payload`` (JSON-able); the answer, or None.

        :param decode: turns the parsed JSON answer into the hook's result;
            a ValueError, TypeError or KeyError it raises is a fault ("answered
            in the wrong shape").
        :returns: the decoded answer; None when the module had no answer,
            faulted (reported) or is switched off.
        """
        if self.disabled:
            return None
        import wasmtime

        data = json.dumps(payload, separators=(",", ":")).encode("ascii")
        key = (export, data)
        with self._lock:
            remembered = self._remembered.get(key, _UNKNOWN)
            if remembered is not _UNKNOWN:
                self._remembered.move_to_end(key)
        if remembered is not _UNKNOWN:
            return remembered if remembered is None or decode is None else decode(remembered)
        store = wasmtime.Store(_engine())
        store.set_limits(memory_size=self.limits.memory)
        store.set_fuel(self.limits.fuel)
        used = {}
        try:
            answer = self._run(store, export, data, used)
            decoded = answer if answer is None or decode is None else _decoded(decode, answer)
        except (wasmtime.Trap, wasmtime.WasmtimeError, _Fault) as e:
            self._fault(export, self._describe(e, store, used.get("memory")))
            return None
        self.faults = 0
        if self.pure:
            with self._lock:
                self._remembered[key] = answer
                if len(self._remembered) > REMEMBERED:
                    self._remembered.popitem(last=False)
        return decoded

    def _run(self, store, export, data, used):
        import wasmtime

        pre = self._instance_pre()
        try:
            instance = pre.instantiate(store)
        except wasmtime.WasmtimeError as e:   # the same next time: switch the module off
            self.disabled = True
            raise _Fault(f"cannot run: the module does not instantiate ({_first_line(e)})") \
                from None
        exports = instance.exports(store)
        memory = used["memory"] = exports["memory"]
        ptr = exports["caro_alloc"](store, len(data))
        if ptr <= 0 or ptr + len(data) > memory.data_len(store):
            raise _Fault(f"caro_alloc gave no room for its {len(data)}-byte input")
        memory.write(store, data, ptr)
        packed = exports[export](store, ptr, len(data))
        if packed == 0:
            return None
        if packed < 0:
            raise _Fault(f"returned the error code {packed}")
        out_ptr, out_len = packed >> 32, packed & 0xFFFFFFFF
        if out_len > self.limits.output:
            raise _Fault(f"answered {out_len} bytes, over the {self.limits.output}-byte limit")
        if out_ptr + out_len > memory.data_len(store):
            raise _Fault(f"answered with {out_len} bytes at {out_ptr}, outside its memory")
        try:
            return json.loads(memory.read(store, out_ptr, out_ptr + out_len).decode("utf-8"))
        except ValueError:
            raise _Fault("answered with text that is not UTF-8 JSON") from None

    def _instance_pre(self):
        if self._pre is None:
            import wasmtime

            engine = _engine()
            linker = wasmtime.Linker(engine)
            i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
            linker.define_func(HOST_MODULE, "log", wasmtime.FuncType([i32, i32], []),
                               self._log, access_caller=True)
            for name, host in (("read_file", self._read_file), ("env_get", self._env_get)):
                linker.define_func(HOST_MODULE, name, wasmtime.FuncType([i32, i32], [i64]),
                                   host, access_caller=True)
            linker.define_func(HOST_MODULE, "write_file", wasmtime.FuncType([i32] * 4, [i32]),
                               self._write_file, access_caller=True)
            linker.define_func(HOST_MODULE, "request", wasmtime.FuncType([i32] * 4, [i64]),
                               self._request, access_caller=True)
            try:
                module = wasmtime.Module(engine, self.data)
                self._pre = linker.instantiate_pre(module)
            except wasmtime.WasmtimeError as e:
                self.disabled = True
                raise _Fault(f"cannot run: the module does not compile ({_first_line(e)})") \
                    from None
        return self._pre

    # -- host functions -------------------------------------------------------------------

    def _log(self, caller, ptr, length):
        text = _read_text(caller, ptr, min(length, LOG_LINE_MAX), "caro.log")
        _LOG.info("skill %s: %s", self.skill_id, " ".join(text.split()))

    def _read_file(self, caller, ptr, length):
        path = _read_text(caller, ptr, length, "caro.read_file")
        if not Grants.allows_path(path, self.grants.filesystem_read):
            self._audit("CapabilityUsed", f"filesystem_read {path}: denied", success=False)
            return DENIED
        try:
            with open(os.path.realpath(os.path.expanduser(path)), "rb") as f:
                content = f.read(self.limits.io + 1)
        except OSError:
            return FAILED
        if len(content) > self.limits.io:
            return TOO_LARGE
        self._audit("CapabilityUsed", f"filesystem_read {path}")
        return _hand_over(caller, content, "caro.read_file")

    def _write_file(self, caller, ptr, length, data_ptr, data_length):
        path = _read_text(caller, ptr, length, "caro.write_file")
        if not Grants.allows_path(path, self.grants.filesystem_write):
            self._audit("CapabilityUsed", f"filesystem_write {path}: denied", success=False)
            return DENIED
        if data_length > self.limits.io:
            return TOO_LARGE
        content = _read_bytes(caller, data_ptr, data_length, "caro.write_file")
        real = os.path.realpath(os.path.expanduser(path))
        try:
            os.makedirs(os.path.dirname(real), exist_ok=True)
            with open(real, "wb") as f:
                f.write(content)
        except OSError:
            return FAILED
        self._audit("CapabilityUsed", f"filesystem_write {path} ({data_length} bytes)")
        return 0

    def _request(self, caller, ptr, length, data_ptr, data_length):
        endpoint = _read_text(caller, ptr, length, "caro.request")
        host, _, port = endpoint.rpartition(":")
        host = host.strip("[]")
        if not port.isdigit() or not self.grants.allows_endpoint(host, int(port)):
            self._audit("CapabilityUsed", f"network {endpoint}: denied", success=False)
            return DENIED
        if data_length > self.limits.io:
            return TOO_LARGE
        data = _read_bytes(caller, data_ptr, data_length, "caro.request")
        self._audit("CapabilityUsed", f"network {endpoint} ({data_length} bytes sent)")
        try:
            response = _exchange(host, int(port), data, self.limits.io)
        except OSError:
            return FAILED
        return TOO_LARGE if response is None else _hand_over(caller, response, "caro.request")

    def _env_get(self, caller, ptr, length):
        name = _read_text(caller, ptr, length, "caro.env_get")
        if not self.grants.allows_env(name):
            self._audit("CapabilityUsed", f"env_read {name}: denied", success=False)
            return DENIED
        value = os.environ.get(name)
        if value is None:
            return FAILED
        self._audit("CapabilityUsed", f"env_read {name}")
        return _hand_over(caller, value.encode("utf-8", "surrogateescape"), "caro.env_get")

    # -- reports --------------------------------------------------------------------------

    def _describe(self, error, store, memory):
        import wasmtime

        if isinstance(error, _Fault):
            return str(error)
        if isinstance(error, wasmtime.Trap) and error.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
            return f"ran out of fuel ({self.limits.fuel} units)"
        if memory is not None and memory.data_len(store) + _PAGE > self.limits.memory:
            return f"exceeded its memory limit ({self.limits.memory >> 20} MiB)"
        return f"trapped: {_first_line(error)}"

    def _fault(self, export, reason):
        """Report a failed call in one line and in the audit log; switch off a repeat offender."""
        self.faults += 1
        if self.disabled:
            note = "; switched off"
        elif self.faults >= FAULT_LIMIT:
            self.disabled = True
            note = f"; switched off after {self.faults} faults in a row"
        else:
            note = ""
        message = f"{export} {reason}; no answer{note}"
        sys.stderr.write(f"caro: warning: skill '{self.skill_id}': {message}\n")
        self._audit("SkillRejected", message, success=False)

    def _audit(self, event_type, details, success=True):
        if self.audit is not None:
            self.audit.append(event_type, details=f"{self.skill_id}: {details}", success=success)


def _decoded(decode, answer):
    try:
        return decode(answer)
    except (ValueError, TypeError, KeyError) as e:
        raise _Fault(f"answered in the wrong shape ({type(e).__name__}: {e})") from None


def _first_line(error):
    """The cause of a wasmtime error in one line (its text spans a backtrace)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    causes = [line.removeprefix("wasm trap: ") for line in lines if line.startswith("wasm trap:")]
    return (causes or lines or [type(error).__name__])[-1]


def _read_bytes(caller, ptr, length, function):
    import wasmtime

    memory = caller.get("memory")
    if ptr < 0 or length < 0 or ptr + length > memory.data_len(caller):
        raise wasmtime.Trap(f"{function}: pointer outside memory")
    return bytes(memory.read(caller, ptr, ptr + length))


def _read_text(caller, ptr, length, function):
    return _read_bytes(caller, ptr, length, function).decode("utf-8", "replace")


def _exchange(host, port, data, limit):
    """Send ``data`` to ``host:port``, half-close, read to the end; None when over ``limit`` bytes.

    The whole exchange, connecting included, ends within :data:`REQUEST_TIMEOUT` seconds.
    """
    deadline = time.monotonic() + REQUEST_TIMEOUT
    with socket.create_connection((host, port), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks, size = [], 0
        while True:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)


def _hand_over(caller, content, function):
    """Copy ``content`` into a buffer from the module's ``caro_alloc``; the packed pointer."""
    import wasmtime

    if not content:
        return 0
    ptr = caller.get("caro_alloc")(caller, len(content))
    memory = caller.get("memory")
    if ptr <= 0 or ptr + len(content) > memory.data_len(caller):
        raise wasmtime.Trap(f"{function}: caro_alloc gave no room for {len(content)} bytes")
    memory.write(caller, content, ptr)
    return ptr << 32 | len(content)
