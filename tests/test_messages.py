"""Messages: /v2/send and the seed's /v1/send/{recipient}, checked against what reached signal-cli."""

import base64
import os
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers import ACCOUNT, OTHER, THIRD, UUID, add_group_with_id, api_group_id, assert_error, b64, last_run, words

SECOND_ACCOUNT = "+4915111111111"
PNI_UUID = "b1b2c3d4-0000-4000-8000-00000000000b"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
#: a raw group id with '/' and '+' in it
SLASHED_GROUP = b64(b"\x01\xbf\xfe" + bytes(29))


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


# --- the plain message ----------------------------------------------------------------------------


def test_send_text(client, fake):
    response = send(client, recipients=[OTHER], message="Hello -h --config=/etc")
    assert response.status_code == 201
    timestamp = sent_timestamp(fake)
    assert response.get_json() == {"timestamp": timestamp, "timestamps": {timestamp: {"recipients": [OTHER]}}}
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["send", "--message-from-stdin", "--notify-self", "--", OTHER]
    assert run["stdin"] == "Hello -h --config=/etc"
    assert fake.sent_messages()[-1]["message"] == "Hello -h --config=/etc"


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


def test_attachments_become_files_named_after_the_data_uri(client, fake, no_leftovers):
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
        assert Path(path).is_relative_to(no_leftovers)
        assert not os.path.exists(path)
    # signal-cli guesses the type from the file name, so the data URI's type must survive as the extension
    sent_types = [item["content_type"] for item in fake.sent_messages()[-1]["attachments"]]
    assert sent_types[:3] == ["application/octet-stream", "image/png", "text/plain"]


def test_attachment_without_a_message(client, fake):
    response = send(client, recipients=[OTHER], base64_attachments=[f"data:image/png;filename=a.png;base64,{b64(PNG)}"])
    assert response.status_code == 201
    run = last_run(fake)
    assert "--message-from-stdin" not in run["argv"]
    assert run["stdin"] is None
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
    assert run["stdin"] == "bold and it s sp mono 😀 x *plain*"
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
    assert run["stdin"] == ("a b" if styled else "a **b**")
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


def test_link_preview_with_thumbnail(client, fake, no_leftovers):
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
    assert Path(image).name == "thumb.jpg" and Path(image).is_relative_to(no_leftovers)
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
    assert ("--view-once" in last_run(fake)["argv"]) is passed
    assert fake.sent_messages()[-1]["view_once"] is passed


@pytest.mark.parametrize(
    ("body", "passed"),
    [({}, True), ({"notify_self": None}, True), ({"notify_self": True}, True), ({"notify_self": False}, False)],
)
def test_notify_self(client, fake, body, passed):
    assert send(client, recipients=[OTHER], message="hi", **body).status_code == 201
    assert ("--notify-self" in last_run(fake)["argv"]) is passed


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
    assert run["stdin"] == "-hello"


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
    assert run["stdin"] is None


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
