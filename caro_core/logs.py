"""The node's log file, ``$CARO_HOME/caro.log``, rotated by size.

The daemon logs through the ``caro`` logger; the CLI appends tracebacks of
internal errors to the same file.  Rotation keeps ``caro.log.1`` … ``caro.log.N``.
"""

import logging
import logging.handlers

LOG_FILE = "caro.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
LEVELS = ("debug", "info", "warning", "error")


def configure(home, max_bytes, backups, level="info", stream=None):
    """Send the ``caro`` logger to the rotating log file (and ``stream`` from WARNING up).

    Returns the handlers added, so that :func:`release` can detach them.
    """
    logger = logging.getLogger("caro")
    handler = logging.handlers.RotatingFileHandler(
        home / LOG_FILE, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(FORMAT))
    handlers = [handler]
    if stream is not None:
        echo = logging.StreamHandler(stream)
        echo.setLevel(logging.WARNING)
        echo.setFormatter(logging.Formatter("caro: %(levelname)s: %(message)s"))
        handlers.append(echo)
    for h in handlers:
        logger.addHandler(h)
    logger.setLevel(getattr(logging, level.upper()))
    logger.propagate = False
    return handlers


def release(handlers):
    logger = logging.getLogger("caro")
    for h in handlers:
        logger.removeHandler(h)
        h.close()
