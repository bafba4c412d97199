"""What area modules declare: intents (the concepts a request names, a builder) and the platform.

An area module builds one :class:`Rules` and decorates each builder::

    rules = Rules("disk")

    @rules("size dir", opt="disk large", avoid="docker")
    def dir_size(r, p):
        return [(f"du -sh {r.dir()}", "total size of the directory")]

``need`` lists concept groups, all required, alternatives joined by ``|``
(concepts are the folded words of :mod:`.words`; ``#size``, ``#path``… stand
for a parameter of that kind); ``opt`` lists concepts that also belong to the
intent; ``avoid`` concepts rule it out.  A builder gets the
:class:`~.request.Request` and the :class:`Platform` and returns
``(command, explanation)`` pairs, best first, or nothing when the request
lacks a parameter it needs; it may take unknown words as names
(``install htop``) with :meth:`~.request.Request.free`.
"""

from collections import namedtuple


class Intent(namedtuple("Intent", "name need opt avoid build")):
    """One task a request can ask for: ``need`` holds frozensets of concepts, each of which
    must be matched; ``opt`` and ``avoid`` are frozensets; ``build`` is the builder."""

    __slots__ = ()

    @property
    def vocabulary(self):
        """Every concept this intent explains."""
        return self.opt.union(*self.need)


class Rules:
    """The intents of one area, in declaration order."""

    def __init__(self, area):
        self.area = area
        self.intents = []

    def __call__(self, need, opt="", avoid=""):
        """Decorator: declare the decorated builder as an intent of this area."""
        def register(build):
            groups = tuple(frozenset(group.split("|")) for group in need.split())
            self.intents.append(Intent(f"{self.area}.{build.__name__}", groups,
                                       frozenset(opt.split()), frozenset(avoid.split()), build))
            return build
        return register


#: Linux package managers, in the order they are preferred when several exist.
LINUX_PACKAGERS = ("apt", "dnf", "yum", "pacman", "zypper", "apk")


class Platform:
    """The target system as builders see it: GNU or BSD tools, which programs exist."""

    def __init__(self, context):
        self.mac = context.platform == "darwin"
        self.gnu = bool(context.gnu)
        self.programs = frozenset(context.programs or ())

    def has(self, program):
        """True when ``program`` is on PATH, or when PATH was not looked at."""
        return not self.programs or program in self.programs

    def found(self, program):
        """True only when ``program`` was seen on PATH (for optional extras such as ``fd``)."""
        return program in self.programs

    def packager(self):
        """The system package manager: ``brew`` on macOS, else the first Linux one found."""
        if self.mac:
            return "brew"
        return next((name for name in LINUX_PACKAGERS if self.found(name)), "apt")

    def container_tool(self):
        """``docker``, or ``podman`` when only podman is installed."""
        if self.programs and "docker" not in self.programs and "podman" in self.programs:
            return "podman"
        return "docker"
