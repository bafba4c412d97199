"""git: status, history, diffs, branches, commits, undoing, stashes, remotes, tags."""

import re

from .intent import Rules
from .request import q

rules = Rules("git")

_NOT_GIT = "docker container image pod kubernetes package install"


def branch(r):
    """The branch the request names: ``branch x``, ``x branch``, else an unknown word."""
    return r.name("branch") or next(iter(r.free(1) or r.paths(("any",))), None)


def message(r):
    """A commit or tag message given in quotes, or None."""
    return r.quoted()


@rules("git|uncommitted|untracked", opt="describe show modify file stage current",
       avoid="commit branch history push pull stash delete undo compare create merge clone "
       "remote tag")
def status(r, p):
    """What is modified, staged and untracked."""
    return [("git status", "modified, staged and untracked files, and the branch"),
            ("git status -s", "the same, one line per file")]


@rules("commit|history", opt="git show last #number count author file all #age follow tree "
       "branch containing find text modify", avoid="create undo amend delete push squash revert "
       "cherry compare")
def log(r, p):
    """Commit history: the last N, by an author, since a time, of a file, as a graph."""
    if not r.has("git", "commit") and r.has("history") and not r.count("path"):
        return None
    args = ["--oneline"]
    if r.has("tree"):
        args += ["--graph", "--all"]
    count = r.number()
    if r.has("last") and not count and re.search(r"\bcommit\b", r.text.lower()):
        return None
    if count:
        args.append(f"-n {count}")
    author = r.name("author") or r.word_after("by", "author")
    if author:
        args.append(f"--author={q(author)}")
    age = r.age()
    if age:
        args.append(f"--since={q(age.since)}")
    text = r.quoted()
    if text:
        args.append(f"--grep={q(text)}")
    path = r.file()
    what = f"the last {count} commits" if count else "the commit history"
    if path:
        return [(f"git log --follow -p -- {q(path)}", f"every change to {path}, newest first"),
                (f"git log {' '.join(args)} -- {q(path)}", f"{what} that touched {path}")]
    pairs = [(f"git log {' '.join(args)}", f"{what}, one line each")]
    if text:
        pairs.append((f"git log -S {q(text)} --oneline", f"commits that added or removed {text!r}"))
    return pairs


@rules("compare|modify|stage|uncommitted", opt="git show file branch last commit current all",
       avoid="#age create undo delete count list")
def diff(r, p):
    """Changes not yet committed (or staged, or between branches)."""
    mine = r.has("modify") and re.search(r"\b(?:i|my|we|our)\b", r.text.lower())
    if r.has("stage") and not r.has("show", "compare"):
        return None
    first, second = r.name("branch"), r.name("branch")
    frees = r.free(2)
    names = [n for n in (first, second) if n] + frees
    gitty = r.has("git", "stage", "branch", "commit", "uncommitted") or mine
    one_file = r.has("compare") and r.count("path") == 1 and "diff" in r.text.lower()
    if not gitty and not one_file and not (len(names) >= 2 and r.has("compare")):
        return None
    path = r.file()
    tail = f" -- {q(path)}" if path else ""
    if len(names) >= 2:
        return [(f"git diff {q(names[0])}..{q(names[1])}{tail}",
                 f"the differences between {names[0]} and {names[1]}")]
    if r.has("stage"):
        return [(f"git diff --staged{tail}", "changes staged for the next commit")]
    if r.has("last", "commit"):
        if "since" not in r.text.lower():
            return None
        return [(f"git diff HEAD{tail}", "every change since the last commit, staged or not")]
    return [(f"git diff{tail}", "changes not yet staged"),
            (f"git diff HEAD{tail}", "every change since the last commit")]


@rules("branch", opt="show all remote git local current", avoid="create delete switch merge "
       "rename push compare " + _NOT_GIT)
def list_branches(r, p):
    """Branches: local and remote, or the current one."""
    if r.free_words or r.count("name"):
        return None
    if r.has("current") or r.asks_which("branch"):
        return [("git branch --show-current", "the name of the current branch")]
    if r.has("remote"):
        return [("git branch -r", "branches on the remotes")]
    return [("git branch -a", "local and remote branches; * marks the current one"),
            ("git branch -vv", "local branches with their upstream and last commit")]


