"""Text processing: search in files, replace, count, head and tail, sort, unique, columns, diff."""

import re

from .files import name_tests
from .intent import Rules
from .words import concept
from .request import q

rules = Rules("text")


def pattern(r, limit=1):
    """The text to look for: quoted, else the unknown words of the request."""
    quoted = r.quoted()
    if quoted is not None:
        return quoted
    words = r.free(limit)
    if words:
        return " ".join(words)
    found = r.word_after("for", "grep", "containing", "contain", "contains", "word")
    return None if found is None or concept(found.lower()) == "text" else found


def sed_in_place(p, script, target):
    """``sed -i`` as GNU and BSD each spell it."""
    return f"sed -i {q(script)} {target}" if p.gnu else f"sed -i '' {q(script)} {target}"


@rules("find|containing|text|line|#quoted", opt="file dir recursive count insensitive not show "
       "line #ext all error", avoid="replace delete process port")
def grep(r, p):
    """grep for a pattern in files or directories (recursive, counts, names only, inverted)."""
    needle = pattern(r)
    if needle is None:
        return None
    flags = "i" if r.has("insensitive") else ""
    if r.has("not"):
        flags += "v"
    files = r.paths(("file", "any"))
    where = r.dir(None)
    exts = r.ext()
    names_only = r.has("file") and r.has("containing") and not r.has("line") and not files
    if r.has("count") and files:
        flags += "c"
        what = "count the lines"
    elif not files or where or exts:
        flags += "rl" if names_only else "rn"
        what = "names of the files" if names_only else "lines, with file and number,"
    else:
        flags += "n"
        what = "lines"
    what += " not containing" if "v" in flags else " containing"
    include = "".join(f" --include={q('*.' + e)}" for e in exts or ())
    target = " ".join(q(f) for f in files) or q(where or ".")
    pairs = [(f"grep -{flags}{include} {q(needle)} {target}", f"{what} {needle!r} in {target}")]
    if p.found("rg") and not files:
        rg_flags = " -l" if names_only else ""
        rg_flags += " -i" if "-i" in flags else ""
        rg_flags += "".join(f" -g {q('*.' + e)}" for e in exts or ())
        pairs.append((f"rg{rg_flags} {q(needle)} {q(where or '.')}",
                      "the same search with ripgrep"))
    return pairs


@rules("replace|modify|swap", opt="text file all dir recursive line #ext")
def replace(r, p):
    """sed s/old/new/g in a file (or every file that contains it)."""
    old, new = r.quoted(0), r.quoted(1)
    if not r.has("replace") and (old is None or new is None):
        return None
    if old is None or new is None:
        words = r.free(2)
        if len(words) < 2:
            return None
        old, new = words
    delim = next(d for d in "/|#,@" if d not in old + new)
    script = f"s{delim}{old}{delim}{new}{delim}g"
    files = r.paths(("file", "any"))
    if files:
        target = " ".join(q(f) for f in files)
        return [(sed_in_place(p, script, target),
                 f"replace every {old!r} with {new!r} in {target}, "
                 "in place"),
                (f"sed {q(script)} {target}", "preview the result without changing the file")]
    where = r.dir()
    exts = r.ext()
    include = "".join(f" --include={q('*.' + e)}" for e in exts or ())
    xargs = f"xargs {sed_in_place(p, script, '')}".rstrip()
    return [(f"grep -rl{include} {q(old)} {q(where)} | {xargs}",
             f"replace every {old!r} with {new!r} in the files under {where} that contain it")]


@rules("count line|word|character", opt="file show all #ext code", avoid="unique duplicate error")
def count_lines(r, p):
    """wc: lines, words or characters of files."""
    flag, what = ("-w", "words") if r.has("word") else ("-c", "bytes") if r.has("character") \
        else ("-l", "lines")
    files = r.paths(("file", "any"))
    if files:
        return [(f"wc {flag} {' '.join(q(f) for f in files)}",
                 f"count the {what} of {', '.join(files)}")]
    names, said = name_tests(r)
    if not names:
        return None
    where = r.dir()
    return [(f"find {q(where)} -type f {names} -exec cat {{}} + | wc {flag}",
             f"count the {what} of all files {said} under {where}"),
            (f"find {q(where)} -type f {names} -exec wc {flag} {{}} +",
             "the count per file, with a total")]


@rules("first|last|follow|line|top|end #path",
       opt="line show file error", avoid="count sort unique "
       "replace delete compare")
