"""signal-cli's version: read from ``signal-cli --version``, remembered across processes.

Asking starts a JVM, so the answer is kept in a small JSON file shared by every worker, valid for
as long as the executable (path, size, mtime) is unchanged.
"""

import contextlib
import json
import os
import re
import shutil
import threading
from pathlib import Path

from .errors import BadOutput

#: three or four numbers: 0.14.4.1 is a release of its own
_VERSION = re.compile(r"(\d+\.\d+\.\d+(?:\.\d+)?)")


def parse_version(text):
    """The version in ``signal-cli --version``'s output (``"signal-cli 0.13.19"`` -> ``"0.13.19"``)."""
    match = _VERSION.search(text)
    if not match:
        raise BadOutput(f"signal-cli --version printed {text.strip()[:80]!r}.", stdout=text)
    return match.group(1)


class VersionCache:
    """The version of ``binary``, asked once with ``ask()`` and remembered in ``path`` (or only here)."""

    def __init__(self, binary, ask, path=None):
        self.binary = str(binary)
        self.ask = ask
        self.path = None if path is None else Path(path)
        self._version = None
        self._lock = threading.Lock()

    def get(self):
        """The version, from memory, the shared file, or signal-cli itself."""
        with self._lock:
            if self._version is None:
                self._version = self._cached() or self._asked()
            return self._version

    def _identity(self):
        path = shutil.which(self.binary) or self.binary
        stat = os.stat(path)
        return {"binary": os.path.realpath(path), "mtime_ns": stat.st_mtime_ns, "size": stat.st_size}

    def _cached(self):
        if self.path is None:
            return None
        try:
            cached = json.loads(self.path.read_text("utf-8"))
            return cached["version"] if cached["identity"] == self._identity() else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _asked(self):
        version = parse_version(self.ask())
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
                temporary.write_text(json.dumps({"identity": self._identity(), "version": version}))
                os.replace(temporary, self.path)
        return version
