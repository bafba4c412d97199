"""Safe unpacking of skill archives: tar, gzip-compressed tar and zip.

Only regular files and folders are ever written.  The whole archive is checked
before anything is written, and it is refused when a member

- has an absolute name, climbs out with ``..``, or holds a backslash (in a
  zip a backslash is read as the separator some Windows tools write);
- is a symbolic link, a hard link, a device file, a fifo or any other special type;
- repeats an earlier file, or is both a file and a folder;
- is encrypted (zip);

or when the archive has more than ``max_members`` members or more than
``max_bytes`` of content.  A gzip stream is read through a bound, so a
compression bomb stops at the cap instead of filling memory or disk.  Files are
created with ``O_EXCL | O_NOFOLLOW`` under the destination only, mode 0644 or
0755 (no set-id bits, no owners, no times); if unpacking fails half-way, what
was written is removed again.
"""

import gzip
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass

from .errors import CaroError

#: Default caps: a skill is markdown, TOML and perhaps a small WASM module.
MAX_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 10_000

_CHUNK = 1 << 16
_HEADER_ALLOWANCE = 1024   # tar header bytes allowed per member on top of the content


class ArchiveError(CaroError):
    """An archive is malformed, too large, or holds a member that is unsafe to unpack."""


def archive_format(f):
    """``"zip"``, ``"tar.gz"`` or ``"tar"`` by the magic bytes of binary file ``f``, else None.

    The file position is left where it was.
    """
    pos = f.tell()
    head = f.read(512)
    f.seek(pos)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "tar.gz"
    if head[257:262] == b"ustar":
        return "tar"
    return None


def file_format(path):
    """:func:`archive_format` of the file at ``path``; None when it is no readable regular file."""
    try:
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return archive_format(f)
    except OSError:
        return None


def unpack(f, dest, label, *, max_bytes=MAX_BYTES, max_members=MAX_MEMBERS):
    """Unpack the archive in seekable binary file ``f`` into the existing folder ``dest``.

    ``label`` names the archive in error messages.  Raises :class:`ArchiveError`
    when the archive is not tar/tar.gz/zip or breaks a rule of this module.
    """
    kind = archive_format(f)
    if kind == "zip":
        _unpack_zip(f, dest, label, max_bytes, max_members)
    elif kind in ("tar", "tar.gz"):
        _unpack_tar(f, kind, dest, label, max_bytes, max_members)
    else:
        raise ArchiveError(f"{label}: not a tar, tar.gz or zip archive")


def lift_single_folder(dest, marker="skill.toml"):
    """Move the content of ``dest``'s only entry up when that is a folder holding ``marker``.

    An archive may pack the skill folder itself rather than its content; after
    this call ``dest`` is the skill folder either way.
    """
    entries = os.listdir(dest)
    if len(entries) != 1 or entries[0] == marker:
        return
    inner = os.path.join(dest, entries[0])
    if os.path.islink(inner) or not os.path.isfile(os.path.join(inner, marker)):
        return
    parked = os.path.join(dest, ".caro-lift-" + os.urandom(8).hex())
    os.rename(inner, parked)
    for name in os.listdir(parked):
        os.rename(os.path.join(parked, name), os.path.join(dest, name))
    os.rmdir(parked)


@dataclass(frozen=True)
class _Member:
    parts: tuple      # the cleaned path inside the archive
    is_dir: bool
    size: int
    executable: bool
    source: object    # what the reader needs to open the member's data


def _clean_name(label, name):
    """The path components of member ``name``; refuses absolute, climbing and backslashed names."""
    if "\\" in name or "\x00" in name:
        raise ArchiveError(f"{label}: refused member {name!r}: backslash or NUL in its name")
    if name.startswith("/"):
        raise ArchiveError(f"{label}: refused member {name!r}: absolute path")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise ArchiveError(f"{label}: refused member {name!r}: path leaves the destination")
    return parts


def _check_layout(label, members, max_bytes, max_members):
    """Refuse duplicate files, file/folder clashes and archives over the caps."""
    if len(members) > max_members:
        raise ArchiveError(f"{label}: more than {max_members} members")
    total = sum(m.size for m in members)
    if total > max_bytes:
        raise ArchiveError(f"{label}: {total} bytes of content, more than the cap of {max_bytes}")
    files, folders = set(), set()
    for m in members:
        if not m.is_dir and m.parts in files:
            raise ArchiveError(f"{label}: refused member {'/'.join(m.parts)!r}: appears twice")
        (folders if m.is_dir else files).add(m.parts)
        folders.update(m.parts[:i] for i in range(1, len(m.parts)))
    clash = files & folders
    if clash:
        name = "/".join(sorted(clash)[0])
        raise ArchiveError(f"{label}: refused member {name!r}: both a file and a folder")


