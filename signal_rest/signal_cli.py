"""The only module that starts processes: signal-cli's argv, its runs, its output, its errors.

Every request runs ``signal-cli --config DIR -a ACCOUNT -o json SUBCOMMAND ...`` once. Argv is built
by small pure functions (``*_command``) following the safe recipe: free text goes through stdin or
the long ``--name=value`` form, list values and positionals are checked to be plain words, and
positionals always follow ``--``. :class:`SignalCli` runs a command under a per-account file lock
(signal-cli itself waits forever for a busy account), with a time limit after which the whole
process group is killed, and turns exit codes and output into Python data or a
:class:`SignalCliError`. This module knows nothing of Flask or HTTP.
"""

import base64
import contextlib
import fcntl
import json
import logging
import os
import random
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import filelock

log = logging.getLogger(__name__)

#: stderr lines that are logging, not messages: signal-cli's (``INFO  SignalAccount - Config file
#: is in use…``) and the JVM's own (``[0.004s][warning][aot] …``)
_LOG_LINE = re.compile(r"^(TRACE|DEBUG|INFO|WARN|WARNING|ERROR)\s+\S+ - |^\[\d+\.\d+s\]\[\w+\s*\]")
_VERSION = re.compile(r"(\d+\.\d+\.\d+)")
#: a file name signal-cli gives a received attachment: its CDN key, unpadded base64url, so it may start
#: with '-' (these ids only ever name files in the attachments folder, never reach argv)
ATTACHMENT_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.=-]{0,254}\Z")
#: how long a client should wait before retrying when an account is busy
BUSY_RETRY_AFTER = 5
#: seconds between SIGTERM and SIGKILL when a run is stopped (receive ends cleanly on SIGTERM)
STOP_GRACE = 3.0


# --- errors -----------------------------------------------------------------------------------


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


class SignalCliNotFound(SignalCliError):
    """Raised when the signal-cli executable is missing or not executable."""


class ConfigDirUnusable(SignalCliError):
    """Raised when the config dir (or the service's lock dir in it) cannot be created or written."""


