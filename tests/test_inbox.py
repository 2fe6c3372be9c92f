"""The inbox: each envelope stored once, handed out oldest first and once, its schema migrated, its
kind found, old envelopes pruned.
"""

import json
import sqlite3
import threading
import time

import pytest
from fake_signal_cli import message_line
from helpers import ACCOUNT, OTHER

from signal_rest.receiving.inbox import SCHEMA_VERSION, Inbox, Retention, envelope_kind

T0 = 1732630000000
NEW = "+4915122222222"


@pytest.fixture
def inbox(tmp_path):
    return Inbox(tmp_path / "data" / "inbox.sqlite3")


def test_a_line_is_stored_once(inbox):
    line = json.dumps(message_line(ACCOUNT, OTHER, "message 0", timestamp=T0))
    assert inbox.store(ACCOUNT, line) is True
    assert inbox.store(ACCOUNT, line) is False
    assert inbox.waiting(ACCOUNT) == 1
    # the same text for another account is another envelope
    assert inbox.store(NEW, line) is True
    assert inbox.waiting(NEW) == 1
    assert inbox.hand_out(ACCOUNT) == [line]
    # handed out, it is still remembered: signal-cli printing it again changes nothing
    assert inbox.store(ACCOUNT, line) is False
    assert inbox.hand_out(ACCOUNT) == []


def test_hand_out_marks_oldest_first(inbox):
    lines = [f'{{"n": {i}}}' for i in range(5)]
    for line in lines:
        inbox.store(ACCOUNT, line)
    assert inbox.waiting(ACCOUNT) == 5
    assert inbox.hand_out(ACCOUNT, 2) == lines[:2]
    assert inbox.waiting(ACCOUNT) == 3
    assert inbox.hand_out(ACCOUNT, 10) == lines[2:]
    assert inbox.waiting(ACCOUNT) == 0
    assert inbox.hand_out(ACCOUNT) == []
    assert inbox.hand_out(NEW) == []
    assert inbox.waiting(NEW) == 0


def _schema(path):
    connection = sqlite3.connect(path)
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
        columns = {row[1] for row in connection.execute("PRAGMA table_info(envelopes)")}
        indexes = {row[1] for row in connection.execute("PRAGMA index_list(envelopes)")}
    finally:
        connection.close()
    return version, journal, columns, indexes


#: the envelopes table as the first release created it (schema version 1)
ENVELOPES_V1 = [
    """CREATE TABLE envelopes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        received_at REAL NOT NULL,
        digest TEXT NOT NULL,
        line TEXT NOT NULL,
        handed_out_at REAL,
        UNIQUE (account, digest)
    )""",
    "CREATE INDEX envelopes_waiting ON envelopes (account, handed_out_at, id)",
]


def test_migration_creates_the_schema_on_a_fresh_file(tmp_path):
    path = tmp_path / "new" / "dir" / "inbox.sqlite3"
    assert not path.exists()
    assert Inbox(path).waiting(ACCOUNT) == 0
    assert path.is_file()
    version, journal, columns, indexes = _schema(path)
    assert version == SCHEMA_VERSION
    assert journal == "wal"
    assert {"id", "account", "received_at", "digest", "line", "handed_out_at"} <= columns
    assert "envelopes_waiting" in indexes


def test_migration_keeps_the_envelopes_of_an_older_schema(tmp_path):
    path = tmp_path / "inbox.sqlite3"
    connection = sqlite3.connect(path)
    try:
        for statement in ENVELOPES_V1:
            connection.execute(statement)
        connection.execute(
            "INSERT INTO envelopes (account, received_at, digest, line, handed_out_at) VALUES (?, ?, ?, ?, ?)",
            (ACCOUNT, 1.0, "d1", '{"n": 1}', None),
        )
        connection.execute(
            "INSERT INTO envelopes (account, received_at, digest, line, handed_out_at) VALUES (?, ?, ?, ?, ?)",
            (ACCOUNT, 2.0, "d2", '{"n": 2}', 3.0),
        )
        connection.execute("PRAGMA user_version = 1")
        connection.commit()
    finally:
        connection.close()
    inbox = Inbox(path)
    assert inbox.waiting(ACCOUNT) == 1
    assert _schema(path)[0] == SCHEMA_VERSION
    assert inbox.hand_out(ACCOUNT) == ['{"n": 1}']
    assert inbox.store(ACCOUNT, '{"n": 3}') is True
    assert inbox.hand_out(ACCOUNT) == ['{"n": 3}']


