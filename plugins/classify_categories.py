"""Built-in categories: which tool family a command line belongs to.

The category is that of the line's *main* program: the first command, in
order, that is not trivial shell plumbing (``cd``, ``echo``, ``export``,
``sleep``…) and not a mere carrier of a payload (``bash -c '…'``, ``eval``,
whose payload commands are considered instead; a payload that is computed at
run time leaves the carrier deciding).  The remote command of ``ssh host cmd``
does not decide: that line is ``network``.  Wrappers (``sudo``,
``env``, ``time``…) are already looked through by the parser, and commands
inside ``$(…)`` substitutions or function bodies never decide.  When every
command is trivial, the first one decides.  A line that only elevates
(``sudo -i``, ``sudo su``) is ``system``; a fork bomb is ``system``.

This plugin is ``trylast``: skills and plugins that know more tools answer first.
"""

from caro_core import hookimpl

_FAMILIES = {
    "git": "git gh hub tig lazygit git-lfs",
    "docker": "docker podman docker-compose podman-compose buildah skopeo nerdctl ctr crictl "
              "dive lazydocker",
    "kubernetes": "kubectl helm k9s kustomize oc minikube kind k3s k3d kubectx kubens stern "
                  "kubeadm eksctl argocd istioctl",
    "npm": "npm npx yarn pnpm node nvm bun deno corepack",
    "cargo": "cargo rustc rustup rustfmt clippy-driver cargo-clippy",
    "file-ops": "ls cp mv rm rmdir unlink find fd chmod chown chgrp mkdir touch ln tar zip unzip gzip "
                "gunzip bzip2 xz unxz 7z rsync cat less more head tail tree du df stat file "
                "realpath readlink basename dirname shred truncate locate updatedb wc sort uniq "
                "cut tr diff cmp patch split install mktemp rename tee bat exa eza",
    "network": "curl wget ssh scp sftp ping ping6 traceroute tracepath mtr dig nslookup host "
               "nc ncat netcat socat telnet ip ifconfig ss netstat nmap iptables ip6tables nft "
               "ufw firewall-cmd tcpdump arp route iw nmcli whois ftp http https openssl "
               "ssh-keygen ssh-copy-id ssh-add autossh",
    "system": "systemctl service journalctl apt apt-get aptitude dpkg dnf yum rpm zypper pacman "
              "apk brew snap flatpak ps kill killall pkill top htop btop free uptime uname mount "
              "umount dd mkfs wipefs fdisk parted sgdisk lsblk blkid shutdown reboot halt "
              "poweroff init sudo su doas passwd useradd userdel usermod groupadd chsh crontab "
              "modprobe insmod rmmod lsmod dmesg sysctl setenforce getenforce hostnamectl "
              "timedatectl lsof vmstat iostat swapon swapoff mkswap chattr visudo history whoami id",
    "editor": "vim vi nvim nano emacs emacsclient code codium subl micro helix hx kak ed gedit "
              "kate pico joe mcedit sudoedit",
}

#: program -> category
CATEGORIES = {program: family for family, programs in _FAMILIES.items()
              for program in programs.split()}

#: Programs that never make a line's category when something else runs too.
TRIVIAL = frozenset("cd pushd popd echo printf true false : export unset set source . alias "
                    "unalias sleep clear pwd test [ wait read exit return shift local declare "
                    "typeset trap ulimit umask hash type which".split())

#: Commands nested this way are run by the main command (or elsewhere, for
#: ``ssh host cmd``), never the main command themselves.
_NOT_MAIN = frozenset({"cmdsub", "procsub", "function", "ssh"})


def main_command(parsed):
    """The command that decides the line's category, or None when nothing runs."""
    running = [c for c in parsed.simple_commands if c.origin not in _NOT_MAIN and c.program]
    candidates = [c for c in running if not c.runs_payload and "$" not in c.program]
    for command in candidates:
        if command.program not in TRIVIAL:
            return command
    return (candidates or running or [None])[0]


def category_of(program):
    """The category of one program name, ``other:<program>`` when unknown."""
    if program.startswith("mkfs.") or program.startswith("fsck"):
        return "system"
    return CATEGORIES.get(program, f"other:{program}")


@hookimpl(trylast=True)
def caro_classify_category(command):
    """Name the category of the line's main program (see the module docstring)."""
    if command.fork_bomb:
        return "system"
    main = main_command(command)
    if main is None:
        return "other:shell"
    return category_of(main.program)
