"""Skill source: tar, tar.gz and zip archives, unpacked safely.

plugins/skill_fetch_archive.py and caro_core/archive.py.
"""

import gzip
import io
import os
import stat
import tarfile
import zipfile

import blake3
import pytest

from caro_core import archive
from caro_core.archive import ArchiveError
from caro_core.skills import FetchResult
from caro_plugins import skill_fetch_archive
from skilltools import files_of, member, tar_bytes, tar_of_members, write_skill, zip_bytes


@pytest.fixture
def skill(tmp_path):
    return write_skill(tmp_path / "src" / "custom.demo")


@pytest.fixture
def dest(tmp_path):
    d = tmp_path / "out" / "dest"
    d.mkdir(parents=True)
    return d


def fetch(node, source, dest):
    return node.pm.hook.caro_skill_fetch(source=str(source), dest=dest)


@pytest.mark.parametrize("name, pack", [
    ("skill.tar.gz", lambda s: tar_bytes(s)),
    ("skill.tgz", lambda s: tar_bytes(s, top="custom.demo")),
    ("skill.tar", lambda s: tar_bytes(s, gz=False)),
    ("skill.zip", lambda s: zip_bytes(s)),
    ("skill-in-folder.zip", lambda s: zip_bytes(s, top="custom.demo-1.0.0")),
])
def test_archive_installs_the_skill_from_its_root_or_single_folder(node, tmp_path, skill, dest, name, pack):
    path = tmp_path / name
    path.write_bytes(pack(skill))
    result = fetch(node, path, dest)
    assert result == FetchResult("archive", "blake3:" + blake3.blake3(path.read_bytes()).hexdigest())
    assert files_of(dest) == files_of(skill)


def test_archive_is_recognised_by_content_not_name(node, tmp_path, skill, dest):
    path = tmp_path / "download.bin"
    path.write_bytes(zip_bytes(skill))
    assert fetch(node, path, dest).kind == "archive"


def test_archive_source_ignores_folders_and_other_files(tmp_path, skill, dest):
    text = tmp_path / "notes.txt"
    text.write_text("not an archive")
    for source in (skill, text, tmp_path / "missing.tar.gz", "oci://127.0.0.1/x"):
        assert skill_fetch_archive.caro_skill_fetch(source=str(source), dest=dest) is None


