"""Files and search: find by name, type, size and age; list, count, create, copy, move, delete."""

import re

from .intent import Rules
from .request import q

rules = Rules("files")

_ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".zip",
                     ".gz", ".bz2", ".xz", ".7z", ".rar")


def name_tests(r, by_file_name=False):
    """``find`` name tests for the file type, glob or name the request gives: ``(test, words)``."""
    flag = "-iname" if r.has("insensitive") else "-name"
    exts = r.ext()
    if exts:
        tests = [f"{flag} {q('*.' + ext)}" for ext in exts]
        test = tests[0] if len(tests) == 1 else "\\( " + " -o ".join(tests) + " \\)"
        return test, "named " + " or ".join(f"*.{ext}" for ext in exts)
    pattern = r.glob() or r.name("file")
    if pattern is None and by_file_name:
        pattern = r.file()
    if pattern is None:
        return "", ""
    return f"{flag} {q(pattern)}", f"named {pattern}"


def find_tests(r, p, by_file_name=False, default_old=False):
    """The ``find`` tests for the request's filters: ``(tests, description, filter count)``."""
    tests, words = [], []
    names, said = name_tests(r, by_file_name)
    if names:
        tests.append(names)
        words.append(said)
    size = r.size()
    if size:
        tests.append(f"-size {size.find}")
        words.append(f"{'larger' if size.op == '+' else 'smaller'} than {size.text.split()[-1]}")
    age = r.age()
    if age:
        tests.append(age.find(p.gnu))
        words.append(age_words(age))
    elif default_old and r.has("old"):
        tests.append("-mtime +30")
        words.append("not modified for 30 days")
    user = r.name("user")
    if user:
        tests.append(f"-user {q(user)}")
        words.append(f"owned by {user}")
    if r.has("empty"):
        tests.append("-empty")
        words.append("empty")
    directories = r.has("dir") and not r.has("file") and not names
    kind = "-type d" if directories else "-type f"
    first = []
    if any(t.startswith("-daystart") for t in tests):
        tests = [t.replace("-daystart ", "") for t in tests]
        first = ["-daystart"]
    noun = "directories" if directories else "files"
    return first + [kind] + tests, f"{noun} {', '.join(words)}".strip(), len(words)


def age_words(age):
    """An :class:`~.request.Age` in words: ``modified in the last 2 hours``."""
    if age.kind in ("today", "yesterday"):
        return f"modified {age.kind}"
    if age.kind in ("since", "before"):
        return f"modified {'since' if age.kind == 'since' else 'before'} {age.date}"
    span = age.since.removesuffix(" ago")
    return f"modified in the last {span}" if age.kind == "within" else f"older than {span}"


@rules("file|dir|find|#ext|#glob|#age|#size", opt="find show search modify last old large small "
       "size empty delete name type recursive insensitive owner hidden image",
       avoid="rename move copy")
def find_files(r, p):
    """find with the filters named: type, name, size, age, owner, emptiness; optionally delete."""
    place = r.place()
    where = place or r.dir()
    by_name = r.has("find") or r.has("delete") and re.search(r"\bfiles\b", r.text.lower())
    tests, said, filters = find_tests(r, p, by_file_name=by_name, default_old=True)
    if not filters and not (r.has("delete") and place):
        return None
    found = f"find {q(where)} {' '.join(tests)}"
    what = f"{said} under {where}"
    if r.has("delete"):
        return [(f"{found} -delete", f"delete the {what}"),
                (f"{found} -print", f"list them first: {what}")]
    pairs = [(found, f"list the {what}")]
    if p.found("fd") and r.count("ext"):
        pairs.append((f"fd -t f -e {r.ext()[0]} . {q(where)}", "the same search with fd"))
    return pairs


@rules("count file|dir", opt="show find recursive #ext", avoid="line word character")
def count_files(r, p):
    """How many files (of a type, size or age) a directory holds."""
    where = r.dir()
    tests, said, _ = find_tests(r, p)
    return [(f"find {q(where)} {' '.join(tests)} | wc -l",
             f"count the {said} under {where} (subdirectories included)"),
            (f"ls -1A {q(where)} | wc -l", f"count the entries directly in {where}")]


