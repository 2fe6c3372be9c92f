"""The launcher: every signal-cli dies with the process that started it, through setpriv where it
is installed and through the Python fallback; which one is chosen."""

import shutil
import subprocess
import sys
import time

import pytest

from signal_rest.signal_cli import launcher

#: starts `sleep 60` through the launcher (the one chosen, or the Python one when told), prints its pid,
#: then waits to be killed
LAUNCHING = r"""
import sys, time
from signal_rest.signal_cli import launcher

if sys.argv[1] == "python":
    launcher._setpriv = lambda: None
child = launcher.popen(["sleep", "60"])
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("kind", ["chosen", "python"])
def test_a_child_dies_with_the_process_that_started_it(kind):
    """The launcher chosen here (setpriv where installed) and the Python one both do it."""
    with subprocess.Popen([sys.executable, "-c", LAUNCHING, kind], stdout=subprocess.PIPE, text=True) as starter:
        try:
            child = int(starter.stdout.readline())
            # the launcher has made way for sleep (which it does only with the signal set)
            deadline = time.monotonic() + 5
            while _command_of(child) != b"sleep":
                assert time.monotonic() < deadline, f"the launcher did not start sleep: {_command_of(child)!r}"
                time.sleep(0.01)
        finally:
            starter.kill()
    deadline = time.monotonic() + 2
    while not _is_zombie(child):
        assert time.monotonic() < deadline, "the child outlived the process that started it"
        time.sleep(0.02)


def _command_of(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        return cmdline.read().split(b"\0")[0]


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_the_launcher_is_setpriv_where_it_is_installed():
    # found here the way an operator would check: setpriv on PATH, and its help naming --pdeathsig
    setpriv = shutil.which("setpriv")
    usable = (
        setpriv is not None
        and "--pdeathsig" in subprocess.run([setpriv, "--help"], capture_output=True, text=True, check=False).stdout
    )
    launched = launcher.dying_with_parent(["signal-cli", "--version"])
    if usable:
        assert launched[:4] == [setpriv, "--pdeathsig", "TERM", "--"]
        assert launched[-2:] == ["signal-cli", "--version"]
    else:
        assert launched[:2] == [sys.executable, "-S"]


@pytest.mark.parametrize(
    ("script", "used"),
    [
        ("#!/bin/sh\necho 'Usage: setpriv [options] <program>'\necho ' --pdeathsig <signal>'\n", True),
        # util-linux before 2.33: no --pdeathsig
        ("#!/bin/sh\necho 'Usage: setpriv [options] <program>'\necho ' --nnp'\n", False),
        # its help fails and says nothing
        ("#!/bin/sh\nexit 1\n", False),
        # it cannot be run at all (its interpreter is missing)
        ("#!/nonexistent/interpreter\n", False),
    ],
)
def test_a_setpriv_that_cannot_set_the_parent_death_signal_is_not_used(tmp_path, monkeypatch, script, used):
    setpriv = tmp_path / "setpriv"
    setpriv.write_text(script)
    setpriv.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    launcher._setpriv.cache_clear()
    try:
        launched = launcher.dying_with_parent(["signal-cli", "--version"])
    finally:
        monkeypatch.undo()
        launcher._setpriv.cache_clear()
    if used:
        assert launched[:4] == [str(setpriv), "--pdeathsig", "TERM", "--"]
    else:
        assert launched[:3] == [sys.executable, "-S", "-E"]
    assert launched[-2:] == ["signal-cli", "--version"]