class AccountBusy(SignalCliError):
    """Raised when another run holds the account for longer than the lock timeout."""

    def __init__(self, message, *, retry_after=BUSY_RETRY_AFTER, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceBusy(SignalCliError):
    """Raised when the service already runs its maximum of signal-cli processes for too long."""

    def __init__(self, message, *, retry_after=BUSY_RETRY_AFTER, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


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


class NotFound(UserError):
    """Raised when the thing a request names (group, contact, attachment, avatar) does not exist."""


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
    """Raised when the installed signal-cli is too old for a feature."""


# --- values -----------------------------------------------------------------------------------


class GroupId(str):
    """A group id in signal-cli's own form: standard base64 of the group's raw id."""


@dataclass(frozen=True)
class Command:
    """One signal-cli invocation: its words after the global options, and what goes with them."""

    args: list
    #: bytes for stdin (the message text), or None for a closed stdin
    stdin: bytes = None
    #: "json" (one document, or nothing), "lines" (JSON lines) or "text"
    output: str = "json"
    #: values that must never appear in logs or error messages (PINs, codes, captchas, tokens)
    secrets: tuple = ()
    #: whether the command runs for one account (``-a``); multi-account commands do not
    account: bool = True
    #: seconds this command may take beyond the usual time limit (receive waits on purpose)
    extra_time: float = 0.0
    #: what the command acts on by name ("group", "contact", "device", "recipient"): signal-cli's
    #: "not found" for it is :class:`NotFound`; without one, a group missing among the recipients
    #: of a send is a plain :class:`UserError`
    target: str = None


def _plain(value):
    """Return ``value`` if it is safe as a separate argv word, else raise :class:`UnsafeArgument`.

    A word that starts with ``-`` would be read as an option (SIGNAL_CLI.md §1.2); a NUL cannot
    be passed at all. Schemas refuse such values long before; this is the last line of defence.
    """
    value = str(value)
    if not value or value.startswith("-") or "\0" in value or "\n" in value:
        # the value itself stays out of the message: it may be a PIN or a verification code
        raise UnsafeArgument(
            "Refused a value that is empty, starts with '-' or holds a newline or NUL: signal-cli would misread it."
        )
    return value


def _opt(name, value):
    """``--name=value``: the one argv form that is safe for any text."""
    value = str(value)
    if "\0" in value:
        raise UnsafeArgument(f"Refused to pass a NUL character in {name}.")
    return f"{name}={value}"


def _given(*options):
    """``--name=value`` for each ``(name, value)`` whose value is given (not None)."""
    return [_opt(name, value) for name, value in options if value is not None]


def _list(name, values):
    """A list option (``-g A B``); every value must be a plain word."""
    return [name, *(_plain(v) for v in values)] if values else []


def _positionals(values):
    """``--`` and the positionals, so none of them can act as an option."""
    return ["--", *(_plain(v) for v in values)]


def _flag(name, enabled):
    return [name] if enabled else []


def _split_recipients(recipients):
    """Split mixed recipients into group ids and individual recipients (numbers, UUIDs, u:names)."""
    groups = [r for r in recipients if isinstance(r, GroupId)]
    others = [r for r in recipients if not isinstance(r, GroupId)]
    return groups, others


# --- command builders -------------------------------------------------------------------------


def version_command():
    """``--version``: reads no config and needs no account."""
    return Command(["--version"], output="text", account=False)


def list_accounts_command():
    """``listAccounts``: every account of the config dir (multi-account mode, no ``-a``)."""
    return Command(["listAccounts"], account=False)


def user_status_command(numbers):
    """``getUserStatus``: which of ``numbers`` are registered with Signal."""
    return Command(["getUserStatus", *_positionals(numbers)])


def send_command(
    recipients,
    message=None,
    *,
    attachments=(),
    mentions=(),
    text_styles=(),
    quote=None,
    sticker=None,
    edit_timestamp=None,
    preview=None,
    view_once=False,
    notify_self=False,
    target=None,
):
    """``send``: a message to any mix of numbers, UUIDs, usernames and groups.

    ``target="recipient"`` when the request names the one recipient as the thing it acts on (a
    missing group is then :class:`NotFound`). ``attachments`` and a preview image are paths this
    service created; ``mentions`` and
    ``text_styles`` are ``(start, length, x)`` triples; ``quote`` is a dict with ``timestamp``,
    ``author`` and optional ``message``, ``mentions``; ``preview`` one with ``url``, ``title``,
    optional ``description`` and ``image`` (a path).
    """
    groups, others = _split_recipients(recipients)
    args = ["send"]
    if message is not None:
        args.append("--message-from-stdin")
    args += _list("--attachment", attachments)
    args += _list("--mention", [f"{s}:{n}:{who}" for s, n, who in mentions])
    args += _list("--text-style", [f"{s}:{n}:{style}" for s, n, style in text_styles])
    if quote:
        args += [_opt("--quote-timestamp", quote["timestamp"]), _opt("--quote-author", quote["author"])]
        if quote.get("message") is not None:
            args.append(_opt("--quote-message", quote["message"]))
        args += _list("--quote-mention", [f"{s}:{n}:{who}" for s, n, who in quote.get("mentions", ())])
    if sticker:
        args.append(_opt("--sticker", sticker))
    if edit_timestamp is not None:
        args.append(_opt("--edit-timestamp", edit_timestamp))
    if preview:
        args += [_opt("--preview-url", preview["url"]), _opt("--preview-title", preview.get("title") or "")]
        if preview.get("description"):
            args.append(_opt("--preview-description", preview["description"]))
        if preview.get("image"):
            args.append(_opt("--preview-image", preview["image"]))
    args += _flag("--view-once", view_once)
    args += _flag("--notify-self", notify_self)
    args += _list("-g", groups)
    args += _positionals(others)
    stdin = message.encode("utf-8") if message is not None else None
    return Command(args, stdin=stdin, target=target)


def reaction_command(recipient, emoji, target_author, timestamp, *, remove=False):
    """``sendReaction``: add (or with ``remove`` take back) an emoji reaction to a message."""
    groups, others = _split_recipients([recipient])
    args = [
        "sendReaction",
        _opt("--emoji", emoji),
        _opt("--target-author", target_author),
        _opt("--target-timestamp", timestamp),
        *_flag("--remove", remove),
        *_list("-g", groups),
        *_positionals(others),
    ]
    return Command(args)


def list_groups_command(group_ids=()):
    """``listGroups``: every group of the account, or only ``group_ids`` (refreshed)."""
    return Command(["listGroups", *_list("-g", group_ids)], target="group" if group_ids else None)


def _group_settings(
    *,
    name=None,
    description=None,
    avatar=None,
    expiration=None,
    link=None,
    permissions=None,
    add_members=(),
    remove_members=(),
    add_admins=(),
    remove_admins=(),
):
    args = []
    args += _given(
        ("--name", name),
        ("--description", description),
        ("--avatar", avatar),
        ("--expiration", expiration),
        ("--link", link),
    )
    for key, option in (
        ("add_members", "--set-permission-add-member"),
        ("edit_group", "--set-permission-edit-details"),
        ("send_messages", "--set-permission-send-messages"),
    ):
        if permissions and permissions.get(key):
            args.append(_opt(option, permissions[key]))
    args += _list("--member", add_members)
    args += _list("--remove-member", remove_members)
    args += _list("--admin", add_admins)
    args += _list("--remove-admin", remove_admins)
    return args


def create_group_command(name, members, **settings):
    """``updateGroup`` without ``-g``: create a group; ``settings`` as for :func:`update_group_command`."""
    return Command(["updateGroup", *_group_settings(name=name, add_members=members, **settings)])


def update_group_command(group_id, **settings):
    """``updateGroup -g``: change a group (name, description, avatar path, expiration, link,
    permissions, members and admins to add or remove). With no settings it accepts a pending
    invitation to the group."""
    return Command(["updateGroup", *_list("-g", [group_id]), *_group_settings(**settings)], target="group")


def quit_group_command(group_id, *, delete=False):
    """``quitGroup``: leave a group; ``delete`` also removes its local data."""
    return Command(["quitGroup", *_list("-g", [group_id]), *_flag("--delete", delete)], target="group")


def join_group_command(uri):
    """``joinGroup``: join a group through its invite link."""
    return Command(["joinGroup", _opt("--uri", uri)])


def register_command(*, voice=False, captcha=None):
    """``register``: ask Signal for a verification code by SMS or voice call."""
    args = ["register", *_flag("--voice", voice)]
    if captcha:
        args.append(_opt("--captcha", captcha))
    return Command(args, secrets=(captcha,) if captcha else ())


def verify_command(code, *, pin=None):
    """``verify``: finish registering with the code Signal sent (and the PIN, if one is set)."""
    args = ["verify"]
    if pin:
        args.append(_opt("--pin", pin))
    args += _positionals([code])
    return Command(args, secrets=tuple(s for s in (code, pin) if s))


def update_profile_command(*, given_name=None, family_name=None, about=None, avatar=None, remove_avatar=False):
    """``updateProfile``: name, about text and avatar (a path) of the account's profile."""
    args = ["updateProfile"]
    args += _given(
        ("--given-name", given_name),
        ("--family-name", family_name),
        ("--about", about),
        ("--avatar", avatar),
    )
    args += _flag("--remove-avatar", remove_avatar)
    return Command(args)


def typing_command(recipient, *, stop=False):
    """``sendTyping``: show (or with ``stop`` end) the typing indicator in a conversation."""
    groups, others = _split_recipients([recipient])
    return Command(["sendTyping", *_flag("--stop", stop), *_list("-g", groups), *_positionals(others)])


def remote_delete_command(recipient, timestamp):
    """``remoteDelete``: delete a message one sent, for everyone in the conversation."""
    groups, others = _split_recipients([recipient])
    return Command(["remoteDelete", _opt("--target-timestamp", timestamp), *_list("-g", groups), *_positionals(others)])


def receipt_command(recipient, timestamp, *, receipt_type="read"):
    """``sendReceipt``: tell the sender a message was read or viewed."""
    args = ["sendReceipt", _opt("--target-timestamp", timestamp), _opt("--type", receipt_type)]
    return Command(args + _positionals([recipient]))


def receive_command(
    *, timeout=1.0, max_messages=None, ignore_attachments=False, ignore_stories=False, read_receipts=False
):
    """``receive``: fetch waiting messages, one JSON line each, until ``timeout`` idle seconds."""
    args = ["receive", _opt("--timeout", timeout)]
    if max_messages is not None:
        args.append(_opt("--max-messages", max_messages))
    args += _flag("--ignore-attachments", ignore_attachments)
    args += _flag("--ignore-stories", ignore_stories)
    args += _flag("--send-read-receipts", read_receipts)
    # it waits up to `timeout` for each next message, and once more after the queue ran empty
    return Command(args, output="lines", extra_time=2 * float(timeout))


def block_command(recipients):
    """``block``: block contacts or groups."""
    groups, others = _split_recipients(recipients)
    return Command(["block", *_list("-g", groups), *_positionals(others)], target="recipient")


def avatar_command(*, contact=None, group_id=None):
    """``getAvatar``: a contact's or a group's avatar, as ``{"data": <base64>}``."""
    if group_id is not None:
        return Command(["getAvatar", _opt("--group-id", group_id)], target="group")
    return Command(["getAvatar", _opt("--contact", _plain(contact))], target="contact")


def unregister_command(*, delete_account=False):
    """``unregister``: stop using Signal on this account (``delete_account``: delete it at Signal)."""
    return Command(["unregister", *_flag("--delete-account", delete_account)])


def delete_local_data_command(*, ignore_registered=False):
    """``deleteLocalAccountData``: remove everything signal-cli stores about the account."""
    return Command(["deleteLocalAccountData", *_flag("--ignore-registered", ignore_registered)])


def link_command(device_name):
    """``link``: print a ``sgnl://linkdevice`` URI, then wait until a phone scans it (plain text)."""
    return Command(["link", _opt("--name", device_name)], output="text", account=False)


def list_devices_command():
    """``listDevices``: the devices linked to the account."""
    return Command(["listDevices"])


def add_device_command(uri):
    """``addDevice``: link a new device from its ``sgnl://linkdevice`` URI."""
    return Command(["addDevice", _opt("--uri", uri)])


def remove_device_command(device_id):
    """``removeDevice``: unlink a device."""
    return Command(["removeDevice", _opt("--device-id", int(device_id))], target="device")


def rate_limit_challenge_command(challenge, captcha):
    """``submitRateLimitChallenge``: lift a rate limit with a solved captcha."""
    return Command(
        ["submitRateLimitChallenge", _opt("--challenge", challenge), _opt("--captcha", captcha)],
        secrets=(challenge, captcha),
    )


def update_account_command(*, discoverable_by_number=None, number_sharing=None, username=None, delete_username=False):
    """``updateAccount``: discoverability, number sharing and the username."""
    args = ["updateAccount"]
    if discoverable_by_number is not None:
        args.append(_opt("--discoverable-by-number", str(bool(discoverable_by_number)).lower()))
    if number_sharing is not None:
        args.append(_opt("--number-sharing", str(bool(number_sharing)).lower()))
    if username is not None:
        args.append(_opt("--username", username))
    args += _flag("--delete-username", delete_username)
    return Command(args)


def set_pin_command(pin):
    """``setPin``: set the registration lock PIN."""
    return Command(["setPin", *_positionals([pin])], secrets=(pin,))


def remove_pin_command():
    """``removePin``: remove the registration lock PIN."""
    return Command(["removePin"])


def list_contacts_command(recipients=(), *, all_recipients=False):
    """``listContacts``: contacts (or every known recipient), optionally only ``recipients``."""
    args = ["listContacts", "--detailed", *_flag("--all-recipients", all_recipients)]
    if recipients:
        args += _positionals(recipients)
    return Command(args)


def update_contact_command(recipient, *, name=None, expiration=None):
    """``updateContact``: a contact's name and disappearing-messages timer."""
    args = ["updateContact"]
    args += _given(
        ("--name", name),
        ("--expiration", expiration),
    )
    return Command(args + _positionals([recipient]))


def send_contacts_command():
    """``sendContacts``: send the contact list to the account's other devices."""
    return Command(["sendContacts"])


def list_identities_command():
    """``listIdentities``: the identity keys the account knows, with their trust level."""
    return Command(["listIdentities"])


def trust_command(recipient, *, safety_number=None, all_known_keys=False):
    """``trust``: trust a recipient's identity key (a verified safety number, or every known key)."""
    args = ["trust"]
    if safety_number is not None:
        args.append(_opt("--verified-safety-number", safety_number))
    args += _flag("--trust-all-known-keys", all_known_keys)
    return Command(args + _positionals([recipient]))


def list_sticker_packs_command():
    """``listStickerPacks``: the sticker packs the account has."""
    return Command(["listStickerPacks"])


def add_sticker_pack_command(uri):
    """``addStickerPack``: install a sticker pack from its ``https://signal.art/addstickers/`` URI."""
    return Command(["addStickerPack", _opt("--uri", uri)])


def poll_create_command(recipient, question, answers, *, allow_multiple=True):
    """``sendPollCreate`` (signal-cli >= 0.13.22): a poll with two or more answers."""
    groups, others = _split_recipients([recipient])
    args = ["sendPollCreate", _opt("--question", question), *_list("--option", answers)]
    args += _flag("--no-multi", not allow_multiple)
    return Command(args + _list("-g", groups) + _positionals(others))


def poll_vote_command(recipient, poll_author, poll_timestamp, answer_indexes, vote_count):
    """``sendPollVote`` (>= 0.13.22): vote for answers (zero-based indexes); ``vote_count`` grows per vote."""
    groups, others = _split_recipients([recipient])
    args = [
        "sendPollVote",
        _opt("--poll-author", poll_author),
        _opt("--poll-timestamp", poll_timestamp),
        *_list("--option", [str(int(i)) for i in answer_indexes]),
        _opt("--vote-count", vote_count),
    ]
    return Command(args + _list("-g", groups) + _positionals(others))


def poll_terminate_command(recipient, poll_timestamp):
    """``sendPollTerminate`` (>= 0.13.22): close a poll one created."""
    groups, others = _split_recipients([recipient])
    args = ["sendPollTerminate", _opt("--poll-timestamp", poll_timestamp)]
    return Command(args + _list("-g", groups) + _positionals(others))


def pin_message_command(group_id, target_author, timestamp, *, duration=None, unpin=False):
    """``sendPinMessage`` / ``sendUnpinMessage`` (>= 0.14.0): pin a message in a group."""
    args = [
        "sendUnpinMessage" if unpin else "sendPinMessage",
        _opt("--target-author", target_author),
        _opt("--target-timestamp", timestamp),
    ]
    if duration is not None and not unpin:
        args.append(_opt("--pin-duration", duration))
    return Command(args + _list("-g", [group_id]) + ["--"], target="group")


# --- running ----------------------------------------------------------------------------------


def strip_log_lines(stderr):
    """Return stderr without signal-cli's ``LEVEL Logger - ...`` lines, stripped."""
    return "\n".join(line for line in stderr.splitlines() if not _LOG_LINE.match(line)).strip()


def _hide(text, secrets):
    """``text`` with every secret (as a whole word, not inside a longer one) replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(str(secret))}(?![0-9A-Za-z])", "***", text)
    return text


def _redact(argv, secrets):
    return [_hide(word, secrets) for word in argv]


class SignalCli:
    """Runs signal-cli commands for one config dir.

    ``trust_mode_for(account)`` returns the stored ``--trust-new-identities`` mode of an account,
    or None. One instance is shared by all threads of a process; the account locks are files in
    the config dir, so they also hold across processes.
    """

    def __init__(
        self,
        binary,
        config_dir,
        *,
        cmd_timeout=120.0,
        lock_timeout=60.0,
        max_processes=0,
        java_opts="",
        trust_mode_for=None,
        observer=None,
        version_cache=None,
    ):
        self.binary = str(binary)
        self.config_dir = Path(config_dir).expanduser()
        self.cmd_timeout = cmd_timeout
        self.lock_timeout = lock_timeout
        #: how many signal-cli processes may run at once across every worker (0: no limit)
        self.max_processes = max_processes
        self.trust_mode_for = trust_mode_for or (lambda account: None)
        #: told about every run, lock wait and refusal (see :class:`metrics.SignalCliObserver`)
        self.observer = observer or _NoObserver()
        # signal-cli gets the environment without the service's own settings (API tokens, secrets)
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("SIGNAL_REST_")}
        if java_opts:
            self.env["JAVA_OPTS"] = f"{java_opts} {self.env.get('JAVA_OPTS', '')}".strip()
        #: a file remembering signal-cli's version across processes (None: only in this instance)
        self.version_cache = version_cache
        self._version = None
        self._version_lock = threading.Lock()
        self._background = set()
        self._background_lock = threading.Lock()
        self._running = set()
        self._running_lock = threading.Lock()
        self._locks = {}
        self._locks_guard = threading.Lock()

    # -- plumbing --

    @property
    def lock_dir(self):
        """Where the per-account lock files live (inside the config dir, shared by all workers)."""
        return self.config_dir / "signal-rest" / "locks"

    def _lock_file(self, name, timeout):
        """The (cached) lock on ``lock_dir/name``; FileLock keeps its state per thread, so one object
        serves every thread, and each acquisition is still a flock of its own."""
        with self._locks_guard:
            lock = self._locks.get(name)
            if lock is None:
                folder = (self.lock_dir / name).parent
                try:
                    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                except OSError as exc:
                    raise ConfigDirUnusable(
                        f"Cannot create {folder}: {exc.strerror}. "
                        "Make SIGNAL_CLI_CONFIG_DIR a directory the service can write."
                    ) from exc
                lock = self._locks[name] = filelock.FileLock(self.lock_dir / name, timeout=timeout)
            return lock

    def _account_lock(self, account):
        return self._lock_file(f"{account}.lock", self.lock_timeout)

    @contextlib.contextmanager
    def _process_slot(self):
        """Hold one of ``max_processes`` slots (lock files shared by every worker) while running."""
        if not self.max_processes:
            yield
            return
        slots = [self._lock_file(f"slots/{index}.lock", 0) for index in range(self.max_processes)]
        waiting = time.monotonic()
        deadline = waiting + self.lock_timeout
        while True:
            # start at a random slot, so waiting threads do not all poll the same file first
            offset = random.randrange(len(slots))
            for slot in slots[offset:] + slots[:offset]:
                try:
                    slot.acquire()
                except filelock.Timeout:
                    continue
                self.observer.waited("slot", time.monotonic() - waiting)
                try:
                    yield
                finally:
                    slot.release()
                return
            if time.monotonic() >= deadline:
                self.observer.rejected("service_busy")
                raise ServiceBusy(
                    f"The service is running its maximum of {self.max_processes} signal-cli processes; "
                    "try again in a few seconds."
                )
            time.sleep(0.05)

    def argv(self, command, account=None):
        """The full argv of ``command``: the fixed global options, then its own words."""
        argv = [self.binary]
        if command.args[:1] == ["--version"]:
            return argv + command.args
        argv += ["--config", str(self.config_dir)]
        if command.account:
            argv += ["-a", _plain(account)]
            mode = self.trust_mode_for(account)
            if mode:
                argv.append(_opt("--trust-new-identities", mode))
        if command.output != "text":
            argv += ["-o", "json"]
        return argv + command.args

    def run(self, command, account=None, on_line=None, spool=None):
        """Run ``command`` (for ``account``) and return its parsed output.

        Takes the account's lock first. Returns the parsed JSON (``None`` for empty output),
        a list for JSON-lines output, or the text for text output; raises a
        :class:`SignalCliError` otherwise. With ``spool`` (a path that must not exist yet),
        signal-cli's output goes into that file and ``on_line`` is called with the text and the
        parsed value of each JSON line as soon as it is written; lines already written are returned
        even when the run then fails or times out: a received message is never dropped.
        """
        if command.account and not account:
            raise ValueError("this command needs an account")
        argv = self.argv(command, account)
        try:
            if not command.account:
                with self._process_slot():
                    return self._execute(argv, command, on_line, spool)
            waiting = time.monotonic()
            with self._account_lock(account):
                self.observer.waited("account", time.monotonic() - waiting)
                with self._process_slot():
                    return self._execute(argv, command, on_line, spool)
        except filelock.Timeout:
            self.observer.rejected("account_busy")
            raise AccountBusy(
                f"Account {account} is busy with another request; try again in a few seconds.",
                argv=_redact(argv, command.secrets),
            ) from None
        except PermissionError as exc:
            raise ConfigDirUnusable(
                f"Cannot write the lock file in {self.lock_dir}: {exc.strerror}. "
                "Make SIGNAL_CLI_CONFIG_DIR a directory the service can write."
            ) from exc
        except SignalCliError as error:
            error.account = account
            raise

    def _start(self, argv, command, stdout=None):
        try:
            return subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if command.stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout is None else stdout,
                stderr=subprocess.PIPE,
                env=self.env,
                # its own process group, so a kill reaches the JVM and anything it started
                start_new_session=True,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            raise SignalCliNotFound(
                f"signal-cli cannot be run from {self.binary!r} ({exc.strerror}). "
                "Set SIGNAL_CLI_BIN to the signal-cli executable.",
                argv=_redact(argv, command.secrets),
            ) from None

    def _execute(self, argv, command, on_line=None, spool=None):
        redacted = _redact(argv, command.secrets)
        started = time.monotonic()
        timed_out = False
        items = []
        spool_fd = None
        if spool is not None:
            # signal-cli writes straight into the spool file, so every line it prints survives even
            # if this process dies; the flock (shared with the child's stdout) marks it as in use
            spool_fd = os.open(spool, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            fcntl.flock(spool_fd, fcntl.LOCK_EX)
        try:
            process = self._start(argv, command, stdout=spool_fd)
        except BaseException:
            if spool_fd is not None:
                os.close(spool_fd)
            raise
        with self._running_lock:
            self._running.add(process)
        try:
            if spool is not None:
                stdout, stderr, timed_out = self._follow(process, spool, items, on_line, command.extra_time)
            else:
                try:
                    stdout, stderr = process.communicate(command.stdin, timeout=self.cmd_timeout)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    self.stop(process)
                    # communicate() keeps what was read before the timeout
                    stdout, stderr = process.communicate()
        finally:
            # whatever interrupted us (a worker shutting down), never leave the process behind
            if process.poll() is None:
                self.stop(process)
            with self._running_lock:
                self._running.discard(process)
            for pipe in (process.stdin, process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
            if spool_fd is not None:
                os.close(spool_fd)
        stdout = stdout.decode("utf-8", "replace")
        stderr = stderr.decode("utf-8", "replace")
        elapsed = time.monotonic() - started
        log.debug("signal-cli exited %s after %.3fs: %s", process.returncode, elapsed, shlex.join(redacted))
        self.observer.run_finished(command.args[0], "timeout" if timed_out else process.returncode, elapsed)
        if spool is not None and timed_out and process.returncode == 0:
            # stopped at the time limit, receive ended cleanly (SIGTERM): everything it had is here
            return items
        if spool is not None and items and (timed_out or process.returncode != 0):
            log.warning(
                "signal-cli %s after %d lines (exit %s); keeping them: %s\n%s",
                "timed out" if timed_out else "failed",
                len(items),
                process.returncode,
                shlex.join(redacted),
                stderr,
            )
            return items
        if timed_out:
            log.warning("signal-cli ran past %ss and was stopped: %s", self.cmd_timeout, shlex.join(redacted))
            raise SignalCliTimeout(
                f"signal-cli did not finish within {self.cmd_timeout:g} seconds and was stopped.",
                argv=redacted,
                stdout=stdout,
                stderr=stderr,
            )
        if spool is not None and process.returncode == 0:
            return items
        return self._result(command, redacted, process.returncode, stdout, stderr)

    def _follow(self, process, spool, items, on_line, extra_time=0.0):
        """Hand each line signal-cli writes to ``spool`` to ``on_line`` as it comes, until it exits or
        the time limit; returns (the unfinished last line, stderr, whether the time limit hit)."""
        deadline = time.monotonic() + self.cmd_timeout + extra_time
        timed_out = False
        pending, stderr = bytearray(), bytearray()
        with open(spool, "rb") as reader, selectors.DefaultSelector() as selector:
            selector.register(process.stderr, selectors.EVENT_READ)
            while True:
                exited = process.poll() is not None
                pending += reader.read()
                self._take_lines(pending, items, on_line)
                if exited:
                    break
                if not timed_out and time.monotonic() >= deadline:
                    timed_out = True
                    self.stop(process)
                    continue
                if selector.get_map() and selector.select(0.05):
                    chunk = os.read(process.stderr.fileno(), 65536)
                    if chunk:
                        stderr += chunk
                    else:
                        selector.unregister(process.stderr)
                elif not selector.get_map():
                    time.sleep(0.05)
        stderr += process.stderr.read()
        if pending.strip():
            log.warning("signal-cli ended with a truncated line: %r", bytes(pending[:500]))
        return bytes(pending), bytes(stderr), timed_out

    @staticmethod
    def _take_lines(buffer, items, on_line):
        """Move every complete line of ``buffer`` into ``items``, handing its text and parsed value to
        ``on_line`` first."""
        while (end := buffer.find(b"\n")) >= 0:
            line = bytes(buffer[:end]).decode("utf-8", "replace").strip()
            del buffer[: end + 1]
            if not line:
                continue
            try:
                item = json.loads(line)
            except ValueError:
                log.warning("signal-cli printed a line that is not JSON: %r", line[:500])
                continue
            if on_line is not None:
                on_line(line, item)
            items.append(item)

    def stop(self, process):
        """Stop ``process`` and everything it started: SIGTERM, then SIGKILL after a grace period."""
        for sig, grace in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, None)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
            try:
                process.wait(grace)
                break
            except subprocess.TimeoutExpired:
                continue
        # the group may outlive its leader (a child that ignored SIGTERM)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _result(self, command, argv, returncode, stdout, stderr):
        details = dict(argv=argv, returncode=returncode, stdout=stdout, stderr=stderr)
        if returncode == 0:
            try:
                return self._parse(command, stdout)
            except ValueError:
                log.warning("signal-cli printed unexpected output: %r (stderr: %s)", stdout[:500], stderr)
                raise BadOutput("signal-cli printed output that is not the expected JSON.", **details) from None
        result = _try_json(stdout)
        message = _hide(strip_log_lines(stderr), command.secrets)
        details["result"] = result
        if returncode == 1:
            failures = {r.get("type") for r in _results(result)}
            if failures == {"NETWORK_FAILURE"}:
                # every recipient failed for a network reason: worth retrying, not the request's fault
                raise ServerError(message or "Sending failed for network reasons.", **details)
            raise _user_error(message, details, command.target)
        if returncode == 4:
            untrusted = [r["recipientAddress"] for r in _results(result) if r.get("type") == "IDENTITY_FAILURE"]
            raise Untrusted(message or "Every recipient's identity is untrusted.", recipients=untrusted, **details)
        if returncode == 5:
            limited = [r for r in _results(result) if r.get("type") == "RATE_LIMIT_FAILURE"]
            waits = [r["retryAfterSeconds"] for r in limited if r.get("retryAfterSeconds")]
            raise RateLimited(
                message or "Signal rate-limits this account.",
                challenge_tokens=[r["token"] for r in limited if r.get("token")],
                retry_after=max(waits) if waits else None,
                **details,
            )
        log.warning("signal-cli failed with exit %s: %s\n%s", returncode, shlex.join(argv), stderr)
        if returncode == 3 and "[404]" in message and command.target:
            # Signal's servers do not know the thing (removeDevice of an unknown device)
            raise NotFound(message, **details)
        if returncode == 3:
            raise ServerError(_first_line(message) or "signal-cli could not reach Signal's servers.", **details)
        raise UnexpectedError(
            f"signal-cli failed unexpectedly (exit {returncode}): {_first_line(message) or 'no message'}",
            **details,
        )

    @staticmethod
    def _parse(command, stdout):
        if command.output == "text":
            return stdout
        if not stdout.strip():
            return None
        return json.loads(stdout)

    # -- commands --

    def version(self):
        """signal-cli's version (``"0.13.19"``).

        Asked once and remembered, in this instance and in ``version_cache`` (a file shared by all
        workers, valid while the executable is unchanged), so no request starts signal-cli for it.
        """
        with self._version_lock:
            if self._version is None:
                self._version = self._cached_version() or self._ask_version()
            return self._version

    def probe(self):
        """Run ``signal-cli --version`` now (not remembered): proof that signal-cli starts. Returns
        what it printed; raises :class:`SignalCliError` when it cannot be run."""
        return self.run(version_command()).strip()

    def check_config_dir(self):
        """Raise :class:`ConfigDirUnusable` unless a file can be created in the config dir."""
        try:
            self.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            with tempfile.NamedTemporaryFile(dir=self.config_dir, prefix=".health-"):
                pass
        except OSError as exc:
            raise ConfigDirUnusable(f"{self.config_dir} is not writable: {exc.strerror}.") from None

    def _binary_identity(self):
        path = shutil.which(self.binary) or self.binary
        stat = os.stat(path)
        return {"binary": os.path.realpath(path), "mtime_ns": stat.st_mtime_ns, "size": stat.st_size}

    def _cached_version(self):
        if self.version_cache is None:
            return None
        try:
            cached = json.loads(Path(self.version_cache).read_text("utf-8"))
            return cached["version"] if cached["identity"] == self._binary_identity() else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _ask_version(self):
        text = self.run(version_command())
        match = _VERSION.search(text)
        if not match:
            raise BadOutput(f"signal-cli --version printed {text.strip()[:80]!r}.", stdout=text)
        if self.version_cache is not None:
            with contextlib.suppress(OSError):
                cache = Path(self.version_cache)
                cache.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                temporary = cache.with_name(f".{cache.name}.{os.getpid()}")
                temporary.write_text(json.dumps({"identity": self._binary_identity(), "version": match.group(1)}))
                os.replace(temporary, cache)
        return match.group(1)

    def list_accounts(self):
        """The numbers of the accounts in the config dir."""
        return [entry["number"] for entry in self.run(list_accounts_command()) or []]

    def user_status(self, account, numbers):
        """``getUserStatus`` results for ``numbers``."""
        return self.run(user_status_command(numbers), account) or []

    def send(self, account, recipients, message=None, **options):
        """Send a message; returns signal-cli's send result. See :func:`send_command`."""
        return self.run(send_command(recipients, message, **options), account)

    def send_reaction(self, account, recipient, emoji, target_author, timestamp, *, remove=False):
        """React to a message (or remove a reaction)."""
        return self.run(reaction_command(recipient, emoji, target_author, timestamp, remove=remove), account)

    def list_groups(self, account, group_ids=()):
        """The account's groups as signal-cli describes them."""
        return self.run(list_groups_command(group_ids), account) or []

    def create_group(self, account, name, members, **settings):
        """Create a group; returns its id (signal-cli's form)."""
        result = self.run(create_group_command(name, members, **settings), account) or {}
        if "groupId" not in result:
            raise BadOutput("signal-cli created a group but printed no group id.", result=result)
        return GroupId(result["groupId"])

    def update_group(self, account, group_id, **settings):
        """Change a group; with no settings, accept a pending invitation to it."""
        return self.run(update_group_command(group_id, **settings), account)

    def quit_group(self, account, group_id, *, delete=False):
        """Leave a group (and with ``delete`` forget it)."""
        return self.run(quit_group_command(group_id, delete=delete), account)

    def join_group(self, account, uri):
        """Join a group through an invite link."""
        return self.run(join_group_command(uri), account)

    def register(self, account, *, voice=False, captcha=None):
        """Start registering ``account``."""
        self.run(register_command(voice=voice, captcha=captcha), account)

    def verify(self, account, code, *, pin=None):
        """Finish registering ``account`` with the verification code."""
        self.run(verify_command(code, pin=pin), account)

    def update_profile(self, account, **profile):
        """Change the account's profile. See :func:`update_profile_command`."""
        self.run(update_profile_command(**profile), account)

    def receive(self, account, spool, *, on_envelope=None, **options):
        """Fetch waiting messages into the file ``spool``; see :func:`receive_command`.

        ``on_envelope(line, item)`` gets each line's text and its parsed value as soon as signal-cli
        has written it. The spool file keeps every line even if this process dies; it stays locked
        (``flock``) while signal-cli or this run still has it open, and the caller deletes it once
        the lines are stored.
        """
        return self.run(receive_command(**options), account, on_line=on_envelope, spool=spool)

    def link(self, device_name, *, lifetime=300.0, first_line_timeout=60.0):
        """Start ``signal-cli link`` and return its ``sgnl://linkdevice`` URI.

        The process keeps running in the background until the phone scans the code or
        ``lifetime`` seconds pass; then it is stopped and reaped in every case.
        """
        command = link_command(device_name)
        argv = self.argv(command)
        process = self._start(argv, command)
        try:
            line = self._first_line(process, first_line_timeout)
        except BaseException:
            self.stop(process)
            raise
        if line is None or not line.startswith("sgnl://linkdevice?"):
            self.stop(process)
            stdout, stderr = process.communicate()
            if process.returncode not in (0, None) and line is None:
                return self._result(command, argv, process.returncode, stdout.decode(), stderr.decode())
            raise BadOutput(f"signal-cli link printed {line!r} instead of a device link.", argv=argv)
        watcher = threading.Thread(target=self._finish_link, args=(process, lifetime), daemon=True)
        with self._background_lock:
            self._background.add(process)
        watcher.start()
        return line

    def _first_line(self, process, timeout):
        """The first stdout line of ``process`` (None at EOF); SignalCliTimeout after ``timeout``."""
        deadline = time.monotonic() + timeout
        buffer = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SignalCliTimeout(f"signal-cli link printed no device link within {timeout:g} seconds.")
                if not selector.select(remaining):
                    continue
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    return None
                buffer += chunk
        return bytes(buffer).split(b"\n", 1)[0].decode("utf-8", "replace").strip()

    def _finish_link(self, process, lifetime):
        """Wait for the phone to scan the link (or ``lifetime`` to pass), then reap the process."""
        try:
            stdout, stderr = process.communicate(timeout=lifetime)
            log.info("signal-cli link finished (exit %s): %s", process.returncode, strip_log_lines(stdout.decode()))
        except subprocess.TimeoutExpired:
            log.info("signal-cli link was not scanned within %ss; stopping it", lifetime)
            self.stop(process)
            process.communicate()
        finally:
            with self._background_lock:
                self._background.discard(process)

    def interrupt(self):
        """Ask every signal-cli this instance is running to stop (SIGTERM: receive ends cleanly)."""
        with self._running_lock:
            processes = list(self._running)
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)

    def close(self):
        """Stop every background process (pending links); called when the worker exits."""
        with self._background_lock:
            processes = list(self._background)
        for process in processes:
            self.stop(process)

    def require(self, version, feature):
        """Raise :class:`NotSupported` unless the installed signal-cli is at least ``version``."""
        installed = self.version()
        if _version_tuple(installed) < _version_tuple(version):
            raise NotSupported(f"{feature} needs signal-cli {version} or newer; this service runs {installed}.")

    def create_poll(self, account, recipient, question, answers, *, allow_multiple=True):
        """Send a poll; returns the send result."""
        self.require("0.13.22", "Polls")
        command = poll_create_command(recipient, question, answers, allow_multiple=allow_multiple)
        return self.run(command, account)

    def vote_poll(self, account, recipient, poll_author, poll_timestamp, answer_indexes, vote_count):
        """Vote in a poll; ``vote_count`` is a number or a function returning it (called after the version check)."""
        self.require("0.13.22", "Polls")
        if callable(vote_count):
            # the caller's counter moves on only for a vote that can be sent
            vote_count = vote_count()
        command = poll_vote_command(recipient, poll_author, poll_timestamp, answer_indexes, vote_count)
        return self.run(command, account)

    def terminate_poll(self, account, recipient, poll_timestamp):
        """Close a poll."""
        self.require("0.13.22", "Polls")
        return self.run(poll_terminate_command(recipient, poll_timestamp), account)

    def pin_message(self, account, group_id, target_author, timestamp, *, duration=None, unpin=False):
        """Pin (or unpin) a message in a group."""
        self.require("0.14.0", "Pinned messages")
        command = pin_message_command(group_id, target_author, timestamp, duration=duration, unpin=unpin)
        return self.run(command, account)

    def send_typing(self, account, recipient, *, stop=False):
        """Show (or stop) the typing indicator."""
        return self.run(typing_command(recipient, stop=stop), account)

    def remote_delete(self, account, recipient, timestamp):
        """Delete a sent message for everyone; returns the send result."""
        return self.run(remote_delete_command(recipient, timestamp), account)

    def send_receipt(self, account, recipient, timestamp, *, receipt_type="read"):
        """Send a read or viewed receipt."""
        return self.run(receipt_command(recipient, timestamp, receipt_type=receipt_type), account)

    def block(self, account, recipients):
        """Block contacts or groups."""
        self.run(block_command(recipients), account)

    def avatar(self, account, *, contact=None, group_id=None):
        """The avatar's bytes; raises :class:`NotFound` when there is none."""
        result = self.run(avatar_command(contact=contact, group_id=group_id), account) or {}
        try:
            return base64.b64decode(result["data"], validate=True)
        except (KeyError, TypeError, ValueError):
            raise BadOutput("signal-cli printed no avatar data.", result=result) from None

    def unregister(self, account, *, delete_account=False):
        """Unregister the account (and with ``delete_account`` delete it at Signal)."""
        self.run(unregister_command(delete_account=delete_account), account)

    def delete_local_data(self, account, *, ignore_registered=False):
        """Delete the account's local data."""
        self.run(delete_local_data_command(ignore_registered=ignore_registered), account)

    def list_devices(self, account):
        """The account's linked devices."""
        return self.run(list_devices_command(), account) or []

    def add_device(self, account, uri):
        """Link a device by its ``sgnl://linkdevice`` URI."""
        self.run(add_device_command(uri), account)

    def remove_device(self, account, device_id):
        """Unlink a device."""
        self.run(remove_device_command(device_id), account)

    def submit_rate_limit_challenge(self, account, challenge, captcha):
        """Lift a rate limit with a solved captcha."""
        self.run(rate_limit_challenge_command(challenge, captcha), account)

    def update_account(self, account, **settings):
        """Change account settings; returns ``{"username", "usernameLink"}`` when a username was set."""
        return self.run(update_account_command(**settings), account)

    def set_pin(self, account, pin):
        """Set the registration lock PIN."""
        self.run(set_pin_command(pin), account)

    def remove_pin(self, account):
        """Remove the registration lock PIN."""
        self.run(remove_pin_command(), account)

    def list_contacts(self, account, recipients=(), *, all_recipients=False):
        """The account's contacts (or every recipient it knows)."""
        return self.run(list_contacts_command(recipients, all_recipients=all_recipients), account) or []

    def update_contact(self, account, recipient, *, name=None, expiration=None):
        """Change a contact's name or disappearing-messages timer."""
        self.run(update_contact_command(recipient, name=name, expiration=expiration), account)

    def send_contacts(self, account):
        """Sync the contact list to the account's other devices."""
        self.run(send_contacts_command(), account)

    def list_identities(self, account):
        """The identity keys the account knows."""
        return self.run(list_identities_command(), account) or []

    def trust(self, account, recipient, *, safety_number=None, all_known_keys=False):
        """Trust a recipient's identity key."""
        self.run(trust_command(recipient, safety_number=safety_number, all_known_keys=all_known_keys), account)

    def list_sticker_packs(self, account):
        """The account's sticker packs."""
        return self.run(list_sticker_packs_command(), account) or []

    def add_sticker_pack(self, account, uri):
        """Install a sticker pack."""
        self.run(add_sticker_pack_command(uri), account)

    def get_group(self, account, group_id):
        """One group as signal-cli describes it; raises :class:`NotFound` when the account has none such."""
        for group in self.list_groups(account, [group_id]):
            if group.get("id") == group_id:
                return group
        raise NotFound(f"Account {account} has no group {group_id}.")

    def get_contact(self, account, recipient):
        """One contact (by UUID or number) as signal-cli describes it; :class:`NotFound` if unknown."""
        for contact in self.list_contacts(account, [recipient], all_recipients=True):
            if recipient in (contact.get("uuid"), contact.get("number")):
                return contact
        raise NotFound(f"Account {account} has no contact {recipient}.")

    def set_username(self, account, username):
        """Set the username; returns ``{"username", "usernameLink"}`` (Signal adds the digits)."""
        result = self.update_account(account, username=username) or {}
        if "username" not in result:
            raise BadOutput("signal-cli set the username but did not say which.", result=result)
        return result

    @property
    def attachments_dir(self):
        """Where signal-cli stores the attachments of received messages."""
        return self.config_dir / "attachments"

    def list_attachments(self):
        """The ids of the stored attachments (files named like one; no dot-files, directories or symlinks)."""
        if not self.attachments_dir.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.attachments_dir.iterdir()
            if entry.is_file() and not entry.is_symlink() and ATTACHMENT_ID.match(entry.name)
        )

    def attachment_path(self, attachment_id):
        """The file of a stored attachment; :class:`NotFound` when there is none (never a path outside)."""
        folder = self.attachments_dir.resolve()
        path = (folder / attachment_id).resolve()
        if path.parent != folder or not path.is_file():
            raise NotFound(f"There is no attachment {attachment_id}.")
        return path

    def delete_attachment(self, attachment_id):
        """Delete a stored attachment; :class:`NotFound` when there is none."""
        self.attachment_path(attachment_id).unlink()


