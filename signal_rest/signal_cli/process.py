"""The only place that starts processes: signal-cli runs under the account lock and a process slot.

Every child is tied to the process that starts it: on Linux it gets SIGTERM when the thread that
started it ends, so a worker or receiver that is killed leaves no signal-cli behind (which would
hold the account's lock, or write on into a spool file, until it ended by itself).

signal-cli itself waits forever for a busy account, so every run first takes the account's lock
(a file in the config dir, shared by every gunicorn worker and thread) and one of the service's
process slots, within the lock timeout; waiting requests get each in the order they came. Each
run gets a time limit after which its whole process group is killed. A receive writes into a spool
file that survives this process, and each line is handed on as soon as it is written; ``link``
keeps running in the background until it is scanned.
"""

import contextlib
import fcntl
import json
import logging
import os
import re
import selectors
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

import filelock

from . import launcher
from .errors import (
    AccountBusy,
    BadOutput,
    ConfigDirUnusable,
    ServiceBusy,
    SignalCliError,
    SignalCliNotFound,
    SignalCliTimeout,
)
from .results import Finished, json_lines, result, strip_log_lines
from .waiting import TurnTimeout, WaitingLine

log = logging.getLogger(__name__)

#: a line of nothing but ANSI escape sequences (what ``link`` prints around its QR code)
_ESCAPES_ONLY = re.compile(r"(\x1b\[[0-9;?]*[A-Za-z])+")

#: seconds between SIGTERM and SIGKILL when a run is stopped (receive ends cleanly on SIGTERM)
STOP_GRACE = 3.0

#: signal-cli 0.14.4+ reads /etc/signal-cli/config.json, then $SIGNAL_CLI_CONFIG (or the user's
#: own file) before argv (SIGNAL_CLI_0.14.md §2.1); its booleans have no "off" form on argv. The
#: service points SIGNAL_CLI_CONFIG at a file of its own that restores signal-cli's defaults, so
#: no machine-wide file can send commands over D-Bus, change the output or trust every new key.
GLOBAL_CONFIG = {
    "verbose": 0,
    "output": "plain-text",
    "dbus": False,
    "dbusSystem": False,
    "scrubLog": False,
    "disableSendLog": False,
    "serviceEnvironment": "live",
    "trustNewIdentities": "on-first-use",
}


def _unusable(path, exc):
    """The error for a lock or waiting file that cannot be made at ``path``."""
    return ConfigDirUnusable(
        f"Cannot create {path}: {exc.strerror}. Make SIGNAL_CLI_CONFIG_DIR a directory the service can write."
    )


class NoObserver:
    """The observer when nobody listens (see :class:`signal_rest.metrics.SignalCliObserver`)."""

    def run_finished(self, command, exit_code, seconds):
        """Ignore a finished run."""

    def waited(self, kind, seconds):
        """Ignore a wait."""

    def rejected(self, reason):
        """Ignore a refusal."""