def test_a_second_inbox_on_the_same_file_keeps_the_data(tmp_path):
    path = tmp_path / "inbox.sqlite3"
    first = Inbox(path)
    first.store(ACCOUNT, '{"n": 1}')
    first.store(ACCOUNT, '{"n": 2}')
    assert first.hand_out(ACCOUNT, 1) == ['{"n": 1}']
    # another worker process opens the migrated file
    second = Inbox(path)
    assert second.waiting(ACCOUNT) == 1
    assert second.store(ACCOUNT, '{"n": 1}') is False
    assert second.hand_out(ACCOUNT) == ['{"n": 2}']
    assert first.waiting(ACCOUNT) == 0


def test_concurrent_hand_outs_never_share_a_line(tmp_path):
    path = tmp_path / "inbox.sqlite3"
    lines = [f'{{"n": {i}}}' for i in range(200)]
    writer = Inbox(path)
    for line in lines:
        writer.store(ACCOUNT, line)
    # two "workers" (instances) with two threads each
    workers = [Inbox(path), Inbox(path)]
    taken = []
    guard = threading.Lock()

    def drain(inbox):
        while True:
            batch = inbox.hand_out(ACCOUNT, 7)
            if not batch:
                return
            with guard:
                taken.extend(batch)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken, key=lambda line: json.loads(line)["n"]) == lines
    assert len(taken) == len(set(taken))


def test_inbox_stores_each_line_once_and_hands_out_in_order(tmp_path):
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    lines = [json.dumps(message_line(ACCOUNT, OTHER, f"m{i}", timestamp=i + 1)) for i in range(3)]
    assert [inbox.store(ACCOUNT, line) for line in lines + lines[:1]] == [True, True, True, False]
    assert inbox.waiting(ACCOUNT) == 3
    assert inbox.hand_out(ACCOUNT, 2) == lines[:2]
    assert inbox.hand_out(ACCOUNT) == lines[2:]
    assert inbox.hand_out(ACCOUNT) == []
    assert inbox.waiting(NEW) == 0


def test_inbox_waits_for_a_database_another_process_holds(tmp_path):
    path = tmp_path / "inbox.sqlite3"
    # another process is creating the file (not in WAL mode yet) and holds its write lock: switching
    # to WAL then fails at once instead of waiting, so the inbox has to retry
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE unrelated (x)")
    result = {}

    def first_use():
        try:
            result["waiting"] = Inbox(path).waiting(ACCOUNT)
        except sqlite3.Error as error:
            result["error"] = error

    thread = threading.Thread(target=first_use)
    thread.start()
    time.sleep(0.5)
    other.execute("COMMIT")
    other.close()
    thread.join(30)
    assert result == {"waiting": 0}


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ({"dataMessage": {"message": "hi"}}, "data"),
        ({"dataMessage": {"reaction": {"emoji": "👍"}}}, "reaction"),
        ({"editMessage": {"dataMessage": {}}}, "data"),
        ({"receiptMessage": {"isRead": True}}, "receipt"),
        ({"typingMessage": {"action": "STARTED"}}, "typing"),
        ({"syncMessage": {}}, "sync"),
        ({"callMessage": {}}, "call"),
        ({"storyMessage": {}}, "story"),
        ({}, "other"),
    ],
)
def test_envelope_kinds(content, kind):
    assert envelope_kind({"envelope": {"source": OTHER, **content}, "account": ACCOUNT}) == kind


