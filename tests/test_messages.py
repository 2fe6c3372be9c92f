"""Messages: /v2/send and the seed's /v1/send/{recipient}, the old /v1/send, typing indicators, remote
delete and polls (which need a newer signal-cli than the fake's 0.13.19), checked against what reached
signal-cli."""

import base64
import os
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers import (
    ACCOUNT,
    OTHER,
    THIRD,
    UUID,
    add_group_with_id,
    api_group_id,
    assert_error,
    assert_newer_command,
    b64,
    last_run,
    newer_signal_cli,
    release_at_least,
    stdin_of,
    words,
)

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

SECOND_ACCOUNT = "+4915111111111"
PNI_UUID = "b1b2c3d4-0000-4000-8000-00000000000b"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
#: a raw group id with '/' and '+' in it
SLASHED_GROUP = b64(b"\x01\xbf\xfe" + bytes(29))
UNKNOWN_GROUP = b64(bytes(32))
TIMESTAMP = 1732630000123


def send(client, **body):
    """POST /v2/send as ACCOUNT (unless ``number`` is given)."""
    return client.post("/v2/send", json={"number": ACCOUNT, **body})


def sent_timestamp(fake):
    """The timestamp of the last message the fake sent, as the API gives it."""
    return str(fake.sent_messages()[-1]["timestamp"])


def attachments_received(run):
    """(file name, bytes) of each attachment signal-cli read in ``run``."""
    return [(item["name"], base64.b64decode(item["data"])) for item in run["attachments"]]


def add_sticker_pack(fake, pack_id):
    fake.update(lambda state: state["accounts"][ACCOUNT]["sticker_packs"].append({"packId": pack_id}))


def concurrently(*calls):
    """Run the calls in threads that start together; return their results in order."""
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def group(fake):
    """A group of ACCOUNT and OTHER, with the id SLASHED_GROUP."""
    return add_group_with_id(fake, SLASHED_GROUP, members=[OTHER])


def last_sent(fake, command):
    """What the fake's last ``command`` sent."""
    sent = fake.sent_messages(command=command)
    assert sent, f"nothing was sent with {command}"
    return sent[-1]


# --- the plain message ----------------------------------------------------------------------------


def test_send_text(client, fake):
    response = send(client, recipients=[OTHER], message="Hello -h --config=/etc")
    assert response.status_code == 201
    timestamp = sent_timestamp(fake)
    assert response.get_json() == {"timestamp": timestamp, "timestamps": {timestamp: {"recipients": [OTHER]}}}
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["send", "--message-from-stdin", "--notify-self", "--", OTHER]
    assert stdin_of(run) == "Hello -h --config=/etc"
    assert fake.sent_messages()[-1]["message"] == "Hello -h --config=/etc"


@pytest.mark.parametrize(("level", "listed"), [("0.100", False), ("0.101", True)])
def test_send_answers_the_shape_of_the_api_level(make_app, fake, level, listed):
    response = send(make_app(SIGNAL_REST_API_LEVEL=level).test_client(), recipients=[OTHER], message="hi")
    assert response.status_code == 201
    timestamp = sent_timestamp(fake)
    result = {"timestamp": timestamp, "timestamps": {timestamp: {"recipients": [OTHER]}}}
    assert response.get_json() == ([result] if listed else result)
    assert len(fake.sent_messages()) == 1


def test_mixed_recipients_in_one_signal_cli_call(client, fake):
    first = fake.add_group(ACCOUNT, members=[OTHER])
    second = fake.add_group(ACCOUNT, name="Two", members=[THIRD])
    recipients = [OTHER, UUID.upper(), "u:alice.42", "bob.07", api_group_id(first), second, "pni:" + PNI_UUID]
    response = send(client, recipients=recipients, recipient="+49 151 0000 0002", message="to all")
    assert response.status_code == 201
    assert [run["command"] for run in fake.log()] == ["send"]
    options = last_run(fake)["options"]
    assert options["group-id"] == [first, second]
    assert options["recipient"] == [OTHER, UUID, "u:alice.42", "u:bob.07", "PNI:" + PNI_UUID, THIRD]
    timestamp = sent_timestamp(fake)
    assert response.get_json()["timestamps"] == {
        timestamp: {
            "recipients": [
                OTHER,
                UUID,
                "u:alice.42",
                "u:bob.07",
                api_group_id(first),
                api_group_id(second),
                "PNI:" + PNI_UUID,
                THIRD,
            ]
        }
    }
    assert "errors" not in response.get_json()


def test_recipient_is_appended_and_duplicates_are_sent_to_once(client, fake):
    response = send(client, recipients=[OTHER, "4915100000001"], recipient=THIRD, message="hi")
    assert response.status_code == 201
    assert words(last_run(fake))[-3:] == ["--", OTHER, THIRD]
    assert response.get_json()["timestamps"][sent_timestamp(fake)] == {"recipients": [OTHER, THIRD]}


def test_recipient_alone(client, fake):
    assert send(client, recipient=OTHER, message="hi").status_code == 201
    assert words(last_run(fake))[-2:] == ["--", OTHER]


# --- attachments ----------------------------------------------------------------------------------


