"""The device links the console started, and how each ended, shared by every gunicorn worker.

A link's ``signal-cli link`` waits in the background of the worker that started it, but the page's
polls may reach any worker: so each link is one small JSON file in the data dir, written
atomically, that the worker which runs the link updates when it ends.
"""

import json
import os
import secrets
import time
from pathlib import Path

from ..errors import signal_cli_error_message
from ..signal_cli.errors import SignalCliTimeout

#: seconds a link's file is kept after its lifetime
KEEP_FOR = 3600.0
#: seconds past its lifetime after which a link nobody reported on counts as timed out (its worker died)
GRACE = 30.0


class LinkStore:
    """The console's device links, one file each in ``directory``."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def _path(self, link_id):
        return self.directory / f"{link_id}.json"

    def _write(self, link_id, record):
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.directory / f".{link_id}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(record), "utf-8")
        os.replace(temporary, self._path(link_id))

    def new(self, device_name, lifetime):
        """A fresh link id, recorded as waiting for its URI."""
        self._forget_old()
        link_id = secrets.token_urlsafe(16)
        self._write(
            link_id,
            {"device_name": device_name, "started_at": time.time(), "lifetime": lifetime, "status": "waiting"},
        )
        return link_id

    def started(self, link_id, uri):
        """Record the ``sgnl://linkdevice`` URI signal-cli printed for the link."""
        record = self.get(link_id)
        if record is not None and record["status"] == "waiting":
            self._write(link_id, {**record, "uri": uri})

    def ended(self, link_id, outcome):
        """Record how the link ended: the linked number, or the SignalCliError of its failure."""
        record = self.get(link_id) or {}
        if isinstance(outcome, str):
            record.update(status="linked", number=outcome)
        else:
            status = "timeout" if isinstance(outcome, SignalCliTimeout) else "failed"
            record.update(status=status, error=signal_cli_error_message(outcome))
        self._write(link_id, record)

    def get(self, link_id):
        """The link's record (``status``: waiting, linked, failed or timeout), or None if unknown."""
        if not link_id.replace("-", "").replace("_", "").isalnum():
            return None
        try:
            record = json.loads(self._path(link_id).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        if record["status"] == "waiting" and time.time() > record["started_at"] + record["lifetime"] + GRACE:
            record.update(status="timeout", error="The link ended without a word from signal-cli; start a new one.")
        return record

    def _forget_old(self):
        """Remove the files of links that ended long ago."""
        if not self.directory.is_dir():
            return
        now = time.time()
        for path in self.directory.glob("*.json"):
            try:
                if now - path.stat().st_mtime > KEEP_FOR:
                    path.unlink()
            except OSError:
                pass
