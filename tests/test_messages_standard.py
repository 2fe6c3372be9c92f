"""Messages, the standard API's other endpoints: the old /v1/send, typing indicators, remote delete
and polls (which need a newer signal-cli than the fake's 0.13.19)."""

import base64

import pytest
from helpers import (
    ACCOUNT,
    OTHER,
    THIRD,
    UUID,
    add_group_with_id,
    api_group_id,
    assert_error,
    b64,
    last_run,
    words,
)

TIMESTAMP = 1732630000123
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))
#: a raw group id with '/' and '+' in it
GROUP = b64(b"\x01\xbf\xfe" + bytes(29))
UNKNOWN_GROUP = b64(bytes(32))


@pytest.fixture
def group(fake):
    """A group of ACCOUNT and OTHER, with the id GROUP."""
    return add_group_with_id(fake, GROUP, members=[OTHER])


def last_sent(fake, command):
    """What the fake's last ``command`` sent."""
    sent = fake.sent_messages(command=command)
    assert sent, f"nothing was sent with {command}"
    return sent[-1]


def newer_signal_cli(app, monkeypatch, version="0.14.1"):
    """Make the app believe signal-cli ``version`` is installed.

    The fake stays 0.13.19, so it answers the newer subcommands with argparse4j's "invalid choice"
    parse error (exit 1, which the error table maps to 400). What matters here is the argv the
    service built, which the fake records before it fails.
    """
    monkeypatch.setattr(app.extensions["signal_rest.signal_cli"], "_version", version)


def assert_unknown_subcommand(response, subcommand):
    """The fake (0.13.19) refused ``subcommand`` as a parse error: 400 with signal-cli's message."""
    body = assert_error(response, 400)
    # argparse4j justifies its message with runs of spaces
    assert f"invalid choice: '{subcommand}'" in " ".join(body["message"].split())


# --- POST /v1/send (the old standard API) ---------------------------------------------------------


def send_v1(client, **body):
    return client.post("/v1/send", json={"number": ACCOUNT, **body})


def test_send_v1(client, fake):
    response = send_v1(client, recipients=[OTHER, UUID.upper()], message="Hello -h")
    assert response.status_code == 201
    sent = last_sent(fake, "send")
    assert response.get_json() == {"timestamp": str(sent["timestamp"])}
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["send", "--message-from-stdin", "--notify-self", "--", OTHER, UUID]
    assert run["stdin"] == "Hello -h"
    assert sent["recipients"] == [OTHER, UUID]


@pytest.mark.parametrize("form", [api_group_id(GROUP), GROUP, GROUP.replace("/", "%2F")])
def test_send_v1_to_a_group(client, fake, group, form):
    response = send_v1(client, recipients=[form], message="to the group", is_group=True)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"timestamp": str(last_sent(fake, "send")["timestamp"])}
    assert words(last_run(fake)) == ["send", "--message-from-stdin", "--notify-self", "-g", GROUP, "--"]


def test_send_v1_group_without_is_group(client, fake, group):
    # a group id is recognised as one even without the flag
    assert send_v1(client, recipients=[api_group_id(GROUP)], message="hi").status_code == 201
    assert last_run(fake)["options"]["group-id"] == [GROUP]


@pytest.mark.parametrize(
    ("attachment", "name"),
    [
        # plain base64 gets the extension of its sniffed type
        (b64(PNG), "attachment-1.png"),
        (f"data:image/png;base64,{b64(PNG)}", "attachment-1.png"),
        (f"data:image/png;filename=photo.png;base64,{b64(PNG)}", "photo.png"),
    ],
)
def test_send_v1_with_one_attachment(client, fake, attachment, name):
    response = send_v1(client, recipients=[OTHER], message="look", base64_attachment=attachment)
    assert response.status_code == 201
    run = last_run(fake)
    assert [(item["name"], base64.b64decode(item["data"])) for item in run["attachments"]] == [(name, PNG)]
    assert run["options"]["attachment"][0].endswith("/" + name)
    # the attachment's temporary file is gone (the autouse fixture checks it too)