def test_attachments_become_files_named_after_the_data_uri(client, fake, attachment_dir):
    response = send(
        client,
        recipients=[OTHER],
        message="files",
        base64_attachments=[
            b64(b"plain bytes"),
            f"data:image/png;base64,{b64(PNG)}",
            f"data:text/plain;filename=my%20notes.txt;base64,{b64(b'notes')}",
            f"data:text/plain;filename=../../etc/passwd;base64,{b64(b'not a path')}",
            f"data:text/plain;filename=my%20notes.txt;base64,{b64(b'other notes')}",
            f"data:text/plain;filename=--config;base64,{b64(b'looks like an option')}",
        ],
    )
    assert response.status_code == 201
    run = last_run(fake)
    assert attachments_received(run) == [
        ("attachment-1", b"plain bytes"),
        ("attachment-2.png", PNG),
        ("my notes.txt", b"notes"),
        ("passwd", b"not a path"),
        ("my notes.txt", b"other notes"),
        ("--config", b"looks like an option"),
    ]
    paths = run["options"]["attachment"]
    assert words(run) == ["send", "--message-from-stdin", "--attachment", *paths, "--notify-self", "--", OTHER]
    for path in paths:
        assert Path(path).is_relative_to(attachment_dir)
        assert not os.path.exists(path)
    # signal-cli guesses the type from the file name, so the data URI's type must survive as the extension
    sent_types = [item["content_type"] for item in fake.sent_messages()[-1]["attachments"]]
    assert sent_types[:3] == ["application/octet-stream", "image/png", "text/plain"]


def test_attachment_without_a_message(client, fake):
    response = send(client, recipients=[OTHER], base64_attachments=[f"data:image/png;filename=a.png;base64,{b64(PNG)}"])
    assert response.status_code == 201
    run = last_run(fake)
    assert "--message-from-stdin" not in words(run)
    assert stdin_of(run) is None
    assert [item["name"] for item in run["attachments"]] == ["a.png"]


def test_attachments_are_removed_when_signal_cli_fails(client, fake):
    fake.add_fault(command="send", exit=3, stderr="Failed to send message: Connection closed (IOException)")
    response = send(client, recipients=[OTHER], message="x", base64_attachments=[b64(b"data")])
    assert_error(response, 502)
    (path,) = last_run(fake)["options"]["attachment"]
    assert not os.path.exists(path)


@pytest.mark.parametrize(
    "bad",
    [
        "not base64!",
        "abc",
        "====",
        "aGVsbG8=aGVsbG8=",
        "data:image/png;base64,@@@@",
        "data:image/png,aGVsbG8=",
        "data:image/png;base64",
        "-aGVsbG8=",
    ],
)
def test_invalid_base64_is_a_400_naming_the_item(validation_client, bad):
    response = send(validation_client, recipients=[OTHER], message="x", base64_attachments=[b64(b"fine"), bad])
    assert_error(response, 400, "base64_attachments[1]", field="base64_attachments[1]")


# --- mentions, styles, quotes, stickers, edits, previews ------------------------------------------------------


def test_mentions_in_both_forms(client, fake):
    response = send(
        client,
        recipients=[OTHER],
        message="😀 @Bob and @Ann",
        mentions=[
            {"start": 3, "length": 4, "author": OTHER},
            f"12:4:{UUID}",
            {"start": "0", "length": "1", "author": THIRD},
        ],
    )
    assert response.status_code == 201
    run = last_run(fake)
    assert words(run) == [
        "send",
        "--message-from-stdin",
        "--mention",
        f"3:4:{OTHER}",
        f"12:4:{UUID}",
        f"0:1:{THIRD}",
        "--notify-self",
        "--",
        OTHER,
    ]
    assert fake.sent_messages()[-1]["mentions"][:2] == [
        {"start": 3, "length": 4, "recipient": OTHER},
        {"start": 12, "length": 4, "recipient": UUID},
    ]


@pytest.mark.parametrize(
    "mention",
    [
        {"start": -1, "length": 1, "author": OTHER},
        {"start": 0, "length": 0, "author": OTHER},
        {"start": 0, "length": 1},
        {"start": 0, "length": 1, "author": "-h"},
        {"start": "x", "length": 1, "author": OTHER},
        "0:1",
        "a:1:" + OTHER,
        "0:1:-h",
        "0:1:group.abc",
        5,
    ],
)
def test_bad_mentions(validation_client, mention):
    assert_error(
        send(validation_client, recipients=[OTHER], message="hi", mentions=[mention]), 400, field="mentions[0]"
    )


def test_styled_text(client, fake):
    message = "**bold** and *it* ~s~ ||sp|| `mono` 😀 ***x*** \\*plain\\*"
    response = send(client, recipients=[OTHER], message=message, text_mode="styled")
    assert response.status_code == 201
    run = last_run(fake)
    assert stdin_of(run) == "bold and it s sp mono 😀 x *plain*"
    # offsets in UTF-16 code units: the emoji counts 2
    assert run["options"]["text-style"] == [
        "0:4:BOLD",
        "9:2:ITALIC",
        "12:1:STRIKETHROUGH",
        "14:2:SPOILER",
        "17:4:MONOSPACE",
        "25:1:BOLD",
        "25:1:ITALIC",
    ]
    assert words(run)[:3] == ["send", "--message-from-stdin", "--text-style"]


