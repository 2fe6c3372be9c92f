"""Reactions: add and take back emoji reactions, to people and groups."""

import pytest
from helpers import ACCOUNT, OTHER, THIRD, UUID, add_group_with_id, api_group_id, assert_error, b64, last_run, words

#: the API suite runs in both SIGNAL_REST_MODEs
pytestmark = pytest.mark.service_modes("normal", "json-rpc")

TIMESTAMP = 1700000000000
GROUP_ID = b64(b"\x01\xbf\xfe" + bytes(29))


def react(client, method="post", **body):
    """POST (or DELETE) /v1/reactions/ACCOUNT with a reaction to OTHER's message."""
    body = {"recipient": OTHER, "target_author": OTHER, "timestamp": TIMESTAMP, **body}
    return getattr(client, method)(f"/v1/reactions/{ACCOUNT}", json=body)


def test_react(client, fake):
    response = react(client, reaction="👍")
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == [
        "sendReaction",
        "--emoji=👍",
        f"--target-author={OTHER}",
        f"--target-timestamp={TIMESTAMP}",
        "--",
        OTHER,
    ]
    sent = fake.sent_messages(command="sendReaction")[-1]
    assert (sent["emoji"], sent["target_author"], sent["target_timestamp"], sent["remove"]) == (
        "👍",
        OTHER,
        TIMESTAMP,
        False,
    )


@pytest.mark.parametrize(
    ("recipient", "groupid"),
    [
        (api_group_id(GROUP_ID), None),
        (GROUP_ID, None),
        (None, api_group_id(GROUP_ID)),
        (None, GROUP_ID),
        # groupid wins over recipient
        (THIRD, GROUP_ID),
    ],
)
def test_react_in_a_group(client, fake, recipient, groupid):
    add_group_with_id(fake, GROUP_ID, members=[OTHER])
    response = react(client, reaction="❤️", recipient=recipient, groupid=groupid)
    assert response.status_code == 204, response.get_json()
    assert words(last_run(fake)) == [
        "sendReaction",
        "--emoji=❤️",
        f"--target-author={OTHER}",
        f"--target-timestamp={TIMESTAMP}",
        "-g",
        GROUP_ID,
        "--",
    ]


def test_react_to_a_uuid_author_with_a_string_timestamp(client, fake):
    response = react(client, reaction="-e", target_author=UUID.upper(), timestamp=str(TIMESTAMP))
    assert response.status_code == 204
    # an emoji that looks like an option stays the value of --emoji
    assert words(last_run(fake))[1:4] == ["--emoji=-e", f"--target-author={UUID}", f"--target-timestamp={TIMESTAMP}"]
    assert last_run(fake)["options"]["emoji"] == "-e"


def test_remove_with_post(client, fake):
    assert react(client, reaction="🎉", remove=True).status_code == 204
    assert words(last_run(fake))[:5] == [
        "sendReaction",
        "--emoji=🎉",
        f"--target-author={OTHER}",
        f"--target-timestamp={TIMESTAMP}",
        "--remove",
    ]
    assert fake.sent_messages(command="sendReaction")[-1]["remove"] is True


def test_remove_with_post_and_no_emoji_removes_the_default(client, fake):
    # like DELETE: signal-cli needs the emoji to remove, and 👍 is the default
    response = react(client, remove=True)
    assert response.status_code == 204, response.get_json()
    assert words(last_run(fake))[1] == "--emoji=👍"
    assert "--remove" in words(last_run(fake))


@pytest.mark.parametrize(("body", "emoji"), [({}, "👍"), ({"reaction": None}, "👍"), ({"reaction": "😂"}, "😂")])
def test_delete_reaction(client, fake, body, emoji):
    response = react(client, method="delete", **body)
    assert response.status_code == 204
    assert words(last_run(fake)) == [
        "sendReaction",
        f"--emoji={emoji}",
        f"--target-author={OTHER}",
        f"--target-timestamp={TIMESTAMP}",
        "--remove",
        "--",
        OTHER,
    ]


@pytest.mark.parametrize("method", ["post", "delete"])
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"recipient": None}, "recipient"),
        ({"recipient": "-h"}, "recipient"),
        ({"recipient": "+49abc"}, "recipient"),
        ({"recipient": 5}, "recipient"),
        ({"recipient": None, "groupid": "group.abc"}, "groupid"),
        ({"groupid": "-g"}, "groupid"),
        ({"groupid": OTHER}, "groupid"),
        ({"target_author": None}, "target_author"),
        ({"target_author": "--target-author=x"}, "target_author"),
        ({"target_author": api_group_id(b64(bytes(32)))}, "target_author"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": "-1"}, "timestamp"),
        ({"timestamp": 0}, "timestamp"),
        ({"timestamp": 1.5}, "timestamp"),
        ({"timestamp": True}, "timestamp"),
        ({"reaction": 5}, "reaction"),
        ({"reaction": "x" * 65}, "reaction"),
        ({"reaction": "a\0"}, "reaction"),
        ({"remove": "perhaps"}, "remove"),
    ],
)
def test_bad_input(validation_client, method, fields, field):
    body = {"reaction": "👍", **fields}
    assert_error(react(validation_client, method=method, **body), 400, field=field)


def test_post_needs_the_emoji(validation_client):
    assert_error(react(validation_client), 400, field="reaction")
    assert_error(react(validation_client, reaction=""), 400, field="reaction")


@pytest.mark.parametrize("number", ["+49abc", "-a"])
def test_bad_number(validation_client, number):
    response = validation_client.post(
        f"/v1/reactions/{number}",
        json={"reaction": "👍", "recipient": OTHER, "target_author": OTHER, "timestamp": TIMESTAMP},
    )
    assert_error(response, 400, number)


@pytest.mark.parametrize(
    ("flags", "status"),
    [({"registered": False}, 400), ({"untrusted": True}, 409), ({"rate_limited": True}, 429)],
)
def test_recipient_failures(client, fake, flags, status):
    fake.add_user(OTHER, **flags)
    body = assert_error(react(client, reaction="👍"), status)
    assert [failure["number"] for failure in body["errors"]["recipients"]] == [OTHER]


def test_unknown_group(client):
    # a user error: the route does not name the group
    assert_error(react(client, reaction="👍", recipient=None, groupid=b64(bytes(32))), 400, "Group not found")