@rules("create|switch branch", opt="git switch", avoid="delete rename merge push " + _NOT_GIT)
def create_branch(r, p):
    """Create a branch and switch to it."""
    if not r.has("create"):
        return None
    name = branch(r)
    if not name:
        return None
    return [(f"git switch -c {q(name)}", f"create branch {name} from here and switch to it"),
            (f"git checkout -b {q(name)}", "the same with checkout")]


@rules("switch", opt="branch git", avoid="create delete " + _NOT_GIT)
def switch_branch(r, p):
    """Switch to an existing branch."""
    name = branch(r)
    if not name:
        return None
    return [(f"git switch {q(name)}", f"switch to branch {name}"),
            (f"git checkout {q(name)}", "the same with checkout")]


@rules("delete branch", opt="git remote force local", avoid=_NOT_GIT)
def delete_branch(r, p):
    """Delete a branch, locally or on the remote."""
    name = branch(r)
    if not name:
        return None
    if r.has("remote"):
        return [(f"git push origin --delete {q(name)}", f"delete branch {name} on origin")]
    flag = "-D" if r.has("force") else "-d"
    return [(f"git branch {flag} {q(name)}", f"delete the local branch {name}"
             + (" even if it is not merged" if flag == "-D" else " (refused if not merged)"))]


@rules("rename branch", opt="git current", avoid=_NOT_GIT)
def rename_branch(r, p):
    """Rename a branch."""
    names = [n for n in (r.name("branch"), r.name("branch")) if n] + r.free(2)
    if not names:
        return None
    if len(names) == 1:
        return [(f"git branch -m {q(names[0])}", f"rename the current branch to {names[0]}")]
    return [(f"git branch -m {q(names[0])} {q(names[1])}", f"rename {names[0]} to {names[1]}")]


@rules("merge", opt="git branch", avoid="abort " + _NOT_GIT)
def merge(r, p):
    """Merge a branch into the current one."""
    name = branch(r)
    if not name:
        return None
    return [(f"git merge {q(name)}", f"merge {name} into the current branch")]


@rules("rebase|squash", opt="git branch last commit #number")
def rebase(r, p):
    """Rebase onto a branch, or squash the last N commits interactively."""
    count = r.number()
    if count or r.has("squash"):
        count = count or "2"
        return [(f"git rebase -i HEAD~{count}",
                 f"rewrite (squash, reorder, reword) the last {count}"
                 " commits interactively")]
    name = branch(r)
    if not name:
        return None
    return [(f"git rebase {q(name)}", f"replay the current branch's commits on top of {name}")]


@rules("commit", opt="git all modify file create #quoted stage message",
       avoid="show last history undo "
       "amend count push delete compare author revert squash cherry find")
def commit(r, p):
    """Commit staged (or all) changes with a message."""
    text = message(r)
    files = r.paths(("file", "any"))
    if files:
        msg = f" -m {q(text)}" if text else ""
        return [(f"git add {' '.join(q(f) for f in files)} && git commit{msg}",
                 f"stage {', '.join(files)} and commit")]
    flag = "-am" if r.has("all", "modify") else "-m"
    if not text:
        return [("git commit -a" if flag == "-am" else "git commit",
                 "commit, writing the message in your editor")]
    return [(f"git commit {flag} {q(text)}",
             "commit every tracked change" if flag == "-am" else "commit the staged changes")]


@rules("amend|modify|rename commit|amend", opt="last #quoted git message")
def amend(r, p):
    """Change the last commit (its message or content)."""
    if not r.has("amend") and not (r.has("last") and (r.has("message") or r.count("quoted"))):
        return None
    text = message(r)
    if text:
        return [(f"git commit --amend -m {q(text)}", "replace the last commit's message")]
    return [("git commit --amend --no-edit", "add the staged changes to the last commit"),
            ("git commit --amend", "edit the last commit's message")]


