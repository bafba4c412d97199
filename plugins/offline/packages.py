"""Packages: install, remove, update, search, list and inspect, with the system's package manager,
Homebrew, pip or npm."""

import re

from .intent import Rules
from .request import q

rules = Rules("packages")

#: manager: (install, remove, refresh-and-upgrade, search, list installed, info, upgradable)
_COMMANDS = {
    "apt": ("sudo apt install {}", "sudo apt remove {}", "sudo apt update && sudo apt upgrade",
            "apt search {}", "apt list --installed", "apt show {}", "apt list --upgradable"),
    "dnf": ("sudo dnf install {}", "sudo dnf remove {}", "sudo dnf upgrade", "dnf search {}",
            "dnf list installed", "dnf info {}", "dnf check-update"),
    "yum": ("sudo yum install {}", "sudo yum remove {}", "sudo yum update", "yum search {}",
            "yum list installed", "yum info {}", "yum check-update"),
    "pacman": ("sudo pacman -S {}", "sudo pacman -R {}", "sudo pacman -Syu", "pacman -Ss {}",
               "pacman -Q", "pacman -Si {}", "pacman -Qu"),
    "zypper": ("sudo zypper install {}", "sudo zypper remove {}", "sudo zypper update",
               "zypper search {}", "zypper search --installed-only", "zypper info {}",
               "zypper list-updates"),
    "apk": ("sudo apk add {}", "sudo apk del {}", "sudo apk update && sudo apk upgrade",
            "apk search {}", "apk info", "apk info -a {}", "apk version -l '<'"),
    "brew": ("brew install {}", "brew uninstall {}", "brew update && brew upgrade",
             "brew search {}",
             "brew list", "brew info {}", "brew outdated"),
    "pip": ("python3 -m pip install {}", "python3 -m pip uninstall {}",
            "python3 -m pip install --upgrade {}", "python3 -m pip index versions {}",
            "python3 -m pip list", "python3 -m pip show {}", "python3 -m pip list --outdated"),
    "npm": ("npm install {}", "npm uninstall {}", "npm update", "npm search {}", "npm ls --depth=0",
            "npm view {}", "npm outdated"),
}
_LANGUAGE = "python node javascript"
#: Packages well known enough that ``remove X`` means uninstalling them.
_WELL_KNOWN = frozenset("""nodejs npm python3 python docker docker.io nginx apache2 httpd git curl
wget vim neovim emacs nano htop tmux zsh fish jq ripgrep fd-find tree unzip zip gcc make cmake
golang rustc openjdk-17-jdk postgresql mysql-server mariadb-server redis-server mongodb sqlite3
php ruby perl firefox chromium thunderbird vlc gimp snapd flatpak openssh-server ufw fail2ban
certbot ansible terraform kubectl helm awscli""".split())
_REFRESH = {"apt": "sudo apt update", "dnf": "sudo dnf makecache", "yum": "sudo yum makecache",
            "pacman": "sudo pacman -Sy", "zypper": "sudo zypper refresh", "apk": "sudo apk update",
            "brew": "brew update"}


def manager(r, p):
    """The package manager the request means: pip or npm when named, else the system's."""
    low = r.text.lower()
    if r.has("pip") or r.has("python") and (r.has("package") or re.search(r"python3?\s+install",
                                                                         low)):
        return "pip"
    if r.has("npm") or r.has("node", "javascript") and r.has("package"):
        return "npm"
    if r.has("brew"):
        return "brew"
    if r.has("apt"):
        return "apt"
    return p.packager()


def names(r, tool):
    """The package names: ``package x``, else unknown words, else the language itself."""
    found = [n for n in [r.name("package")] if n] + r.free(4)
    if not found:
        found = [n for n in r.words_after("install", "setup", "uninstall", "remove", "upgrade",
                                          "update") if n.lower() not in _LANGUAGE.split()]
    if not found and tool not in ("pip", "npm"):
        if r.has("python"):
            found = ["python3"]
        elif r.has("node", "javascript"):
            found = ["nodejs" if tool != "brew" else "node"]
    return found


def _fill(template, packages):
    return template.format(" ".join(q(n) for n in packages)).strip()


@rules("install|add", opt="package pip npm brew apt global system " + _LANGUAGE,
       avoid="uninstall delete show describe upgrade find user group")
