"""Receive: envelopes come back exactly as signal-cli printed them, oldest first, each exactly once.

Once signal-cli has printed a message, Signal's servers have forgotten it: whatever happens to
the signal-cli run afterwards (it fails, is killed, or runs past its time limit), the lines it
printed reach a client, and no line reaches a client twice.
"""

import json
import os
import signal
import sqlite3
import threading
import time

import pytest
from fake_signal_cli import as_printed, envelope_line, message_line
from helpers import ACCOUNT, OTHER, THIRD, assert_error, last_run, words

from signal_rest.receiving import spool

T0 = 1732630000000
NEW = "+4915122222222"


@pytest.fixture
def printed(fake_version):
    """``printed(line)``: a queued receive line as the fake's release prints it (attachment bytes
    travel beside it; the data message has the fields of that release)."""
    return lambda line: as_printed(line, fake_version)


def messages(count, start=0, source=OTHER):
    """``count`` text messages from ``source``, oldest first."""
    return [message_line(ACCOUNT, source, f"message {i}", timestamp=T0 + i) for i in range(start, start + count)]


def receive(client, query="timeout=0", number=ACCOUNT):
    return client.get(f"/v1/receive/{number}?{query}")


def service_inbox(app):
    return app.extensions["signal_rest.inbox"]


# --- the happy path ----------------------------------------------------------------------------


def test_messages_come_exactly_as_printed_oldest_first(client, fake, printed):
    lines = [
        message_line(ACCOUNT, OTHER, 'Grüße 👋 "quoted" \\ back', timestamp=T0),
        envelope_line(ACCOUNT, THIRD, timestamp=T0 + 1, receiptMessage={"isRead": True, "timestamps": [T0 - 5]}),
        envelope_line(ACCOUNT, OTHER, timestamp=T0 + 2, typingMessage={"action": "STARTED", "groupId": None}),
        message_line(ACCOUNT, THIRD, "in a group", timestamp=T0 + 3, group_id="Z3JvdXA=", group_name="G"),
        {
            **envelope_line(ACCOUNT, OTHER, timestamp=T0 + 4),
            "exception": {"message": "Invalid PreKey ID", "type": "ProtocolInvalidKeyIdException"},
        },
    ]
    fake.queue_messages(ACCOUNT, lines)
    response = receive(client)
    assert response.status_code == 200
    assert response.get_json() == [printed(line) for line in lines]
    assert fake.inbox(ACCOUNT) == []


def test_nothing_waiting_is_an_empty_list(client, fake):
    response = receive(client)
    assert response.status_code == 200
    assert response.get_json() == []
    assert words(last_run(fake)) == ["receive", "--timeout=0.0"]


def test_default_timeout_is_one_second(client, fake):
    assert receive(client, query="").get_json() == []
    run = last_run(fake)
    assert words(run) == ["receive", "--timeout=1.0"]
    assert run["options"]["timeout"] == 1.0
    assert run["account"] == ACCOUNT


@pytest.mark.parametrize(
    ("query", "expected_words"),
    [
        ("timeout=0.25&max_messages=7", ["receive", "--timeout=0.25", "--max-messages=7"]),
        ("timeout=0&ignore_stories=true", ["receive", "--timeout=0.0", "--ignore-stories"]),
        # unknown query parameters are ignored
        (
            "timeout=0&ignore_attachments=false&ignore_stories=false&send_read_receipts=false&unknown=1",
            ["receive", "--timeout=0.0"],
        ),
        (
            "timeout=0&max_messages=1000&ignore_attachments=true&ignore_stories=true&send_read_receipts=true",
            [
                "receive",
                "--timeout=0.0",
                "--max-messages=1000",
                "--ignore-attachments",
                "--ignore-stories",
                "--send-read-receipts",
            ],
        ),
    ],
)
def test_argv(client, fake, query, expected_words):
    assert receive(client, query=query).status_code == 200
    run = last_run(fake)
    assert words(run) == expected_words
    assert run["exit"] == 0