def test_send_v1_attachment_alone(client, fake):
    assert send_v1(client, recipients=[OTHER], base64_attachment=b64(PNG)).status_code == 201
    run = last_run(fake)
    assert run["stdin"] is None
    assert "--message-from-stdin" not in run["argv"]


def test_send_v1_default_account(make_app, fake):
    client = make_app(SIGNAL_REST_DEFAULT_ACCOUNT=ACCOUNT).test_client()
    response = client.post("/v1/send", json={"recipients": [OTHER], "message": "hi"})
    assert response.status_code == 201
    assert last_run(fake)["account"] == ACCOUNT


def test_send_v1_without_account(validation_client):
    assert_error(validation_client.post("/v1/send", json={"recipients": [OTHER], "message": "hi"}), 400, field="number")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"recipients": None}, "recipients"),
        ({"recipients": []}, "recipients"),
        ({"recipients": OTHER}, "recipients"),
        ({"recipients": ["-h"]}, "recipients"),
        ({"recipients": ["--config=/etc"]}, "recipients"),
        ({"recipients": [OTHER, "+49abc"]}, "recipients"),
        ({"recipients": [5]}, "recipients"),
        ({"recipients": [OTHER], "is_group": True}, "recipients"),
        ({"recipients": ["group.abc"], "is_group": True}, "recipients"),
        ({"is_group": "maybe"}, "is_group"),
        ({"message": None}, "message"),
        ({"message": "a\0b"}, "message"),
        ({"message": 5}, "message"),
        ({"base64_attachment": "not base64!"}, "base64_attachment"),
        ({"base64_attachment": "data:image/png,abc"}, "base64_attachment"),
        ({"number": "-a"}, "number"),
        ({"number": "+49abc"}, "number"),
    ],
)
def test_send_v1_bad_input(validation_client, fields, field):
    body = {"number": ACCOUNT, "recipients": [OTHER], "message": "hi", **fields}
    response = validation_client.post("/v1/send", json={k: v for k, v in body.items() if v is not None})
    assert_error(response, 400, field=field)


def test_send_v1_failure(client, fake):
    fake.add_user(OTHER, registered=False)
    body = assert_error(send_v1(client, recipients=[OTHER], message="hi"), 400)
    assert [failure["reason"] for failure in body["errors"]["recipients"]] == ["UNREGISTERED_FAILURE"]


def test_send_v1_partial_failure_is_201(client, fake):
    fake.add_user(THIRD, registered=False)
    response = send_v1(client, recipients=[OTHER, THIRD], message="hi")
    assert response.status_code == 201
    assert set(response.get_json()) == {"timestamp"}


# --- typing indicator -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "body", "stop"),
    [
        ("put", {}, False),
        ("put", {"action": "start"}, False),
        ("put", {"action": "stop"}, True),
        ("put", {"action": ""}, False),
        ("delete", {}, True),
        ("delete", {"action": "start"}, True),
    ],
)
def test_typing_indicator(client, fake, method, body, stop):
    response = getattr(client, method)(f"/v1/typing-indicator/{ACCOUNT}", json={"recipient": OTHER, **body})
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["sendTyping", *(["--stop"] if stop else []), "--", OTHER]
    assert last_sent(fake, "sendTyping")["action"] == ("STOP" if stop else "START")


@pytest.mark.parametrize("method", ["put", "delete"])
@pytest.mark.parametrize("form", [api_group_id(GROUP), GROUP])
def test_typing_in_a_group(client, fake, group, method, form):
    response = getattr(client, method)(f"/v1/typing-indicator/{ACCOUNT}", json={"recipient": form})
    assert response.status_code == 204, response.get_json()
    stop = ["--stop"] if method == "delete" else []
    assert words(last_run(fake)) == ["sendTyping", *stop, "-g", GROUP, "--"]


