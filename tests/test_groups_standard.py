"""Groups, the standard API's other endpoints: block, members, admins, avatar and pinned messages."""

from urllib.parse import quote

import pytest
from fake_signal_cli import uuid_for
from helpers import ACCOUNT, OTHER, THIRD, UUID, add_group_with_id, api_group_id, assert_error, b64, last_run, words

TIMESTAMP = 1732630000123
#: a raw group id with '/' and '+' in it
GROUP = b64(b"\x01\xbf\xfe" + bytes(29))
UNKNOWN_GROUP = b64(bytes(32))
#: GROUP in the standard API's form
API_GROUP = api_group_id(GROUP)
#: every form of GROUP a path may carry
PATH_FORMS = [GROUP, quote(api_group_id(GROUP), safe="")]

PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(24)
GIF = b"GIF89a" + bytes(24)


@pytest.fixture
def group(fake):
    """A group of ACCOUNT (admin) and OTHER, with the id GROUP."""
    return add_group_with_id(fake, GROUP, members=[OTHER])


def the_group(fake):
    """The fake's record of GROUP."""
    return next(g for g in fake.account(ACCOUNT)["groups"] if g["id"] == GROUP)


def numbers(people):
    return [person["number"] for person in people]


def set_group_avatar(fake, data, group_id=GROUP):
    fake.update(lambda state: state["accounts"][ACCOUNT]["group_avatars"].__setitem__(group_id, b64(data)))


# --- block --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", PATH_FORMS)
def test_block(client, fake, group, form):
    response = client.post(f"/v1/groups/{ACCOUNT}/{form}/block")
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["block", "-g", GROUP, "--"]
    assert the_group(fake)["isBlocked"] is True
    assert fake.account(ACCOUNT)["blocked"]["groups"] == [GROUP]


@pytest.mark.parametrize("path_id", ["-g", "group.abc", OTHER, "u:alice.42"])
def test_block_bad_group_id(validation_client, path_id):
    assert_error(validation_client.post(f"/v1/groups/{ACCOUNT}/{path_id}/block"), 400)


# --- members and admins -----------------------------------------------------------------------------------

CHANGES = [
    ("post", "members", "--member"),
    ("delete", "members", "--remove-member"),
    ("post", "admins", "--admin"),
    ("delete", "admins", "--remove-admin"),
]


def change(client, method, key, people, group_id=API_GROUP, number=ACCOUNT):
    return getattr(client, method)(f"/v1/groups/{number}/{group_id}/{key}", json={key: people})


@pytest.mark.parametrize(("method", "key", "option"), CHANGES)
def test_change_argv(client, fake, group, method, key, option):
    response = change(client, method, key, [THIRD, UUID.upper(), OTHER[1:]])
    assert response.status_code == 204
    assert response.data == b""
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["updateGroup", "-g", GROUP, option, THIRD, UUID, OTHER]


@pytest.mark.parametrize("form", PATH_FORMS)
def test_add_and_remove_members(client, fake, group, form):
    assert change(client, "post", "members", [THIRD], group_id=form).status_code == 204
    assert numbers(the_group(fake)["members"]) == [ACCOUNT, OTHER, THIRD]
    assert change(client, "delete", "members", [OTHER], group_id=form).status_code == 204
    assert numbers(the_group(fake)["members"]) == [ACCOUNT, THIRD]


def test_add_and_remove_admins(client, fake, group):
    assert change(client, "post", "admins", [OTHER]).status_code == 204
    assert numbers(the_group(fake)["admins"]) == [ACCOUNT, OTHER]
    assert words(last_run(fake)) == ["updateGroup", "-g", GROUP, "--admin", OTHER]
    assert change(client, "delete", "admins", [OTHER]).status_code == 204
    assert numbers(the_group(fake)["admins"]) == [ACCOUNT]


def test_members_by_uuid(client, fake, group):
    fake.add_user(THIRD)
    assert change(client, "post", "members", [uuid_for(THIRD)]).status_code == 204
    assert the_group(fake)["members"][-1] == {"number": THIRD, "uuid": uuid_for(THIRD)}


