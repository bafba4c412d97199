"""Build guard.wasm from guard.wat with wasmtime's wat2wasm: ``python build.py``.

The build is reproducible (same text, same bytes); a test checks that the
committed guard.wasm equals a fresh build.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "guard.wat"
TARGET = HERE / "guard.wasm"


def build():
    """The module's bytes, compiled from :data:`SOURCE`."""
    import wasmtime

    return bytes(wasmtime.wat2wasm(SOURCE.read_text(encoding="utf-8")))


if __name__ == "__main__":
    TARGET.write_bytes(build())
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")