def test_file_modes_are_plain(tmp_path, dest):
    tool, doc = member("bin/tool", b"#!/bin/sh\n"), member("doc.md", b"hi")
    tool[0].mode = 0o4755   # set-uid asked for
    doc[0].mode = 0o666
    tool[0].uid = doc[0].uid = 0
    path = tmp_path / "modes.tar"
    path.write_bytes(tar_of_members([tool, doc]))
    skill_fetch_archive.caro_skill_fetch(source=str(path), dest=dest)
    assert stat.S_IMODE((dest / "bin" / "tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "doc.md").stat().st_mode) == 0o644


BAD_TAR_MEMBERS = {
    "traversal": (member("../evil"), "leaves the destination"),
    "deep traversal": (member("knowledge/../../evil"), "leaves the destination"),
    "absolute": (member("/tmp/caro-evil-absolute"), "absolute path"),
    "backslash": (member("..\\evil"), "backslash"),
    "symlink": (member("link", kind=tarfile.SYMTYPE, linkname="/etc/passwd"), "symbolic link"),
    "relative symlink": (member("link", kind=tarfile.SYMTYPE, linkname="../evil"), "symbolic link"),
    "hard link": (member("hard", kind=tarfile.LNKTYPE, linkname="skill.toml"), "hard link"),
    "char device": (member("null", kind=tarfile.CHRTYPE), "device file"),
    "block device": (member("sda", kind=tarfile.BLKTYPE), "device file"),
    "fifo": (member("pipe", kind=tarfile.FIFOTYPE), "fifo"),
}


@pytest.mark.parametrize("gz", [False, True], ids=["tar", "tar.gz"])
@pytest.mark.parametrize("case", sorted(BAD_TAR_MEMBERS))
def test_unsafe_tar_member_refuses_the_whole_archive(node, tmp_path, dest, case, gz):
    bad, reason = BAD_TAR_MEMBERS[case]
    path = tmp_path / "out" / "bad.tar"
    path.write_bytes(tar_of_members([member("skill.toml", b"[skill]\n"), member("knowledge/a.md"), bad],
                                    gz=gz))
    before = sorted(os.listdir(tmp_path)), sorted(os.listdir(tmp_path / "out"))
    with pytest.raises(ArchiveError, match=reason) as error:
        fetch(node, path, dest)
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    assert os.listdir(dest) == []
    assert (sorted(os.listdir(tmp_path)), sorted(os.listdir(tmp_path / "out"))) == before
    assert not os.path.lexists("/tmp/caro-evil-absolute")


def zip_with(entries):
    """A zip of ``(ZipInfo or name, data)`` pairs."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return buf.getvalue()


def zip_symlink(name, target):
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def zip_fifo(name):
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFIFO | 0o644) << 16
    return info, b""


@pytest.mark.parametrize("bad, reason", [
    (("../evil", b"x"), "leaves the destination"),
    (("/tmp/caro-evil-zip", b"x"), "absolute path"),
    (zip_symlink("link", b"/etc/passwd"), "symbolic link"),
    (zip_fifo("pipe"), "not a file or folder"),
], ids=["traversal", "absolute", "symlink", "fifo"])
def test_unsafe_zip_member_refuses_the_whole_archive(node, tmp_path, dest, bad, reason):
    path = tmp_path / "bad.zip"
    path.write_bytes(zip_with([("skill.toml", b"[skill]\n"), bad]))
    with pytest.raises(ArchiveError, match=reason):
        fetch(node, path, dest)
    assert os.listdir(dest) == []
    assert not (tmp_path / "out" / "evil").exists() and not (tmp_path / "evil").exists()
    assert not os.path.lexists("/tmp/caro-evil-zip")


@pytest.mark.parametrize("members, reason", [
    ([member("a.md"), member("a.md")], "appears twice"),
    ([member("a"), member("a/b.md")], "both a file and a folder"),
], ids=["duplicate", "file-and-folder"])
def test_ambiguous_archives_are_refused(tmp_path, dest, members, reason):
    path = tmp_path / "amb.tar"
    path.write_bytes(tar_of_members(members))
    with pytest.raises(ArchiveError, match=reason):
        skill_fetch_archive.caro_skill_fetch(source=str(path), dest=dest)
    assert os.listdir(dest) == []


def test_member_count_and_size_caps(tmp_path, dest):
    many = tar_of_members([member(f"k/{i}.md") for i in range(11)], gz=True)
    with pytest.raises(ArchiveError, match="more than 10 members"):
        archive.unpack(io.BytesIO(many), dest, "many.tar.gz", max_members=10)
    big = tar_of_members([member("big.md", b"\0" * 200_000)], gz=True)
    with pytest.raises(ArchiveError, match="more than the cap"):
        archive.unpack(io.BytesIO(big), dest, "big.tar.gz", max_bytes=100_000)
    assert len(big) < 2_000 and os.listdir(dest) == []


def test_a_gzip_bomb_stops_at_the_bound(dest):
    # A long-name header claiming 50 MB would make tarfile read it all into memory;
    # the bounded stream stops reading at the cap instead.
    huge = tarfile.TarInfo("././@LongLink")
    huge.type, huge.size = tarfile.GNUTYPE_LONGNAME, 50_000_000
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as gz:
        gz.write(huge.tobuf(format=tarfile.GNU_FORMAT))
        for _ in range(50):
            gz.write(b"\0" * 1_000_000)
    with pytest.raises(ArchiveError, match="unpacks to more than"):
        archive.unpack(io.BytesIO(buf.getvalue()), dest, "bomb.tar.gz", max_bytes=1_000_000)
    assert os.listdir(dest) == []


def test_broken_archives_give_one_line(tmp_path, dest):
    path = tmp_path / "broken.tar.gz"
    path.write_bytes(tar_bytes(write_skill(tmp_path / "s"))[:40])
    with pytest.raises(ArchiveError, match="not a valid tar.gz archive") as error:
        skill_fetch_archive.caro_skill_fetch(source=str(path), dest=dest)
    assert "\n" not in str(error.value)


def test_windows_backslash_separators_in_a_zip(tmp_path, dest):
    path = tmp_path / "windows.zip"
    path.write_bytes(zip_with([("custom.demo\\skill.toml", b"[skill]\n"),
                               ("custom.demo\\knowledge\\a.md", b"a")]))
    skill_fetch_archive.caro_skill_fetch(source=str(path), dest=dest)
    assert sorted(files_of(dest)) == ["knowledge/a.md", "skill.toml"]
    evil = tmp_path / "evil-windows.zip"
    evil.write_bytes(zip_with([("skill.toml", b"[skill]\n"), ("..\\..\\evil", b"x")]))
    with pytest.raises(ArchiveError, match="leaves the destination"):
        skill_fetch_archive.caro_skill_fetch(source=str(evil), dest=dest)
