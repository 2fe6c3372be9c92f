"""Spool files: what ``signal-cli receive`` prints, on disk until the inbox has it; and the one receive run.

signal-cli prints into a spool file of the inbox (``spool/<account>.<ns>.<pid>.jsonl`` beside the
database) rather than a pipe, so every line it has printed survives even if this process dies. The
rule: a spool file is held under an exclusive ``flock`` by whoever has it open (the signal-cli run
writing it and the run reading it, see :meth:`signal_rest.signal_cli.SignalCli.receive`), and is
deleted only when all its lines are stored. A file nobody holds was left behind by a process that
died; the next receive for that account (or the receiver) takes it in.

Order after a crash: a killed receiver's signal-cli may still write into its spool file for a
moment (it gets SIGTERM with its parent, and finishes the message it handles). The next run for
that account cannot print anything before that signal-cli has ended (signal-cli holds the
account's data file for its whole life), so before a run stores its first line it takes in every
older spool file of its account, waiting for one that is still held: the older messages are in
the inbox, and go out to pollers and webhooks, before the newer ones.

:func:`receive` is the receive run both the receiver and ``GET /v1/receive`` use: a new spool file,
``signal-cli receive`` into it, each line stored as soon as it is written, the file finished.
"""

import contextlib
import fcntl
import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field

from ..signal_cli import SignalCliError
from ..signal_cli.results import json_lines

log = logging.getLogger(__name__)

#: the name the spool files of json-rpc mode's daemon start with (one file per daemon, every account)
DAEMON = "daemon"
#: how long a run waits for an older spool file of its account that is still held (its signal-cli,
#: orphaned by a process that died, is ending: it got SIGTERM and finishes the message it handles)
ORPHAN_WAIT = 15.0


def directory(inbox):
    """Where the spool files of ``inbox`` are."""
    return inbox.path.parent / "spool"


def new_path(inbox, account):
    """A path for a new spool file of ``account`` (signal-cli creates it)."""
    spool_dir = directory(inbox)
    spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return spool_dir / f"{account}.{time.time_ns()}.{os.getpid()}.jsonl"


def finish(path):
    """Delete a spool file whose lines are all stored."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def take_in(inbox, account=None, *, owner=None, before=None, wait=0.0):
    """Store the lines of spool files left behind (by a process that died); returns how many were new.

    ``account`` narrows it to that account's receive runs, ``owner`` to another writer's files
    (:data:`DAEMON`: json-rpc mode's daemon, whose lines name their account), ``before`` to the
    files older than that spool file. A file still open in a running signal-cli (or receive) is
    locked: it is waited for up to ``wait`` seconds, else left alone.
    """
    spool_dir = directory(inbox)
    if not spool_dir.is_dir():
        return 0
    new = 0
    deadline = time.monotonic() + wait
    for path in sorted(spool_dir.glob(f"{owner or account or '*'}.*.jsonl"), key=_age):
        if before is not None and _age(path) >= _age(before):
            continue
        prefix = path.name.split(".", 1)[0]
        try:
            handle = open(path, "rb")  # noqa: SIM115 (held for the flock below)
        except FileNotFoundError:
            continue
        with handle:
            if not _lock(handle, deadline):
                if wait:
                    log.warning("%s is still being written after %.0fs; newer messages may come first", path.name, wait)
                continue
            data = bytearray(handle.read())
            for line, envelope in json_lines(data, path.name):
                line_account = envelope.get("account") if prefix == DAEMON and isinstance(envelope, dict) else prefix
                if isinstance(line_account, str):
                    new += inbox.store(line_account, line, envelope)
            if data.strip():
                log.warning("dropping a truncated last line of %s: %r", path.name, bytes(data[:200]))
            finish(path)
    if new:
        log.warning("took in %d received messages from spool files left behind", new)
    return new


def _age(path):
    """A spool file's place in time: (the nanoseconds in its name, its name)."""
    parts = path.name.split(".")
    stamp = parts[1] if len(parts) > 2 and parts[1].isdigit() else ""
    return int(stamp or 0), path.name


def _lock(handle, deadline):
    """Take the spool file's flock, trying until ``deadline``; whether it was taken."""
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


@dataclass
class Received:
    """What one receive run brought into the inbox."""

    #: how many envelopes were stored for the first time
    new: int = 0
    #: lines the inbox could not store (they also stay in their spool file, taken in later)
    unsaved: list = field(default_factory=list)


def receive(cli, inbox, account, *, on_stored=None, **options):
    """Run ``signal-cli receive`` for ``account`` (``options``: see ``SignalCli.receive``) into ``inbox``.

    Each line is stored as soon as signal-cli has written it, the first one after every older spool
    file of ``account`` (see the module's docstring); ``on_stored()`` is called after each envelope
    stored for the first time. Returns :class:`Received`. A :class:`SignalCliError` is
    raised when signal-cli failed before handing over any line.
    """
    path = new_path(inbox, account)
    received = Received()
    older_taken_in = []

    def keep(line, envelope):
        if not older_taken_in:
            older_taken_in.append(True)
            try:
                if take_in(inbox, account, before=path, wait=ORPHAN_WAIT) and on_stored is not None:
                    on_stored()
            except sqlite3.Error:
                log.exception("could not take in the older spool files of %s; newer messages may come first", account)
        try:
            new = inbox.store(account, line, envelope)
        except sqlite3.Error:
            log.exception("could not store a received message in the inbox; it stays in %s", path.name)
            received.unsaved.append(line)
            return
        if new:
            received.new += 1
            if on_stored is not None:
                on_stored()

    try:
        cli.receive(account, path, on_envelope=keep, **options)
    except SignalCliError:
        # the wrapper raises only when no line came: the file holds nothing to keep
        finish(path)
        raise
    # only now is every line of the spool file stored, unless the inbox refused some
    if not received.unsaved:
        finish(path)
    return received
