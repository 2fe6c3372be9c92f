"""The supervisor of json-rpc mode: runs the one ``signal-cli daemon``, and carries what it receives into the inbox.

Run it as ``signal-rest daemon`` beside gunicorn (``make run`` does when ``SIGNAL_REST_MODE`` is
``json-rpc``; README has a systemd unit). It starts the daemon (:mod:`signal_rest.signal_cli.daemon`)
with its stdout in a new spool file, stores every line the daemon writes there as soon as it is
written (the spool rule of :mod:`.spool`: the file is deleted only once every line is stored),
delivers webhooks, and restarts the daemon with a growing pause when it exits. SIGTERM or SIGINT
stop the daemon (it finishes its calls), store the rest of its output, and end.

Why nothing is lost: the daemon acknowledges a message to Signal's servers, then writes it to its
stdout, and keeps it in its own message cache until the write is done (SIGNAL_CLI_0.14.md §6.6).
Once written, the line is in a file that outlives every process; a spool file left by a killed
supervisor is taken in when its daemon has ended (the daemon gets SIGTERM when its supervisor dies).
"""

import logging
import signal
import sqlite3
import threading
import time

from ..signal_cli import SignalCliError
from ..signal_cli import daemon as signal_cli_daemon
from ..signal_cli.results import json_lines
from . import spool
from .inbox import Retention

log = logging.getLogger(__name__)

#: the longest pause between two starts of a daemon that keeps failing
MAX_RESTART_PAUSE = 30.0
#: a daemon that ran this long before it exited is restarted at once, not after a pause
STEADY_AFTER = 60.0
#: seconds between two looks at the spool file (the latency a received message can have here)
POLL = 0.05


class Supervisor:
    """Keeps ``process`` (a :class:`~signal_rest.signal_cli.daemon.DaemonProcess`) running and
    its received messages flowing into ``inbox``."""

    def __init__(
        self,
        process,
        inbox,
        *,
        deliverer=None,
        prune=None,
        prune_interval=600.0,
        start_timeout=120.0,
        max_pause=MAX_RESTART_PAUSE,
    ):
        self.process = process
        self.inbox = inbox
        self.config_dir = process.config_dir
        self.deliverer = deliverer
        self.retention = Retention(prune, prune_interval)
        self.start_timeout = start_timeout
        self.max_pause = max_pause
        self.stop_event = threading.Event()
        self.starts = 0

    def status(self, state, message):
        """Record the daemon's state for the workers' 503 answers."""
        try:
            signal_cli_daemon.write_status(self.config_dir, state, message, starts=self.starts)
        except OSError as exc:
            log.warning("cannot write the daemon's status file: %s", exc)

    def run(self):
        """Supervise until :meth:`stop`; returns when stopped."""
        delivering = None
        if self.deliverer is not None:
            delivering = threading.Thread(target=self.deliverer.run, args=(self.stop_event,), name="deliverer")
            delivering.start()
        failures = 0
        try:
            while not self.stop_event.is_set():
                spool.take_in(self.inbox, owner=spool.DAEMON)
                started = time.monotonic()
                problem = self._serve()
                if self.stop_event.is_set():
                    break
                failures = 0 if time.monotonic() - started >= STEADY_AFTER else failures + 1
                pause = min(self.max_pause, 0.5 * 2 ** (failures - 1)) if failures else 0.0
                log.warning("signal-cli's daemon %s; starting it again in %.1fs", problem, pause)
                self.status("restarting", f"signal-cli's daemon {problem}; it is restarted in {pause:.0f}s.")
                self.stop_event.wait(pause)
        finally:
            self.stop_event.set()
            if self.deliverer is not None:
                self.deliverer.wake.set()
            if delivering is not None:
                delivering.join()
            self.status("stopped", "signal-cli's daemon was stopped with the service.")
            self.process.remove_private_folder()
            log.info("supervisor stopped")

    def _serve(self):
        """One life of the daemon: start it, store what it writes, until it exits. Returns what
        happened, as the end of a sentence ("exited with 1: ...")."""
        path = spool.new_path(self.inbox, spool.DAEMON)
        self.starts += 1
        self.status("starting", "signal-cli's daemon is starting.")
        try:
            child = self.process.start(path)
        except SignalCliError as error:
            spool.finish(path)
            self.status("failed", error.message)
            return f"could not be started ({error.message})"
        stderr = signal_cli_daemon.StderrLog(child.stderr)
        unsaved = self._follow(child, path)
        stderr.join()
        child.stderr.close()
        if not unsaved:
            spool.finish(path)
        return f"exited with {child.returncode}" + (f": {stderr.summary()}" if stderr.summary() else "")

    def _follow(self, child, path):
        """Store each line the daemon writes into ``path`` until it exits; returns how many lines
        could not be stored (they stay in the file, taken in later)."""
        started = time.monotonic()
        ready = False
        stopping = False
        unsaved = 0
        pending = bytearray()
        next_take_in = 0.0
        with open(path, "rb") as reader:
            while True:
                exited = child.poll() is not None
                pending += reader.read()
                if b"\n" in pending or time.monotonic() >= next_take_in:
                    # a previous daemon's spool, once that daemon has ended, goes first (and is not
                    # left for the next restart)
                    spool.take_in(self.inbox, owner=spool.DAEMON)
                    next_take_in = time.monotonic() + 1.0
                unsaved += self._store_lines(pending, path)
                if exited:
                    break
                if self.stop_event.is_set() and not stopping:
                    stopping = True
                    self.status("stopping", "signal-cli's daemon is stopping with the service.")
                    # in a thread: the loop goes on storing what the daemon writes while it shuts down
                    threading.Thread(target=self.process.stop, name="stop-daemon", daemon=True).start()
                elif not ready and not stopping:
                    if self.process.ready():
                        ready = True
                        log.info("signal-cli's daemon answers after %.2fs", time.monotonic() - started)
                        self.status("running", "signal-cli's daemon is running.")
                    elif time.monotonic() - started > self.start_timeout:
                        log.warning("signal-cli's daemon did not answer within %ss; stopping it", self.start_timeout)
                        stopping = True
                        threading.Thread(target=self.process.stop, name="stop-daemon", daemon=True).start()
                self.retention.run_if_due()
                time.sleep(POLL)
        if pending.strip():
            log.warning("signal-cli's daemon ended with a truncated line: %r", bytes(pending[:300]))
        return unsaved

    def _store_lines(self, buffer, path):
        """Store every complete line of ``buffer`` (removing it); returns how many could not be stored."""
        unsaved = 0
        for line, item in json_lines(buffer, path.name):
            account = item.get("account") if isinstance(item, dict) else None
            if not isinstance(account, str):
                log.warning("signal-cli's daemon wrote a line without an account; ignoring it: %r", line[:300])
                continue
            try:
                new = self.inbox.store(account, line, item)
            except sqlite3.Error:
                log.exception("could not store a received message in the inbox; it stays in %s", path.name)
                unsaved += 1
                continue
            if new and self.deliverer is not None:
                self.deliverer.wake.set()
        return unsaved

    def stop(self, *_):
        """Stop supervising: the daemon is asked to stop, and what it writes until then is stored."""
        self.stop_event.set()


def main(app):
    """Run the supervisor of ``app``'s configuration until SIGTERM or SIGINT."""
    supervisor = app.extensions["signal_rest.supervisor"]
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    supervisor.run()
