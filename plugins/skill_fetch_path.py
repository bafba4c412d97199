"""The local-directory skill source: ``caro skills install ./my-skill``.

Copies a folder's regular files into the install area.  Version-control and
cache folders (``.git``, ``__pycache__``…) are left behind; a symbolic link or
a device file anywhere in the folder refuses the install, so nothing outside
the skill's folder can come along.  ``trylast``: a folder holding an OCI image
layout (an ``oci-layout`` file) is the OCI fetcher's.
"""

import os
import shutil
import stat
from pathlib import Path

from caro_core import hookimpl
from caro_core.skills import FetchResult, SkillError

#: Folders never copied.
SKIPPED = frozenset({".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache"})


def copy_tree(source, dest):
    """Copy the regular files under ``source`` into ``dest``; refuse links and special files."""
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED)
        rel = Path(root).relative_to(source)
        for name in dirs + files:
            mode = os.lstat(Path(root) / name).st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                raise SkillError(f"{Path(root) / name}: a skill may hold only regular files and "
                                 f"folders (no symbolic links or devices)")
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.copyfile(Path(root) / name, dest / rel / name)


@hookimpl(trylast=True)
def caro_skill_fetch(source, dest):
    """Copy ``source`` when it is an existing local directory."""
    path = Path(os.path.expanduser(source))
    if not path.is_dir():
        return None
    path = path.resolve()
    copy_tree(path, dest)
    return FetchResult("path", str(path))
