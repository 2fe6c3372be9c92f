"""What every handler module shares: the registry of handlers and small checks."""

from ..errors import CommandError

# How often waiting loops (receive idle timeout, link) look for news.
POLL_SECONDS = 0.05


HANDLERS = {}


def handler(name):
    """Register the function that performs subcommand *name*."""

    def register(fn):
        HANDLERS[name] = fn
        return fn

    return register


def require_primary(acct):
    """Refuse a command the real one only runs on the primary device."""
    if acct.get("device_id", 1) != 1:
        raise CommandError(1, "This command doesn't work on linked devices.")