def test_typing_to_a_uuid(client, fake):
    assert client.put(f"/v1/typing-indicator/{ACCOUNT}", json={"recipient": UUID.upper()}).status_code == 204
    assert words(last_run(fake)) == ["sendTyping", "--", UUID]


@pytest.mark.parametrize("method", ["put", "delete"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "recipient"),
        ({"recipient": None}, "recipient"),
        ({"recipient": "-s"}, "recipient"),
        ({"recipient": "--stop"}, "recipient"),
        ({"recipient": "+49abc"}, "recipient"),
        ({"recipient": "u:alice.42"}, "recipient"),
        ({"recipient": ["+4915100000001"]}, "recipient"),
        ({"recipient": OTHER, "action": "pause"}, "action"),
        ({"recipient": OTHER, "action": "STOP"}, "action"),
        ({"recipient": OTHER, "action": 1}, "action"),
    ],
)
def test_typing_bad_input(validation_client, method, body, field):
    assert_error(getattr(validation_client, method)(f"/v1/typing-indicator/{ACCOUNT}", json=body), 400, field=field)


@pytest.mark.parametrize("number", ["+49abc", "-a"])
def test_typing_bad_number(validation_client, number):
    assert_error(validation_client.put(f"/v1/typing-indicator/{number}", json={"recipient": OTHER}), 400, number)


def test_typing_to_an_unregistered_user(client, fake):
    fake.add_user(OTHER, registered=False)
    body = assert_error(client.put(f"/v1/typing-indicator/{ACCOUNT}", json={"recipient": OTHER}), 400)
    assert body["errors"]["recipients"][0]["reason"] == "UNREGISTERED_FAILURE"


def test_typing_in_a_group_the_account_left(client, fake):
    add_group_with_id(fake, GROUP, members=[OTHER], isMember=False)
    assert_error(client.put(f"/v1/typing-indicator/{ACCOUNT}", json={"recipient": GROUP}), 400, "not a member")


# --- remote delete -------------------------------------------------------------------------------------


def remote_delete(client, **body):
    return client.delete(f"/v1/remote-delete/{ACCOUNT}", json={"recipient": OTHER, "timestamp": TIMESTAMP, **body})


def test_remote_delete(client, fake):
    response = remote_delete(client)
    assert response.status_code == 201
    sent = last_sent(fake, "remoteDelete")
    assert response.get_json() == {"timestamp": str(sent["timestamp"])}
    assert sent["timestamp"] != TIMESTAMP
    assert sent["target_timestamp"] == TIMESTAMP
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["remoteDelete", f"--target-timestamp={TIMESTAMP}", "--", OTHER]


@pytest.mark.parametrize("form", [api_group_id(GROUP), GROUP])
def test_remote_delete_in_a_group(client, fake, group, form):
    response = remote_delete(client, recipient=form, timestamp=str(TIMESTAMP))
    assert response.status_code == 201
    assert response.get_json() == {"timestamp": str(last_sent(fake, "remoteDelete")["timestamp"])}
    assert words(last_run(fake)) == ["remoteDelete", f"--target-timestamp={TIMESTAMP}", "-g", GROUP, "--"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"recipient": None}, "recipient"),
        ({"recipient": "-t"}, "recipient"),
        ({"recipient": "u:alice.42"}, "recipient"),
        ({"recipient": "+49abc"}, "recipient"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": "-5"}, "timestamp"),
        ({"timestamp": 0}, "timestamp"),
        ({"timestamp": "now"}, "timestamp"),
        ({"timestamp": 12.5}, "timestamp"),
    ],
)
def test_remote_delete_bad_input(validation_client, fields, field):
    body = {"recipient": OTHER, "timestamp": TIMESTAMP, **fields}
    response = validation_client.delete(
        f"/v1/remote-delete/{ACCOUNT}", json={k: v for k, v in body.items() if v is not None}
    )
    assert_error(response, 400, field=field)


