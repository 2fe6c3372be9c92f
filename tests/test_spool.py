"""Spool files and the receive run: every line signal-cli prints is stored, then its spool file goes;
a spool file left behind is taken in once nobody holds it; a line the inbox cannot store stays on disk.
"""

import fcntl
import json
import sqlite3

import pytest
from fake_signal_cli import as_printed, message_line
from helpers import ACCOUNT, OTHER

from signal_rest.receiving import spool
from signal_rest.receiving.inbox import Inbox
from signal_rest.signal_cli import SignalCliError

T0 = 1732630000000


def messages(count, start=0):
    """``count`` text messages for ACCOUNT, oldest first, as the fake prints them."""
    return [message_line(ACCOUNT, OTHER, f"message {i}", timestamp=T0 + i) for i in range(start, start + count)]


def spool_files(inbox):
    return sorted(spool.directory(inbox).glob("*.jsonl"))


@pytest.fixture
def inbox(app):
    return app.extensions["signal_rest.inbox"]


@pytest.fixture
def cli(app):
    return app.extensions["signal_rest.signal_cli"]


class LockedInbox(Inbox):
    """An inbox whose database refuses every write (another process holds it too long)."""

    def store(self, account, line, envelope=None):
        raise sqlite3.OperationalError("database is locked")


def test_spool_files_left_behind_are_taken_in_once_free(tmp_path):
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    path = spool.new_path(inbox, ACCOUNT)
    good = json.dumps(message_line(ACCOUNT, OTHER, "left behind", timestamp=5))
    with open(path, "w") as writer:
        fcntl.flock(writer, fcntl.LOCK_EX)
        writer.write(good + "\n" + '{"truncated": ')
        writer.flush()
        # still locked: a running signal-cli is writing it
        assert spool.take_in(inbox) == 0
    assert spool.take_in(inbox) == 1
    assert not path.exists()
    assert inbox.hand_out(ACCOUNT) == [good]


def test_take_in_for_one_account_leaves_the_others(tmp_path):
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    other_account = "+4915122222222"
    for account in (ACCOUNT, other_account):
        spool.new_path(inbox, account).write_text(json.dumps({"account": account}) + "\n" + "not JSON\n")
    assert spool.take_in(inbox, ACCOUNT) == 1
    assert [path.name.split(".")[0] for path in spool_files(inbox)] == [other_account]
    assert inbox.hand_out(ACCOUNT) == [json.dumps({"account": ACCOUNT})]
    assert inbox.waiting(other_account) == 0


def test_a_receive_stores_every_line_then_finishes_its_spool_file(inbox, cli, fake, fake_version):
    fake.queue_messages(ACCOUNT, messages(3))
    stored = []
    received = spool.receive(cli, inbox, ACCOUNT, on_stored=lambda: stored.append(inbox.waiting(ACCOUNT)), timeout=0)
    assert received == spool.Received(new=3, unsaved=[])
    # on_stored comes after each new envelope is in the inbox
    assert stored == [1, 2, 3]
    assert [json.loads(line) for line in inbox.hand_out(ACCOUNT)] == [as_printed(m, fake_version) for m in messages(3)]
    assert spool_files(inbox) == []


def test_a_line_stored_before_is_not_new(inbox, cli, fake):
    line = json.dumps(messages(1)[0])
    inbox.store(ACCOUNT, line)
    fake.add_fault(command="receive", exit=3, stdout=line + "\n", times=1)
    stored = []
    assert spool.receive(cli, inbox, ACCOUNT, on_stored=lambda: stored.append(1), timeout=0).new == 0
    assert stored == []
    assert inbox.waiting(ACCOUNT) == 1


def test_a_failed_receive_raises_and_leaves_no_spool_file(inbox, cli, fake):
    fake.add_fault(command="receive", exit=3, stderr="Connection closed unexpectedly (IOException)", times=1)
    with pytest.raises(SignalCliError):
        spool.receive(cli, inbox, ACCOUNT, timeout=0)
    assert spool_files(inbox) == []


def test_lines_the_inbox_cannot_store_stay_in_their_spool_file(inbox, cli, fake, fake_version):
    fake.queue_messages(ACCOUNT, messages(2))
    locked = LockedInbox(inbox.path)
    received = spool.receive(cli, locked, ACCOUNT, on_stored=pytest.fail, timeout=0)
    assert [json.loads(line) for line in received.unsaved] == [as_printed(m, fake_version) for m in messages(2)]
    assert received.new == 0
    (left,) = spool_files(inbox)
    # once the inbox can write again, the next take-in stores them
    assert spool.take_in(inbox) == 2
    assert not left.exists()
    assert inbox.hand_out(ACCOUNT) == received.unsaved