def head_tail(r, p):
    """head, tail or tail -f of a file."""
    path = r.file()
    if path is None:
        return None
    count = r.number("10")
    if r.has("follow"):
        return [(f"tail -f {q(path)}", f"print lines as they are added to {path}"),
                (f"tail -n {count} -f {q(path)}", f"the last {count} lines, then follow")]
    if r.has("first", "top"):
        return [(f"head -n {count} {q(path)}", f"the first {count} lines of {path}")]
    if r.has("last", "end"):
        return [(f"tail -n {count} {q(path)}", f"the last {count} lines of {path}")]
    first, last = r.number(None), r.number(None, index=1)
    if first is not None and last is not None:
        return [(f"sed -n '{first},{last}p' {q(path)}", f"lines {first} to {last} of {path}")]
    line = count if r.count("number") else None
    if line is None:
        return None
    return [(f"sed -n '{line}p' {q(path)}", f"line {line} of {path}")]


@rules("sort #path", opt="line file unique reverse numeric")
def sort_file(r, p):
    """sort the lines of a file."""
    path = r.file()
    if path is None:
        return None
    flags = "-u" if r.has("unique") else ""
    if r.has("numeric"):
        flags = "-n" + flags.lstrip("-")
    flags += "r" if r.has("reverse") and flags else "-r" if r.has("reverse") else ""
    spaced = f" {flags}" if flags else ""
    return [(f"sort{spaced} {q(path)}", f"the lines of {path}, sorted"),
            (f"sort -n{flags.lstrip('-')} {q(path)}", "sorted numerically")]


@rules("unique|duplicate|frequent", opt="line delete show file count sort top", avoid="dir image")
def unique_lines(r, p):
    """Remove or count repeated lines."""
    path = r.file()
    if path is None:
        return None
    if r.has("count", "top", "frequent"):
        count = r.number("10")
        return [(f"sort {q(path)} | uniq -c | sort -rn | head -n {count}",
                 f"the {count} most frequent lines of {path} with their counts")]
    return [(f"sort -u {q(path)}", f"the distinct lines of {path}, sorted"),
            (f"awk '!seen[$0]++' {q(path)}", "the distinct lines, in their original order")]


@rules("column", opt="show csv first file delimiter")
def column(r, p):
    """One column of a file: awk, or cut for CSV and other delimiters."""
    path = r.file()
    number = r.number("1")
    if path is None:
        return None
    low = r.text.lower()
    delimiter = next((mark for word, mark in (("colon", ":"), ("semicolon", ";"), ("tab", "\t"),
                                              ("pipe", "|")) if re.search(rf"\b{word}s?\b", low)),
                     None)
    if delimiter:
        return [(f"awk -F{q(delimiter)} '{{print ${number}}}' {q(path)}",
                 f"field {number} of {path}, fields separated by {delimiter!r}"),
                (f"cut -d{q(delimiter)} -f{number} {q(path)}", "the same with cut")]
    if path.endswith(".csv") or r.has("csv"):
        return [(f"cut -d, -f{number} {q(path)}", f"column {number} of the CSV file {path}"),
                (f"awk -F, '{{print ${number}}}' {q(path)}", "the same with awk")]
    return [(f"awk '{{print ${number}}}' {q(path)}",
             f"column {number} (whitespace-separated) of {path}")]


@rules("compare", opt="file dir show line")
def compare(r, p):
    """diff two files or directories."""
    paths = r.paths(("file", "any", "dir", "in"))
    if len(paths) < 2 and r.has("file", "dir"):
        paths += r.free(2 - len(paths))
        if r.number() not in (None, "2"):
            return None
    if len(paths) != 2:
        return None
    a, b = (q(x) for x in paths)
    flag = "-r" if r.has("dir") or any(x.endswith("/") for x in paths) else "-u"
    return [(f"diff {flag} {a} {b}", f"the differences between {paths[0]} and {paths[1]}")]


@rules("pretty|json #path", opt="show json file")
def pretty_json(r, p):
    """Pretty-print a JSON file."""
    path = r.file()
    if path is None or not (path.endswith(".json") or r.has("json")):
        return None
    r.ext()
    pairs = [(f"python3 -m json.tool {q(path)}", f"{path}, indented")]
    if p.has("jq"):
        pairs.insert(0, (f"jq . {q(path)}", f"{path}, indented and coloured"))
    return pairs


@rules("uppercase|lowercase #path", opt="show file convert")
def change_case(r, p):
    """Convert a file to upper or lower case."""
    path = r.file()
    if path is None:
        return None
    if r.has("uppercase"):
        return [(f"tr '[:lower:]' '[:upper:]' < {q(path)}", f"{path} in upper case")]
    return [(f"tr '[:upper:]' '[:lower:]' < {q(path)}", f"{path} in lower case")]


@rules("delete empty line", opt="file")
def drop_blank_lines(r, p):
    """Remove empty lines from a file."""
    path = r.file()
    if path is None:
        return None
    return [(f"sed '/^[[:space:]]*$/d' {q(path)}", f"{path} without its blank lines"),
            (sed_in_place(p, "/^[[:space:]]*$/d", q(path)), "remove them from the file in place")]