@rules("undo commit", opt="last git save #number force modify", avoid="amend")
def undo_commit(r, p):
    """Undo the last commit(s): keep the changes, or revert with a new commit."""
    sha = r.sha()
    if sha or "revert" in r.text.lower():
        target = sha or "HEAD"
        return [(f"git revert {target}",
                 f"a new commit that undoes {target} (safe for pushed work)")]
    count = r.number("1")
    if r.has("force"):
        return [(f"git reset --hard HEAD~{count}",
                 f"drop the last {count} commit(s) and their changes")]
    return [(f"git reset --soft HEAD~{count}",
             f"undo the last {count} commit(s), keeping the changes"
             " staged"),
            ("git revert HEAD", "a new commit that undoes the last one (safe for pushed work)")]


@rules("undo|delete|unstage modify|file|#path|stage|unstage|uncommitted", opt="all local git file",
       avoid="commit branch stash " + _NOT_GIT)
def discard(r, p):
    """Discard local changes to files, or unstage them."""
    if not r.has("git", "modify", "stage", "unstage", "uncommitted"):
        return None
    files = r.paths(("file", "any"))
    target = " ".join(q(f) for f in files) or "."
    if r.has("unstage") or r.has("stage"):
        return [(f"git restore --staged {target}", f"unstage {target}, keeping the changes")]
    return [(f"git restore {target}", f"discard uncommitted changes to {target}"),
            (f"git checkout -- {target}", "the same with checkout")]


@rules("stage|add modify|file|#path|all|stage|git", opt="git all modify file stage",
       avoid="show compare commit branch remote user group docker kubernetes")
def stage(r, p):
    """Stage changes (or files) for the next commit."""
    if not r.has("stage", "git") and not r.has("modify"):
        return None
    files = r.paths(("file", "any"))
    if files:
        return [(f"git add {' '.join(q(f) for f in files)}", f"stage {', '.join(files)}")]
    return [("git add -A", "stage every change, new and deleted files included"),
            ("git add -p", "choose the changes to stage, hunk by hunk")]


@rules("delete untracked", opt="file all git dir force")
def clean(r, p):
    """Delete untracked files."""
    return [("git clean -n -d", "list the untracked files and directories that would be deleted"),
            ("git clean -fd", "delete untracked files and directories")]


@rules("stash|save", opt="git pop show all modify apply last undo")
def stash(r, p):
    """Stash changes, bring them back, or list the stash."""
    if r.has("pop", "apply", "undo"):
        return [("git stash pop", "re-apply the latest stash and drop it")]
    if r.has("show"):
        return [("git stash list", "every stash"), ("git stash show -p", "the latest stash's diff")]
    text = message(r)
    if text:
        return [(f"git stash push -m {q(text)}", "put the changes aside with a message")]
    return [("git stash", "put uncommitted changes aside and clean the working tree"),
            ("git stash -u", "the same, untracked files included")]


@rules("push", opt="git branch remote force tag new all modify commit",
       avoid="docker image container #userhost")
def push(r, p):
    """Push commits (or tags, or a new branch with upstream)."""
    gitty = r.has("git", "branch", "commit", "modify", "tag", "remote", "force")
    if r.has("email") or not gitty and r.free_words:
        return None
    if r.has("tag"):
        return [("git push --tags", "push every tag to the remote")]
    name = r.name("branch") or next(iter(r.free(1)), None)
    if r.has("force"):
        return [("git push --force-with-lease", "overwrite the remote branch unless someone pushed "
                 "meanwhile")]
    if name:
        return [(f"git push -u origin {q(name)}", f"push {name} and track it on origin")]
    if r.has("create", "branch"):
        return [("git push -u origin HEAD", "push the current branch and set its upstream")]
    return [("git push", "push the current branch to its upstream")]


@rules("pull|fetch|remote", opt="git branch rebase remote all last modify code sync",
       avoid="docker image container")
def pull(r, p):
    """Fetch and merge (or rebase) from the remote."""
    if not r.has("pull", "fetch", "sync") and not r.has("last"):
        return None
    if r.has("fetch"):
        return [("git fetch --all --prune", "fetch every remote and drop deleted remote branches")]
    if r.has("rebase"):
        return [("git pull --rebase", "fetch and rebase your commits on top")]
    name = branch(r)
    if name:
        return [(f"git pull origin {q(name)}", f"fetch {name} from origin and merge it")]
    return [("git pull", "fetch and merge the upstream branch")]