@rules("file|dir|content|ls|all", opt="show hidden all sort size last time modify detail old first",
       avoid="count #ext #size #age")
def list_files(r, p):
    """ls with the flags the request implies: hidden files, sorted by size or time."""
    where = r.dir()
    if r.file() is not None or not r.has("file", "dir", "content", "ls") and where == ".":
        return None
    if r.has("size") and not r.has("sort", "file"):
        return None
    flags = "-la" if r.has("hidden", "all") else "-l"
    how = "with details"
    if r.has("size"):
        flags += "hS"
        how = "largest first"
    elif r.has("old"):
        flags += "tr"
        how = "oldest first"
    elif r.has("time", "modify", "last", "sort"):
        flags += "t"
        how = "newest first"
    else:
        flags += "h"
    hidden = ", hidden ones included" if "a" in flags else ""
    return [(f"ls {flags} {q(where)}" if where != "." else f"ls {flags}",
             f"list the files in {where} {how}{hidden}")]


@rules("large|top|size file", opt="find show sort recursive dir first current")
def largest_files(r, p):
    """The N largest files under a directory (the largest one: ``largest file``)."""
    count = r.number("1" if re.search(r"\bfile\b", r.text.lower()) else "10")
    where = r.dir()
    pairs = [(f"find {q(where)} -type f -exec du -h {{}} + | sort -rh | head -n {count}",
              f"the {count} largest files under {where}, sizes human-readable")]
    if p.gnu:
        pairs.append((f"find {q(where)} -type f -printf '%s\\t%p\\n' | sort -rn | head -n {count}",
                      "the same, sizes in bytes"))
    return pairs


@rules("last|old file", opt="modify show sort time first find recursive", avoid="#age")
def recent_files(r, p):
    """The most recently (or least recently) modified files."""
    count = r.number("10")
    where = r.dir()
    order = "tr" if r.has("old") else "t"
    which = "oldest" if r.has("old") else "most recently modified"
    pairs = [(f"ls -l{order} {q(where)} | head -n {int(count) + 1}",
              f"the {count} {which} entries in {where}")]
    if p.gnu:
        sort = "sort -n" if r.has("old") else "sort -rn"
        pairs.append((f"find {q(where)} -type f -printf '%T@ %p\\n' | {sort} | head -n {count}",
                      f"the {count} {which} files under {where}, subdirectories included"))
    return pairs


@rules("create dir", opt="recursive")
def make_dir(r, p):
    """mkdir -p for the directories named."""
    names = r.paths(("dir", "any")) + [n for n in [r.name("dir")] if n] + r.free(4)
    if not names:
        return None
    return [(f"mkdir -p {' '.join(q(n) for n in names)}",
             f"create {', '.join(names)} (and any missing parent directories)")]


@rules("create|touch file", opt="empty modify", avoid="archive compress symlink")
def make_file(r, p):
    """touch the files named."""
    names = r.paths(("file", "any"))
    if not names:
        return None
    return [(f"touch {' '.join(q(n) for n in names)}",
             f"create {', '.join(names)} empty (or update the modification time)")]


@rules("copy", opt="file dir recursive all", avoid="#userhost container pod ssh")
def copy(r, p):
    """cp (recursive for directories)."""
    paths = r.paths(("file", "any", "dir", "in"))
    if len(paths) < 2:
        return None
    *sources, target = paths
    recursive = r.has("dir", "recursive") or any(s.endswith("/") for s in sources)
    flag = "-r " if recursive else ""
    return [(f"cp {flag}{' '.join(q(s) for s in sources)} {q(target)}",
             f"copy {', '.join(sources)} to {target}"),
            (f"rsync -a {' '.join(q(s) for s in sources)} {q(target)}",
             "the same with rsync (keeps permissions and times, resumable)")]


@rules("move|rename", opt="file dir all", avoid="#userhost container branch")
def move(r, p):
    """mv a file or directory."""
    paths = r.paths(("file", "any", "dir", "in"))
    if len(paths) < 2:
        return None
    *sources, target = paths
    verb = "rename" if r.has("rename") and len(sources) == 1 else "move"
    return [(f"mv {' '.join(q(s) for s in sources)} {q(target)}",
             f"{verb} {', '.join(sources)} to {target}")]


