"""Archives: create, extract and list tar, zip, gzip, bzip2, xz and 7z archives."""

from .intent import Rules
from .request import q

rules = Rules("archives")

#: suffix: (tar flag letter or program, what it is), longest suffixes first.
_FORMATS = (
    (".tar.gz", "z", "gzip-compressed tar archive"), (".tgz", "z", "gzip-compressed tar archive"),
    (".tar.bz2", "j", "bzip2-compressed tar archive"),
    (".tbz2", "j", "bzip2-compressed tar archive"),
    (".tar.xz", "J", "xz-compressed tar archive"), (".txz", "J", "xz-compressed tar archive"),
    (".tar.zst", "--zstd", "zstd-compressed tar archive"), (".tar", "", "tar archive"),
    (".zip", "zip", "zip archive"), (".7z", "7z", "7-Zip archive"), (".rar", "rar", "RAR archive"),
    (".gz", "gzip", "gzip-compressed file"), (".bz2", "bzip2", "bzip2-compressed file"),
    (".xz", "xz", "xz-compressed file"), (".zst", "zstd", "zstd-compressed file"),
)


#: Format names people type instead of a file name (``a tar.gz of src``).
_FORMAT_WORDS = {"tar.gz": "gz", "tgz": "gz", "tar.bz2": "bz2", "tar.xz": "xz", "tar": "tar"}


def _compressor(low):
    """The single-file compressor a request names (gzip, xz, bzip2, zstd), or None."""
    return next((tool for tool in ("gzip", "bzip2", "xz", "zstd") if tool in low.split()), None)


def archive_format(path):
    """``(suffix, flag, description)`` for an archive's file name, or None."""
    low = path.lower()
    return next((fmt for fmt in _FORMATS if low.endswith(fmt[0])), None)


def _archive(r):
    """The archive the request names: the first path with an archive suffix."""
    for path in r.paths(("file", "any", "dir", "in")):
        if archive_format(path):
            return path
    return None


@rules("extract|archive|compress #path", opt="file dir all content", avoid="show create type")
def extract(r, p):
    """Unpack an archive, into a directory when one is named."""
    paths = r.paths(("file", "any", "dir", "in"))
    archive = next((x for x in paths if archive_format(x) and x.lower() not in _FORMAT_WORDS), None)
    if archive is None or not r.has("extract"):
        return None
    target = next((x for x in paths if x != archive and x.lower() not in _FORMAT_WORDS), None)
    suffix, flag, what = archive_format(archive)
    into = f" into {target}" if target else ""
    if flag == "zip":
        return [(f"unzip {q(archive)}" + (f" -d {q(target)}" if target else ""),
                 f"extract the {what} {archive}{into}")]
    if flag in ("7z", "rar"):
        tool = "7z x" if flag == "7z" else "unrar x"
        out = f" -o{q(target)}" if target and flag == "7z" else (f" {q(target)}" if target else "")
        return [(f"{tool} {q(archive)}{out}", f"extract the {what} {archive}{into}")]
    if not flag or len(flag) == 1 or flag.startswith("--"):
        letters = f"-x{flag}f" if len(flag) <= 1 else f"{flag} -xf"
        dest = f" -C {q(target)}" if target else ""
        pairs = [(f"tar {letters} {q(archive)}{dest}", f"extract the {what} {archive}{into}")]
        if target:
            pairs.append((f"mkdir -p {q(target)} && tar {letters} {q(archive)}{dest}",
                          f"create {target} first, then extract into it"))
        return pairs
    return [(f"{flag} -dk {q(archive)}", f"decompress {archive} (the compressed file is kept)")]


@rules("#path", opt="show content file archive all", avoid="extract create compress")
def list_archive(r, p):
    """List what an archive holds without extracting it."""
    archive = _archive(r)
    if archive is None:
        return None
    suffix, flag, what = archive_format(archive)
    if flag == "zip":
        return [(f"unzip -l {q(archive)}", f"list the files in the {what} {archive}")]
    if flag == "7z":
        return [(f"7z l {q(archive)}", f"list the files in the {what} {archive}")]
    if flag == "rar":
        return [(f"unrar l {q(archive)}", f"list the files in the {what} {archive}")]
    if len(flag) <= 1:
        return [(f"tar -t{flag}vf {q(archive)}", f"list the files in the {what} {archive}")]
    return [(f"{flag} -dc {q(archive)} | head", f"show the start of the decompressed {archive}")]


@rules("compress|archive|create|add", opt="dir file all recursive #ext")
def create_archive(r, p):
    """Pack files or a directory into an archive (tar.gz unless a format is named)."""
    if r.has("extract"):
        return None
    paths = r.paths(("file", "any", "dir", "in"))
    formats = [x for x in paths if x.lower().lstrip(".") in _FORMAT_WORDS]
    archive = next((x for x in paths if archive_format(x) and x not in formats), None)
    exts = r.ext() or ()
    wanted = next((e for e in exts if e in ("zip", "tar", "gz", "bz2", "xz", "7z")), None)
    if not (r.has("compress", "archive") or formats or wanted):
        return None
    sources = [x for x in paths if x != archive and x not in formats] or r.free(1)
    if not sources:
        return None
    low = r.text.lower()
    wanted = wanted or next((_FORMAT_WORDS[x.lower().lstrip(".")] for x in formats), None)
    if archive is None and len(sources) == 1 and "." in sources[0].rsplit("/", 1)[-1] \
            and "tar" not in low and _compressor(low):
        tool = _compressor(low)
        return [(f"{tool} -k {q(sources[0])}", f"compress {sources[0]} with {tool} "
                 "(the original is kept)")]
    if archive is None:
        base = sources[0].rstrip("/").rsplit("/", 1)[-1] or "archive"
        if wanted == "zip" or " zip" in f" {low}" and "gzip" not in low:
            archive = f"{base}.zip"
        elif "bzip2" in low or wanted == "bz2":
            archive = f"{base}.tar.bz2"
        elif " xz" in low or wanted == "xz":
            archive = f"{base}.tar.xz"
        else:
            archive = f"{base}.tar.gz"
    files = " ".join(q(s) for s in sources)
    suffix, flag, what = archive_format(archive)
    if flag == "zip":
        return [(f"zip -r {q(archive)} {files}", f"pack {', '.join(sources)} into the {what} "
                 f"{archive}")]
    if flag == "7z":
        return [(f"7z a {q(archive)} {files}", f"pack {', '.join(sources)} into {archive}")]
    if len(flag) > 1 and not flag.startswith("--"):
        return [(f"{flag} -k {files}", f"compress {', '.join(sources)} with {flag} "
                 "(originals kept)")]
    letters = f"-c{flag}vf" if len(flag) <= 1 else f"{flag} -cvf"
    return [(f"tar {letters} {q(archive)} {files}",
             f"pack {', '.join(sources)} into the {what} {archive}")]