def install(r, p):
    """Install packages."""
    tool = manager(r, p)
    if not r.has("install") and not r.has("package", "pip", "npm", "brew", "apt", "system"):
        return None
    requirements = next((f for f in r.paths(("file", "any")) if "requirements" in f), None)
    if requirements:
        r.free(1)
        return [(f"python3 -m pip install -r {q(requirements)}",
                 f"install everything in {requirements}")]
    wanted = names(r, tool)
    if not wanted:
        if tool == "npm":
            return [("npm install", "install the dependencies of package.json")]
        return None
    command = _fill(_COMMANDS[tool][0], wanted)
    if tool == "npm" and r.has("global"):
        command = command.replace("npm install", "npm install -g")
    return [(command, f"install {', '.join(wanted)} with {tool}")]


@rules("uninstall|delete", opt="package pip npm brew apt " + _LANGUAGE,
       avoid="container image kubernetes branch file dir #path")
def remove(r, p):
    """Uninstall packages (``remove nginx`` when nginx is a package everyone knows)."""
    tool = manager(r, p)
    wanted = names(r, tool)
    if not wanted:
        return None
    if not r.has("uninstall", "package", "pip", "npm", "apt", "brew") \
            and not all(name.lower() in _WELL_KNOWN for name in wanted):
        return None
    return [(_fill(_COMMANDS[tool][1], wanted), f"uninstall {', '.join(wanted)} with {tool}")]


@rules("upgrade|refresh|last", opt="package all system pip npm brew apt show line install "
       "version " + _LANGUAGE, avoid="git docker kubernetes image file")
def upgrade(r, p):
    """Update the package lists and upgrade installed packages (or list what is outdated)."""
    if not r.has("upgrade", "refresh") and not (r.has("package") and r.has("all")):
        return None
    tool = manager(r, p)
    if r.has("refresh") and not r.has("upgrade"):
        if tool not in _REFRESH:
            return None
        return [(_REFRESH[tool], f"refresh the package lists ({tool})")]
    asked = r.has("show") or re.search(r"\b(?:which|what|any)\b", r.text.lower())
    if asked and not r.has("last"):
        return [(_COMMANDS[tool][6], f"packages with a newer version available ({tool})")]
    wanted = names(r, tool) if tool in ("pip", "npm") else []
    if tool == "pip" and not wanted:
        return [(_COMMANDS["pip"][6], "outdated Python packages; upgrade one with pip install -U")]
    template = _COMMANDS[tool][2]
    command = _fill(template, wanted) if "{}" in template else template
    return [(command, f"refresh the package lists and upgrade everything ({tool})"
             if not wanted else f"upgrade {', '.join(wanted)}")]


@rules("find|exist package|install|pip|npm|brew|apt", opt="pip npm brew apt free provide "
       + _LANGUAGE,
       avoid="file dir #path")
def search(r, p):
    """Search the package index."""
    tool = manager(r, p)
    wanted = r.free(1) or [n for n in [r.name("package")] if n]
    if not wanted:
        return None
    return [(_fill(_COMMANDS[tool][3], wanted), f"packages matching {wanted[0]} ({tool})")]


@rules("package|install|pip|npm|brew|apt", opt="pip npm brew apt all show global " + _LANGUAGE,
       avoid="upgrade uninstall describe")
def installed(r, p):
    """The packages installed."""
    tool = manager(r, p)
    asked = re.search(r"\b(?:which|what)\b", r.text.lower())
    if r.free_words or r.count("name") or not (r.has("show", "all") or asked):
        return None
    if not r.has("install") and not r.has("pip", "npm", "brew", "apt"):
        return None
    if tool == "npm" and r.has("global"):
        return [("npm ls -g --depth=0", "packages installed globally with npm")]
    return [(_COMMANDS[tool][4], f"every package installed with {tool}")]


@rules("describe|version|show|package package|pip|npm|apt|brew|install",
       opt="show pip npm brew apt " + _LANGUAGE)
def info(r, p):
    """Details (version, dependencies) of one package."""
    tool = manager(r, p)
    wanted = [n for n in [r.name("package")] if n] + r.free(1)
    if not wanted:
        wanted = r.words_after("show", "info", "describe")[:1]
    if not wanted:
        return None
    if tool == "apt" and r.has("version"):
        return [(f"apt policy {q(wanted[0])}", f"installed and available versions of {wanted[0]}")]
    return [(_fill(_COMMANDS[tool][5], wanted[:1]), f"details of the package {wanted[0]} ({tool})")]


@rules("package #path", opt="file find owner which install provide")
def owner(r, p):
    """Which installed package a file belongs to."""
    path = r.file()
    if not path or not path.startswith("/"):
        return None
    tool = p.packager()
    command = {"apt": "dpkg -S", "dnf": "rpm -qf", "yum": "rpm -qf", "pacman": "pacman -Qo",
               "zypper": "rpm -qf", "apk": "apk info --who-owns", "brew": "ls -l"}[tool]
    return [(f"{command} {q(path)}", f"the package that installed {path}")]