@pytest.mark.parametrize(
    ("default_mode", "text_mode", "styled"),
    [
        ("normal", None, False),
        ("normal", "normal", False),
        ("normal", "styled", True),
        ("styled", None, True),
        ("styled", "normal", False),
    ],
)
def test_text_mode_and_its_default(make_app, fake, default_mode, text_mode, styled):
    client = make_app(SIGNAL_REST_DEFAULT_TEXT_MODE=default_mode).test_client()
    response = send(client, recipients=[OTHER], message="a **b**", text_mode=text_mode)
    assert response.status_code == 201
    run = last_run(fake)
    assert stdin_of(run) == ("a b" if styled else "a **b**")
    assert run["options"].get("text-style") == (["2:1:BOLD"] if styled else None)


def test_quote(client, fake):
    response = send(
        client,
        recipients=[OTHER],
        message="reply",
        quote_timestamp="1700000000000",
        quote_author=OTHER,
        quote_message="--original -h",
        quote_mentions=[f"0:3:{THIRD}"],
    )
    assert response.status_code == 201
    assert words(last_run(fake)) == [
        "send",
        "--message-from-stdin",
        "--quote-timestamp=1700000000000",
        f"--quote-author={OTHER}",
        "--quote-message=--original -h",
        "--quote-mention",
        f"0:3:{THIRD}",
        "--notify-self",
        "--",
        OTHER,
    ]
    quote = fake.sent_messages()[-1]["quote"]
    assert (quote["timestamp"], quote["author"], quote["message"]) == (1700000000000, OTHER, "--original -h")


def test_sticker_alone(client, fake):
    add_sticker_pack(fake, "abcd")
    response = send(client, recipients=[OTHER], sticker="abcd:3")
    assert response.status_code == 201
    assert words(last_run(fake)) == ["send", "--sticker=abcd:3", "--notify-self", "--", OTHER]
    assert fake.sent_messages()[-1]["sticker"] == "abcd:3"


def test_unknown_sticker_pack(client, fake):
    assert_error(send(client, recipients=[OTHER], sticker="abcd:3"), 400, "Sticker pack not found")


def test_edit(client, fake):
    response = send(client, recipients=[OTHER], message="fixed", edit_timestamp=1700000000000)
    assert response.status_code == 201
    assert words(last_run(fake)) == [
        "send",
        "--message-from-stdin",
        "--edit-timestamp=1700000000000",
        "--notify-self",
        "--",
        OTHER,
    ]
    assert fake.sent_messages()[-1]["edit_timestamp"] == 1700000000000


def test_link_preview_with_thumbnail(client, fake, attachment_dir):
    response = send(
        client,
        recipients=[OTHER],
        message="see https://example.com/a?b=c now",
        link_preview={
            "url": "https://example.com/a?b=c",
            "title": "-T",
            "description": "--description",
            "base64_thumbnail": f"data:image/jpeg;filename=thumb.jpg;base64,{b64(b'jpeg bytes')}",
        },
    )
    assert response.status_code == 201
    run = last_run(fake)
    image = run["options"]["preview-image"]
    assert words(run) == [
        "send",
        "--message-from-stdin",
        "--preview-url=https://example.com/a?b=c",
        "--preview-title=-T",
        "--preview-description=--description",
        f"--preview-image={image}",
        "--notify-self",
        "--",
        OTHER,
    ]
    assert Path(image).name == "thumb.jpg" and Path(image).is_relative_to(attachment_dir)
    assert not os.path.exists(image)
    assert fake.sent_messages()[-1]["preview"] == {
        "url": "https://example.com/a?b=c",
        "title": "-T",
        "description": "--description",
        "image": image,
    }


def test_link_preview_without_title(client, fake):
    response = send(
        client, recipients=[OTHER], message="https://example.com", link_preview={"url": "https://example.com"}
    )
    assert response.status_code == 201
    assert words(last_run(fake))[2:4] == ["--preview-url=https://example.com", "--preview-title="]


@pytest.mark.parametrize(("view_once", "passed"), [(True, True), (False, False), (None, False)])
def test_view_once(client, fake, view_once, passed):
    assert send(client, recipients=[OTHER], message="secret", view_once=view_once).status_code == 201
    assert ("--view-once" in words(last_run(fake))) is passed
    assert fake.sent_messages()[-1]["view_once"] is passed


@pytest.mark.parametrize(
    ("body", "passed"),
    [({}, True), ({"notify_self": None}, True), ({"notify_self": True}, True), ({"notify_self": False}, False)],
)
def test_notify_self(client, fake, body, passed):
    assert send(client, recipients=[OTHER], message="hi", **body).status_code == 201
    assert ("--notify-self" in words(last_run(fake))) is passed


# --- partial and total failure --------------------------------------------------------------------


def test_partial_failure_is_201_with_the_failed_recipients(client, fake):
    fake.add_user(THIRD, registered=False)
    response = send(client, recipients=[OTHER, THIRD], message="hi")
    assert response.status_code == 201
    body = response.get_json()
    assert body["timestamp"] == sent_timestamp(fake)
    assert body["errors"] == {
        "recipients": [{"number": THIRD, "uuid": None, "username": None, "reason": "UNREGISTERED_FAILURE"}]
    }