class _NoObserver:
    """The observer when nobody listens."""

    def run_finished(self, command, exit_code, seconds):
        """Ignore a finished run."""

    def waited(self, kind, seconds):
        """Ignore a wait."""

    def rejected(self, reason):
        """Ignore a refusal."""


def _version_tuple(version):
    return tuple(int(part) for part in re.findall(r"\d+", version or "0")[:3])


def _try_json(stdout):
    try:
        return json.loads(stdout) if stdout.strip() else None
    except ValueError:
        return None


def _results(result):
    return result.get("results") or [] if isinstance(result, dict) else []


def _first_line(text):
    return text.strip().splitlines()[0] if text.strip() else ""


_NOT_FOUND = re.compile(r"Group not found|Could not find (attachment|avatar)|Unknown group", re.I)


def _user_error(message, details, target):
    if "signal-cli: error:" in message:
        # an argv signal-cli cannot parse: the usage text before the error says nothing useful
        log.error("signal-cli could not parse %s:\n%s", details.get("argv"), message)
        message = "signal-cli refused the arguments: " + message.split("signal-cli: error:", 1)[1].strip()
    if "Captcha required" in message or "Invalid captcha" in message:
        return CaptchaRequired(message, **details)
    if "is not registered" in message and "User" in message:
        return NotRegistered(message, **details)
    if target and _NOT_FOUND.search(message):
        return NotFound(message, **details)
    return UserError(message or "signal-cli refused the request.", **details)
