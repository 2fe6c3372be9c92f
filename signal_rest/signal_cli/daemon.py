"""The resident ``signal-cli daemon`` of json-rpc mode: where it listens, how it starts and stops.

One daemon serves every account of the config dir (multi-account mode) on a Unix socket in the
service's own folder of the config dir. The socket, not ``--tcp`` or ``--http``: only the service's
user can reach it (the folder is 0700, where a loopback port is open to every local user and the
daemon has no authentication), it needs no free port, and it has no Nagle delay between an
answer and its newline (SIGNAL_CLI.md §6). ``--socket PATH`` is explicit, which 0.14 requires.

The daemon receives from the start (``--receive-mode on-start``) and writes every received message
as a JSON line to its stdout, which is a spool file (:mod:`signal_rest.receiving.spool`): what
signal-cli has written there survives any process that dies. The daemon holds the file's ``flock``
for its whole life, so nobody takes in a spool that is still being written. It gets SIGTERM when
the process that started it dies (Linux's parent-death signal), so it never outlives its supervisor.

The supervisor writes what it knows into ``status.json`` beside the socket; a worker that cannot
reach the daemon answers 503 with that account of it.
"""

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import stat
import threading
import time
from pathlib import Path

from . import grammar
from .errors import SignalCliError, SignalCliNotFound
from .results import strip_log_lines

log = logging.getLogger(__name__)

_ROUTINE = re.compile(r"^(TRACE|DEBUG|INFO|WARN)\s+\S+ - ")

#: seconds the daemon gets to shut down after SIGTERM before it is killed
STOP_GRACE = 15.0
#: the longest socket path signal-cli's Java binds: sockaddr_un's sun_path is 108 bytes, and the JDK
#: keeps two of them back (MAX_UNIX_DOMAIN_PATH_LEN); a 107-byte path is "Unix domain path too long"
MAX_SOCKET_PATH = 106


def directory(config_dir):
    """The folder of the daemon's socket and status file (private to the service's user)."""
    return Path(config_dir) / "signal-rest" / "daemon"


def socket_path(config_dir):
    """The daemon's Unix socket: in the service's folder of the config dir, or, where that path is
    too long for a socket address, in a private folder of $XDG_RUNTIME_DIR (or of /tmp, where that
    is too long as well) named after the config dir (absolute: signal-cli resolves a relative one
    wrongly)."""
    config_dir = Path(config_dir).absolute()
    preferred = directory(config_dir) / "socket"
    if len(os.fsencode(preferred)) <= MAX_SOCKET_PATH:
        return preferred
    name = Path(hashlib.sha256(os.fsencode(config_dir)).hexdigest()[:16]) / "socket"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and len(os.fsencode(Path(runtime) / "signal-rest" / name)) <= MAX_SOCKET_PATH:
        return Path(runtime) / "signal-rest" / name
    return Path("/tmp") / f"signal-rest-{os.getuid()}" / name


def private_folder(path):
    """Create the folder ``path`` (and a missing parent) for this user alone; refuse one that
    another user owns or can write, or a symlink (someone could read or replace the socket)."""
    for folder in (path.parent, path):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    for folder in (path.parent, path):
        if not _is_private(folder):
            raise SignalCliError(
                f"{folder} belongs to another user or others can write it; the daemon's socket cannot be "
                "kept there safely. Remove it, or use a shorter SIGNAL_CLI_CONFIG_DIR."
            )


def _is_private(folder):
    """Whether ``folder`` is a real folder of this user that nobody else can write."""
    info = os.lstat(folder)
    return not (stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022)


def status_path(config_dir):
    """The supervisor's ``status.json``."""
    return directory(config_dir) / "status.json"