@pytest.mark.parametrize(
    ("flags", "status", "reason", "fragments"),
    [
        ({"registered": False}, 400, "UNREGISTERED_FAILURE", ()),
        ({"untrusted": True}, 409, "IDENTITY_FAILURE", (OTHER, THIRD, "/v1/identities/")),
        ({"rate_limited": True}, 429, "RATE_LIMIT_FAILURE", ()),
        # every recipient failed for a network reason: a server-side failure worth retrying
        ({"network_failure": True}, 502, "NETWORK_FAILURE", ()),
    ],
)
def test_total_failure_lists_every_recipient(client, fake, flags, status, reason, fragments):
    fake.add_user(OTHER, **flags)
    fake.add_user(THIRD, **flags)
    body = assert_error(send(client, recipients=[OTHER, THIRD], message="hi"), status, *fragments)
    failures = body["errors"]["recipients"]
    assert sorted((item["number"], item["reason"]) for item in failures) == [(OTHER, reason), (THIRD, reason)]
    assert all(set(item) >= {"number", "uuid", "username", "reason"} for item in failures)


def test_total_rate_limit_carries_the_challenge_tokens(client, fake):
    fake.add_user(OTHER, rate_limited="token-1")
    fake.add_user(THIRD, rate_limited="token-2")
    response = send(client, recipients=[OTHER, THIRD], message="hi")
    body = assert_error(response, 429, "rate-limit-challenge")
    assert sorted(body["challenge_tokens"]) == ["token-1", "token-2"]
    assert response.headers["Retry-After"] == "86400"


def test_group_failures_name_the_member(client, fake):
    fake.add_user(THIRD, registered=False)
    group = fake.add_group(ACCOUNT, members=[OTHER, THIRD])
    response = send(client, recipients=[group], message="hi")
    assert response.status_code == 201
    (failure,) = response.get_json()["errors"]["recipients"]
    assert (failure["number"], failure["reason"]) == (THIRD, "UNREGISTERED_FAILURE")
    assert response.get_json()["timestamps"][sent_timestamp(fake)] == {"recipients": [api_group_id(group)]}


def test_unknown_group_is_a_user_error(client):
    # exit 1 "Group not found": /v2/send does not name the group in its route, so this is a 400, not a 404
    unknown = b64(bytes(32))
    assert_error(send(client, recipients=[OTHER, unknown], message="hi"), 400, "Group not found")


def test_group_the_account_is_not_a_member_of(client, fake):
    group = fake.add_group(ACCOUNT, members=[OTHER], isMember=False)
    assert_error(send(client, recipients=[group], message="hi"), 400, "not a member")


def test_unregistered_account(client):
    assert_error(send(client, number=SECOND_ACCOUNT, recipients=[OTHER], message="hi"), 400, "is not registered")


# --- the sending account --------------------------------------------------------------------------------


@pytest.mark.parametrize("setting", ["SIGNAL_REST_DEFAULT_ACCOUNT", "PYTHON_SIGNAL_CLI_REST_API_ACCOUNT"])
@pytest.mark.parametrize("from_environment", [False, True])
def test_default_account(make_app, fake, monkeypatch, setting, from_environment):
    fake.add_account(SECOND_ACCOUNT)
    if from_environment:
        monkeypatch.setenv(setting, SECOND_ACCOUNT)
        client = make_app(**{setting: None}).test_client()
    else:
        client = make_app(**{setting: SECOND_ACCOUNT}).test_client()
    assert client.post("/v2/send", json={"recipients": [OTHER], "message": "hi"}).status_code == 201
    assert last_run(fake)["account"] == SECOND_ACCOUNT
    # a number in the body wins
    assert client.post("/v2/send", json={"number": ACCOUNT, "recipients": [OTHER], "message": "hi"}).status_code == 201
    assert last_run(fake)["account"] == ACCOUNT


@pytest.mark.parametrize("number", [None, ""])
def test_no_account_and_no_default(validation_client, number):
    response = validation_client.post("/v2/send", json={"number": number, "recipients": [OTHER], "message": "hi"})
    assert_error(response, 400, "default account", field="number")