def _write(label, dest, members, open_member, max_bytes):
    """Write ``members`` under ``dest``; remove everything written when anything fails."""
    before = set(os.listdir(dest))
    try:
        _write_members(label, dest, members, open_member, max_bytes)
    except BaseException:
        for name in set(os.listdir(dest)) - before:
            path = os.path.join(dest, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        raise


def _write_members(label, dest, members, open_member, max_bytes):
    written = 0
    for m in members:
        target = os.path.join(dest, *m.parts)
        try:
            if m.is_dir:
                os.makedirs(target, mode=0o755, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            mode = 0o755 if m.executable else 0o644
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         mode)
            with os.fdopen(fd, "wb") as out, open_member(m) as data:
                size = 0
                while chunk := data.read(_CHUNK):
                    size += len(chunk)
                    written += len(chunk)
                    if size > m.size or written > max_bytes:
                        raise ArchiveError(f"{label}: member {'/'.join(m.parts)!r} is larger "
                                           f"than it declares")
                    out.write(chunk)
                os.fchmod(out.fileno(), mode)
        except OSError as e:
            raise ArchiveError(f"{label}: cannot unpack {'/'.join(m.parts)!r}: "
                               f"{e.strerror or e}") from None


class _Bounded:
    """A read-only view of a binary stream that refuses to read past ``limit`` bytes."""

    def __init__(self, f, limit, label):
        self._f, self._limit, self._label = f, limit, label

    def read(self, size=-1):
        allowed = self._limit + 1 - self._f.tell()
        if size < 0 or size > allowed:
            size = max(allowed, 0)
        data = self._f.read(size)
        if self._f.tell() > self._limit:
            raise ArchiveError(f"{self._label}: unpacks to more than {self._limit} bytes")
        return data

    def seek(self, offset, whence=os.SEEK_SET):
        return self._f.seek(offset, whence)

    def tell(self):
        return self._f.tell()

    def seekable(self):
        return True


_TAR_REFUSED = (("issym", "a symbolic link"), ("islnk", "a hard link"), ("ischr", "a device file"),
                ("isblk", "a device file"), ("isfifo", "a fifo"))


def open_tar(f, label, *, max_bytes=MAX_BYTES, max_members=MAX_MEMBERS):
    """A :class:`tarfile.TarFile` reading the tar or tar.gz in ``f`` through the size bound.

    For callers that read members themselves (an OCI layout packed as a tar);
    they must catch :data:`TAR_ERRORS`.
    """
    stream = gzip.GzipFile(fileobj=f, mode="rb") if archive_format(f) == "tar.gz" else f
    bounded = _Bounded(stream, max_bytes + _HEADER_ALLOWANCE * (max_members + 2), label)
    return tarfile.open(fileobj=bounded, mode="r:")


#: What reading a broken tar or gzip stream raises.
TAR_ERRORS = (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError)


def _unpack_tar(f, kind, dest, label, max_bytes, max_members):
    try:
        with open_tar(f, label, max_bytes=max_bytes, max_members=max_members) as tar:
            members = []
            for info in tar:
                if len(members) >= max_members:
                    raise ArchiveError(f"{label}: more than {max_members} members")
                members.append(_tar_member(label, info))
            members = [m for m in members if m.parts]
            _check_layout(label, members, max_bytes, max_members)
            _write(label, dest, members, lambda m: tar.extractfile(m.source), max_bytes)
    except TAR_ERRORS as e:
        raise ArchiveError(f"{label}: not a valid {kind} archive: {e}") from None


def _tar_member(label, info):
    parts = _clean_name(label, info.name)
    for test, what in _TAR_REFUSED:
        if getattr(info, test)():
            raise ArchiveError(f"{label}: refused member {info.name!r}: {what}")
    if not (info.isreg() or info.isdir()):
        raise ArchiveError(f"{label}: refused member {info.name!r}: not a file or folder")
    return _Member(parts, info.isdir(), 0 if info.isdir() else info.size,
                   bool(info.mode & 0o111), info)


def _unpack_zip(f, dest, label, max_bytes, max_members):
    try:
        with zipfile.ZipFile(f) as zf:
            infos = zf.infolist()
            if len(infos) > max_members:
                raise ArchiveError(f"{label}: more than {max_members} members")
            members = [m for m in (_zip_member(label, i) for i in infos) if m.parts]
            _check_layout(label, members, max_bytes, max_members)
            _write(label, dest, members, lambda m: zf.open(m.source), max_bytes)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as e:
        raise ArchiveError(f"{label}: not a valid zip archive: {e}") from None


def _zip_member(label, info):
    # Some Windows tools write "\" as the zip path separator; the rules then apply as to "/".
    parts = _clean_name(label, info.filename.replace("\\", "/"))
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{label}: refused member {info.filename!r}: encrypted")
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise ArchiveError(f"{label}: refused member {info.filename!r}: a symbolic link")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ArchiveError(f"{label}: refused member {info.filename!r}: not a file or folder")
    is_dir = info.is_dir() or kind == stat.S_IFDIR
    return _Member(parts, is_dir, 0 if is_dir else info.file_size, bool(mode & 0o111), info)
