"""The wrapper around signal-cli; knows nothing of Flask or HTTP.

One job per module: :mod:`.commands` builds each operation as a :class:`Command` (method and
params keyed by signal-cli's option dests), :mod:`.grammar` writes a command as argv for the
installed release, :mod:`.process` is the only place that starts processes (account lock,
process slot, time limit, spool files, ``link`` in the background), :mod:`.results` turns exit
codes and output into results or the exceptions of :mod:`.errors`, :mod:`.versions` remembers
signal-cli's version, and :class:`SignalCli` (:mod:`.client`) has one method per operation.
"""

from .client import ATTACHMENT_ID, SignalCli
from .commands import Command, GroupId
from .errors import (
    AccountBusy,
    BadOutput,
    Busy,
    CaptchaRejected,
    CaptchaRequired,
    ConfigDirUnusable,
    DaemonGone,
    DaemonUnavailable,
    NotFound,
    NotRegistered,
    NotSupported,
    NoVerificationSession,
    RateLimited,
    ServerError,
    ServiceBusy,
    SignalCliError,
    SignalCliNotFound,
    SignalCliTimeout,
    UnexpectedError,
    UnsafeArgument,
    Untrusted,
    UserError,
)
from .results import strip_log_lines

__all__ = [
    "ATTACHMENT_ID",
    "AccountBusy",
    "BadOutput",
    "Busy",
    "CaptchaRejected",
    "CaptchaRequired",
    "Command",
    "ConfigDirUnusable",
    "DaemonGone",
    "DaemonUnavailable",
    "GroupId",
    "NoVerificationSession",
    "NotFound",
    "NotRegistered",
    "NotSupported",
    "RateLimited",
    "ServerError",
    "ServiceBusy",
    "SignalCli",
    "SignalCliError",
    "SignalCliNotFound",
    "SignalCliTimeout",
    "UnexpectedError",
    "UnsafeArgument",
    "Untrusted",
    "UserError",
    "strip_log_lines",
]