@pytest.mark.parametrize(("method", "key", "option"), CHANGES)
def test_change_in_an_unknown_group_is_404(client, fake, method, key, option):
    assert_error(change(client, method, key, [OTHER], group_id=api_group_id(UNKNOWN_GROUP)), 404)
    assert words(last_run(fake)) == ["updateGroup", "-g", UNKNOWN_GROUP, option, OTHER]


@pytest.mark.parametrize(("method", "key", "option"), CHANGES)
def test_change_in_a_group_the_account_left(client, fake, method, key, option):
    add_group_with_id(fake, GROUP, members=[OTHER], isMember=False)
    assert_error(change(client, method, key, [THIRD]), 400, "not a member")


def test_adding_an_unregistered_user(client, fake, group):
    fake.add_user(THIRD, registered=False)
    assert_error(change(client, "post", "members", [THIRD]), 400, THIRD)
    assert numbers(the_group(fake)["members"]) == [ACCOUNT, OTHER]


@pytest.mark.parametrize(("method", "key", "option"), CHANGES)
@pytest.mark.parametrize(
    "people",
    [
        None,
        [],
        OTHER,
        ["-m"],
        ["--remove-member"],
        [OTHER, "+49abc"],
        ["u:alice.42"],
        [api_group_id(GROUP)],
        [5],
        [[OTHER]],
        [OTHER] * 1001,
    ],
)
def test_change_bad_people(validation_client, method, key, option, people):
    assert_error(change(validation_client, method, key, people), 400, field=key)


@pytest.mark.parametrize(("method", "key", "option"), CHANGES)
def test_change_uses_its_own_key(validation_client, method, key, option):
    # "members" for the admins route (and the other way round) is no list of admins
    other_key = "admins" if key == "members" else "members"
    response = getattr(validation_client, method)(f"/v1/groups/{ACCOUNT}/{GROUP}/{key}", json={other_key: [OTHER]})
    assert_error(response, 400, field=key)


@pytest.mark.parametrize(("method", "key", "option"), CHANGES)
@pytest.mark.parametrize(("number", "group_id"), [("-a", api_group_id(GROUP)), (ACCOUNT, "-g"), (ACCOUNT, "group.x")])
def test_change_bad_path(validation_client, method, key, option, number, group_id):
    assert_error(change(validation_client, method, key, [OTHER], group_id=group_id, number=number), 400)


# --- avatar -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(JPEG, "image/jpeg"), (GIF, "image/gif"), (b"no known magic", "application/octet-stream")],
)
def test_avatar(client, fake, group, data, content_type):
    set_group_avatar(fake, data)
    response = client.get(f"/v1/groups/{ACCOUNT}/{api_group_id(GROUP)}/avatar")
    assert response.status_code == 200
    assert response.content_type == content_type
    assert response.data == data
    run = last_run(fake)
    assert run["account"] == ACCOUNT
    assert words(run) == ["getAvatar", f"--group-id={GROUP}"]


@pytest.mark.parametrize("form", PATH_FORMS)
def test_avatar_path_forms(client, fake, group, form):
    set_group_avatar(fake, PNG)
    response = client.get(f"/v1/groups/{ACCOUNT}/{form}/avatar")
    assert response.status_code == 200
    assert response.content_type == "image/png"
    assert response.data == PNG


def test_no_avatar_is_404(client, fake, group):
    assert_error(client.get(f"/v1/groups/{ACCOUNT}/{api_group_id(GROUP)}/avatar"), 404)
    assert words(last_run(fake)) == ["getAvatar", f"--group-id={GROUP}"]


def test_avatar_of_an_unknown_group_is_404(client, fake):
    assert_error(client.get(f"/v1/groups/{ACCOUNT}/{api_group_id(UNKNOWN_GROUP)}/avatar"), 404)


def test_avatar_that_is_not_base64_is_502(client, fake, group):
    fake.add_fault(command="getAvatar", stdout='{"data": "not base64!"}\n')
    body = assert_error(client.get(f"/v1/groups/{ACCOUNT}/{GROUP}/avatar"), 502)
    assert "not base64!" not in body["message"]


@pytest.mark.parametrize(("number", "group_id"), [("-a", GROUP), (ACCOUNT, "-g"), (ACCOUNT, "--group-id=x")])
def test_avatar_bad_path(validation_client, number, group_id):
    assert_error(validation_client.get(f"/v1/groups/{number}/{group_id}/avatar"), 400)


