"""What a finished signal-cli run means: its exit status and output as a result or an exception.

Exit codes (SIGNAL_CLI.md §3, SIGNAL_CLI_0.14.md §5): 0 success, 1 user error, 2 unexpected,
3 server or IO error, 4 untrusted identity, 5 rate limit, 6 captcha rejected (0.14.3+).
The send family prints its per-recipient results before a
non-zero exit; they travel with the exception. Secrets are removed from everything kept.
"""

import json
import logging
import re
import shlex
from dataclasses import dataclass, field

from .errors import (
    BadOutput,
    CaptchaRejected,
    CaptchaRequired,
    NotFound,
    NotRegistered,
    NoVerificationSession,
    RateLimited,
    ServerError,
    SignalCliTimeout,
    UnexpectedError,
    Untrusted,
    UserError,
)

log = logging.getLogger(__name__)

#: stderr lines that are logging, not messages: signal-cli's (``INFO  SignalAccount - Config file
#: is in use…``) and the JVM's own (``[0.004s][warning][aot] …``)
_LOG_LINE = re.compile(r"^(TRACE|DEBUG|INFO|WARN|WARNING|ERROR)\s+\S+ - |^\[\d+\.\d+s\]\[\w+\s*\]")
#: exit 2 texts of sendStory (0.14.6) that are the request's fault, not signal-cli's
_STORY_REFUSED = re.compile(r"No eligible contacts found for story delivery|Stories only support image and video")
_NOT_FOUND = re.compile(r"Group not found|Could not find (attachment|avatar)|Unknown group", re.I)


@dataclass
class Finished:
    """A signal-cli run that ended: how, what it printed, and (for receive) the lines it wrote."""

    argv: list
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    #: the JSON lines of a spooled run (receive), parsed
    items: list = field(default_factory=list)
    seconds: float = 0.0


def strip_log_lines(stderr):
    """Return stderr without signal-cli's ``LEVEL Logger - ...`` lines, stripped."""
    return "\n".join(line for line in stderr.splitlines() if not _LOG_LINE.match(line)).strip()