def test_prune_forgets_old_handed_out_envelopes_and_their_attachments(tmp_path):
    attachments = tmp_path / "attachments"
    attachments.mkdir()
    (attachments / "a1.jpg").write_bytes(b"x")
    (attachments / "keep.jpg").write_bytes(b"y")
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    old = message_line(ACCOUNT, OTHER, "old", timestamp=1)
    old["envelope"]["dataMessage"]["attachments"] = [{"id": "a1.jpg"}]
    new = message_line(ACCOUNT, OTHER, "new", timestamp=2)
    new["envelope"]["dataMessage"]["attachments"] = [{"id": "keep.jpg"}]
    inbox.store(ACCOUNT, json.dumps(old))
    inbox.hand_out(ACCOUNT)
    inbox.store(ACCOUNT, json.dumps(new))
    time.sleep(0.05)
    assert inbox.prune(max_age=0.01, attachments_dir=attachments) == 1
    assert not (attachments / "a1.jpg").exists()
    # waiting envelopes are never pruned
    assert (attachments / "keep.jpg").exists()
    assert inbox.waiting(ACCOUNT) == 1
    inbox.hand_out(ACCOUNT)
    for index in range(3):
        inbox.store(ACCOUNT, json.dumps(message_line(ACCOUNT, OTHER, f"n{index}", timestamp=10 + index)))
    inbox.hand_out(ACCOUNT)
    assert inbox.prune(max_count=2, attachments_dir=attachments) == 2


def test_retention_runs_at_once_then_once_per_interval_and_a_failure_only_logs(tmp_path, caplog):
    inbox = Inbox(tmp_path / "inbox.sqlite3")
    passes = []

    def prune():
        passes.append(time.monotonic())
        if len(passes) == 2:
            raise sqlite3.OperationalError("database is locked")
        return inbox.prune(max_count=0)

    inbox.store(ACCOUNT, json.dumps(message_line(ACCOUNT, OTHER, "old", timestamp=1)))
    inbox.hand_out(ACCOUNT)
    retention = Retention(prune, interval=0.2)
    caplog.set_level("INFO", logger="signal_rest.receiving.inbox")
    retention.run_if_due()
    retention.run_if_due()
    assert len(passes) == 1
    assert "pruned 1 old envelopes from the inbox" in caplog.text
    time.sleep(0.25)
    retention.run_if_due()  # the failing pass: logged, not raised
    assert len(passes) == 2
    assert "pruning the inbox failed" in caplog.text and "database is locked" in caplog.text
    time.sleep(0.25)
    retention.run_if_due()
    assert len(passes) == 3
    # nothing to prune: nothing said
    assert caplog.text.count("pruned") == 1
    Retention(None).run_if_due()  # retention off


def test_the_kind_comes_from_the_parsed_line_given(tmp_path):
    # each delivery is made for the kind the inbox found: the targets are named after it here
    inbox = Inbox(tmp_path / "inbox.sqlite3", targets_for=lambda account, kind: [kind])
    typing = {"envelope": {"source": OTHER, "typingMessage": {"action": "STARTED"}}, "account": ACCOUNT}
    line = json.dumps(message_line(ACCOUNT, OTHER, "text", timestamp=T0))
    # the parsed value is taken as it is: the line is not parsed again
    assert inbox.store(ACCOUNT, line, typing) is True
    assert inbox.store(ACCOUNT, json.dumps(typing)) is True
    assert inbox.store(ACCOUNT, "not JSON") is True
    database = sqlite3.connect(inbox.path)
    try:
        kinds = [row[0] for row in database.execute("SELECT kind FROM envelopes ORDER BY id")]
        targets = [row[0] for row in database.execute("SELECT target FROM deliveries ORDER BY id")]
    finally:
        database.close()
    assert kinds == targets == ["typing", "typing", "other"]
    assert inbox.hand_out(ACCOUNT) == [line, json.dumps(typing), "not JSON"]