# --- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"number": "+49abc"}, "number"),
        ({"number": "12"}, "number"),
        ({"number": "-a"}, "number"),
        ({"number": 4915112345678}, "number"),
        ({"recipients": OTHER}, "recipients"),
        ({"recipients": [123]}, "recipients[0]"),
        ({"recipients": [OTHER, "+49abc"]}, "recipients[1]"),
        ({"recipients": ["-g"]}, "recipients[0]"),
        ({"recipients": ["--config=/etc"]}, "recipients[0]"),
        ({"recipients": ["group.abc"]}, "recipients[0]"),
        ({"recipients": ["u:-x.42"]}, "recipients[0]"),
        ({"recipients": None, "recipient": None}, "recipients"),
        ({"recipients": [], "recipient": "-x"}, "recipient"),
        ({"recipient": 5}, "recipient"),
        ({"message": 5}, "message"),
        ({"message": "a\0b"}, "message"),
        ({"message": "x" * (64 * 1024 + 1)}, "message"),
        ({"message": None}, "message"),
        ({"base64_attachments": b64(b"x")}, "base64_attachments"),
        ({"base64_attachments": [5]}, "base64_attachments[0]"),
        ({"mentions": "0:1:" + OTHER}, "mentions"),
        ({"text_mode": "markdown"}, "text_mode"),
        ({"quote_timestamp": 1700000000000}, "quote_author"),
        ({"quote_timestamp": "soon", "quote_author": OTHER}, "quote_timestamp"),
        ({"quote_timestamp": -5, "quote_author": OTHER}, "quote_timestamp"),
        ({"quote_timestamp": "-5", "quote_author": OTHER}, "quote_timestamp"),
        ({"quote_timestamp": 0, "quote_author": OTHER}, "quote_timestamp"),
        ({"quote_timestamp": 1.5, "quote_author": OTHER}, "quote_timestamp"),
        ({"quote_timestamp": True, "quote_author": OTHER}, "quote_timestamp"),
        ({"quote_timestamp": 1, "quote_author": "group.abc"}, "quote_author"),
        ({"quote_timestamp": 1, "quote_author": "-h"}, "quote_author"),
        ({"quote_timestamp": 1, "quote_author": OTHER, "quote_message": 5}, "quote_message"),
        ({"quote_timestamp": 1, "quote_author": OTHER, "quote_mentions": ["x"]}, "quote_mentions[0]"),
        ({"sticker": "-ab:1"}, "sticker"),
        ({"sticker": "xyz:1"}, "sticker"),
        ({"sticker": "abc:1"}, "sticker"),
        ({"sticker": "abcd"}, "sticker"),
        ({"edit_timestamp": "yesterday"}, "edit_timestamp"),
        ({"edit_timestamp": "-1"}, "edit_timestamp"),
        ({"link_preview": "https://example.com"}, "link_preview"),
        ({"link_preview": {"title": "t"}}, "link_preview.url"),
        ({"link_preview": {"url": "-https://example.com"}}, "link_preview.url"),
        ({"link_preview": {"url": "ftp://example.com"}}, "link_preview.url"),
        ({"link_preview": {"url": "https://elsewhere.org"}}, "link_preview"),
        ({"link_preview": {"url": "https://example.com", "base64_thumbnail": "!!"}}, "link_preview.base64_thumbnail"),
        ({"view_once": "sometimes"}, "view_once"),
        ({"notify_self": "maybe"}, "notify_self"),
        ({"no_urgent": "quietly"}, "no_urgent"),
        ({"voice_note": 2}, "voice_note"),
    ],
)
def test_bad_input(validation_client, fields, field):
    body = {"number": ACCOUNT, "recipients": [OTHER], "message": "see https://example.com", **fields}
    assert_error(validation_client.post("/v2/send", json=body), 400, field=field)


def test_nothing_to_send(validation_client):
    assert_error(send(validation_client, recipients=[OTHER], message="", base64_attachments=[]), 400, field="message")


# --- /v1/send/{recipient} (seed) ------------------------------------------------------------------------


def test_seed_send(client, fake):
    response = client.post(f"/v1/send/{OTHER}", json={"number": ACCOUNT, "message": "-hello"})
    assert response.status_code == 201
    timestamp = sent_timestamp(fake)
    assert response.get_json() == {"timestamp": timestamp, "timestamps": {timestamp: {"recipients": [OTHER]}}}
    run = last_run(fake)
    assert words(run) == ["send", "--message-from-stdin", "--notify-self", "--", OTHER]
    assert stdin_of(run) == "-hello"


@pytest.mark.parametrize(
    ("path_recipient", "option", "value"),
    [
        (f"%2B{OTHER[1:]}", "recipient", OTHER),
        (OTHER[1:], "recipient", OTHER),
        (UUID.upper(), "recipient", UUID),
        ("u:alice.42", "recipient", "u:alice.42"),
        (api_group_id(SLASHED_GROUP), "group-id", SLASHED_GROUP),
        (quote(api_group_id(SLASHED_GROUP), safe=""), "group-id", SLASHED_GROUP),
        (quote(SLASHED_GROUP, safe=""), "group-id", SLASHED_GROUP),
        # the seed's path form of a raw id: '_' stands for '/'
        (SLASHED_GROUP.replace("/", "_"), "group-id", SLASHED_GROUP),
    ],
)
def test_seed_send_recipients(client, fake, path_recipient, option, value):
    add_group_with_id(fake, SLASHED_GROUP, members=[OTHER])
    response = client.post(f"/v1/send/{path_recipient}", json={"number": ACCOUNT, "message": "hi"})
    assert response.status_code == 201, response.get_json()
    assert last_run(fake)["options"][option] == [value]


def test_seed_send_with_attachments_and_the_default_account(make_app, fake):
    client = make_app(PYTHON_SIGNAL_CLI_REST_API_ACCOUNT=ACCOUNT).test_client()
    response = client.post(f"/v1/send/{OTHER}", json={"base64_attachments": [f"data:image/png;base64,{b64(PNG)}"]})
    assert response.status_code == 201
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert attachments_received(run) == [("attachment-1.png", PNG)]
    assert stdin_of(run) is None


@pytest.mark.parametrize(
    ("path_recipient", "body", "status", "fragment"),
    [
        ("+49abc", {"number": ACCOUNT, "message": "hi"}, 400, "+49abc"),
        ("-h", {"number": ACCOUNT, "message": "hi"}, 400, "-h"),
        ("group.abc", {"number": ACCOUNT, "message": "hi"}, 400, "group.abc"),
        (OTHER, {"number": ACCOUNT}, 400, "message"),
        (OTHER, {"number": "-a", "message": "hi"}, 400, "number"),
        (OTHER, {"message": "hi"}, 400, "default account"),
        (OTHER, {"number": ACCOUNT, "message": "hi", "base64_attachments": ["@@"]}, 400, "base64_attachments[0]"),
    ],
)
def test_seed_send_bad_input(validation_client, path_recipient, body, status, fragment):
    assert_error(validation_client.post(f"/v1/send/{path_recipient}", json=body), status, fragment)