@rules("clone|copy|download #url", opt="git dir")
def clone(r, p):
    """Clone a repository."""
    url = r.url()
    if not (r.has("git", "clone") or url.endswith(".git")):
        return None
    where = r.dir(None)
    dest = f" {q(where)}" if where else ""
    return [(f"git clone {q(url)}{dest}", f"clone {url}" + (f" into {where}" if where else "")),
            (f"git clone --depth 1 {q(url)}{dest}", "only the latest commit (faster)")]


@rules("tag", opt="git create show all delete push #version", avoid="docker image")
def tags(r, p):
    """List, create or delete tags."""
    name = r.version() or r.name("tag") or next(iter(r.free(1)), None)
    if r.has("delete") and name:
        return [(f"git tag -d {q(name)}", f"delete the local tag {name}")]
    if name and not r.has("show"):
        text = message(r) or name
        return [(f"git tag -a {q(name)} -m {q(text)}", f"an annotated tag {name} on the current "
                 "commit")]
    return [("git tag --sort=-creatordate", "every tag, newest first")]


@rules("remote", opt="git show all add #url", avoid="branch delete push pull")
def remotes(r, p):
    """List or add remotes (adding needs the URL: a listing is no answer to "add")."""
    url = r.url()
    if url:
        name = r.name("remote") or next(iter(r.free(1)), "origin")
        return [(f"git remote add {q(name)} {q(url)}", f"add the remote {name} at {url}")]
    if r.has("add"):
        return None
    return [("git remote -v", "every remote with its URLs")]


@rules("author|line #path", opt="git modify last show user")
def blame(r, p):
    """Who last changed each line of a file."""
    path = r.file()
    if path is None:
        return None
    return [(f"git blame {q(path)}", f"each line of {path} with the commit and author that last "
             "changed it")]


@rules("commit last|#sha", opt="show modify file git describe", avoid="undo amend delete push "
       "revert count cherry")
def show_commit(r, p):
    """What a commit changed."""
    sha = r.sha() or "HEAD"
    if r.count("number"):
        return None
    return [(f"git show --stat {sha}", f"the files {sha} changed and how much"),
            (f"git show {sha}", f"the full diff of {sha}")]


@rules("create|git", opt="git repository new", avoid="branch tag commit file dir")
def init(r, p):
    """Create a repository."""
    if not r.has("git") or not r.has("create"):
        return None
    where = r.dir(None)
    return [(f"git init {q(where)}" if where else "git init", "create an empty git repository")]


@rules("cherry", opt="commit git #sha")
def cherry_pick(r, p):
    """Apply one commit onto the current branch."""
    sha = r.sha() or r.name("commit")
    if not sha:
        return None
    return [(f"git cherry-pick {sha}", f"apply commit {sha} onto the current branch")]


@rules("author|user top|count", opt="git commit show all", avoid="process file")
def contributors(r, p):
    """Who committed the most."""
    if not r.has("git", "commit"):
        return None
    return [("git shortlog -sn", "authors by number of commits")]


@rules("configure|create|modify git", opt="user name email configure")
def config_user(r, p):
    """Set the author name or email git records."""
    pair = r.userhost()
    value = r.quoted() or (f"{pair[0]}@{pair[1]}" if pair else None) or r.word_after("to")
    if not value:
        if not r.has("configure") or r.has("create"):
            return None
        return [("git config --list --show-origin", "every git setting and where it is set")]
    key = "user.email" if "@" in value or r.has("email") else "user.name"
    return [(f"git config --global {key} {q(value)}", f"set your {key} for every repository")]


@rules("abort merge|rebase", opt="git")
def abort(r, p):
    """Abort a merge or rebase in progress."""
    what = "rebase" if r.has("rebase") else "merge"
    return [(f"git {what} --abort", f"stop the {what} and go back to before it started")]
