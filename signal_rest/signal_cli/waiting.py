"""First come, first served waiting for a lock file, across every thread of every process.

A lock file alone is not fair: whoever polls at the right moment gets it, so under load a request
can wait until its time limit while later ones overtake it. A :class:`WaitingLine` puts a ticket in
a folder for each waiter, named after the time it came; only the oldest ticket may try the lock.

Each ticket is a file its waiter holds an ``flock`` on until it leaves, so a waiter that died (a
worker killed mid-request) is noticed by the next one in line: it can take the lock on the ticket,
and removes it. A ticket is locked before it gets its name, so no living ticket is ever taken for a
dead one.
"""

import fcntl
import os
import threading
import time
from pathlib import Path

#: seconds between two looks at the line, and at the lock for the first in line
POLL = 0.01
#: seconds between two checks that the waiter just ahead is still alive
CHECK_AHEAD = 0.1


class TurnTimeout(Exception):
    """The deadline passed before this waiter got the lock."""


class WaitingLine:
    """The waiters for one lock (a folder of ticket files; see the module's docstring)."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def wait_for(self, take, deadline):
        """Wait in line until ``take()`` (tried only by the first in line) returns something other
        than None, and return that; :class:`TurnTimeout` at ``deadline`` (a ``time.monotonic()``)."""
        name, descriptor = self._join()
        try:
            checked = 0.0
            while True:
                ahead = self._ahead_of(name)
                if not ahead:
                    taken = take()
                    if taken is not None:
                        return taken
                elif time.monotonic() - checked >= CHECK_AHEAD:
                    self._drop_if_abandoned(ahead[-1])
                    checked = time.monotonic()
                if time.monotonic() >= deadline:
                    raise TurnTimeout()
                time.sleep(POLL)
        finally:
            self._leave(name, descriptor)

    def _join(self):
        """A new ticket, locked before it appears under its name."""
        name = f"{time.time_ns():020d}-{os.getpid()}-{threading.get_ident()}"
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = self.folder / f".{name}"
        descriptor = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(partial, self.folder / name)
        except BaseException:
            os.close(descriptor)
            partial.unlink(missing_ok=True)
            raise
        return name, descriptor

    def _leave(self, name, descriptor):
        """Remove the ticket while it is still locked, then let go of it."""
        try:
            (self.folder / name).unlink(missing_ok=True)
        finally:
            os.close(descriptor)

    def _ahead_of(self, name):
        """The tickets older than ``name``, oldest first."""
        return sorted(other for other in os.listdir(self.folder) if not other.startswith(".") and other < name)

    def _drop_if_abandoned(self, name):
        """Remove the ticket ``name`` if its waiter is gone (nobody holds its lock)."""
        try:
            descriptor = os.open(self.folder / name, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        else:
            (self.folder / name).unlink(missing_ok=True)
        finally:
            os.close(descriptor)