def test_seed_send_to_an_unknown_group_is_404(client, fake):
    # the route names the group, so a missing one is a 404
    unknown = api_group_id(base64.b64encode(bytes(32)).decode())
    assert_error(client.post(f"/v1/send/{unknown}", json={"number": ACCOUNT, "message": "hi"}), 404)


# --- one signal-cli per account at a time ------------------------------------------------------------------


@pytest.mark.service_modes("normal")
def test_one_account_never_runs_two_signal_clis_at_once(app, fake):
    fake.set_delay(0.3)

    def post():
        return send(app.test_client(), recipients=[OTHER], message="hi")

    started = time.monotonic()
    responses = concurrently(post, post)
    assert [response.status_code for response in responses] == [201, 201]
    assert time.monotonic() - started >= 0.6
    first, second = sorted(fake.log(), key=lambda run: run["launched"])
    # the second process was not even started while the first ran (signal-cli's own lock was never needed)
    assert first["end"] <= second["launched"]
    assert not first["waited_for_lock"] and not second["waited_for_lock"]
    assert responses[0].get_json()["timestamp"] != responses[1].get_json()["timestamp"]


def test_two_accounts_run_in_parallel(app, fake):
    fake.add_account(SECOND_ACCOUNT)
    fake.set_delay(0.4)

    def post(account):
        return lambda: send(app.test_client(), number=account, recipients=[OTHER], message="hi")

    responses = concurrently(post(ACCOUNT), post(SECOND_ACCOUNT))
    assert [response.status_code for response in responses] == [201, 201]
    runs = fake.log()
    assert {run["account"] for run in runs} == {ACCOUNT, SECOND_ACCOUNT}
    assert max(run["start"] for run in runs) < min(run["end"] for run in runs)


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
    assert stdin_of(run) == "Hello -h"
    assert sent["recipients"] == [OTHER, UUID]


@pytest.mark.parametrize("form", [api_group_id(SLASHED_GROUP), SLASHED_GROUP, SLASHED_GROUP.replace("/", "%2F")])
def test_send_v1_to_a_group(client, fake, group, form):
    response = send_v1(client, recipients=[form], message="to the group", is_group=True)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"timestamp": str(last_sent(fake, "send")["timestamp"])}
    assert words(last_run(fake)) == ["send", "--message-from-stdin", "--notify-self", "-g", SLASHED_GROUP, "--"]


def test_send_v1_group_without_is_group(client, fake, group):
    # a group id is recognised as one even without the flag
    assert send_v1(client, recipients=[api_group_id(SLASHED_GROUP)], message="hi").status_code == 201
    assert last_run(fake)["options"]["group-id"] == [SLASHED_GROUP]


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
    assert attachments_received(run) == [(name, PNG)]
    assert run["options"]["attachment"][0].endswith("/" + name)
    # the attachment's temporary file is gone (the autouse fixture checks it too)


def test_send_v1_attachment_alone(client, fake):
    assert send_v1(client, recipients=[OTHER], base64_attachment=b64(PNG)).status_code == 201
    run = last_run(fake)
    assert stdin_of(run) is None
    assert "--message-from-stdin" not in words(run)


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
@pytest.mark.parametrize("form", [api_group_id(SLASHED_GROUP), SLASHED_GROUP])
def test_typing_in_a_group(client, fake, group, method, form):
    response = getattr(client, method)(f"/v1/typing-indicator/{ACCOUNT}", json={"recipient": form})
    assert response.status_code == 204, response.get_json()
    stop = ["--stop"] if method == "delete" else []
    assert words(last_run(fake)) == ["sendTyping", *stop, "-g", SLASHED_GROUP, "--"]


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
    add_group_with_id(fake, SLASHED_GROUP, members=[OTHER], isMember=False)
    assert_error(client.put(f"/v1/typing-indicator/{ACCOUNT}", json={"recipient": SLASHED_GROUP}), 400, "not a member")


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


@pytest.mark.parametrize("form", [api_group_id(SLASHED_GROUP), SLASHED_GROUP])
def test_remote_delete_in_a_group(client, fake, group, form):
    response = remote_delete(client, recipient=form, timestamp=str(TIMESTAMP))
    assert response.status_code == 201
    assert response.get_json() == {"timestamp": str(last_sent(fake, "remoteDelete")["timestamp"])}
    assert words(last_run(fake)) == ["remoteDelete", f"--target-timestamp={TIMESTAMP}", "-g", SLASHED_GROUP, "--"]


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


POLL_COMMANDS = {
    ("post", "/v1/polls"): "sendPollCreate",
    ("post", "/v1/polls/vote"): "sendPollVote",
    ("delete", "/v1/polls"): "sendPollTerminate",
}


@pytest.mark.parametrize(("method", "path", "body"), POLL_CALLS)
def test_polls_need_signal_cli_0_13_22(client, fake, fake_version, method, path, body):
    response = poll_call(client, method, path, body)
    if release_at_least(fake_version, "0.13.22"):
        # the installed signal-cli has them: the poll command really runs
        command = POLL_COMMANDS[method, path]
        assert response.status_code == (201 if command == "sendPollCreate" else 204), response.get_json()
        assert last_run(fake)["command"] == command
        return
    body = assert_error(response, 501, "0.13.22", fake_version)
    assert "A poll needs" in body["message"]
    # decided from the version: no signal-cli subcommand ran for the account
    assert fake.log() == []