def test_number_forms(client, fake, printed):
    fake.queue_messages(ACCOUNT, messages(1))
    response = client.get(f"/v1/receive/%2B{ACCOUNT[1:]}?timeout=0")
    assert response.get_json() == [printed(line) for line in messages(1)]
    assert last_run(fake)["account"] == ACCOUNT
    # an all-digit number gets its '+'
    assert client.get(f"/v1/receive/{ACCOUNT[1:]}?timeout=0").get_json() == []
    assert last_run(fake)["account"] == ACCOUNT


def test_timeout_60_is_allowed(client, fake):
    # with one message waiting and max_messages=1 signal-cli ends at once
    fake.queue_messages(ACCOUNT, messages(1))
    response = receive(client, query="timeout=60&max_messages=1")
    assert response.status_code == 200
    assert len(response.get_json()) == 1
    assert words(last_run(fake)) == ["receive", "--timeout=60.0", "--max-messages=1"]


def test_attachments_are_downloaded_unless_ignored(client, fake, printed):
    png = b"\x89PNG\r\n\x1a\n" + bytes(16)
    with_file = message_line(
        ACCOUNT, OTHER, "a picture", timestamp=T0, attachments=[{"filename": "a.png", "data": png}]
    )
    ignored = message_line(
        ACCOUNT, OTHER, "another", timestamp=T0 + 1, attachments=[{"filename": "b.png", "data": png}]
    )
    first_id = with_file["envelope"]["dataMessage"]["attachments"][0]["id"]
    fake.queue_messages(ACCOUNT, [with_file])
    assert receive(client).get_json() == [printed(with_file)]
    assert client.get("/v1/attachments").get_json() == [first_id]
    with client.get(f"/v1/attachments/{first_id}") as download:
        assert download.data == png

    fake.queue_messages(ACCOUNT, [ignored])
    assert receive(client, query="timeout=0&ignore_attachments=true").get_json() == [printed(ignored)]
    assert client.get("/v1/attachments").get_json() == [first_id]


# --- max_messages and the inbox ------------------------------------------------------------------


def test_max_messages_leaves_the_rest_for_the_next_call(client, fake, printed):
    lines = messages(5)
    fake.queue_messages(ACCOUNT, lines)
    first = receive(client, query="timeout=0&max_messages=2")
    assert first.get_json() == [printed(line) for line in lines[:2]]
    assert words(last_run(fake)) == ["receive", "--timeout=0.0", "--max-messages=2"]
    second = receive(client, query="timeout=0&max_messages=2")
    assert second.get_json() == [printed(line) for line in lines[2:4]]
    rest = receive(client)
    assert rest.get_json() == [printed(lines[4])]
    assert receive(client).get_json() == []


def test_waiting_messages_in_the_inbox_come_first_without_running_signal_cli(app, client, fake, printed):
    # an earlier run stored these but they were never handed out (the response failed, say)
    stored = messages(3)
    for line in stored:
        service_inbox(app).store(ACCOUNT, json.dumps(printed(line)))
    fresh = messages(3, start=3)
    fake.queue_messages(ACCOUNT, fresh)

    assert receive(client, query="timeout=0&max_messages=2").get_json() == [printed(line) for line in stored[:2]]
    # two were waiting: signal-cli did not have to run
    assert fake.log() == []
    assert len(fake.inbox(ACCOUNT)) == 3

    # one left in the inbox: signal-cli fetches more, the oldest come first
    assert receive(client, query="timeout=0&max_messages=2").get_json() == [printed(stored[2]), printed(fresh[0])]
    assert words(last_run(fake)) == ["receive", "--timeout=0.0", "--max-messages=2"]
    # signal-cli printed two: the second waits in the inbox, not lost
    assert service_inbox(app).waiting(ACCOUNT) == 1

    assert receive(client).get_json() == [printed(line) for line in fresh[1:]]
    assert receive(client).get_json() == []
    assert service_inbox(app).waiting(ACCOUNT) == 0


