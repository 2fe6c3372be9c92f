"""The wrapper's face: one method per signal-cli operation, for views and the receiver.

Each method builds a :class:`~.commands.Command`, checks that the installed signal-cli has it
(:mod:`.grammar`), runs it (:mod:`.process`) and reads the outcome (:mod:`.results`). Methods
that look a thing up (a group, a contact, an attachment) raise :class:`~.errors.NotFound`
themselves, so no caller has to.
"""

import base64
import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path

from . import commands, daemon, files, grammar, jsonrpc, status
from .errors import BadOutput, ConfigDirUnusable, NotFound, NotSupported, SignalCliError, SignalCliTimeout
from .process import ProcessRunner
from .results import interpret, redact
from .versions import VersionCache

log = logging.getLogger(__name__)

#: ``SIGNAL_REST_MODE``: a signal-cli per request, or JSON-RPC to one resident daemon
MODES = ("normal", "json-rpc")

#: a file name signal-cli gives a received attachment: its CDN key, unpadded base64url, so it may start
#: with '-' (these ids only ever name files in the attachments folder, never reach argv)
ATTACHMENT_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.=-]{0,254}\Z")


class SignalCli:
    """Runs signal-cli operations for one config dir.

    ``trust_mode_for(account)`` returns the stored ``--trust-new-identities`` mode of an account,
    or None. One instance is shared by all threads of a process; the account locks are files in
    the config dir, so they also hold across processes. ``version_cache`` is a file remembering
    signal-cli's version across processes (None: only in this instance). In ``mode`` "json-rpc"
    every command goes to the resident daemon instead (:mod:`.jsonrpc`, :mod:`.daemon`).
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
        mode="normal",
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.binary = str(binary)
        self.config_dir = Path(config_dir).expanduser()
        self.trust_mode_for = trust_mode_for or (lambda account: None)
        # signal-cli gets the environment without the service's own settings (API tokens, secrets)
        env = {name: value for name, value in os.environ.items() if not name.startswith("SIGNAL_REST_")}
        if java_opts:
            env["JAVA_OPTS"] = f"{java_opts} {env.get('JAVA_OPTS', '')}".strip()
        self.runner = ProcessRunner(
            self.binary,
            self.config_dir,
            cmd_timeout=cmd_timeout,
            lock_timeout=lock_timeout,
            max_processes=max_processes,
            env=env,
            observer=observer,
        )
        self.transport = None
        if mode == "json-rpc":
            self.transport = jsonrpc.Transport(
                daemon.socket_path(self.config_dir), describe=lambda: daemon.describe(self.config_dir)
            )
        self._links = set()
        self._links_lock = threading.Lock()
        # `signal-cli --version` touches no account, so it runs on its own in either mode (the gunicorn
        # master asks before the daemon is up)
        self.versions = VersionCache(
            self.binary, lambda: self.run(commands.version_command(), one_shot=True), version_cache
        )

    @property
    def cmd_timeout(self):
        """Seconds one run may take before it is killed."""
        return self.runner.cmd_timeout

    @property
    def outgoing_dir(self):
        """Where attachments to send are written: the temporary folder (None) for a signal-cli run
        by this process; in json-rpc mode a folder of the config dir, which the daemon can read
        even where each service has a temporary folder of its own (systemd's PrivateTmp)."""
        return None if self.transport is None else str(self.config_dir / "signal-rest" / "outgoing")

    @property
    def lock_dir(self):
        """Where the per-account lock files live."""
        return self.runner.lock_dir

    @property
    def pending_links(self):
        """How many ``signal-cli link`` runs (or ``finishLink`` calls) wait in the background for their scan."""
        return len(self.runner._background) + len(self._links)

    # -- running --

    def argv(self, command, account=None):
        """The full argv of ``command`` (for ``account``): the binary, the global options, its words."""
        return self._argv(command, account)[0]

    def _argv(self, command, account):
        if command.account and not account:
            raise ValueError("this command needs an account")
        account = account if command.account else None
        trust_mode = self.trust_mode_for(account) if account else None
        return grammar.argv(self.binary, self.config_dir, command, account, trust_mode)

    def run(self, command, account=None, on_line=None, spool=None, *, one_shot=False):
        """Run ``command`` (for ``account``) and return its parsed output.

        Checks that the installed signal-cli has the command, takes the account's lock, runs it,
        and returns the parsed JSON (``None`` for empty output), a list for JSON-lines output, or
        the text for text output; raises a :class:`SignalCliError` otherwise. With ``spool`` (a
        path that must not exist yet), output goes into that file and ``on_line(text, item)`` is
        called for each JSON line as soon as it is written; lines already written are returned
        even when the run then fails or times out: a received message is never dropped. In json-rpc
        mode the command goes to the daemon instead, unless ``one_shot``.
        """
        try:
            if command.method not in commands.JSONRPC_ONLY:
                grammar.check_supported(command, self.version)
            if self.transport is not None and not one_shot:
                return self._call(command, account)
            argv, stdin = self._argv(command, account)
            redacted = redact(argv, command.secrets)
            label = argv[1] if command.method == "version" else command.method
            with self.runner.held(account if command.account else None, redacted):
                finished = self.runner.execute(
                    argv,
                    redacted,
                    label,
                    stdin=stdin,
                    on_line=on_line,
                    spool=spool,
                    extra_time=command.extra_time,
                )
            return interpret(command, finished, self.runner.cmd_timeout)
        except SignalCliError as error:
            error.account = account
            raise

    def _call(self, command, account):
        """``command`` as a JSON-RPC call to the daemon, within the same time limit as a run."""
        started = time.monotonic()
        outcome = "error"
        try:
            value = self.transport.run(command, account, self.runner.cmd_timeout + command.extra_time)
            outcome = 0
            return value
        except SignalCliError as error:
            outcome = "timeout" if isinstance(error, SignalCliTimeout) else error.returncode or "error"
            raise
        finally:
            self.runner.observer.run_finished(command.method, outcome, time.monotonic() - started)

    def version(self):
        """signal-cli's version (``"0.13.19"``), asked once and remembered (see :mod:`.versions`)."""
        return self.versions.get()

    def probe(self):
        """Run ``signal-cli --version`` now (not remembered): proof that signal-cli starts. Returns
        what it printed; raises :class:`SignalCliError` when it cannot be run."""
        return self.run(commands.version_command()).strip()

    def check_config_dir(self):
        """Raise :class:`ConfigDirUnusable` unless a file can be created in the config dir."""
        try:
            self.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            with tempfile.NamedTemporaryFile(dir=self.config_dir, prefix=".health-"):
                pass
        except OSError as exc:
            raise ConfigDirUnusable(f"{self.config_dir} is not writable: {exc.strerror}.") from None

    def support(self):
        """The installed signal-cli's version and whether it can work with Signal's servers, as a
        :class:`.status.Support` (from the remembered version; never raises)."""
        return status.support(self.version)

    def health_checks(self):
        """The deep health check as data (see :func:`.status.health_checks`); starts signal-cli once."""
        return status.health_checks(self)

    def stop(self, process):
        """Stop ``process`` and everything it started (SIGTERM, then SIGKILL)."""
        self.runner.stop(process)

    def interrupt(self):
        """Ask every signal-cli this instance is running to stop (SIGTERM: receive ends cleanly)."""
        self.runner.interrupt()

    def close(self):
        """Stop every background process (pending links); called when the worker exits."""
        self.runner.close()
        if self.transport is not None:
            self.transport.close()

    # -- accounts, registration, devices --

    def list_accounts(self):
        """The numbers of the registered accounts in the config dir."""
        return [entry["number"] for entry in self.run(commands.list_accounts_command()) or []]

    def local_accounts(self):
        """Every number signal-cli keeps an account for, registered or not (read from its files)."""
        return files.local_account_numbers(self.config_dir)

    def register(self, account, *, voice=False, captcha=None):
        """Start registering ``account``."""
        self.run(commands.register_command(voice=voice, captcha=captcha), account)

    def verify(self, account, code, *, pin=None):
        """Finish registering ``account`` with the verification code."""
        self.run(commands.verify_command(code, pin=pin), account)

    def unregister(self, account, *, delete_account=False):
        """Unregister the account (and with ``delete_account`` delete it at Signal)."""
        self.run(commands.unregister_command(delete_account=delete_account), account)

    def delete_local_data(self, account, *, ignore_registered=False):
        """Delete the account's local data."""
        self.run(commands.delete_local_data_command(ignore_registered=ignore_registered), account)

    def link(self, device_name, *, lifetime=300.0, first_line_timeout=60.0, on_end=None):
        """Start ``signal-cli link`` and return its ``sgnl://linkdevice`` URI.

        The process keeps running in the background until the phone scans the code or
        ``lifetime`` seconds pass; then it is stopped and reaped in every case. ``on_end`` (if given)
        is then called with the linked account's number or the :class:`SignalCliError` of the failure.
        """
        if self.transport is not None:
            return self._start_link(device_name, lifetime, on_end)
        command = commands.link_command(device_name)
        argv, _ = self._argv(command, None)
        return self.runner.link(
            command,
            argv,
            redact(argv, command.secrets),
            lifetime=lifetime,
            first_line_timeout=first_line_timeout,
            on_end=on_end,
        )

    def _start_link(self, device_name, lifetime, on_end):
        """Link through the daemon: ``startLink`` now, ``finishLink`` in the background; the account
        is in the daemon (and usable) as soon as the phone has scanned the code."""
        uri = (self.run(commands.start_link_command()) or {}).get("deviceLinkUri")
        if not isinstance(uri, str) or not uri.startswith("sgnl://linkdevice?"):
            raise BadOutput(f"signal-cli's daemon answered startLink with {uri!r} instead of a device link.")
        finish = commands.finish_link_command(uri, device_name, lifetime=lifetime)

        def wait_for_scan():
            try:
                linked = self.run(finish) or {}
                log.info("linked as a new device of %s", linked.get("number"))
                outcome = linked.get("number") or BadOutput("signal-cli's daemon linked no account it named.")
            except SignalCliError as error:
                log.info("the device link was not finished: %s", error.message)
                outcome = error
            finally:
                with self._links_lock:
                    self._links.discard(uri)
            if on_end is not None:
                on_end(outcome)

        with self._links_lock:
            self._links.add(uri)
        threading.Thread(target=wait_for_scan, name="finish-link", daemon=True).start()
        return uri

    def list_devices(self, account):
        """The account's linked devices."""
        return self.run(commands.list_devices_command(), account) or []

    def add_device(self, account, uri):
        """Link a device by its ``sgnl://linkdevice`` URI."""
        self.run(commands.add_device_command(uri), account)

    def remove_device(self, account, device_id):
        """Unlink a device."""
        self.run(commands.remove_device_command(device_id), account)

    def submit_rate_limit_challenge(self, account, challenge, captcha):
        """Lift a rate limit with a solved captcha."""
        self.run(commands.rate_limit_challenge_command(challenge, captcha), account)

    def update_account(self, account, **settings):
        """Change account settings; returns ``{"username", "usernameLink"}`` when a username was set."""
        return self.run(commands.update_account_command(**settings), account)

    def set_username(self, account, username):
        """Set the username; returns ``{"username", "usernameLink"}`` (Signal adds the digits)."""
        result = self.update_account(account, username=username) or {}
        if "username" not in result:
            raise BadOutput("signal-cli set the username but did not say which.", result=result)
        return result

    def set_pin(self, account, pin):
        """Set the registration lock PIN."""
        self.run(commands.set_pin_command(pin), account)

    def remove_pin(self, account):
        """Remove the registration lock PIN."""
        self.run(commands.remove_pin_command(), account)

    def update_profile(self, account, **profile):
        """Change the account's profile. See :func:`.commands.update_profile_command`."""
        self.run(commands.update_profile_command(**profile), account)

    def user_status(self, account, numbers):
        """``getUserStatus`` results for ``numbers``."""
        return self.run(commands.user_status_command(numbers), account) or []

    # -- messages --

    def send(self, account, recipients, message=None, **options):
        """Send a message; returns signal-cli's send result. See :func:`.commands.send_command`."""
        return self.run(commands.send_command(recipients, message, **options), account)

    def send_reaction(self, account, recipient, emoji, target_author, timestamp, *, remove=False):
        """React to a message (or remove a reaction)."""
        return self.run(commands.reaction_command(recipient, emoji, target_author, timestamp, remove=remove), account)

    def send_typing(self, account, recipient, *, stop=False):
        """Show (or stop) the typing indicator."""
        return self.run(commands.typing_command(recipient, stop=stop), account)

    def remote_delete(self, account, recipient, timestamp):
        """Delete a sent message for everyone; returns the send result."""
        return self.run(commands.remote_delete_command(recipient, timestamp), account)

    def admin_delete(self, account, group_id, target_author, timestamp):
        """As a group admin, delete anyone's message for every member; returns the send result."""
        return self.run(commands.admin_delete_command(group_id, target_author, timestamp), account)

    def send_story(self, account, attachment, *, group_id=None, allow_replies=True):
        """Post a story (an image or video path) to a group or to "My Story"; returns the send result."""
        return self.run(commands.story_command(attachment, group_id=group_id, allow_replies=allow_replies), account)

    def send_receipt(self, account, recipient, timestamp, *, receipt_type="read"):
        """Send a read or viewed receipt."""
        return self.run(commands.receipt_command(recipient, timestamp, receipt_type=receipt_type), account)

    def receive(self, account, spool, *, on_envelope=None, **options):
        """Fetch waiting messages into the file ``spool``; see :func:`.commands.receive_command`.

        ``on_envelope(text, item)`` gets each line's text and parsed object as soon as signal-cli
        has written it. The spool file keeps every line even if this process dies; it stays locked
        (``flock``) while signal-cli or this run still has it open, and the caller deletes it once
        the lines are stored.
        """
        if self.transport is not None:
            raise NotSupported(
                "In json-rpc mode signal-cli's daemon receives all the time; read the inbox instead of running receive."
            )
        return self.run(commands.receive_command(**options), account, on_line=on_envelope, spool=spool)

    def create_poll(self, account, recipient, question, answers, *, allow_multiple=True):
        """Send a poll; returns the send result."""
        command = commands.poll_create_command(recipient, question, answers, allow_multiple=allow_multiple)
        return self.run(command, account)

    def vote_poll(self, account, recipient, poll_author, poll_timestamp, answer_indexes, vote_count):
        """Vote in a poll; ``vote_count`` is a number or a function returning it (called after the version check)."""
        command = commands.poll_vote_command(recipient, poll_author, poll_timestamp, answer_indexes)
        if callable(vote_count):
            # the caller's counter moves on only for a vote that can be sent
            grammar.check_supported(command, self.version)
            vote_count = vote_count()
        return self.run(command.given(voteCount=vote_count), account)

    def terminate_poll(self, account, recipient, poll_timestamp):
        """Close a poll."""
        return self.run(commands.poll_terminate_command(recipient, poll_timestamp), account)

    # -- groups --

    def list_groups(self, account, group_ids=()):
        """The account's groups as signal-cli describes them."""
        return self.run(commands.list_groups_command(group_ids), account) or []

    def get_group(self, account, group_id):
        """One group as signal-cli describes it; raises :class:`NotFound` when the account has none such."""
        for group in self.list_groups(account, [group_id]):
            if group.get("id") == group_id:
                return group
        # named as both APIs name groups: "group." and the base64 of signal-cli's id
        api_id = "group." + base64.b64encode(str(group_id).encode()).decode()
        raise NotFound(f"Account {account} has no group {api_id}.")

    def create_group(self, account, name, members, **settings):
        """Create a group; returns its id (signal-cli's form)."""
        result = self.run(commands.create_group_command(name, members, **settings), account) or {}
        if "groupId" not in result:
            raise BadOutput("signal-cli created a group but printed no group id.", result=result)
        return commands.GroupId(result["groupId"])

    def update_group(self, account, group_id, **settings):
        """Change a group; with no settings, accept a pending invitation to it."""
        return self.run(commands.update_group_command(group_id, **settings), account)

    def quit_group(self, account, group_id, *, delete=False):
        """Leave a group (and with ``delete`` forget it)."""
        return self.run(commands.quit_group_command(group_id, delete=delete), account)

    def join_group(self, account, uri):
        """Join a group through an invite link."""
        return self.run(commands.join_group_command(uri), account)

    def block(self, account, recipients):
        """Block contacts or groups."""
        self.run(commands.block_command(recipients), account)

    def pin_message(self, account, group_id, target_author, timestamp, *, duration=None, unpin=False):
        """Pin (or unpin) a message in a group."""
        command = commands.pin_message_command(group_id, target_author, timestamp, duration=duration, unpin=unpin)
        return self.run(command, account)

    def avatar(self, account, *, contact=None, group_id=None):
        """The avatar's bytes; raises :class:`NotFound` when there is none."""
        result = self.run(commands.avatar_command(contact=contact, group_id=group_id), account) or {}
        try:
            return base64.b64decode(result["data"], validate=True)
        except (KeyError, TypeError, ValueError):
            raise BadOutput("signal-cli printed no avatar data.", result=result) from None

    # -- contacts, identities, stickers --

    def list_contacts(self, account, recipients=(), *, all_recipients=False):
        """The account's contacts (or every recipient it knows)."""
        command = commands.list_contacts_command(recipients, all_recipients=all_recipients)
        return self.run(command, account) or []

    def get_contact(self, account, recipient):
        """One contact (by UUID or number) as signal-cli describes it; :class:`NotFound` if unknown."""
        for contact in self.list_contacts(account, [recipient], all_recipients=True):
            if recipient in (contact.get("uuid"), contact.get("number")):
                return contact
        raise NotFound(f"Account {account} has no contact {recipient}.")

    def update_contact(self, account, recipient, *, name=None, expiration=None):
        """Change a contact's name or disappearing-messages timer."""
        self.run(commands.update_contact_command(recipient, name=name, expiration=expiration), account)

    def send_contacts(self, account):
        """Sync the contact list to the account's other devices."""
        self.run(commands.send_contacts_command(), account)

    def list_identities(self, account):
        """The identity keys the account knows."""
        return self.run(commands.list_identities_command(), account) or []

    def trust(self, account, recipient, *, safety_number=None, all_known_keys=False):
        """Trust a recipient's identity key."""
        command = commands.trust_command(recipient, safety_number=safety_number, all_known_keys=all_known_keys)
        self.run(command, account)

    def list_sticker_packs(self, account):
        """The account's sticker packs."""
        return self.run(commands.list_sticker_packs_command(), account) or []

    def add_sticker_pack(self, account, uri):
        """Install a sticker pack."""
        self.run(commands.add_sticker_pack_command(uri), account)

    # -- stored attachments (files signal-cli wrote for received messages) --

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