@pytest.mark.service_modes("normal")
def test_create_poll_argv(app, client, fake, fake_version, monkeypatch):
    newer_signal_cli(app, monkeypatch)
    created = assert_newer_command(
        poll_call(client, "post", "/v1/polls", POLL), fake_version, "sendPollCreate", "0.13.22", 201
    )
    if release_at_least(fake_version, "0.13.22"):
        poll = last_sent(fake, "sendPollCreate")
        assert (poll["question"], poll["options"], poll["allow_multiple"]) == (
            "Lunch?",
            ["Pizza", "Sushi", "none"],
            True,
        )
        assert created == {"timestamp": str(poll["timestamp"])}
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


def test_create_poll_single_choice_in_a_group(app, client, fake, fake_version, monkeypatch, group):
    newer_signal_cli(app, monkeypatch)
    body = {**POLL, "recipient": api_group_id(SLASHED_GROUP), "question": "-q", "allow_multiple_selections": False}
    assert_newer_command(poll_call(client, "post", "/v1/polls", body), fake_version, "sendPollCreate", "0.13.22", 201)
    if release_at_least(fake_version, "0.13.22"):
        poll = last_sent(fake, "sendPollCreate")
        assert (poll["question"], poll["allow_multiple"], poll["recipients"]) == (
            "-q",
            False,
            [f"group:{SLASHED_GROUP}"],
        )
    argv = words(last_run(fake))
    assert argv == [
        "sendPollCreate",
        "--question=-q",
        "--option",
        "Pizza",
        "Sushi",
        "none",
        "--no-multi",
        "-g",
        SLASHED_GROUP,
        "--",
    ]


def test_vote_argv_counts_the_votes(app, client, fake, fake_version, monkeypatch):
    if not release_at_least(fake_version, "0.13.22"):
        # a vote refused for the old version does not use up a vote count
        assert_error(poll_call(client, "post", "/v1/polls/vote", VOTE), 501)
    newer_signal_cli(app, monkeypatch)
    for count in (1, 2):
        assert_newer_command(
            poll_call(client, "post", "/v1/polls/vote", VOTE), fake_version, "sendPollVote", "0.13.22", 204
        )
        if release_at_least(fake_version, "0.13.22"):
            vote = last_sent(fake, "sendPollVote")
            assert (vote["option_indexes"], vote["vote_count"], vote["poll_author"]) == ([0, 2], count, OTHER)
        argv = words(last_run(fake))
        assert argv == [
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


def test_close_poll_argv(app, client, fake, fake_version, monkeypatch, group):
    newer_signal_cli(app, monkeypatch)
    assert_newer_command(
        poll_call(client, "delete", "/v1/polls", {**CLOSE, "recipient": SLASHED_GROUP}),
        fake_version,
        "sendPollTerminate",
        "0.13.22",
        204,
    )
    if release_at_least(fake_version, "0.13.22"):
        assert last_sent(fake, "sendPollTerminate")["poll_timestamp"] == TIMESTAMP
    argv = words(last_run(fake))
    assert argv == [
        "sendPollTerminate",
        f"--poll-timestamp={TIMESTAMP}",
        "-g",
        SLASHED_GROUP,
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
        ("post", "/v1/polls/vote", {"poll_author": api_group_id(SLASHED_GROUP)}, "poll_author"),
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


# --- stories and admin delete: what is refused before signal-cli runs -----------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "attachment"),
        ({"attachment": "!!"}, "attachment"),
        # a story is an image or a video: text and PDFs are refused, declared or sniffed
        ({"attachment": f"data:text/plain;base64,{b64(b'hello')}"}, "attachment"),
        ({"attachment": b64(b"%PDF-1.4 not a picture")}, "attachment"),
        ({"attachment": b64(PNG), "group_id": "-g"}, "group_id"),
        ({"attachment": b64(PNG), "group_id": OTHER}, "group_id"),
        ({"attachment": b64(PNG), "allow_replies": "sometimes"}, "allow_replies"),
    ],
)
def test_story_bad_input(validation_client, body, field):
    assert_error(validation_client.post(f"/v1/stories/{ACCOUNT}", json=body), 400, field=field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # only a group has admins who may delete someone else's message
        ({"recipient": OTHER, "timestamp": TIMESTAMP, "target_author": OTHER}, "recipient"),
        ({"recipient": SLASHED_GROUP, "timestamp": TIMESTAMP, "target_author": "-a"}, "target_author"),
        (
            {"recipient": SLASHED_GROUP, "timestamp": TIMESTAMP, "target_author": f"group.{SLASHED_GROUP}"},
            "target_author",
        ),
    ],
)
def test_admin_delete_bad_input(validation_client, body, field):
    assert_error(validation_client.delete(f"/v1/remote-delete/{ACCOUNT}", json=body), 400, field=field)


def test_poll_answers_are_counted_as_signal_cli_counts_them(validation_client):
    # 0.14.2+ refuses answers over 100 UTF-16 units; an emoji outside the BMP counts twice
    body = {"recipient": OTHER, "question": "Lunch?", "answers": ["Pizza", "🍕" * 51]}
    assert_error(validation_client.post(f"/v1/polls/{ACCOUNT}", json=body), 400, "100", field="answers")


# --- what the 0.14 line adds: stories, admin delete, sends without a push, voice notes ---------------------


