"""What the service can say about its signal-cli: whether that release can work with Signal's
servers today, and the deep health check, as plain data.

The minimum is 0.14.5 (``SIGNAL_CLI_0.14.md`` §8): primary devices advertise the SPQR capability
only from 0.14.1, receiving sealed-sender messages needed a fix and PINs a new SVR2 enclave in
0.14.5, and 0.14.4 crashes on every start. An older signal-cli still runs every command offline,
so the service keeps working (tests, local data) and only says, loudly, that it cannot register.
This holds for any signal-cli, provisioned or named by ``SIGNAL_CLI_BIN``.
"""

import dataclasses

from .errors import BadOutput, SignalCliError
from .grammar import version_tuple
from .versions import parse_version

#: the oldest release that works with Signal's servers today
MINIMUM_VERSION = "0.14.5"
#: what to do about an older one
FIX = (
    "set SIGNAL_CLI_VERSION=0.14.6 and re-run `make provision` on a machine that reaches github.com, "
    "or point SIGNAL_CLI_BIN at a current signal-cli"
)
#: releases with a defect of their own, said before the general reason
BROKEN = {"0.14.4": "crashes on every start"}


@dataclasses.dataclass(frozen=True)
class Support:
    """signal-cli's version (None: unknown, ``error`` says why), whether it can work with Signal's
    servers (None: unknown) and, when it cannot, the warning that says why and what to do."""

    version: str | None
    supported: bool | None
    warning: str | None
    error: str | None = None


def assess(version) -> Support:
    """Whether signal-cli ``version`` (``"0.13.19"``; None: unknown) can work with Signal's servers."""
    if version is None:
        return Support(None, None, None)
    if version_tuple(version) >= version_tuple(MINIMUM_VERSION):
        return Support(version, True, None)
    defect = f"it {BROKEN[version]}, and " if version in BROKEN else ""
    warning = (
        f"signal-cli {version} can serve tests and offline work but cannot register or stay registered "
        f"with Signal: {defect}Signal's servers need {MINIMUM_VERSION} or newer (the SPQR capability of "
        f"0.14.1, the sealed-sender fix and new PIN enclave of 0.14.5). Fix: {FIX}."
    )
    return Support(version, False, warning)


def support(version_of) -> Support:
    """:func:`assess` the version that ``version_of()`` returns; never raises (an unknown version
    is ``Support(None, None, None, error)``)."""
    try:
        version = version_of()
    except SignalCliError as error:
        return Support(None, None, None, error.message)
    return assess(version)


def log_support(found, logger):
    """Log, at WARNING, that signal-cli cannot work with Signal's servers (or that its version is
    unknown); at INFO which release runs. For the service's start."""
    if found.error is not None:
        logger.warning("signal-cli's version is unknown: %s", found.error)
    elif found.warning is not None:
        logger.warning("%s", found.warning)
    else:
        logger.info("signal-cli %s", found.version)


def health_checks(cli) -> dict:
    """The deep health check of SignalCli ``cli``: ``{"signal_cli": {...}, "config_dir": {...}}``,
    each with ``ok``; signal-cli's check also says whether it can work with Signal's servers."""
    return {"signal_cli": _check_signal_cli(cli), "config_dir": _check_config_dir(cli)}


def _check_signal_cli(cli):
    try:
        output = cli.probe()
    except SignalCliError as error:
        return {"ok": False, "error": error.message}
    try:
        found = assess(parse_version(output))
    except BadOutput:
        found = assess(None)
    return {"ok": True, "version": output, "supported": found.supported, "warning": found.warning}


def _check_config_dir(cli):
    try:
        cli.check_config_dir()
    except SignalCliError as error:
        return {"ok": False, "error": error.message}
    return {"ok": True, "path": str(cli.config_dir)}