def test_accounts_have_separate_inboxes(app, client, fake, printed):
    fake.add_account(NEW)
    service_inbox(app).store(NEW, json.dumps(printed(message_line(NEW, OTHER, "for new", timestamp=T0))))
    assert receive(client).get_json() == []
    assert [line["account"] for line in receive(client, number=NEW).get_json()] == [NEW]


# --- signal-cli fails after printing some lines ------------------------------------------------------


def test_lines_printed_before_a_failure_are_kept(client, fake, printed):
    lines = messages(2)
    fake.queue_messages(ACCOUNT, messages(1, start=2))
    fake.add_fault(
        command="receive",
        exit=3,
        stdout="".join(json.dumps(printed(line)) + "\n" for line in lines),
        stderr="Connection closed unexpectedly (IOException)",
        times=1,
    )
    response = receive(client)
    assert response.status_code == 200
    assert response.get_json() == [printed(line) for line in lines]
    assert last_run(fake)["exit"] == 3
    # the next call does not repeat them; it gets what came since
    assert receive(client).get_json() == [printed(line) for line in messages(1, start=2)]
    assert receive(client).get_json() == []


def test_a_line_signal_cli_prints_twice_is_handed_out_once(client, fake, printed):
    line = json.dumps(printed(messages(1)[0])) + "\n"
    fake.add_fault(command="receive", exit=3, stdout=line, times=2)
    assert receive(client).get_json() == [printed(messages(1)[0])]
    assert receive(client).get_json() == []
    assert last_run(fake)["exit"] == 3


def test_a_truncated_last_line_is_not_a_message(client, fake, printed):
    lines = messages(2)
    text = json.dumps(printed(lines[0])) + "\n" + json.dumps(printed(lines[1]))[:40]
    fake.add_fault(command="receive", exit=3, stdout=text, times=1)
    assert receive(client).get_json() == [printed(lines[0])]