def hide(text, secrets):
    """``text`` with every secret (as a whole word, not inside a longer one) replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(str(secret))}(?![0-9A-Za-z])", "***", text)
    return text


def redact(argv, secrets):
    """``argv`` with every secret hidden."""
    return [hide(word, secrets) for word in argv]


def interpret(command, finished, cmd_timeout):
    """The result of a finished run of ``command``, or the :class:`SignalCliError` it amounts to.

    A spooled run (receive) returns the lines it wrote even when it then failed or hit the time
    limit: a received message is never dropped.
    """
    spooled = command.output == "lines"
    if spooled and finished.timed_out and finished.returncode == 0:
        # stopped at the time limit, receive ended cleanly (SIGTERM): everything it had is here
        return finished.items
    if spooled and finished.items and (finished.timed_out or finished.returncode != 0):
        log.warning(
            "signal-cli %s after %d lines (exit %s); keeping them: %s\n%s",
            "timed out" if finished.timed_out else "failed",
            len(finished.items),
            finished.returncode,
            shlex.join(finished.argv),
            finished.stderr,
        )
        return finished.items
    if finished.timed_out:
        log.warning("signal-cli ran past %ss and was stopped: %s", cmd_timeout, shlex.join(finished.argv))
        raise SignalCliTimeout(
            f"signal-cli did not finish within {cmd_timeout:g} seconds and was stopped.",
            argv=finished.argv,
            stdout=finished.stdout,
            stderr=finished.stderr,
        )
    if spooled and finished.returncode == 0:
        return finished.items
    return result(command, finished.argv, finished.returncode, finished.stdout, finished.stderr)


def result(command, argv, returncode, stdout, stderr):
    """Parse the output of a successful run, or raise the error its exit code stands for."""
    details = dict(argv=argv, returncode=returncode, stdout=stdout, stderr=stderr)
    if returncode == 0:
        try:
            return parse(command, stdout)
        except ValueError:
            log.warning("signal-cli printed unexpected output: %r (stderr: %s)", stdout[:500], stderr)
            raise BadOutput("signal-cli printed output that is not the expected JSON.", **details) from None
    printed = _try_json(stdout)
    message = hide(strip_log_lines(stderr), command.secrets)
    details["result"] = printed
    if returncode == 1:
        failures = {r.get("type") for r in send_results(printed)}
        if failures == {"NETWORK_FAILURE"}:
            # every recipient failed for a network reason: worth retrying, not the request's fault
            raise ServerError(message or "Sending failed for network reasons.", **details)
        raise _user_error(message, details, command.target)
    if returncode == 4:
        untrusted = [r["recipientAddress"] for r in send_results(printed) if r.get("type") == "IDENTITY_FAILURE"]
        raise Untrusted(message or "Every recipient's identity is untrusted.", recipients=untrusted, **details)
    if returncode == 5:
        limited = [r for r in send_results(printed) if r.get("type") == "RATE_LIMIT_FAILURE"]
        waits = [r["retryAfterSeconds"] for r in limited if r.get("retryAfterSeconds")]
        raise RateLimited(
            message or "Signal rate-limits this account.",
            challenge_tokens=[r["token"] for r in limited if r.get("token")],
            retry_after=max(waits) if waits else None,
            **details,
        )
    if returncode == 6:
        raise CaptchaRejected(message or "Signal rejected the captcha.", **details)
    log.warning("signal-cli failed with exit %s: %s\n%s", returncode, shlex.join(argv), stderr)
    if returncode == 3 and "[404]" in message and command.target:
        # Signal's servers do not know the thing (removeDevice of an unknown device)
        raise NotFound(message, **details)
    if returncode == 2 and _STORY_REFUSED.search(message):
        raise UserError(message, **details)
    if returncode == 3 and "No registration verification session active" in message:
        # 0.13.21+: verify before register is the caller's mistake, not a server failure
        raise NoVerificationSession(message, **details)
    if returncode == 3:
        raise ServerError(_first_line(message) or "signal-cli could not reach Signal's servers.", **details)
    raise UnexpectedError(
        f"signal-cli failed unexpectedly (exit {returncode}): {_first_line(message) or 'no message'}",
        **details,
    )


def json_lines(buffer, source):
    """Take every complete line out of ``buffer`` (a bytearray); yield (text, parsed) for each JSON
    line, logging any other (``source`` names where it came from)."""
    while (end := buffer.find(b"\n")) >= 0:
        line = bytes(buffer[:end]).decode("utf-8", "replace").strip()
        del buffer[: end + 1]
        if not line:
            continue
        try:
            item = json.loads(line)
        except ValueError:
            log.warning("ignoring a line of %s that is not JSON: %r", source, line[:200])
            continue
        yield line, item


def parse(command, stdout):
    """The output of a successful run: text, parsed JSON, or None for no output."""
    if command.output == "text":
        return stdout
    if not stdout.strip():
        return None
    return json.loads(stdout)


def send_results(printed):
    """The per-recipient entries of a send result (none for anything else)."""
    return printed.get("results") or [] if isinstance(printed, dict) else []


def _try_json(stdout):
    try:
        return json.loads(stdout) if stdout.strip() else None
    except ValueError:
        return None


def _first_line(text):
    return text.strip().splitlines()[0] if text.strip() else ""


def _user_error(message, details, target):
    if "signal-cli: error:" in message:
        # an argv signal-cli cannot parse: the usage text before the error says nothing useful
        log.error("signal-cli could not parse %s:\n%s", details.get("argv"), message)
        message = "signal-cli refused the arguments: " + message.split("signal-cli: error:", 1)[1].strip()
    if "Captcha rejected" in message:
        # before 0.14.3 a rejected challenge captcha was an exit 1 with this text
        return CaptchaRejected(message, **details)
    if "Captcha required" in message or "Invalid captcha" in message:
        return CaptchaRequired(message, **details)
    if "is not registered" in message and "User" in message:
        return NotRegistered(message, **details)
    if target and _NOT_FOUND.search(message):
        return NotFound(message, **details)
    return UserError(message or "signal-cli refused the request.", **details)
