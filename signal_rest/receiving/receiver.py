"""The receiver: runs ``signal-cli receive`` for every account on an interval, into the inbox.

Run it as ``signal-rest receiver`` (``make run`` starts it beside gunicorn when
``SIGNAL_REST_RECEIVER`` is on; README has a systemd unit). Each run takes the account's lock for
one short receive window, like any request, so a send waits at most one window. Every line
signal-cli prints is stored in the inbox as soon as it is written (see :mod:`.spool` and
:mod:`.inbox`), then handed out by ``GET /v1/receive`` and POSTed to the webhooks (:mod:`.webhooks`).
Failures back off per account and are logged; SIGTERM or SIGINT stop it cleanly: a running
``signal-cli receive`` is asked to stop, and everything it printed is stored first.
"""

import logging
import signal
import threading
import time

from ..signal_cli import SignalCliError
from . import spool
from .inbox import Retention
from .webhooks import targets

log = logging.getLogger(__name__)

#: the longest pause after repeated failures of one account
MAX_FAILURE_BACKOFF = 300.0


class Receiver:
    """Receives for ``accounts`` (or every account of the config dir) into ``inbox``."""

    def __init__(
        self,
        cli,
        inbox,
        *,
        accounts=None,
        interval=10.0,
        window=1.0,
        max_messages=100,
        deliverer=None,
        account_refresh=600.0,
        prune=None,
        prune_interval=600.0,
        webhooks=(),
    ):
        self.cli = cli
        self.inbox = inbox
        self.configured_accounts = list(accounts) if accounts else None
        self.interval = interval
        self.window = window
        self.max_messages = max_messages
        self.deliverer = deliverer
        self.account_refresh = account_refresh
        self.retention = Retention(prune, prune_interval)
        #: the webhooks, for the status log line
        self.webhooks = list(webhooks)
        self.stop_event = threading.Event()
        self._accounts = []
        self._accounts_at = None
        self._next_run = {}
        self._failures = {}

    def accounts(self):
        """The accounts to receive for: the configured list, or signal-cli's (refreshed now and then)."""
        if self.configured_accounts is not None:
            return self.configured_accounts
        now = time.monotonic()
        if self._accounts_at is None or now - self._accounts_at > self.account_refresh:
            try:
                self._accounts = self.cli.list_accounts()
                self._accounts_at = now
                log.info("receiving for %s", ", ".join(self._accounts) or "no account yet")
            except SignalCliError as error:
                log.warning("cannot list the accounts: %s", error.message)
                self._accounts_at = now - self.account_refresh + min(self.interval, 30)
        return self._accounts

    def receive_once(self, account):
        """One ``signal-cli receive`` run for ``account``; returns how many envelopes were new."""
        try:
            received = spool.receive(
                self.cli,
                self.inbox,
                account,
                on_stored=self._wake_deliverer,
                timeout=self.window,
                max_messages=self.max_messages,
            )
        except SignalCliError as error:
            if not self.stop_event.is_set():
                self.inbox.receive_failed(account, error.message)
            raise
        self.inbox.receive_succeeded(account)
        return received.new

    def _wake_deliverer(self):
        if self.deliverer is not None:
            self.deliverer.wake.set()

    def run(self):
        """Receive until :meth:`stop`; returns when stopped."""
        spool.take_in(self.inbox)
        delivering = None
        if self.deliverer is not None:
            delivering = threading.Thread(target=self.deliverer.run, args=(self.stop_event,), name="deliverer")
            delivering.start()
        try:
            while not self.stop_event.is_set():
                self.retention.run_if_due()
                # spool files of runs that died (a killed receiver or worker) once they are free
                spool.take_in(self.inbox)
                for account in self.accounts():
                    if self.stop_event.is_set():
                        break
                    if self._next_run.get(account, 0) <= time.monotonic():
                        self._run_account(account)
                due = min((self._next_run.get(a, 0) for a in self.accounts()), default=time.monotonic() + 5)
                self.stop_event.wait(max(0.05, min(5.0, due - time.monotonic())))
        finally:
            self.stop_event.set()
            self._wake_deliverer()
            if delivering is not None:
                delivering.join()
            log.info("receiver stopped")

    def _run_account(self, account):
        started = time.monotonic()
        try:
            new = self.receive_once(account)
        except SignalCliError as error:
            if self.stop_event.is_set():
                log.info("receiving for %s was stopped", account)
                return
            failures = self._failures.get(account, 0) + 1
            self._failures[account] = failures
            pause = min(MAX_FAILURE_BACKOFF, self.interval * 2 ** (failures - 1))
            log.warning("receiving for %s failed (%s); next try in %.0fs", account, error.message, pause)
            self._next_run[account] = time.monotonic() + pause
            return
        self._failures.pop(account, None)
        self._next_run[account] = started + self.interval
        status = self.inbox.status(account, targets(self.webhooks, account))
        oldest = status["oldest_waiting_age"]
        log.info(
            "received %d new for %s in %.1fs; waiting %d (oldest %s), webhooks %s",
            new,
            account,
            time.monotonic() - started,
            status["waiting"],
            "-" if oldest is None else f"{oldest:.0f}s",
            ", ".join(f"{w['url']}: {w['pending']} pending" for w in status["webhooks"]) or "idle",
        )

    def stop(self, *_):
        """Stop receiving: no new runs, and a running signal-cli receive is asked to finish."""
        self.stop_event.set()
        self.cli.interrupt()
        self._wake_deliverer()


def main(app):
    """Run the receiver of ``app``'s configuration until SIGTERM or SIGINT."""
    receiver = app.extensions["signal_rest.receiver"]
    signal.signal(signal.SIGTERM, receiver.stop)
    signal.signal(signal.SIGINT, receiver.stop)
    receiver.run()
