"""Bounded waiting for tests: poll a condition until it holds or the time is up."""

import time


def wait_for(predicate, timeout=15.0, step=0.05):
    """The first true value of ``predicate()`` within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None
