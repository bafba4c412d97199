"""Writing spool records the way the shell hooks do, for tests that start after the shell."""

import time

from caro_core.spool import spool_dir


def spool_record(command, exit_code=0, duration_ms=5, cwd="/home/ann/project", start=None,
                 shell="bash", session="bash-100-1", elevated=False):
    start = time.time() if start is None else start
    fields = [b"caro1", f"{start:.6f}".encode(), str(duration_ms).encode(), str(exit_code).encode(),
              shell.encode(), session.encode(), b"ann", b"1" if elevated else b"0", b"0",
              cwd.encode() if isinstance(cwd, str) else cwd,
              command.encode() if isinstance(command, str) else command]
    return b"".join(f + b"\0" for f in fields)


def write_spool(home, *records, session="bash-100-1"):
    directory = spool_dir(home)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(directory / f"{session}.spool", "ab") as f:
        for r in records:
            f.write(r)
