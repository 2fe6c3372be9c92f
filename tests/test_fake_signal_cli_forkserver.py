"""The fake signal-cli's quick start (fake_signal_cli/forkserver.py and shim.c): a run through the
compiled shim and the fork server behaves as a run of the fake's script, as a process manager sees
it: output, exit status, stdin, signals, and a killed shim or fake."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import fake_signal_cli as fake
import pytest
from fake_signal_cli import forkserver
from fake_signal_cli_runner import ACCOUNT, ANN, child_env
from processes import alive, exits_within

pytestmark = pytest.mark.skipif(not forkserver.running(), reason="the fork server is off (FAKE_SIGNAL_CLI_QUICK=0)")


@pytest.fixture
def state(tmp_path):
    state = fake.FakeState(tmp_path / "cfg")
    state.add_account(ACCOUNT)
    state.add_user(ANN)
    return state


def both(tmp_path):
    """The quick executable and the script of the same fake."""
    quick = fake.write_executable(tmp_path / "quick")
    slow = fake.write_executable(tmp_path / "slow", quick=False)
    assert quick.read_bytes()[:4] == b"\x7fELF" and slow.read_bytes()[:2] == b"#!"
    return quick, slow


def run(executable, state, *args, **kwargs):
    argv = [str(executable), "--config", state.config_dir, "-a", ACCOUNT, "-o", "json", *args]
    return subprocess.run(argv, capture_output=True, env=child_env(), check=False, timeout=30, **kwargs)


def normalized(output):
    """Lines of output, numbers as 0, JSON objects parsed (so that key order does not matter)."""
    lines = re.sub(rb"\d+", b"0", output).splitlines()
    return [json.loads(line) if line.startswith(b"{") else line for line in lines]


def started(state, command):
    """The pid of the fake's one run of ``command`` that has started, once it has."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pids = [e["pid"] for e in state.log(events=True) if e.get("event") == "start" and command in e["argv"]]
        if pids:
            return pids[0]
        time.sleep(0.02)
    raise AssertionError(f"{command} never started")


@pytest.mark.parametrize(
    "args",
    [
        ("listAccounts",),
        ("send", "-m", "hi", ANN),
        ("send", "-m", "hi", "+4915199990000"),  # a number without a Signal account
        ("sendx",),  # a usage error: text on stderr
        ("--version",),
    ],
)
def test_output_and_exit_status_are_those_of_the_script(tmp_path, state, args):
    quick, slow = both(tmp_path)
    quick_run, slow_run = run(quick, state, *args), run(slow, state, *args)
    assert quick_run.returncode == slow_run.returncode
    assert quick_run.stderr == slow_run.stderr
    # timestamps differ between two sends, and the fake shuffles the keys of some objects, as
    # signal-cli's maps come in no fixed order; the rest is the same
    assert normalized(quick_run.stdout) == normalized(slow_run.stdout)


def test_stdin_reaches_the_fake_and_a_closed_stdin_stays_closed(tmp_path, state):
    quick, slow = both(tmp_path)
    for executable in (quick, slow):
        assert run(executable, state, "send", "--message-from-stdin", ANN, input=b"from stdin").returncode == 0
    assert [m["message"] for m in state.sent_messages(ACCOUNT, "send")] == ["from stdin", "from stdin"]
    # no stdin at all (closed, not /dev/null): each reads nothing and sends an empty message
    outcomes = []
    for executable in (quick, slow):
        argv = [str(executable), "--config", state.config_dir, "-a", ACCOUNT, "send", "--message-from-stdin", ANN]
        done = subprocess.run(
            ["/bin/sh", "-c", 'exec "$@" <&-', "sh", *argv],
            capture_output=True,
            env=child_env(),
            timeout=30,
            check=False,
        )
        outcomes.append((done.returncode, done.stderr))
    assert outcomes[0] == outcomes[1]


def hanging_send(tmp_path, state, **options):
    """A quick fake's ``send`` that hangs (a fault sleeps 60 s), started; (its shim, the fake's pid)."""
    state.add_fault(command="send", sleep=60, times=1)
    quick = fake.write_executable(tmp_path / "quick")
    process = subprocess.Popen(
        [str(quick), "--config", state.config_dir, "-a", ACCOUNT, "send", "-m", "x", ANN],
        stdin=subprocess.DEVNULL,
        **options,
    )
    return process, started(state, "send")


def test_sigterm_to_the_shim_reaches_the_fake(tmp_path, state):
    process, pid = hanging_send(tmp_path, state, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert pid != process.pid and alive(pid)
    process.send_signal(signal.SIGTERM)
    # the fake's own SIGTERM handling: exit 143, logged
    assert process.wait(10) == 143
    assert not alive(pid)
    assert [run["exit"] for run in state.log()] == [143]


def test_a_fake_killed_by_a_signal_makes_the_shim_die_of_it(tmp_path, state):
    process, pid = hanging_send(tmp_path, state)
    os.kill(pid, signal.SIGKILL)
    assert process.wait(10) == -signal.SIGKILL


def test_a_killed_shim_takes_the_fake_with_it(tmp_path, state):
    process, pid = hanging_send(tmp_path, state)
    process.kill()
    process.wait(10)
    assert exits_within(pid, 1), "the fake outlived its shim by a second"


def _runs_the_script(quick, state):
    """Run a send through ``quick`` and check that the fake ran in the shim's own process (the
    script, exec'd by the shim) rather than in one the server forked."""
    process = subprocess.Popen(
        [str(quick), "--config", state.config_dir, "-a", ACCOUNT, "-o", "json", "send", "-m", "hi", ANN],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    (record,) = state.log()
    assert (record["command"], record["pid"]) == ("send", process.pid)


def test_without_the_server_the_shim_runs_the_script(tmp_path, state):
    quick = fake.write_executable(tmp_path / "quick")
    settings = quick.with_name(quick.name + ".conf")
    lines = settings.read_text().splitlines()
    settings.write_text("\n".join([str(tmp_path / "no-server.sock"), *lines[1:]]) + "\n")
    _runs_the_script(quick, state)


def test_a_server_that_cannot_fork_leaves_the_run_to_the_script(tmp_path, state):
    # a server of this test's own, whose fork fails as it does when no process can be made
    address = str(tmp_path / "failing.sock")
    server = subprocess.Popen([sys.executable, "-S", "-c", FAILING_SERVER, str(FAKE_PACKAGE_PARENT), address])
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(address):
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        quick = fake.write_executable(tmp_path / "quick")
        settings = quick.with_name(quick.name + ".conf")
        lines = settings.read_text().splitlines()
        settings.write_text("\n".join([address, *lines[1:]]) + "\n")
        _runs_the_script(quick, state)
        assert server.poll() is None, "the server died of the failed fork"
    finally:
        server.terminate()
        server.wait(10)


FAKE_PACKAGE_PARENT = Path(fake.__file__).resolve().parent.parent
FAILING_SERVER = (
    "import os, sys; sys.path.insert(0, sys.argv[1])\n"
    "def fork():\n"
    "    raise BlockingIOError(11, 'Resource temporarily unavailable')\n"
    "os.fork = fork\n"
    "from fake_signal_cli.forkserver import serve; serve(sys.argv[2])\n"
)
