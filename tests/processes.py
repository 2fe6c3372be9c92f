"""The processes a test started, read from /proc: the children of a process (zombies included),
everything below it, and whether a process still runs or is gone without a trace.

The tests assert that nothing is left behind (conftest's ``no_leftovers``, the fault and gunicorn
tests), so they all need the same view of the process tree; Linux's /proc gives it without a
dependency.
"""

import os
import signal
import subprocess
import time
from pathlib import Path


def child_pids(pid=None):
    """The child processes of ``pid`` (this test process by default), zombies included; never
    the fake signal-cli's fork server, which runs for the whole session."""
    from fake_signal_cli.forkserver import server_pid

    pid = os.getpid() if pid is None else pid
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    # each thread has its own children: a process started from a request thread is listed under it
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
        except FileNotFoundError:
            continue
    return [child for child in found if child != server_pid()]


def descendant_pids(pid):
    """Every process below ``pid``."""
    found = []
    for child in child_pids(pid):
        found += [child, *descendant_pids(child)]
    return found


def alive(pid):
    """Whether ``pid`` is a process that has not exited (a zombie counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def exits_within(pid, seconds=1.0):
    """Whether ``pid`` has exited, or exits within ``seconds``: a process sent SIGKILL dies only when
    the kernel next schedules it, which on a busy machine may be a moment after the kill returned."""
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def gone(pid):
    """Whether there is no process ``pid`` at all, not even a zombie waiting to be reaped."""
    return not Path(f"/proc/{pid}").exists()


def terminate(process, timeout=20):
    """Stop a ``subprocess.Popen`` gracefully (SIGTERM), kill it if it is still there after
    ``timeout`` seconds, and reap it; returns its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    return process.returncode