class ProcessRunner:
    """Starts signal-cli processes for one config dir and waits for them."""

    def __init__(self, binary, config_dir, *, cmd_timeout, lock_timeout, max_processes, env, observer=None):
        self.binary = str(binary)
        self.config_dir = Path(config_dir)
        self.cmd_timeout = cmd_timeout
        self.lock_timeout = lock_timeout
        #: how many signal-cli processes may run at once across every worker (0: no limit)
        self.max_processes = max_processes
        self.env = env
        self.observer = observer or NoObserver()
        self._background = set()
        self._background_lock = threading.Lock()
        self._running = set()
        self._running_lock = threading.Lock()
        self._locks = {}
        self._locks_guard = threading.Lock()
        self._global_config_written = False

    # -- locks and slots --

    @property
    def lock_dir(self):
        """Where the per-account lock files live (inside the config dir, shared by all workers)."""
        return self.config_dir / "signal-rest" / "locks"

    def _lock_file(self, name):
        """The (cached) lock on ``lock_dir/name``; FileLock keeps its state per thread, so one object
        serves every thread, and each acquisition is still a flock of its own."""
        with self._locks_guard:
            lock = self._locks.get(name)
            if lock is None:
                folder = (self.lock_dir / name).parent
                try:
                    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                except OSError as exc:
                    raise _unusable(folder, exc) from exc
                lock = self._locks[name] = filelock.FileLock(self.lock_dir / name, timeout=0)
            return lock

    def _wait_in_line(self, name, locks):
        """Take the first free lock of ``locks`` when it is this request's turn in the line ``name``
        (see :mod:`.waiting`); TurnTimeout after the lock timeout."""

        def first_free():
            for lock in locks:
                try:
                    lock.acquire(timeout=0)
                except filelock.Timeout:
                    continue
                return lock
            return None

        line = WaitingLine(self.lock_dir / "waiting" / name)
        try:
            return line.wait_for(first_free, time.monotonic() + self.lock_timeout)
        except OSError as exc:
            raise _unusable(self.lock_dir, exc) from exc

    @contextlib.contextmanager
    def _process_slot(self):
        """Hold one of ``max_processes`` slots (lock files shared by every worker) while running;
        waiters get a slot in the order they came."""
        if not self.max_processes:
            yield
            return
        slots = [self._lock_file(f"slots/{index}.lock") for index in range(self.max_processes)]
        waiting = time.monotonic()
        try:
            slot = self._wait_in_line("slots", slots)
        except TurnTimeout:
            self.observer.rejected("service_busy")
            raise ServiceBusy(
                f"The service is running its maximum of {self.max_processes} signal-cli processes; "
                "try again in a few seconds."
            ) from None
        self.observer.waited("slot", time.monotonic() - waiting)
        try:
            yield
        finally:
            slot.release()

    @contextlib.contextmanager
    def held(self, account, redacted):
        """Hold ``account``'s lock (if any) and a process slot, each given in the order the requests
        came; AccountBusy after the lock timeout. A PermissionError while taking them means the
        lock files cannot be written (ConfigDirUnusable); one raised by the caller's run is its own."""
        running = False
        try:
            if account is None:
                with self._process_slot():
                    running = True
                    yield
                return
            waiting = time.monotonic()
            lock = self._lock_file(f"{account}.lock")
            try:
                self._wait_in_line(f"accounts/{account}", [lock])
            except TurnTimeout:
                self.observer.rejected("account_busy")
                raise AccountBusy(
                    f"Account {account} is busy with another request; try again in a few seconds.", argv=redacted
                ) from None
            try:
                self.observer.waited("account", time.monotonic() - waiting)
                with self._process_slot():
                    running = True
                    yield
            finally:
                lock.release()
        except PermissionError as exc:
            if running:
                raise
            raise ConfigDirUnusable(
                f"Cannot write the lock file in {self.lock_dir}: {exc.strerror}. "
                "Make SIGNAL_CLI_CONFIG_DIR a directory the service can write."
            ) from exc

    # -- running --

    @property
    def global_config_path(self):
        """The signal-cli configuration file the service owns (``SIGNAL_CLI_CONFIG`` of every run)."""
        return self.config_dir / "signal-rest" / "signal-cli-config.json"

    def _global_config(self):
        """Write :data:`GLOBAL_CONFIG` once per runner (atomically: a run never reads half a file)."""
        path = self.global_config_path
        if not self._global_config_written:
            text = json.dumps(GLOBAL_CONFIG, indent=1, sort_keys=True) + "\n"
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not path.is_file() or path.read_text("utf-8") != text:
                    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
                    partial.write_text(text, "utf-8")
                    os.replace(partial, path)
            except OSError as exc:
                raise ConfigDirUnusable(
                    f"Cannot write {path}: {exc.strerror}. "
                    "Make SIGNAL_CLI_CONFIG_DIR a directory the service can write."
                ) from exc
            self._global_config_written = True
        return str(path)

    def start(self, argv, redacted, *, stdin=False, stdout=None):
        """Start ``argv`` in a process group of its own, tied to this process (see
        :func:`launcher.dying_with_parent`); stdin a pipe when ``stdin``, else closed."""
        env = {**self.env, "SIGNAL_CLI_CONFIG": self._global_config()}
        # checked here: the launcher, not this process, would find out that exec fails
        reason = launcher.why_not_runnable(argv[0])
        if reason is not None:
            raise SignalCliNotFound(
                f"signal-cli cannot be run from {argv[0]!r} ({reason}). "
                "Set SIGNAL_CLI_BIN to the signal-cli executable.",
                argv=redacted,
            )
        try:
            return launcher.popen(
                argv,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout is None else stdout,
                stderr=subprocess.PIPE,
                env=env,
                # its own process group, so a kill reaches the JVM and anything it started
                start_new_session=True,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            raise SignalCliNotFound(
                f"signal-cli cannot be run from {self.binary!r} ({exc.strerror}). "
                "Set SIGNAL_CLI_BIN to the signal-cli executable.",
                argv=redacted,
            ) from None

    def execute(self, argv, redacted, label, *, stdin=None, on_line=None, spool=None, extra_time=0.0):
        """Run ``argv`` to its end (or its time limit) and return what happened as :class:`Finished`.

        With ``spool`` (a path that must not exist yet), signal-cli's output goes into that file and
        ``on_line(text, item)`` is called for each JSON line as soon as it is written.
        """
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
            process = self.start(argv, redacted, stdin=stdin is not None, stdout=spool_fd)
        except BaseException:
            if spool_fd is not None:
                os.close(spool_fd)
            raise
        with self._running_lock:
            self._running.add(process)
        try:
            if spool is not None:
                stdout, stderr, timed_out = self._follow(process, spool, items, on_line, extra_time)
            else:
                try:
                    stdout, stderr = process.communicate(stdin, timeout=self.cmd_timeout)
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
        elapsed = time.monotonic() - started
        log.debug("signal-cli exited %s after %.3fs: %s", process.returncode, elapsed, shlex.join(redacted))
        self.observer.run_finished(label, "timeout" if timed_out else process.returncode, elapsed)
        return Finished(
            argv=redacted,
            returncode=process.returncode,
            stdout=stdout.decode("utf-8", "replace"),
            stderr=stderr.decode("utf-8", "replace"),
            timed_out=timed_out,
            items=items,
            seconds=elapsed,
        )

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
                _take_lines(pending, items, on_line)
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

    def stop(self, process, grace=STOP_GRACE):
        """Stop ``process`` and everything it started: SIGTERM, then SIGKILL after ``grace`` seconds."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # the group may outlive its leader (a child that ignored SIGTERM)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def interrupt(self):
        """Ask every signal-cli this runner is running to stop (SIGTERM: receive ends cleanly)."""
        with self._running_lock:
            processes = list(self._running)
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)

    # -- link: a run that outlives the request --

    def link(self, command, argv, redacted, *, lifetime, first_line_timeout, on_end=None):
        """Start ``signal-cli link`` and return its ``sgnl://linkdevice`` URI.

        The process keeps running in the background until the phone scans the code or
        ``lifetime`` seconds pass; then it is stopped and reaped in every case, and ``on_end`` (if
        given) is called with the linked account's number, or with the :class:`SignalCliError` that
        says why the link failed (:class:`SignalCliTimeout` when the code was not scanned in time).
        """
        process = self.start(argv, redacted)
        try:
            line = _link_line(process, first_line_timeout)
        except BaseException:
            self.stop(process)
            raise
        if line is None or not line.startswith("sgnl://linkdevice?"):
            self.stop(process)
            stdout, stderr = process.communicate()
            if process.returncode not in (0, None) and line is None:
                return result(command, redacted, process.returncode, stdout.decode(), stderr.decode())
            raise BadOutput(f"signal-cli link printed {line!r} instead of a device link.", argv=redacted)
        watcher = threading.Thread(
            target=self._finish_link, args=(command, redacted, process, lifetime, on_end), daemon=True
        )
        with self._background_lock:
            self._background.add(process)
        watcher.start()
        return line

    def _finish_link(self, command, redacted, process, lifetime, on_end):
        """Wait for the phone to scan the link (or ``lifetime`` to pass), reap the process, then
        tell ``on_end`` how the link ended."""
        try:
            stdout, stderr = process.communicate(timeout=lifetime)
            log.info("signal-cli link finished (exit %s): %s", process.returncode, strip_log_lines(stdout.decode()))
            outcome = _link_outcome(command, redacted, process.returncode, stdout.decode(), stderr.decode())
        except subprocess.TimeoutExpired:
            log.info("signal-cli link was not scanned within %ss; stopping it", lifetime)
            self.stop(process)
            process.communicate()
            outcome = SignalCliTimeout(
                f"The code was not scanned within {lifetime:.0f} seconds; start a new link.", argv=redacted
            )
        finally:
            with self._background_lock:
                self._background.discard(process)
        if on_end is not None:
            on_end(outcome)

    def close(self):
        """Stop every background process (pending links); called when the worker exits."""
        with self._background_lock:
            processes = list(self._background)
        for process in processes:
            self.stop(process)


#: what ``link`` prints once the phone has scanned the code
_ASSOCIATED = re.compile(r"^Associated with: (\+\d+)\s*$", re.MULTILINE)


def _link_outcome(command, redacted, returncode, stdout, stderr):
    """The number an ended ``link`` run was linked to, or the :class:`SignalCliError` of its failure."""
    try:
        result(command, redacted, returncode, stdout, stderr)
    except SignalCliError as error:
        return error
    found = _ASSOCIATED.search(stdout)
    if found is None:
        return BadOutput(f"signal-cli link ended without saying which account it linked: {stdout[:200]!r}.")
    return found.group(1)


def _take_lines(buffer, items, on_line):
    """Move every complete line of ``buffer`` into ``items``, handing its text and item to ``on_line``."""
    for line, item in json_lines(buffer, "signal-cli's output"):
        if on_line is not None:
            on_line(line, item)
        items.append(item)


#: what ``link`` may print before its URI (0.14.0+ draws a QR code first when it sees a console)
_LINK_PREAMBLE_MAX = 64 * 1024


def _link_line(process, timeout):
    """The ``sgnl://`` line ``link`` prints, skipping anything before it (a QR code drawn with
    block characters, terminal escapes); the first other line instead if the URI never comes, and
    None at EOF with nothing printed. SignalCliTimeout after ``timeout``."""
    deadline = time.monotonic() + timeout
    buffer = bytearray()
    other = None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            while (end := buffer.find(b"\n")) >= 0:
                line = bytes(buffer[:end]).decode("utf-8", "replace").strip()
                del buffer[: end + 1]
                if line.startswith("sgnl://"):
                    return line
                if other is None and line and not _ESCAPES_ONLY.fullmatch(line):
                    other = line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SignalCliTimeout(f"signal-cli link printed no device link within {timeout:g} seconds.")
            if not selector.select(remaining):
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk or len(buffer) > _LINK_PREAMBLE_MAX:
                rest = bytes(buffer).decode("utf-8", "replace").strip()
                return rest if rest.startswith("sgnl://") else other or rest or None
            buffer += chunk