def test_avatar_of_an_unregistered_account(client, fake):
    fake.add_account("+4915122222222", registered=False)
    assert_error(client.get(f"/v1/groups/+4915122222222/{GROUP}/avatar"), 400, "not registered")


# --- pinned messages (signal-cli >= 0.14.0) -------------------------------------------------------------------

PIN = {"target_author": OTHER, "timestamp": TIMESTAMP}


def pin(client, method="post", group_id=API_GROUP, number=ACCOUNT, **body):
    return getattr(client, method)(f"/v1/groups/{number}/{group_id}/pin-message", json={**PIN, **body})


def newer_signal_cli(app, monkeypatch, version="0.14.1"):
    """Make the app believe signal-cli ``version`` is installed.

    The fake stays 0.13.19 and answers the newer subcommands with argparse4j's "invalid choice"
    parse error (exit 1, a 400 by the error table); the argv the service built is what counts.
    """
    monkeypatch.setattr(app.extensions["signal_rest.signal_cli"], "_version", version)


@pytest.mark.parametrize("method", ["post", "delete"])
def test_pin_needs_signal_cli_0_14_0(client, fake, group, method):
    assert_error(pin(client, method), 501, "0.14.0", "0.13.19")
    assert fake.log() == []


@pytest.mark.parametrize("version", ["0.13.22", "0.13.99"])
def test_pin_needs_more_than_the_poll_version(app, client, fake, group, monkeypatch, version):
    newer_signal_cli(app, monkeypatch, version)
    assert_error(pin(client), 501, "0.14.0", version)
    assert fake.log() == []


@pytest.mark.parametrize(
    ("method", "body", "expected_words"),
    [
        (
            "post",
            {},
            ["sendPinMessage", f"--target-author={OTHER}", f"--target-timestamp={TIMESTAMP}", "-g", GROUP, "--"],
        ),
        (
            "post",
            {"duration": 3600, "timestamp": str(TIMESTAMP)},
            [
                "sendPinMessage",
                f"--target-author={OTHER}",
                f"--target-timestamp={TIMESTAMP}",
                "--pin-duration=3600",
                "-g",
                GROUP,
                "--",
            ],
        ),
        (
            "delete",
            {"duration": 3600},
            ["sendUnpinMessage", f"--target-author={OTHER}", f"--target-timestamp={TIMESTAMP}", "-g", GROUP, "--"],
        ),
        (
            "post",
            {"target_author": UUID.upper()},
            ["sendPinMessage", f"--target-author={UUID}", f"--target-timestamp={TIMESTAMP}", "-g", GROUP, "--"],
        ),
    ],
)
def test_pin_argv_with_a_newer_signal_cli(app, client, fake, group, monkeypatch, method, body, expected_words):
    newer_signal_cli(app, monkeypatch)
    response = pin(client, method, group_id=GROUP, **body)
    # the fake (0.13.19) does not know the subcommand: a parse error, exit 1 -> 400
    error = assert_error(response, 400)
    assert f"invalid choice: '{expected_words[0]}'" in " ".join(error["message"].split())
    run = last_run(fake)
    assert run["argv"][run["argv"].index("-a") + 1] == ACCOUNT
    assert run["argv"][run["argv"].index(expected_words[0]) :] == expected_words


@pytest.mark.parametrize("method", ["post", "delete"])
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"target_author": None}, "target_author"),
        ({"target_author": "-a"}, "target_author"),
        ({"target_author": "+49abc"}, "target_author"),
        ({"target_author": api_group_id(GROUP)}, "target_author"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": "-1"}, "timestamp"),
        ({"timestamp": 0}, "timestamp"),
        ({"timestamp": "noon"}, "timestamp"),
        ({"duration": 0}, "duration"),
        ({"duration": -60}, "duration"),
        ({"duration": "forever"}, "duration"),
        ({"duration": 2**31}, "duration"),
    ],
)
def test_pin_bad_input(validation_client, method, fields, field):
    body = {key: value for key, value in {**PIN, **fields}.items() if value is not None}
    response = validation_client.open(
        f"/v1/groups/{ACCOUNT}/{api_group_id(GROUP)}/pin-message", method=method.upper(), json=body
    )
    assert_error(response, 400, field=field)
