"""The exceptions of the wrapper: one class per failure a caller treats differently.

Each carries the redacted argv, the exit status and what signal-cli printed. ``signal_rest.errors``
maps every class onto an HTTP status; nothing here knows of HTTP.
"""

#: how long a client should wait before retrying when an account or the service is busy
BUSY_RETRY_AFTER = 5


class SignalCliError(Exception):
    """Base class: a signal-cli run failed. Carries the redacted argv, exit status and output."""

    def __init__(self, message, *, argv=None, returncode=None, stdout="", stderr="", result=None):
        super().__init__(message)
        self.message = message
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        #: the JSON signal-cli printed before failing (the send family prints its results)
        self.result = result
        #: the account the run was for, if any (set by the client)
        self.account = None


class SignalCliNotFound(SignalCliError):
    """Raised when the signal-cli executable is missing or not executable."""


class ConfigDirUnusable(SignalCliError):
    """Raised when the config dir (or the service's lock dir in it) cannot be created or written."""


class Busy(SignalCliError):
    """Base of the "try again shortly" failures; ``retry_after`` is in seconds."""

    def __init__(self, message, *, retry_after=BUSY_RETRY_AFTER, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class AccountBusy(Busy):
    """Raised when another run holds the account for longer than the lock timeout."""


class ServiceBusy(Busy):
    """Raised when the service already runs its maximum of signal-cli processes for too long."""


class DaemonUnavailable(Busy):
    """Raised in json-rpc mode while signal-cli's daemon is starting, restarting or not running."""


class DaemonGone(Busy):
    """Raised in json-rpc mode when the daemon stopped while it was handling the request."""


class SignalCliTimeout(SignalCliError):
    """Raised when signal-cli ran past its time limit; it has been killed."""


class UnsafeArgument(SignalCliError):
    """Raised when a value would reach argv where signal-cli could read it as an option."""


class UserError(SignalCliError):
    """Raised on exit 1: signal-cli refused the request (bad input, not registered, ...)."""


class NotRegistered(UserError):
    """Raised when the account is not registered with this signal-cli."""


class CaptchaRequired(UserError):
    """Raised when Signal asks for a captcha before registering."""


class CaptchaRejected(UserError):
    """Raised when Signal rejected the captcha of a rate-limit challenge (exit 6 since 0.14.3, exit 1 before)."""


class NoVerificationSession(UserError):
    """Raised when ``verify`` finds no registration to verify (exit 3 since 0.13.21)."""


class NotFound(UserError):
    """Raised when the thing an operation acts on (group, contact, attachment, avatar, device) does not exist."""


class Untrusted(SignalCliError):
    """Raised on exit 4: every recipient's identity key is untrusted."""

    def __init__(self, message, *, recipients=(), **kwargs):
        super().__init__(message, **kwargs)
        self.recipients = list(recipients)


class RateLimited(SignalCliError):
    """Raised on exit 5: Signal rate-limits the account; may carry challenge tokens."""

    def __init__(self, message, *, challenge_tokens=(), retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        self.challenge_tokens = list(challenge_tokens)
        self.retry_after = retry_after


class ServerError(SignalCliError):
    """Raised on exit 3: a network, server or storage error inside signal-cli."""


class UnexpectedError(SignalCliError):
    """Raised on exit 2 or an unknown exit code: signal-cli failed unexpectedly."""


class BadOutput(SignalCliError):
    """Raised when signal-cli exited 0 but printed something that is not the expected JSON."""


class NotSupported(SignalCliError):
    """Raised when the installed signal-cli is too old for a command or option."""