@rules("delete", opt="file dir recursive all empty", avoid="#ext #glob #age #size")
def delete(r, p):
    """rm the files (or directories, recursively) named."""
    paths = r.paths()
    if not paths:
        return None
    directory = r.has("dir", "recursive") or any(x.endswith("/") for x in paths)
    plural = re.search(r"\b(?:folders|directories|dirs)\b", r.text.lower())
    if directory and r.has("all") and plural:
        return [(f"find . -type d -name {q(name)} -prune -exec rm -rf {{}} +",
                 f"delete every directory named {name} under here, with its contents")
                for name in paths[:1]]
    if directory and r.has("empty"):
        return [(f"rmdir {' '.join(q(x) for x in paths)}", "remove the empty directories")]
    flag = "-r " if directory else ""
    return [(f"rm {flag}{' '.join(q(x) for x in paths)}",
             f"delete {', '.join(paths)}{' and everything inside' if directory else ''}")]


@rules("symlink", opt="create file dir")
def symlink(r, p):
    """ln -s target link."""
    paths = r.paths()
    link = r.name("")
    if link and paths:
        target = paths[0]
    elif len(paths) >= 2:
        target, link = paths[0], paths[1]
    else:
        return None
    return [(f"ln -s {q(target)} {q(link)}",
             f"create {link}, a symbolic link pointing to {target}")]


@rules("symlink broken", opt="find show dir recursive")
def broken_links(r, p):
    """Symbolic links whose target is missing."""
    where = r.dir()
    if p.gnu:
        return [(f"find {q(where)} -xtype l", f"symbolic links under {where} whose target is gone")]
    return [(f"find -L {q(where)} -type l", f"symbolic links under {where} whose target is gone")]


@rules("type #path", opt="file show")
def file_type(r, p):
    """file: what kind of data a file holds."""
    path = r.path()
    return [(f"file {q(path)}", f"what kind of file {path} is (from its contents)")]


@rules("show|content #path", opt="file all", avoid="line first last follow error count compare "
       "permission type size")
def show_file(r, p):
    """cat a file (less for paging)."""
    path = r.file()
    if not path or path.endswith(_ARCHIVE_SUFFIXES):
        return None
    return [(f"cat {q(path)}", f"print {path}"), (f"less {q(path)}", f"page through {path}")]


@rules("tree", opt="show dir file recursive depth")
def tree(r, p):
    """The directory tree, a few levels deep."""
    where = r.dir()
    depth = r.number("2")
    pairs = [(f"tree -L {depth} {q(where)}", f"the tree under {where}, {depth} levels deep")]
    fallback = (f"find {q(where)} -maxdepth {depth} -print",
                f"every path under {where}, {depth} levels deep")
    return pairs + [fallback] if p.has("tree") else [fallback]


@rules("duplicate file", opt="find show dir recursive")
def duplicates(r, p):
    """Files with identical contents, by checksum."""
    where = r.dir()
    pairs = []
    if p.found("fdupes"):
        pairs.append((f"fdupes -r {q(where)}", f"groups of identical files under {where}"))
    if p.gnu:
        pairs.append((f"find {q(where)} -type f -exec md5sum {{}} + | sort | uniq -w32 -dD",
                      f"files under {where} whose MD5 checksums are equal"))
    else:
        pairs.append((f"find {q(where)} -type f -exec md5 -r {{}} + | sort | "
                      "awk 'seen[$1]++ == 1 {print prev} seen[$1] > 1 {print} {prev = $0}'",
                      f"files under {where} whose MD5 checksums are equal"))
    return pairs


@rules("modify|time #path", opt="last show file when")
def modified_time(r, p):
    """When a file was last modified."""
    path = r.file()
    if path is None:
        return None
    if p.gnu:
        return [(f"stat -c '%y' {q(path)}", f"the last modification time of {path}"),
                (f"ls -l {q(path)}", "the listing, which includes the time")]
    return [(f"stat -f '%Sm' {q(path)}", f"the last modification time of {path}"),
            (f"ls -l {q(path)}", "the listing, which includes the time")]