def _kill_receive_once_the_fake_inbox_is_empty(fake, killed):
    """SIGKILL the running ``signal-cli receive`` once it has printed everything queued."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        starts = [e for e in fake.log(events=True) if e.get("event") == "start" and "receive" in e["argv"]]
        if starts and fake.inbox(ACCOUNT) == []:
            # the fake prints a line before it drops it from its inbox: both lines are in the pipe
            os.kill(starts[-1]["pid"], signal.SIGKILL)
            killed.append(starts[-1]["pid"])
            return
        time.sleep(0.02)


def test_lines_printed_before_signal_cli_is_killed_are_kept(client, fake, printed):
    lines = messages(2)
    fake.queue_messages(ACCOUNT, lines)
    killed = []
    killer = threading.Thread(target=_kill_receive_once_the_fake_inbox_is_empty, args=(fake, killed))
    killer.start()
    try:
        # signal-cli would wait 30 s for more; it is killed long before
        response = receive(client, query="timeout=30")
    finally:
        killer.join()
    assert killed, "the receive run was not found"
    assert response.status_code == 200
    assert response.get_json() == [printed(line) for line in lines]
    # a killed run writes no record of its end
    assert fake.log() == []
    assert receive(client).get_json() == []


def test_receive_may_wait_longer_than_the_command_time_limit(make_app, fake, printed):
    # signal-cli waits `timeout` for each next message and once more when the queue ran empty:
    # that waiting is asked for, so it does not count against SIGNAL_CLI_CMD_TIMEOUT
    client = make_app(SIGNAL_CLI_CMD_TIMEOUT=1).test_client()
    lines = messages(2)
    fake.queue_messages(ACCOUNT, lines)
    started = time.monotonic()
    response = receive(client, query="timeout=1.5")
    assert time.monotonic() - started >= 1.5
    assert response.status_code == 200
    assert response.get_json() == [printed(line) for line in lines]
    assert words(last_run(fake)) == ["receive", "--timeout=1.5"]
    assert receive(client).get_json() == []


def test_a_receive_that_hangs_past_the_time_limit_is_504(make_app, fake):
    # the fake hangs before it can end cleanly on SIGTERM, so it is killed: nothing was printed
    client = make_app(SIGNAL_CLI_CMD_TIMEOUT=1).test_client()
    fake.add_fault(command="receive", times=1, sleep=30)
    started = time.monotonic()
    assert_error(receive(client, query="timeout=0.2"), 504, "1 seconds")
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ({"exit": 3, "stderr": "Connection closed unexpectedly (IOException)"}, 502),
        ({"exit": 2}, 502),
        ({"kill_self": True}, 502),
    ],
)
def test_failure_with_nothing_printed(client, fake, fault, status, printed):
    fake.add_fault(command="receive", times=1, **fault)
    body = assert_error(receive(client), status)
    assert "\tat " not in body["message"]
    # nothing was lost: the messages still wait at Signal (the fake's inbox)
    fake.queue_messages(ACCOUNT, messages(1))
    assert receive(client).get_json() == [printed(messages(1)[0])]


# --- accounts and bad input --------------------------------------------------------------------------


def test_unregistered_account(client, fake):
    fake.add_account(NEW, registered=False)
    assert_error(receive(client, number=NEW), 400, "not registered")


def test_unknown_account(client, fake):
    assert_error(receive(client, number=NEW), 400, "not registered")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("timeout=61", "timeout"),
        ("timeout=60.5", "timeout"),
        ("timeout=-1", "timeout"),
        ("timeout=-0.5", "timeout"),
        ("timeout=soon", "timeout"),
        ("timeout=nan", "timeout"),
        ("timeout=inf", "timeout"),
        ("max_messages=0", "max_messages"),
        ("max_messages=1001", "max_messages"),
        ("max_messages=-1", "max_messages"),
        ("max_messages=1.5", "max_messages"),
        ("max_messages=many", "max_messages"),
        ("ignore_attachments=maybe", "ignore_attachments"),
        ("ignore_stories=2", "ignore_stories"),
        ("send_read_receipts=--send-read-receipts", "send_read_receipts"),
    ],
)
def test_bad_query(validation_client, query, field):
    assert_error(receive(validation_client, query=query), 400, field=field)


@pytest.mark.parametrize("number", ["+49abc", "-a", "--timeout=5", "+0123456789", "group.abc"])
def test_bad_number(validation_client, number):
    assert_error(validation_client.get(f"/v1/receive/{number}?timeout=0"), 400, number)


def test_post_is_405(validation_client):
    assert_error(validation_client.post(f"/v1/receive/{ACCOUNT}"), 405)


# --- the answer and the inbox ------------------------------------------------------------------------


def test_the_answer_is_the_stored_lines_joined(app, client):
    # the lines go out byte for byte as signal-cli printed them: not re-encoded (no \u escapes)
    lines = ['{"envelope": {"source": "+4915100000001", "dataMessage": {"message": "Grüße 👋"}}}', '{"n": 2}']
    for line in lines:
        service_inbox(app).store(ACCOUNT, line)
    response = receive(client, query="timeout=0&max_messages=2")
    assert response.data == ("[" + ",".join(lines) + "]").encode("utf-8")
    assert response.headers["Content-Length"] == str(len(response.data))
    assert response.get_json() == [json.loads(line) for line in lines]


def test_lines_the_inbox_cannot_store_are_handed_out_and_kept_in_their_spool_file(
    app, client, fake, monkeypatch, printed
):
    lines = messages(2)
    fake.queue_messages(ACCOUNT, lines)

    def locked(account, line, envelope=None):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(service_inbox(app), "store", locked)
    assert receive(client).get_json() == [printed(line) for line in lines]
    monkeypatch.undo()
    spool_files = list(spool.directory(service_inbox(app)).glob(f"{ACCOUNT}.*.jsonl"))
    assert len(spool_files) == 1
    # the next receive takes the spool file in: the lines come again (at least once), then never
    fake.queue_messages(ACCOUNT, messages(1, start=2))
    assert receive(client).get_json() == [printed(line) for line in messages(3)]
    assert not spool_files[0].exists()
    assert receive(client).get_json() == []