def read_status(config_dir):
    """The supervisor's last status (``{"state", "message", "pid", "since"}``), or None."""
    try:
        status = json.loads(status_path(config_dir).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def write_status(config_dir, state, message, **extra):
    """Record the daemon's state for the workers (atomically)."""
    path = status_path(config_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(
        json.dumps({"state": state, "message": message, "pid": os.getpid(), "since": time.time(), **extra}), "utf-8"
    )
    os.replace(partial, path)


def describe(config_dir):
    """Why the daemon cannot be reached, as a sentence that says what to do (for the 503)."""
    status = read_status(config_dir)
    if status is None:
        return None
    supervisor = status.get("pid")
    alive = True
    if isinstance(supervisor, int):
        try:
            os.kill(supervisor, 0)
        except ProcessLookupError:
            alive = False
        except PermissionError:
            pass
    if not alive or status.get("state") == "stopped":
        return (
            "signal-cli's daemon is not running: its supervisor `signal-rest daemon` has stopped. "
            "Start it again (`make run` starts it in json-rpc mode)."
        )
    message = status.get("message") or ""
    if status.get("state") == "running":
        return f"signal-cli's daemon is restarting; try again in a few seconds. {message}".strip()
    return f"{message} Try again in a few seconds.".strip()


class DaemonProcess:
    """Starts ``signal-cli daemon`` for the config dir of ``runner`` and stops it again.

    ``options`` are extra words for the daemon command (``--ignore-attachments``, ...).
    """

    def __init__(self, runner, *, options=(), trust_mode=None):
        self.runner = runner
        self.config_dir = runner.config_dir
        self.socket_path = socket_path(self.config_dir)
        self.options = list(options)
        self.trust_mode = trust_mode
        self.process = None

    def argv(self):
        """The daemon's whole argv."""
        words = [self.runner.binary, "--config", str(self.config_dir), "-o", "json"]
        if self.trust_mode:
            words.append(grammar.long_form("--trust-new-identities", self.trust_mode))
        return [*words, "daemon", "--socket", str(self.socket_path), "--receive-mode", "on-start", *self.options]

    @property
    def _in_private_folder(self):
        """Whether the socket is in a private folder outside the config dir (its path was too long)."""
        return self.socket_path.parent != directory(self.config_dir.absolute())

    def start(self, spool):
        """Start the daemon with its stdout appended to the new file ``spool`` (which it keeps locked)."""
        if self._in_private_folder:
            private_folder(self.socket_path.parent)
        else:
            self.socket_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if shutil.which(self.runner.binary) is None:
            raise SignalCliNotFound(
                f"signal-cli cannot be run from {self.runner.binary!r} (no such executable). "
                "Set SIGNAL_CLI_BIN to the signal-cli executable."
            )
        self._remove_stale_socket()
        argv = self.argv()
        fd = os.open(spool, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.process = self.runner.start(argv, argv, stdout=fd)
        finally:
            # the daemon holds the file (and its lock) from now on, for as long as it runs
            os.close(fd)
        log.info("started signal-cli daemon (pid %s): %s", self.process.pid, " ".join(argv))
        return self.process

    def _remove_stale_socket(self):
        """Remove a socket file nobody listens on (a killed daemon's): a new daemon cannot bind it."""
        if not self.socket_path.exists() and not self.socket_path.is_symlink():
            return
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.settimeout(1.0)
            probe.connect(str(self.socket_path))
        except OSError:
            log.warning("removing the stale socket %s of a daemon that is gone", self.socket_path)
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
        else:
            raise SignalCliError(
                f"Another signal-cli daemon already listens on {self.socket_path}: stop the other "
                "`signal-rest daemon` for this config dir first."
            )
        finally:
            probe.close()

    def ready(self):
        """Whether the daemon accepts connections and answers (a ``version`` call)."""
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.settimeout(2.0)
            probe.connect(str(self.socket_path))
            probe.sendall(b'{"jsonrpc":"2.0","method":"version","id":"ready"}\n')
            data = b""
            while b"\n" not in data:
                chunk = probe.recv(4096)
                if not chunk:
                    return False
                data += chunk
            return b'"ready"' in data
        except OSError:
            return False
        finally:
            probe.close()

    def stop(self, grace=STOP_GRACE):
        """SIGTERM (the daemon finishes its calls and removes its socket), then SIGKILL after ``grace``."""
        process = self.process
        if process is None:
            return None
        self.runner.stop(process, grace=grace)
        return process.returncode

    def remove_private_folder(self):
        """Once the daemon has ended for good: remove the private folder made for its socket outside
        the config dir, with the socket a killed daemon left in it (kept while a daemon listens)."""
        if not self._in_private_folder:
            return
        with contextlib.suppress(SignalCliError, OSError):
            if _is_private(self.socket_path.parent):  # not one the service refused to use
                self._remove_stale_socket()
                self.socket_path.parent.rmdir()


class StderrLog:
    """Drains the daemon's stderr into the log, line by line (a full pipe would stall the daemon),
    and keeps the last lines for the supervisor's status."""

    def __init__(self, stream, keep=5):
        self.stream = stream
        self.last = []
        self.keep = keep
        self.thread = threading.Thread(target=self._drain, name="signal-cli-daemon-stderr", daemon=True)
        self.thread.start()

    def _drain(self):
        for raw in iter(self.stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if not line:
                continue
            self.last = [*self.last[-(self.keep - 1) :], line]
            # signal-cli's own INFO and WARN lines (one per send) are detail; errors and the rest
            # (a Java exception, a failure to start) are not
            level = logging.DEBUG if _ROUTINE.match(line) else logging.WARNING
            log.log(level, "signal-cli daemon: %s", line.encode("unicode_escape").decode("ascii"))

    def join(self, timeout=5.0):
        """Wait until the stream has ended (the daemon exited)."""
        self.thread.join(timeout)

    def summary(self):
        """The last lines signal-cli printed that are not its logging, or its last log line."""
        plain = [line for line in self.last if strip_log_lines(line)]
        return (plain or self.last or [""])[-1]