@pytest.mark.parametrize(("flags", "status"), [({"registered": False}, 400), ({"untrusted": True}, 409)])
def test_remote_delete_failures(client, fake, flags, status):
    fake.add_user(OTHER, **flags)
    assert_error(remote_delete(client), status)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/v1/typing-indicator", {"recipient": UNKNOWN_GROUP}),
        ("delete", "/v1/typing-indicator", {"recipient": UNKNOWN_GROUP}),
        ("delete", "/v1/remote-delete", {"recipient": UNKNOWN_GROUP, "timestamp": TIMESTAMP}),
    ],
)
def test_unknown_group_in_the_body_is_a_user_error(client, fake, method, path, body):
    # API.md §1: "group not found" is a 400 user error; 404 only where the route (path) names the group
    assert_error(getattr(client, method)(f"{path}/{ACCOUNT}", json=body), 400, "Group not found")


# --- polls ----------------------------------------------------------------------------------------------------

POLL = {"recipient": OTHER, "question": "Lunch?", "answers": ["Pizza", "Sushi", "none"]}
VOTE = {"recipient": OTHER, "poll_author": OTHER, "poll_timestamp": TIMESTAMP, "selected_answers": [1, 3]}
CLOSE = {"recipient": OTHER, "poll_timestamp": TIMESTAMP}
POLL_CALLS = [("post", "/v1/polls", POLL), ("post", "/v1/polls/vote", VOTE), ("delete", "/v1/polls", CLOSE)]


def poll_call(client, method, path, body):
    path = path.replace("/v1/polls", f"/v1/polls/{ACCOUNT}", 1)
    return getattr(client, method)(path, json=body)


@pytest.mark.parametrize(("method", "path", "body"), POLL_CALLS)
def test_polls_need_signal_cli_0_13_22(client, fake, method, path, body):
    body = assert_error(poll_call(client, method, path, body), 501, "0.13.22", "0.13.19")
    assert "Poll" in body["message"]
    # decided from the version: no signal-cli subcommand ran for the account
    assert fake.log() == []


def test_create_poll_argv(app, client, fake, monkeypatch):
    newer_signal_cli(app, monkeypatch)
    assert_unknown_subcommand(poll_call(client, "post", "/v1/polls", POLL), "sendPollCreate")
    run = last_run(fake)
    assert run["argv"][run["argv"].index("-a") + 1] == ACCOUNT
    assert run["argv"][run["argv"].index("-o") :] == [
        "-o",
        "json",
        "sendPollCreate",
        "--question=Lunch?",
        "--option",
        "Pizza",
        "Sushi",
        "none",
        "--",
        OTHER,
    ]


def test_create_poll_single_choice_in_a_group(app, client, fake, monkeypatch, group):
    newer_signal_cli(app, monkeypatch)
    body = {**POLL, "recipient": api_group_id(GROUP), "question": "-q", "allow_multiple_selections": False}
    assert_unknown_subcommand(poll_call(client, "post", "/v1/polls", body), "sendPollCreate")
    argv = last_run(fake)["argv"]
    assert argv[argv.index("sendPollCreate") :] == [
        "sendPollCreate",
        "--question=-q",
        "--option",
        "Pizza",
        "Sushi",
        "none",
        "--no-multi",
        "-g",
        GROUP,
        "--",
    ]


def test_vote_argv_counts_the_votes(app, client, fake, monkeypatch):
    # a vote refused for the old version does not use up a vote count
    assert_error(poll_call(client, "post", "/v1/polls/vote", VOTE), 501)
    newer_signal_cli(app, monkeypatch)
    for count in (1, 2):
        assert_unknown_subcommand(poll_call(client, "post", "/v1/polls/vote", VOTE), "sendPollVote")
        argv = last_run(fake)["argv"]
        assert argv[argv.index("sendPollVote") :] == [
            "sendPollVote",
            f"--poll-author={OTHER}",
            f"--poll-timestamp={TIMESTAMP}",
            "--option",
            "0",
            "2",
            f"--vote-count={count}",
            "--",
            OTHER,
        ]


