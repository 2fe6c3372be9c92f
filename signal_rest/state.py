"""The service's own small state, shared by every worker: trust modes, log level, poll votes.

It is one JSON file beside signal-cli's data (``<config dir>/signal-rest/state.json``), written
atomically under a file lock and re-read only when it changed, so a setting made through one
gunicorn worker is in force in all of them.
"""

import json
import os
import tempfile
import threading
from pathlib import Path

import filelock


class ServiceState:
    """Reads and writes ``state.json`` in ``directory``."""

    def __init__(self, directory):
        self.directory = Path(directory).expanduser()
        self.path = self.directory / "state.json"
        self._cache = ({}, None)
        self._guard = threading.Lock()

    def _read(self):
        try:
            stat = self.path.stat()
        except OSError:
            # missing, or the data dir is unusable: running signal-cli will say so (503)
            return {}
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._guard:
            data, cached_key = self._cache
            if cached_key != key:
                try:
                    data = json.loads(self.path.read_text("utf-8"))
                except (OSError, ValueError):
                    data = {}
                self._cache = (data, key)
            return data

    def _update(self, change):
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with filelock.FileLock(self.directory / "state.json.lock", timeout=10):
            try:
                data = json.loads(self.path.read_text("utf-8"))
            except (OSError, ValueError):
                data = {}
            change(data)
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".state-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, indent=2, sort_keys=True)
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise

    def trust_mode(self, account):
        """The stored ``--trust-new-identities`` mode of ``account``, or None."""
        return self._read().get("trust_modes", {}).get(account)

    def set_trust_mode(self, account, mode):
        """Store the trust mode of ``account``."""
        self._update(lambda data: data.setdefault("trust_modes", {}).__setitem__(account, mode))

    def log_level(self):
        """The log level set at run time, or None."""
        return self._read().get("log_level")

    def set_log_level(self, level):
        """Store the log level set at run time."""
        self._update(lambda data: data.__setitem__("log_level", level))

    def next_vote_count(self, account, poll_author, poll_timestamp):
        """The next vote count for a poll (Signal counts an account's votes on one poll: 1, 2, ...)."""
        key = f"{account} {poll_author} {poll_timestamp}"
        counts = {}

        def increment(data):
            votes = data.setdefault("poll_votes", {})
            votes[key] = votes.get(key, 0) + 1
            counts["value"] = votes[key]

        self._update(increment)
        return counts["value"]
