"""Start-up tuning of an installed signal-cli: the JVM options, libsignal's native library unpacked
once (:func:`build_tuned_install`) and the JDK's ahead-of-time class cache (:func:`train_aot_cache`).

``make bench`` measures what each of them saves.
"""

import logging
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from .layout import PARTIAL_PREFIX, install_path, tuned_path

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
VERIFY_TIMEOUT = 120

log = logging.getLogger(__name__)


def path_option(name, path):
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
        opts = (*opts, path_option("AOTCache", cache))
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
        env["JAVA_OPTS"] = " ".join((*tuned_opts(None, native), path_option("AOTCacheOutput", partial)))
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
        check = run_version(signal_cli, env)
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


def build_tuned_install(dest, version):
    """Make :func:`tuned_path`: the upstream install with libsignal's native library unpacked once.

    libsignal's jar carries its native library (over 100 MB) and copies it to a temporary file on
    every start; loaded from disk instead (``-Djava.library.path``), each start saves that copy. The
    tuned install is the upstream launcher and jars (linked, not copied) with libsignal's jar minus
    its native libraries. Returns the path, or None where the jar ships no library for this machine.
    """
    upstream = install_path(dest, version)
    tuned = tuned_path(dest, version)
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


def run_version(signal_cli, env=None):
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
