"""``python -m caro_core``: the ``caro`` CLI (how ``caro daemon start`` launches the daemon)."""

from .cli import main

main()