def post_story(client, **body):
    return client.post(f"/v1/stories/{ACCOUNT}", json={"attachment": f"data:image/png;base64,{b64(PNG)}", **body})


def test_stories_need_signal_cli_0_14_6(client, fake, fake_version):
    # decided from the version: no signal-cli run for the account
    fake.add_contact(ACCOUNT, OTHER)
    response = post_story(client)
    if release_at_least(fake_version, "0.14.6"):
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["timestamp"]
    else:
        assert_error(response, 501, "A story needs signal-cli 0.14.6 or newer", fake_version)
        assert fake.log() == []


def test_story_to_my_story_goes_to_the_contacts(app, client, fake, fake_version, monkeypatch):
    newer_signal_cli(app, monkeypatch, "0.14.6")
    fake.add_contact(ACCOUNT, OTHER)
    body = assert_newer_command(post_story(client), fake_version, "sendStory", "0.14.6", 201)
    run = last_run(fake)
    # (the 0.13.19 fake cannot parse the subcommand, but records its argv)
    argv = words(run)
    assert argv[1].startswith("--attachment=/") and argv[1].endswith(".png")
    assert len(argv) == 2
    # the temporary file is gone once signal-cli is done with it
    assert not os.path.exists(argv[1].split("=", 1)[1])
    if release_at_least(fake_version, "0.14.6"):
        story = fake.sent_messages(command="sendStory")[-1]
        assert story["my_story"] and story["recipients"] == [OTHER] and story["allow_replies"]
        assert story["attachment"]["data"] == b64(PNG)
        assert body["timestamp"] == str(story["timestamp"])


def test_story_to_a_group_without_replies(app, client, fake, fake_version, monkeypatch, group):
    newer_signal_cli(app, monkeypatch, "0.14.6")
    response = post_story(client, group_id=api_group_id(SLASHED_GROUP), allow_replies=False)
    assert_newer_command(response, fake_version, "sendStory", "0.14.6", 201)
    argv = words(last_run(fake))
    assert argv[2:] == ["--no-replies", f"--group-id={SLASHED_GROUP}"]
    if release_at_least(fake_version, "0.14.6"):
        story = fake.sent_messages(command="sendStory")[-1]
        assert story["group_id"] == SLASHED_GROUP and story["allow_replies"] is False


def test_a_story_no_one_could_see_is_the_callers_mistake(app, client, fake, fake_version, monkeypatch):
    # "My Story" of an account without contacts: signal-cli fails with exit 2 and says why
    newer_signal_cli(app, monkeypatch, "0.14.6")
    body = assert_newer_command(post_story(client), fake_version, "sendStory", "0.14.6", 400)
    if release_at_least(fake_version, "0.14.6"):
        assert "No eligible contacts found for story delivery" in body["message"], body


@pytest.mark.parametrize("recipient", [OTHER, SLASHED_GROUP])
def test_deleting_ones_own_message_works_in_every_release(client, fake, group, recipient):
    # without target_author it is the old remote delete, in every release
    body = {"recipient": recipient, "timestamp": TIMESTAMP}
    assert client.delete(f"/v1/remote-delete/{ACCOUNT}", json=body).status_code == 201
    assert words(last_run(fake))[0] == "remoteDelete"


def test_admin_delete(client, fake, fake_version, group):
    body = {"recipient": api_group_id(SLASHED_GROUP), "timestamp": TIMESTAMP, "target_author": OTHER}
    response = client.delete(f"/v1/remote-delete/{ACCOUNT}", json=body)
    if not release_at_least(fake_version, "0.14.0"):
        assert_error(response, 501, "0.14.0", fake_version)
        return
    assert response.status_code == 201, response.get_json()
    assert words(last_run(fake)) == [
        "sendAdminDelete",
        f"--target-author={OTHER}",
        f"--target-timestamp={TIMESTAMP}",
        "-g",
        SLASHED_GROUP,
    ]
    deleted = fake.sent_messages(command="sendAdminDelete")[-1]
    assert deleted["target_author"] == OTHER and deleted["target_timestamp"] == TIMESTAMP
    assert response.get_json()["timestamp"] == str(deleted["timestamp"])


@pytest.mark.parametrize(
    ("field", "option", "since"), [("no_urgent", "--no-urgent", "0.14.0"), ("voice_note", "--voice-note", "0.14.2")]
)
def test_send_without_a_push_or_as_a_voice_note(client, fake, fake_version, field, option, since):
    voice = f"data:audio/ogg;filename=note.ogg;base64,{b64(b'OggS' + bytes(40))}"
    response = send(client, recipients=[OTHER], message="hi", base64_attachments=[voice], **{field: True})
    if not release_at_least(fake_version, since):
        assert_error(response, 501, f"The {option} option of send needs signal-cli {since}", fake_version)
        assert fake.log() == []
        return
    assert response.status_code == 201, response.get_json()
    assert option in words(last_run(fake))
    assert last_sent(fake, "send")[field] is True


@pytest.mark.parametrize("field", ["no_urgent", "voice_note"])
def test_false_asks_nothing_of_newer_signal_cli(client, fake, field):
    # the default: the option is not written, so every release takes the send
    assert send(client, recipients=[OTHER], message="hi", **{field: False}).status_code == 201
    assert not {"--no-urgent", "--voice-note"} & set(words(last_run(fake)))
