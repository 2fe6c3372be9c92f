"""Logging: the service's log level, set at start-up and changeable at run time by any worker."""

import logging

_LOGGER_NAME = "signal_rest"


def configure(level):
    """Give the service's logger a handler (unless the host app did) and ``level``."""
    logger = logging.getLogger(_LOGGER_NAME)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    set_level(level)


def set_level(level):
    """Set the level (``"DEBUG"`` … ``"CRITICAL"``) of the service's logger."""
    logging.getLogger(_LOGGER_NAME).setLevel(level.upper())


def current_level():
    """The level in force, by name."""
    return logging.getLevelName(logging.getLogger(_LOGGER_NAME).getEffectiveLevel())
