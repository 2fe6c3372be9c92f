"""The state of one config dir: its files, the locks around them, the log, and :class:`FakeState`."""

import base64
import contextlib
import fcntl
import json
import os

from .records import account_entry, contact_entry, identity_entry, member_entry, new_group_entry, user_entry, uuid_for

STATE_FILE = "fake-state.json"
STATE_LOCK = "fake-state.lock"
LOG_FILE = "fake-log.jsonl"
LOCK_DIR = "fake-locks"
LINK_TRIGGER = "fake-link-scanned"
ATTACHMENTS_DIR = "attachments"


def dumps(obj):
    """Serialise like Jackson: compact, UTF-8 text left unescaped."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class FileLock:
    """An ``flock`` held for the duration of a ``with`` block."""

    def __init__(self, path, exclusive=True):
        self.path = path
        self.exclusive = exclusive
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def load_state(config_dir):
    try:
        with open(os.path.join(config_dir, STATE_FILE), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def state_temp_file(config_dir, state):
    """Write *state* next to the state file and return the temp path (os.replace commits it)."""
    tmp = os.path.join(config_dir, f"{STATE_FILE}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, ensure_ascii=False, indent=1)
    return tmp


def read_state(config_dir):
    """Return a snapshot of the state, read under a shared lock."""
    with FileLock(os.path.join(config_dir, STATE_LOCK), exclusive=False):
        return load_state(config_dir)


def modify_state(config_dir, fn):
    """Run ``fn(state)`` under the exclusive lock and save the state unless *fn* raises."""
    with FileLock(os.path.join(config_dir, STATE_LOCK), exclusive=True):
        state = load_state(config_dir)
        result = fn(state)
        os.replace(state_temp_file(config_dir, state), os.path.join(config_dir, STATE_FILE))
        write_accounts_file(config_dir, state)
        return result


def write_accounts_file(config_dir, state):
    """Keep ``data/accounts.json`` as signal-cli does: every account it keeps, registered or not
    (AccountsStore, storage version 2: a numbered path, the environment, the number, the ACI)."""
    accounts = [
        {
            "path": f"{100000 + index}",
            "environment": "LIVE",
            "number": number,
            "uuid": entry.get("uuid") if entry.get("registered") else None,
        }
        for index, (number, entry) in enumerate(state.get("accounts", {}).items())
    ]
    data_dir = os.path.join(config_dir, "data")
    os.makedirs(data_dir, exist_ok=True)
    tmp = os.path.join(data_dir, f"accounts.json.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"accounts": accounts, "version": 2}, f, indent=2)
    os.replace(tmp, os.path.join(data_dir, "accounts.json"))


def append_log(config_dir, record):
    """Append one JSON line with a single O_APPEND write, so concurrent writers never interleave."""
    line = (dumps(record) + "\n").encode("utf-8")
    fd = os.open(os.path.join(config_dir, LOG_FILE), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


class FakeState:
    """The test-side handle on one fake config dir: arrange state, then inspect what happened."""

    def __init__(self, config_dir):
        self.config_dir = str(config_dir)
        os.makedirs(self.config_dir, exist_ok=True)

    def load(self):
        """Return a snapshot of fake-state.json."""
        return read_state(self.config_dir)

    def save(self, state):
        """Replace the whole state."""

        def replace(current):
            current.clear()
            current.update(state)

        modify_state(self.config_dir, replace)

    def update(self, fn):
        """Apply ``fn(state)`` atomically (under the state lock) and return its result."""
        return modify_state(self.config_dir, fn)

    def account(self, number):
        """Return the account entry of *number* (with defaults filled in)."""
        return account_entry(self.load(), number)

    def add_account(self, number, registered=True, **fields):
        """Create or update an account; *fields* go straight into its entry."""

        def add(state):
            acct = account_entry(state, number)
            acct["registered"] = registered
            acct.update(fields)
            return acct

        return self.update(add)

    def add_user(self, number, **flags):
        """Describe another Signal user: uuid, registered, untrusted, rate_limited (a captcha challenge:
        True or its token), rate_limited_plain (a plain rate limit: its retry-after seconds), network_failure…"""

        def add(state):
            user = state.setdefault("users", {}).setdefault(number, {})
            user.setdefault("uuid", uuid_for(number))
            user.update(flags)
            return user

        return self.update(add)

    def add_group(self, account, name="Team", members=(), admins=None, **fields):
        """Add a group to *account* and return its base64 id (the account is a member and, by default, admin)."""
        group_id = base64.b64encode(os.urandom(32)).decode()

        def add(state):
            acct = account_entry(state, account)
            is_member = fields.get("isMember", True)
            numbers = ([account] if is_member else []) + [m for m in members if m != account]
            admin_numbers = [account] if admins is None else list(admins)
            acct["groups"].append(
                new_group_entry(
                    group_id,
                    name,
                    [member_entry(state, n) for n in numbers],
                    [member_entry(state, n) for n in admin_numbers],
                    **fields,
                )
            )

        self.update(add)
        return group_id

    def add_contact(self, account, number, **fields):
        """Add a listContacts entry (fields override the defaults)."""

        def add(state):
            contact = contact_entry(number, user_entry(state, number).get("uuid") or uuid_for(number))
            contact.update(fields)
            account_entry(state, account)["contacts"].append(contact)
            return contact

        return self.update(add)

    def add_identity(self, account, number, trust_level="TRUSTED_UNVERIFIED", **fields):
        """Add a listIdentities entry with a consistent fingerprint and safety number."""

        def add(state):
            identity = identity_entry(number, user_entry(state, number).get("uuid") or uuid_for(number), trust_level)
            identity.update(fields)
            account_entry(state, account)["identities"].append(identity)
            return identity

        return self.update(add)

    def queue_messages(self, account, lines):
        """Append receive lines (dicts or JSON text) to the account's inbox."""
        items = [json.loads(line) if isinstance(line, str) else line for line in lines]
        self.update(lambda state: account_entry(state, account)["inbox"].extend(items))

    def inbox(self, account):
        """Return the envelopes still waiting for *account*."""
        return self.load().get("accounts", {}).get(account, {}).get("inbox", [])

    def add_fault(self, **fault):
        """Make matching invocations fail: command, account, exit, stdout, stderr, sleep, garbage, truncate,
        kill_self, times."""
        self.update(lambda state: state.setdefault("faults", []).append(fault))

    def set_delay(self, seconds):
        """Sleep this long in every command once its lock is held (simulated JVM start-up)."""
        self.update(lambda state: state.update(delay=seconds))

    def set_receive_pace(self, seconds, linger=0.0):
        """Make ``receive`` print one envelope every ``seconds`` (a slow stream) and, after SIGTERM,
        go on for ``linger`` seconds before it stops (a slow shutdown, or no parent-death signal)."""
        self.update(lambda state: state.update(receive_pace={"seconds": seconds, "linger": linger}))

    def set_link_timeout(self, seconds, number=None):
        """Configure how long ``link`` waits for a scan (and the number it links by default)."""
        self.update(lambda state: state.update(link={"timeout": seconds, "number": number}))

    def scan_link(self, number):
        """Pretend the phone scanned the QR code: a waiting ``link`` then links *number*."""
        path = os.path.join(self.config_dir, LINK_TRIGGER)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(number)
        os.replace(path + ".tmp", path)

    def write_attachment(self, attachment_id, data):
        """Store a "downloaded" attachment for getAttachment and return its path."""
        folder = os.path.join(self.config_dir, ATTACHMENTS_DIR)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, attachment_id)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def clear_log(self):
        """Forget every record so far (a test's own calls then come first)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.config_dir, LOG_FILE))

    def log(self, events=False):
        """Return the invocation records, oldest first (with ``events=True`` also the start events)."""
        try:
            with open(os.path.join(self.config_dir, LOG_FILE), encoding="utf-8") as f:
                # a line without its newline is still being written by a running process
                records = [json.loads(line) for line in f if line.endswith("\n")]
        except FileNotFoundError:
            return []
        return records if events else [r for r in records if "event" not in r]

    def deliveries(self, account=None):
        """Return the received messages handed out (oldest first): one record per message, with
        ``account``, ``timestamp``, ``sourceUuid``, ``handlers`` (``stdout``, ``connection N``,
        ``request ID``), ``via`` (``receive``, ``daemon``, ``jsonRpc``), ``pid`` and ``time``."""
        return [d for d in self.load().get("delivered", []) if account in (None, d.get("account"))]

    def sent_messages(self, account=None, command=None):
        """Return what the send-family commands sent (oldest first), optionally filtered."""
        return [
            s
            for s in self.load().get("sent", [])
            if account in (None, s.get("account")) and command in (None, s.get("command"))
        ]
