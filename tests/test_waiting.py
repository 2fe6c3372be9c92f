"""The first-come-first-served line of waiters for a lock: order, time limit, waiters that died."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from signal_rest.signal_cli.waiting import TurnTimeout, WaitingLine


class Gate:
    """A lock that ``take`` gets only while it is open and nobody holds it."""

    def __init__(self):
        self.open = threading.Event()
        self.holder = None
        self.guard = threading.Lock()

    def take(self, who):
        def attempt():
            with self.guard:
                if not self.open.is_set() or self.holder is not None:
                    return None
                self.holder = who
                return who

        return attempt

    def release(self):
        with self.guard:
            self.holder = None


def test_waiters_get_the_lock_in_the_order_they_came(tmp_path):
    line = WaitingLine(tmp_path / "line")
    gate = Gate()
    order = []

    def waiter(index):
        line.wait_for(gate.take(index), time.monotonic() + 30)
        order.append(index)
        time.sleep(0.01)
        gate.release()

    threads = []
    for index in range(12):
        threads.append(threading.Thread(target=waiter, args=(index,)))
        threads[-1].start()
        time.sleep(0.02)
    gate.open.set()
    for thread in threads:
        thread.join(30)
    assert order == list(range(12))
    assert os.listdir(tmp_path / "line") == []


def test_a_waiter_past_its_deadline_leaves_the_line_and_the_next_one_moves_up(tmp_path):
    line = WaitingLine(tmp_path / "line")
    gate = Gate()
    with pytest.raises(TurnTimeout):
        line.wait_for(gate.take("late"), time.monotonic() + 0.2)
    assert os.listdir(tmp_path / "line") == []
    gate.open.set()
    assert line.wait_for(gate.take("next"), time.monotonic() + 1) == "next"


def test_only_the_first_in_line_may_take_the_lock(tmp_path):
    line = WaitingLine(tmp_path / "line")
    tries = []
    first_in = threading.Event()
    first_done = threading.Event()

    def first():
        def attempt():
            first_in.set()
            return "first" if first_done.is_set() else None

        line.wait_for(attempt, time.monotonic() + 30)

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with pytest.raises(TurnTimeout):
        line.wait_for(lambda: tries.append(1) or "second", time.monotonic() + 0.3)
    assert tries == []
    first_done.set()
    thread.join(5)
    assert not thread.is_alive()


WAITER = """
import sys, time
from signal_rest.signal_cli.waiting import WaitingLine
print("waiting", flush=True)
WaitingLine(sys.argv[1]).wait_for(lambda: None, time.monotonic() + 600)
"""


def test_a_waiter_killed_in_line_does_not_block_the_ones_behind_it(tmp_path):
    folder = tmp_path / "line"
    folder.mkdir()
    other = subprocess.Popen([sys.executable, "-c", WAITER, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline() == "waiting\n"
        deadline = time.monotonic() + 10
        while not [name for name in os.listdir(folder) if not name.startswith(".")]:
            assert time.monotonic() < deadline, "the other process never joined the line"
            time.sleep(0.01)
        # while it lives, it is first in line
        with pytest.raises(TurnTimeout):
            WaitingLine(folder).wait_for(lambda: "mine", time.monotonic() + 0.3)
        other.send_signal(signal.SIGKILL)
        other.wait(10)
        started = time.monotonic()
        assert WaitingLine(folder).wait_for(lambda: "mine", time.monotonic() + 5) == "mine"
        assert time.monotonic() - started < 2
        assert os.listdir(folder) == []
    finally:
        other.kill()
        other.wait()
        other.stdout.close()


def test_a_ticket_nobody_holds_is_dropped(tmp_path):
    folder = tmp_path / "line"
    folder.mkdir()
    (folder / f"{0:020d}-1-1").write_text("")
    assert WaitingLine(folder).wait_for(lambda: "mine", time.monotonic() + 5) == "mine"
    assert os.listdir(folder) == []