def test_close_poll_argv(app, client, fake, monkeypatch, group):
    newer_signal_cli(app, monkeypatch)
    assert_unknown_subcommand(
        poll_call(client, "delete", "/v1/polls", {**CLOSE, "recipient": GROUP}), "sendPollTerminate"
    )
    argv = last_run(fake)["argv"]
    assert argv[argv.index("sendPollTerminate") :] == [
        "sendPollTerminate",
        f"--poll-timestamp={TIMESTAMP}",
        "-g",
        GROUP,
        "--",
    ]


@pytest.mark.parametrize(
    ("method", "path", "fields", "field"),
    [
        ("post", "/v1/polls", {"recipient": None}, "recipient"),
        ("post", "/v1/polls", {"recipient": "-g"}, "recipient"),
        ("post", "/v1/polls", {"recipient": "u:alice.42"}, "recipient"),
        ("post", "/v1/polls", {"question": None}, "question"),
        ("post", "/v1/polls", {"question": "a\0"}, "question"),
        ("post", "/v1/polls", {"answers": None}, "answers"),
        ("post", "/v1/polls", {"answers": ["only one"]}, "answers"),
        ("post", "/v1/polls", {"answers": [str(i) for i in range(11)]}, "answers"),
        ("post", "/v1/polls", {"answers": ["fine", "-h"]}, "answers"),
        ("post", "/v1/polls", {"answers": ["fine", "two\nlines"]}, "answers"),
        ("post", "/v1/polls", {"answers": ["fine", " "]}, "answers"),
        ("post", "/v1/polls", {"answers": "a,b"}, "answers"),
        ("post", "/v1/polls", {"allow_multiple_selections": "sometimes"}, "allow_multiple_selections"),
        ("post", "/v1/polls/vote", {"recipient": "-x"}, "recipient"),
        ("post", "/v1/polls/vote", {"poll_author": None}, "poll_author"),
        ("post", "/v1/polls/vote", {"poll_author": api_group_id(GROUP)}, "poll_author"),
        ("post", "/v1/polls/vote", {"poll_author": "--vote-count=9"}, "poll_author"),
        ("post", "/v1/polls/vote", {"poll_timestamp": None}, "poll_timestamp"),
        ("post", "/v1/polls/vote", {"poll_timestamp": "-1"}, "poll_timestamp"),
        ("post", "/v1/polls/vote", {"selected_answers": None}, "selected_answers"),
        ("post", "/v1/polls/vote", {"selected_answers": [0]}, "selected_answers"),
        ("post", "/v1/polls/vote", {"selected_answers": [11]}, "selected_answers"),
        ("post", "/v1/polls/vote", {"selected_answers": ["-1"]}, "selected_answers"),
        ("delete", "/v1/polls", {"recipient": None}, "recipient"),
        ("delete", "/v1/polls", {"poll_timestamp": None}, "poll_timestamp"),
        ("delete", "/v1/polls", {"poll_timestamp": "soon"}, "poll_timestamp"),
    ],
)
def test_poll_bad_input_is_400_before_the_version_check(validation_client, method, path, fields, field):
    base = {"/v1/polls/vote": VOTE, "/v1/polls": POLL if method == "post" else CLOSE}[path]
    body = {key: value for key, value in {**base, **fields}.items() if value is not None}
    assert_error(poll_call(validation_client, method, path, body), 400, field=field)


@pytest.mark.parametrize(("method", "path", "body"), POLL_CALLS)
def test_poll_bad_number(validation_client, method, path, body):
    response = getattr(validation_client, method)(path.replace("/v1/polls", "/v1/polls/-a", 1), json=body)
    assert_error(response, 400, "-a")
