"""What Caro's shell hook adds to every command, per shell.

Each shell runs interactively on a pseudo-terminal (so the real prompt hooks
fire: PS0/PROMPT_COMMAND, preexec/precmd, fish events, PS1), is fed N trivial
commands (``:`` or ``true``) as typeahead, and is timed from the first
keystroke until a sentinel command has answered -- once without Caro and once
with ``caro init SHELL`` loaded. Prints the milliseconds added per command and
that figure against the 2 ms requirement (0.5 ms goal). No asserts.

    .venv/bin/python benchmarks/bench_hook_cost.py [--n 1000] [--repeat 3]
"""

import argparse
import os
import pty
import select
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

PROMPT = "caro-bench"
GOAL_MS = 2.0


def init_script(shell, home):
    import importlib

    module = importlib.import_module(f"caro_plugins.shell_{shell}")
    return module.caro_shell_init_script(shell=shell, node=SimpleNamespace(home=home))


def setup(shell, tmp, hooked):
    """argv and environment of an interactive ``shell`` with or without Caro."""
    home = tmp / "caro-home"
    user = tmp / "home"
    user.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(user), "TERM": "dumb",
           "LANG": "C.UTF-8", "CARO_HOME": str(home), "USER": "bench",
           "XDG_CONFIG_HOME": str(user / ".config"), "XDG_DATA_HOME": str(user / ".local/share")}
    load = ""
    if hooked:
        script = tmp / f"caro.{shell}"
        script.write_text(init_script(shell, home))
        load = f"source {script}" if shell == "fish" else f". {script}"
    if shell == "bash":
        rc = user / ".bashrc"
        rc.write_text(f"PS1='{PROMPT}$ '\nHISTFILE=/dev/null\n{load}\n")
        return ["bash", "--noprofile", "--rcfile", str(rc), "-i"], env, ":"
    if shell == "zsh":
        (user / ".zshrc").write_text(f"PS1='{PROMPT}%# '\nunset HISTFILE\n{load}\n")
        env["ZDOTDIR"] = str(user)
        return ["zsh", "-i"], env, ":"
    if shell == "fish":
        rc = user / ".config/fish/config.fish"
        rc.parent.mkdir(parents=True, exist_ok=True)
        rc.write_text(f"set -g fish_greeting ''\nfunction fish_prompt; echo -n '{PROMPT}> '; end\n{load}\n")
        return ["fish", "-i"], env, "true"
    if shell == "sh":
        rc = user / ".shrc"
        rc.write_text(f"PS1='{PROMPT}$ '\n{load}\n")
        env["ENV"] = str(rc)
        return ["dash", "-i"], env, ":"
    raise ValueError(shell)


def read_until(fd, marker, timeout):
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(marker)
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                raise TimeoutError(marker) from None
            seen = seen[-4096:] + chunk
    return seen


def run_once(shell, n, hooked):
    with tempfile.TemporaryDirectory() as tmp:
        argv, env, noop = setup(shell, Path(tmp), hooked)
        pid, fd = pty.fork()
        if pid == 0:
            os.execvpe(argv[0], argv, env)
        try:
            read_until(fd, PROMPT.encode(), 20)
            sentinel = "echo BENCH-(math 6 \\* 7)" if shell == "fish" else "echo BENCH-$((6*7))"
            lines = [noop] * n + [sentinel]
            start = time.perf_counter()
            for i in range(0, len(lines), 50):  # small writes: the tty input queue is ~4 KiB
                os.write(fd, ("\n".join(lines[i:i + 50]) + "\n").encode())
                read_until(fd, PROMPT.encode(), 60) if i + 50 < len(lines) else None
            read_until(fd, b"BENCH-42", 120)
            elapsed = time.perf_counter() - start
            records = 0
            spool = Path(tmp) / "caro-home" / "spool"
            if spool.is_dir():
                records = sum(p.read_bytes().count(b"caro1\0") for p in spool.glob("*.spool"))
            return elapsed, records
        finally:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            os.close(fd)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("shells", nargs="*", default=["bash", "zsh", "fish", "sh"])
    args = parser.parse_args()
    print(f"{'shell':6} {'plain ms/cmd':>12} {'caro ms/cmd':>12} {'added ms':>9} {'vs 2 ms':>8}  records")
    for shell in args.shells:
        binary = "dash" if shell == "sh" else shell
        if shutil.which(binary) is None:
            print(f"{shell:6} skipped: {binary} not installed")
            continue
        plain = min(run_once(shell, args.n, False)[0] for _ in range(args.repeat))
        runs = [run_once(shell, args.n, True) for _ in range(args.repeat)]
        hooked = min(r[0] for r in runs)
        added = (hooked - plain) / args.n * 1000
        print(f"{shell:6} {plain / args.n * 1000:12.3f} {hooked / args.n * 1000:12.3f} "
              f"{added:9.3f} {added / GOAL_MS:7.0%}  {runs[0][1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
