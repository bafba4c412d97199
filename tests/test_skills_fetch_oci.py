"""Skill source: OCI image layouts, as a folder or a tar (plugins/skill_fetch_oci.py, caro_core/oci.py)."""

import io
import json
import os
import tarfile

import pytest

from caro_core.archive import ArchiveError
from caro_core.oci import OciError
from caro_core.skills import FetchResult
from caro_plugins import skill_fetch_oci
from skilltools import (digest, files_of, member, skill_artifact, tar_bytes, tar_of_members,
                        write_layout, write_skill)


@pytest.fixture
def skills(tmp_path):
    return {v: write_skill(tmp_path / "src" / v, version=v) for v in ("1.0.0", "2.0.0")}


@pytest.fixture
def layout(tmp_path, skills):
    """A layout folder tagging 1.0.0 and latest (= 2.0.0); returns (path, {tag: digest})."""
    root = tmp_path / "layout"
    digests = write_layout(root, {"1.0.0": skill_artifact(skills["1.0.0"]),
                                  "latest": skill_artifact(skills["2.0.0"])})
    return root, digests


@pytest.fixture
def dest(tmp_path):
    d = tmp_path / "dest"
    d.mkdir()
    return d


def fetch(node, source, dest):
    return node.pm.hook.caro_skill_fetch(source=str(source), dest=dest)


def test_layout_folder_by_tag_default_and_digest(node, tmp_path, layout, skills):
    root, digests = layout
    for source, tag in ((f"{root}:1.0.0", "1.0.0"), (root, "latest"),
                        (f"{root}@{digests['1.0.0']}", "1.0.0")):
        dest = tmp_path / f"dest-{len(os.listdir(tmp_path))}"
        dest.mkdir()
        assert fetch(node, source, dest) == FetchResult("oci-layout", digests[tag])
        assert files_of(dest) == files_of(skills["2.0.0" if tag == "latest" else "1.0.0"])


def test_a_layout_folder_wins_over_the_plain_folder_source(node, layout, dest):
    """The layout holds no skill.toml at its root: the folder source would refuse it."""
    assert fetch(node, layout[0], dest).kind == "oci-layout"


@pytest.mark.parametrize("gz", [False, True], ids=["tar", "tar.gz"])
def test_layout_packed_as_a_tar_wins_over_the_archive_source(node, tmp_path, layout, skills, dest, gz):
    packed = tmp_path / ("layout.tar.gz" if gz else "layout.tar")
    packed.write_bytes(tar_bytes(layout[0], gz=gz))
    assert fetch(node, f"{packed}:1.0.0", dest) == FetchResult("oci-layout", layout[1]["1.0.0"])
    assert files_of(dest) == files_of(skills["1.0.0"])


def test_the_only_manifest_needs_no_tag(node, tmp_path, skills, dest):
    root = tmp_path / "single"
    digests = write_layout(root, {"v9": skill_artifact(skills["1.0.0"])})
    assert fetch(node, root, dest).ref == digests["v9"]


def test_other_sources_are_not_claimed(tmp_path, skills, dest):
    archive = tmp_path / "plain.tar.gz"
    archive.write_bytes(tar_bytes(skills["1.0.0"]))
    for source in (skills["1.0.0"], archive, f"{archive}:1.0.0", tmp_path / "missing", "git+file:///x"):
        assert skill_fetch_oci.caro_skill_fetch(source=str(source), dest=dest) is None


def tamper(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("blob", ["layer", "manifest"])
def test_a_tampered_blob_is_refused(node, layout, skills, dest, blob):
    root, digests = layout
    manifest = json.loads((root / "blobs/sha256" / digests["1.0.0"].split(":")[1]).read_bytes())
    target = manifest["layers"][0]["digest"] if blob == "layer" else digests["1.0.0"]
    tamper(root / "blobs/sha256" / target.split(":")[1])
    with pytest.raises(OciError, match=f"blob {target} does not match its digest"):
        fetch(node, f"{root}:1.0.0", dest)
    assert os.listdir(dest) == []


def test_unknown_tag_lists_the_tags(node, layout, dest):
    with pytest.raises(OciError, match="no manifest with tag '9.9' in index.json; tags: 1.0.0, latest"):
        fetch(node, f"{layout[0]}:9.9", dest)


def test_several_manifests_and_no_latest_need_a_tag(node, tmp_path, skills, dest):
    root = tmp_path / "two"
    write_layout(root, {"a": skill_artifact(skills["1.0.0"]), "b": skill_artifact(skills["2.0.0"])})
    with pytest.raises(OciError, match="name one with PATH:TAG.*tags: a, b"):
        fetch(node, root, dest)


def test_a_container_image_is_not_a_skill(node, tmp_path, skills, dest):
    manifest, blobs = skill_artifact(skills["1.0.0"])
    image = json.loads(manifest)
    del image["artifactType"]
    config = b'{"architecture": "amd64", "os": "linux"}'
    image["config"] = {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": digest(config), "size": len(config)}
    root = tmp_path / "image"
    write_layout(root, {"latest": (json.dumps(image).encode(), {**blobs, digest(config): config})})
    with pytest.raises(OciError, match="not a Caro skill artifact"):
        fetch(node, root, dest)


def test_the_config_media_type_may_carry_the_artifact_type(node, tmp_path, skills, dest):
    manifest, blobs = skill_artifact(skills["1.0.0"])
    older = json.loads(manifest)
    del older["artifactType"]
    older["config"]["mediaType"] = "application/vnd.caro.skill.v1"
    root = tmp_path / "older"
    write_layout(root, {"latest": (json.dumps(older).encode(), blobs)})
    assert fetch(node, root, dest).kind == "oci-layout"


def test_an_unsafe_layer_is_refused_even_with_good_digests(node, tmp_path, dest):
    layer = tar_of_members([member("skill.toml", b"[skill]\n"),
                            member("evil", kind=tarfile.SYMTYPE, linkname="/etc/shadow"),
                            member("../../escaped")], gz=True)
    root = tmp_path / "evil"
    write_layout(root, {"latest": skill_artifact(None, layer=layer)})
    with pytest.raises(ArchiveError, match="refused member"):
        fetch(node, root, dest)
    assert os.listdir(dest) == [] and not (tmp_path / "escaped").exists()


def test_a_missing_blob_and_a_bad_index_give_one_line(node, layout, dest):
    root, digests = layout
    (root / "blobs/sha256" / digests["latest"].split(":")[1]).unlink()
    with pytest.raises(OciError, match="the layout has no blobs/sha256/"):
        fetch(node, root, dest)
    (root / "index.json").write_text("{not json")
    with pytest.raises(OciError, match="index.json is not valid JSON"):
        fetch(node, root, dest)


def test_layout_tar_members_are_read_in_place(node, tmp_path, layout, dest):
    """A link inside a layout tar is never followed or written: only regular blobs are read."""
    buf = io.BytesIO(tar_bytes(layout[0], gz=False))
    packed = tmp_path / "with-link.tar"
    with tarfile.open(fileobj=buf, mode="a") as tar:
        link = tarfile.TarInfo("blobs/sha256/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    packed.write_bytes(buf.getvalue())
    assert fetch(node, f"{packed}:1.0.0", dest).kind == "oci-layout"
    assert not (dest / "blobs").exists()
